// SPDX-License-Identifier: GPL-2.0
/*
 * oscope load: who makes the load average high.
 *
 *   iter/task            one pass = one sample: every thread that is runnable (TASK_RUNNING) or in
 *                        uninterruptible sleep (TASK_UNINTERRUPTIBLE without TASK_NOLOAD, as
 *                        calc_load counts it) as a struct oload_task; D threads carry their kernel stack
 *                        (bpf_get_task_stack), how long they have been blocked and, when they wait for a
 *                        mutex or a write-held rwsem (task_struct.blocker, 6.15+), the lock's owner.
 *   sched_switch         a thread switched out in D state: when (its wait then is exact).
 *   sched_process_fork   a new process (not a thread): counted for the parent.
 *   sched_process_exec   an exec: counted for the exec'ing task's parent (a shell running commands).
 *
 * Wait of a thread that was already blocked when we attached: sched_clock now (the reading thread's own
 * sched_info) minus the time it switched out (sched_info.last_arrival + the runtime of its last slice);
 * 0 when the kernel keeps no sched_info (CONFIG_SCHED_INFO off). Every map is bounded.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "load.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_self = 0;  /* our own tgid: left out of the samples */
const volatile __s32 targ_ssid = -1; /* -1: cgroup v2 ids, else the v1 hierarchy of this subsystem id */

__u64 total_forks = 0;
__u64 total_execs = 0;

#define TASK_RUNNING_ 0x0000
#define TASK_UNINTERRUPTIBLE_ 0x0002
#define TASK_NOLOAD_ 0x0400
#define MAX_SSID 32

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32768);
  __type(key, __u32);   /* tid */
  __type(value, __u64); /* bpf_ktime_get_ns() when it switched out in D */
} off_ts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32); /* parent tgid */
  __type(value, struct oload_parent);
} parents SEC(".maps");

