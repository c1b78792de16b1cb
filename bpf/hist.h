/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one log2 latency histogram of oscope's BPF programs (io, runlatency): slot i counts latencies in
 * [2^i, 2^(i+1)) microseconds (slot 0 also < 1 us), with the count, the sum and the max in ns. User space
 * summarises it with one rule (histogramOf in src/diagnose/latency/analyze.ts).
 *
 * A program defines its own map of `struct oscope_hist` values (its own key) and calls hist_record()
 * on the value it looked up or created with hist_lookup_or_init().
 */
#ifndef OSCOPE_HIST_H
#define OSCOPE_HIST_H

#define OSCOPE_HIST_SLOTS 32

struct oscope_hist {
  __u64 slots[OSCOPE_HIST_SLOTS];
  __u64 count;
  __u64 sum_ns;
  __u64 max_ns;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oscope_hist) == (OSCOPE_HIST_SLOTS + 3) * 8, "oscope_hist layout changed: update IO_HIST_SIZE / RL_HIST_SIZE");
#endif

#ifdef __BPF__
/* The slot of a latency in ns: floor(log2(us)), 0 below 2 us, capped at the last slot. */
static __always_inline __u32 hist_slot(__u64 delta_ns) {
  __u64 us = delta_ns / 1000;
  __u32 slot = 0;
#pragma unroll
  for (int i = 0; i < OSCOPE_HIST_SLOTS - 1; i++) {
    if (us >> (i + 1)) slot = i + 1;
  }
  return slot;
}

/* The map's value for `key`, created zeroed when missing; NULL when the map is full. */
static __always_inline struct oscope_hist *hist_lookup_or_init(void *map, const void *key) {
  struct oscope_hist *h = bpf_map_lookup_elem(map, key);
  if (h) return h;
  struct oscope_hist zero = {};
  bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
  return bpf_map_lookup_elem(map, key);
}

static __always_inline void hist_record(struct oscope_hist *h, __u64 delta_ns) {
  __u32 slot = hist_slot(delta_ns);
  if (slot < OSCOPE_HIST_SLOTS) __sync_fetch_and_add(&h->slots[slot], 1);
  __sync_fetch_and_add(&h->count, 1);
  __sync_fetch_and_add(&h->sum_ns, delta_ns);
  if (delta_ns > h->max_ns) h->max_ns = delta_ns; /* racy across CPUs: a max, not a sum */
}
#endif

#endif
