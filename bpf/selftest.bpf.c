// SPDX-License-Identifier: GPL-2.0
/*
 * oscope's BPF self-test: proves the whole pipeline (CO-RE build, rodata set from JS, load, each attach
 * kind, hash/stack/ring buffer maps, task iterator) and is what `oscope doctor` loads to say what
 * works. Programs are named oscope_* so that `bpftool prog show` finds them.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "selftest.h"

char LICENSE[] SEC("license") = "GPL";

/* Set from JS before load. 0 = no filter. */
const volatile __u32 filter_ppid = 0;
/* Set from JS before load: also record the kernel stack of each exec. */
const volatile bool want_stacks = false;

/* Events that did not fit in the ring buffer (user space fell behind). */
__u64 lost_events = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);   /* source */
  __type(value, __u64); /* execs seen */
} exec_counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 1024);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64); /* perf samples seen on each CPU */
} perf_samples SEC(".maps");

static __always_inline void count(__u32 source) {
  __u64 one = 1, *v = bpf_map_lookup_elem(&exec_counts, &source);
  if (v) __sync_fetch_and_add(v, 1);
  else bpf_map_update_elem(&exec_counts, &source, &one, BPF_NOEXIST);
}

/* Returns the event to fill, or NULL when filtered out or the ring is full. */
static __always_inline struct selftest_event *start_event(void *ctx, __u32 source, struct task_struct *task) {
  __u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
  if (filter_ppid && ppid != filter_ppid) return NULL;
  count(source);
  struct selftest_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(&lost_events, 1);
    return NULL;
  }
  e->pid = BPF_CORE_READ(task, tgid);
  e->ppid = ppid;
  e->source = source;
  e->stack_id = want_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
  e->ts_ns = bpf_ktime_get_ns();
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  e->filename[0] = 0;
  return e;
}

SEC("tracepoint/sched/sched_process_exec")
int oscope_st_tp(struct trace_event_raw_sched_process_exec *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
  struct selftest_event *e = start_event(ctx, SELFTEST_SRC_TRACEPOINT, task);
  if (!e) return 0;
  unsigned int off = ctx->__data_loc_filename & 0xffff;
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(oscope_st_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  struct selftest_event *e = start_event(ctx, SELFTEST_SRC_RAW_TP, p);
  if (!e) return 0;
  const char *fn = BPF_CORE_READ(bprm, filename);
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fn);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(oscope_st_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  struct selftest_event *e = start_event(ctx, SELFTEST_SRC_TP_BTF, p);
  if (!e) return 0;
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

/* Attached to a cpu-clock perf event per CPU: counts samples (and proves perf-event attach). */
SEC("perf_event")
int oscope_st_perf(struct bpf_perf_event_data *ctx) {
  __u32 zero = 0;
  __u64 *v = bpf_map_lookup_elem(&perf_samples, &zero);
  if (v) *v += 1;
  return 0;
}

/* One line per task (thread): "tgid pid comm". Read through the iterator's fd. */
SEC("iter/task")
int oscope_st_iter(struct bpf_iter__task *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct task_struct *task = ctx->task;
  if (!task) return 0;
  BPF_SEQ_PRINTF(seq, "%d %d %s\n", task->tgid, task->pid, task->comm);
  return 0;
}