/* Scratch for one record + its stack (too big for the BPF stack). */
struct scratch {
  struct oload_task t;
  __u64 frames[LOAD_MAX_FRAMES];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

/* 6.15+ with CONFIG_DETECT_HUNG_TASK_BLOCKER: the lock the task waits for, | its type. */
struct task_struct___blk {
  unsigned long blocker;
} __attribute__((preserve_access_index));

/* 5.16+ keep the CPU in task_struct; before, in thread_info (CONFIG_THREAD_INFO_IN_TASK). */
struct task_struct___cpu {
  unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline __u64 task_cgid(struct task_struct *t) {
  if (targ_ssid < 0) return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
  __u32 ssid = (__u32)targ_ssid;
  if (ssid >= MAX_SSID) return 0;
  struct css_set *cs = BPF_CORE_READ(t, cgroups);
  struct cgroup_subsys_state *css = NULL;
  if (!cs) return 0;
  bpf_core_read(&css, sizeof(css), &cs->subsys[ssid]);
  if (!css) return 0;
  return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline __u32 task_cpu_of(struct task_struct *t) {
  struct task_struct___cpu *tc = (void *)t;
  if (bpf_core_field_exists(tc->cpu)) return BPF_CORE_READ(tc, cpu);
  if (bpf_core_field_exists(t->thread_info.cpu)) return BPF_CORE_READ(t, thread_info.cpu);
  return 0;
}

SEC("iter/task")
int oscope_load_iter(struct bpf_iter__task *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct task_struct *task = ctx->task;
  if (!task) return 0;
  __u32 tgid = task->tgid;
  if (targ_self && tgid == targ_self) return 0;
  __u32 st = task->__state;
  __u32 state;
  if (st == TASK_RUNNING_) state = LOAD_STATE_R;
  else if ((st & TASK_UNINTERRUPTIBLE_) && !(st & TASK_NOLOAD_)) state = LOAD_STATE_D;
  else return 0;
  if (task->flags & 0x00000002 /* PF_IDLE */) return 0;
  __u32 zero = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
  if (!s) return 0;
  struct oload_task *t = &s->t;
  __builtin_memset(t, 0, sizeof(*t));
  t->tgid = tgid;
  t->pid = task->pid;
  t->state = state;
  t->cpu = task_cpu_of(task);
  t->allowed = task->nr_cpus_allowed;
  t->switches = task->nvcsw + task->nivcsw;
  t->cgroup_id = task_cgid(task);
  if (task->on_cpu) t->flags |= LOAD_F_ON_CPU;
  if (BPF_CORE_READ_BITFIELD(task, in_iowait)) t->flags |= LOAD_F_IOWAIT;
  bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), task->comm);
  long n = 0;
  if (state == LOAD_STATE_D) {
    __u32 tid = task->pid;
    __u64 *off = bpf_map_lookup_elem(&off_ts, &tid);
    if (off) {
      __u64 now = bpf_ktime_get_ns();
      t->wait_ns = now > *off ? now - *off : 0;
      t->flags |= LOAD_F_WAIT_SWITCH;
    } else {
      /*
       * Blocked before we attached. sched_info.last_arrival is rq_clock (sched_clock) when it last got
       * a CPU; + its last slice = when it switched out. "Now" in the same clock: our own (the reading
       * thread's) arrival + slice, off by at most the time we have run since our last switch-in (the
       * iterator is read by a worker thread just woken for it).
       */
      struct task_struct *cur = bpf_get_current_task_btf();
      __u64 now_sc = BPF_CORE_READ(cur, sched_info.last_arrival) + BPF_CORE_READ(cur, se.sum_exec_runtime) - BPF_CORE_READ(cur, se.prev_sum_exec_runtime);
      __u64 arrival = BPF_CORE_READ(task, sched_info.last_arrival);
      __u64 slice = BPF_CORE_READ(task, se.sum_exec_runtime) - BPF_CORE_READ(task, se.prev_sum_exec_runtime);
      if (arrival && now_sc > arrival + slice) {
        t->wait_ns = now_sc - arrival - slice;
        t->flags |= LOAD_F_WAIT_EST;
      }
    }
    /* 6.15+ (CONFIG_DETECT_HUNG_TASK_BLOCKER): the lock a task sleeps on, type in the low 2 bits. */
    struct task_struct___blk *tb = (void *)task;
    if (bpf_core_field_exists(tb->blocker)) {
      unsigned long b = BPF_CORE_READ(tb, blocker);
      unsigned long type = b & 0x3UL;
      void *lock = (void *)(b & ~0x3UL);
      long owner = 0;
      if (lock && type == 0 /* BLOCKER_TYPE_MUTEX */) {
        owner = BPF_CORE_READ((struct mutex *)lock, owner.counter);
        t->flags |= LOAD_F_OWNER_MUTEX;
      } else if (lock && type == 3 /* BLOCKER_TYPE_RWSEM_WRITER */) {
        owner = BPF_CORE_READ((struct rw_semaphore *)lock, owner.counter);
        if (owner & 0x1L) owner = 0; /* RWSEM_READER_OWNED: no single owner */
        t->flags |= LOAD_F_OWNER_RWSEM;
      }
      struct task_struct *o = (struct task_struct *)(owner & ~0x07L);
      if (o) {
        t->owner_pid = BPF_CORE_READ(o, pid);
        bpf_probe_read_kernel_str(t->owner_comm, sizeof(t->owner_comm), BPF_CORE_READ(o, comm));
      }
    }
    n = bpf_get_task_stack(task, s->frames, sizeof(s->frames), 0);
    if (n < 0) n = 0;
    n /= 8;
    if (n > LOAD_MAX_FRAMES) n = LOAD_MAX_FRAMES;
  }
  t->nframes = n;
  bpf_seq_write(seq, t, sizeof(*t));
  if (n > 0 && n <= LOAD_MAX_FRAMES) bpf_seq_write(seq, s->frames, n * 8);
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_load_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  __u32 st = BPF_CORE_READ(prev, __state);
  if (!(st & TASK_UNINTERRUPTIBLE_) || (st & TASK_NOLOAD_)) return 0;
  __u32 tid = BPF_CORE_READ(prev, pid);
  __u64 now = bpf_ktime_get_ns();
  bpf_map_update_elem(&off_ts, &tid, &now, BPF_ANY);
  return 0;
}

static __always_inline struct oload_parent *parent_entry(struct task_struct *p) {
  __u32 key = BPF_CORE_READ(p, tgid);
  struct oload_parent *v = bpf_map_lookup_elem(&parents, &key);
  if (v) return v;
  struct oload_parent init = {};
  init.cgroup_id = task_cgid(p);
  /* The process's comm (its group leader's), not a worker thread's. */
  struct task_struct *leader = BPF_CORE_READ(p, group_leader);
  bpf_probe_read_kernel_str(init.comm, sizeof(init.comm), leader ? BPF_CORE_READ(leader, comm) : BPF_CORE_READ(p, comm));
  bpf_map_update_elem(&parents, &key, &init, BPF_NOEXIST);
  return bpf_map_lookup_elem(&parents, &key);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(oscope_load_fork, struct task_struct *parent, struct task_struct *child) {
  if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) return 0; /* a thread */
  __sync_fetch_and_add(&total_forks, 1);
  struct oload_parent *v = parent_entry(parent);
  if (v) __sync_fetch_and_add(&v->forks, 1);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(oscope_load_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  __sync_fetch_and_add(&total_execs, 1);
  struct task_struct *parent = BPF_CORE_READ(p, real_parent);
  if (!parent) return 0;
  struct oload_parent *v = parent_entry(parent);
  if (v) __sync_fetch_and_add(&v->execs, 1);
  return 0;
}
