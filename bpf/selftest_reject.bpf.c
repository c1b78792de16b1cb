// SPDX-License-Identifier: GPL-2.0
/*
 * A program the verifier must reject (it reads a hash map value without checking the lookup for NULL; an
 * array lookup with a constant key would not do, newer verifiers know it cannot fail):
 * the tests load it to prove that a verifier rejection reaches JS with the verifier's log attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} reject_values SEC(".maps");

SEC("raw_tp/sched_process_exec")
int oscope_st_bad(void *ctx) {
  __u32 zero = 0;
  __u64 *v = bpf_map_lookup_elem(&reject_values, &zero);
  return (int)*v; /* no NULL check: "invalid mem access 'map_value_or_null'" */
}
