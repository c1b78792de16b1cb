/* SPDX-License-Identifier: GPL-2.0 */
/*
 * load: the layout shared by bpf/load.bpf.c and its TypeScript decoder (src/diagnose/load/bpf.ts,
 * LOAD_TASK_LAYOUT and friends). Keep both in step; the asserts pin the sizes.
 */
#ifndef OSCOPE_LOAD_H
#define OSCOPE_LOAD_H

#define LOAD_COMM_LEN 16
#define LOAD_MAX_FRAMES 32

enum oload_state {
  LOAD_STATE_R = 0, /* TASK_RUNNING: on a CPU or waiting for one */
  LOAD_STATE_D = 1, /* TASK_UNINTERRUPTIBLE without TASK_NOLOAD: what the load average counts */
};

enum oload_flags {
  LOAD_F_ON_CPU = 1,     /* running right now */
  LOAD_F_WAIT_SWITCH = 2, /* wait_ns from the sched_switch that put it to sleep */
  LOAD_F_WAIT_EST = 4,   /* wait_ns estimated from sched_info.last_arrival + the last slice */
  LOAD_F_IOWAIT = 8,     /* in_iowait (io_schedule) */
  LOAD_F_OWNER_MUTEX = 16, /* owner_pid owns the mutex it waits for */
  LOAD_F_OWNER_RWSEM = 32, /* owner_pid holds the rwsem it waits for, for writing */
};

/*
 * One runnable or D thread, written by the task iterator; for D threads followed by nframes __u64
 * kernel return addresses (innermost first).
 */
struct oload_task {
  __u64 cgroup_id;  /* in the hierarchy targ_ssid names (-1: cgroup v2) */
  __u64 wait_ns;    /* D: how long it has been blocked (0: unknown) */
  __u64 switches;   /* nvcsw + nivcsw: the same value at two samples = blocked all along */
  __u32 tgid;
  __u32 pid;
  __u32 cpu;
  __u32 allowed;    /* nr_cpus_allowed */
  __u32 state;      /* enum oload_state */
  __u32 flags;      /* enum oload_flags */
  __u32 owner_pid;  /* D on a mutex/rwsem: its owner (task_struct.blocker, 6.15+), else 0 */
  __u32 nframes;
  char comm[LOAD_COMM_LEN];
  char owner_comm[LOAD_COMM_LEN];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oload_task) == 88, "oload_task layout changed: update LOAD_TASK_LAYOUT");
#endif

/* Per forking process (key: tgid of the parent). */
struct oload_parent {
  __u64 forks;      /* new processes (not threads) it created */
  __u64 execs;      /* execve by its children (or itself) */
  __u64 cgroup_id;
  char comm[LOAD_COMM_LEN];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oload_parent) == 40, "oload_parent layout changed: update LOAD_PARENT_LAYOUT");
#endif

#endif
