/* SPDX-License-Identifier: GPL-2.0 */
/*
 * runlatency: the event layout shared by bpf/runlatency.bpf.c and its TypeScript decoder
 * (src/diagnose/latency/bpf.ts, RL_EVENT_LAYOUT). Keep both in step; the asserts below pin the offsets.
 */
#ifndef OSCOPE_RUNLATENCY_H
#define OSCOPE_RUNLATENCY_H

#include "hist.h"

#define RL_COMM_LEN 16
#define RL_NAME_LEN 32
#define RL_SEGMENTS 16
#define RL_NR_SOFTIRQS 10

enum rl_kind {
  RL_RUNQUEUE = 1,
  RL_NOSCHED = 2,
  RL_IRQOFF = 3,
  RL_SOFTIRQ_DELAY = 4,
  RL_SOFTIRQ_RUN = 5,
  RL_HARDIRQ = 6,
};

struct rl_event {
  __u64 ts_ns;        /* bpf_ktime_get_ns() when the event ended */
  __u64 latency_ns;
  __u64 cgroup_id;    /* the victim's cgroup v2 id (kernfs inode) */
  __u32 kind;         /* enum rl_kind */
  __u32 cpu;
  __u32 pid;          /* victim thread id */
  __u32 tgid;
  __u32 culprit_pid;
  __u32 culprit_tgid;
  __s32 stack_id;     /* kernel stack in `stacks`, or negative */
  __u32 extra;        /* softirq vector, irq number; irqoff (cpu-clock): us from the first interrupt taken while the sample was overdue to the sample (0: none); irqoff (NMI): samples with interrupts off */
  char comm[RL_COMM_LEN];
  char culprit_comm[RL_COMM_LEN];
  char name[RL_NAME_LEN]; /* irq handler name */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct rl_event) == 120, "rl_event layout changed: update RL_EVENT_LAYOUT");
#endif

/* The interrupted kernel stack's first words, saved for an irqoff event (cpu-clock) whose unwound
 * stack stopped within RL_SCAN_MIN_FRAMES frames: a paravirtual irq-enable written in assembly without
 * unwind data (pvm_irq_enable, xen_irq_enable) ends the ORC walk at its own frame. User space picks the
 * kernel text addresses out of these words (the kernel's "?" frames of an oops). */
#define RL_SCAN_WORDS 48
#define RL_SCAN_MIN_FRAMES 3
struct rl_scan_key {
  __u64 ts_ns; /* the event's ts_ns */
  __u32 cpu;
  __u32 pad;
};
struct rl_scan {
  __u64 words[RL_SCAN_WORDS];
};

struct rl_hist_key {
  __u64 cgroup_id;
  __u32 cpu;
  __u32 pad;
};

/* Histogram values are struct oscope_hist (bpf/hist.h), keyed by rl_hist_key. */

#endif
