// SPDX-License-Identifier: GPL-2.0
/*
 * oscope profile: where the CPUs spend their time (on-CPU), or where tasks block (off-CPU), by stack.
 *
 *   perf_event    a sampler per CPU (hardware cycles where a PMU exists, else the cpu-clock software
 *                 event) runs oscope_prof_sample on each overflow: the current task's kernel and user
 *                 stacks go to a stack map, and counts[(tgid, kstack, ustack)] += 1.
 *   sched_switch  (tp_btf, raw_tp twin) for --off-cpu: a task leaving the CPU while not runnable
 *                 (it blocks) records the time and its stacks; when it runs again the time it was
 *                 away is added to counts[(tgid, kstack, ustack)] in nanoseconds.
 *
 * Aggregation stays in the kernel (libbpf-tools profile/offcputime style): user space reads two bounded
 * maps at the end. What does not fit is counted in `dropped`, never silently lost.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "profile.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid = 0;    /* only this process; 0 = every process */
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool include_idle = false;
const volatile __u64 min_block_ns = 1000; /* off-CPU: shorter sleeps are not counted */

__u64 idle_samples = 0;
__u64 total_samples = 0;
__u64 dropped = 0;        /* samples or sleeps the counts map had no room for */
__u64 stack_errors = 0;   /* bpf_get_stackid failures other than "no such part" (-EFAULT) */

#define TASK_RUNNING 0

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 16384);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, PROF_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct prof_key);
  __type(value, struct prof_value);
} counts SEC(".maps");

/* Off-CPU: a blocked thread's start time and stacks, by thread id. */
struct sleep_start {
  __u64 ts;
  struct prof_key key;
  __u64 cgroup_id;
  char comm[PROF_COMM_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, struct sleep_start);
} sleeping SEC(".maps");

static __always_inline __s32 stackid(void *ctx, __u64 flags, bool want) {
  if (!want) return -1;
  long id = bpf_get_stackid(ctx, &stacks, flags);
  if (id < 0 && id != -14 /* -EFAULT: no such part (user mode / kernel thread) */) __sync_fetch_and_add(&stack_errors, 1);
  return (__s32)id;
}

static __always_inline void add(struct prof_key *k, __u64 n, __u64 cgid, const char *comm) {
  struct prof_value *v = bpf_map_lookup_elem(&counts, k);
  if (v) {
    __sync_fetch_and_add(&v->count, n);
    return;
  }
  struct prof_value nv = {.count = n, .cgroup_id = cgid};
  __builtin_memcpy(nv.comm, comm, PROF_COMM_LEN);
  if (bpf_map_update_elem(&counts, k, &nv, BPF_NOEXIST) != 0) {
    v = bpf_map_lookup_elem(&counts, k);
    if (v) __sync_fetch_and_add(&v->count, n);
    else __sync_fetch_and_add(&dropped, 1);
  }
}

SEC("perf_event")
int oscope_prof_sample(struct bpf_perf_event_data *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32, tid = (__u32)id;
  __sync_fetch_and_add(&total_samples, 1);
  if (tid == 0) {
    __sync_fetch_and_add(&idle_samples, 1);
    if (!include_idle) return 0;
  }
  if (targ_tgid && tgid != targ_tgid) return 0;
  struct prof_key k = {.tgid = tgid};
  k.kstack = stackid(ctx, 0, kernel_stacks);
  k.ustack = stackid(ctx, BPF_F_USER_STACK, user_stacks);
  char comm[PROF_COMM_LEN];
  bpf_get_current_comm(comm, sizeof(comm));
  add(&k, 1, bpf_get_current_cgroup_id(), comm);
  return 0;
}

/* Kernel < 5.14 calls it `state`. */
struct task_struct___o {
  volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t) {
  if (bpf_core_field_exists(t->__state)) return BPF_CORE_READ(t, __state);
  return BPF_CORE_READ((struct task_struct___o *)t, state);
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next) {
  __u64 now = bpf_ktime_get_ns();
  /* prev blocks (not merely preempted): remember when and where, with its stacks (prev is current). */
  __u32 ptgid = BPF_CORE_READ(prev, tgid), ppid = BPF_CORE_READ(prev, pid);
  if (ppid != 0 && task_state(prev) != TASK_RUNNING && (!targ_tgid || ptgid == targ_tgid)) {
    struct sleep_start s = {.ts = now};
    s.key.tgid = ptgid;
    s.key.kstack = stackid(ctx, 0, kernel_stacks);
    s.key.ustack = stackid(ctx, BPF_F_USER_STACK, user_stacks);
    s.cgroup_id = bpf_get_current_cgroup_id();
    bpf_get_current_comm(s.comm, sizeof(s.comm));
    bpf_map_update_elem(&sleeping, &ppid, &s, BPF_ANY);
  }
  __u32 npid = BPF_CORE_READ(next, pid);
  struct sleep_start *s = bpf_map_lookup_elem(&sleeping, &npid);
  if (!s) return 0;
  if (now > s->ts && now - s->ts >= min_block_ns) {
    struct prof_key k = s->key;
    char comm[PROF_COMM_LEN];
    __builtin_memcpy(comm, s->comm, PROF_COMM_LEN);
    add(&k, now - s->ts, s->cgroup_id, comm);
  }
  bpf_map_delete_elem(&sleeping, &npid);
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_prof_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  return on_switch(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_prof_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) {
  return on_switch(ctx, prev, next);
}
