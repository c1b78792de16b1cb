// SPDX-License-Identifier: GPL-2.0
/*
 * oscope runlatency: what delays tasks on a CPU, and who caused it.
 *
 *   runqueue  sched_wakeup/_new (and involuntary sched_switch) → sched_switch to the task: wakeup-to-run
 *             delay; culprit = the task that ran longest on that CPU while the victim waited (the last
 *             RL_SEGMENTS run segments of the CPU are kept); log2 histograms per (cgroup, CPU).
 *   nosched   a per-CPU cpu-clock sample that finds a task in kernel mode, not scheduled for longer than
 *             the threshold while others wait on its runqueue (rq->nr_running > 1): the sample's kernel
 *             stack is kept and the event is sent when the task finally schedules (with the run length).
 *   irqoff    the same cpu-clock samples: the hrtimer behind them cannot fire while interrupts are off,
 *             so a sample arriving later than period + threshold after the previous one on that CPU
 *             means irqs were off (or the vCPU was stolen by the hypervisor: user space tells those
 *             apart with /proc/stat steal). The timer interrupt is taken at the first instruction
 *             that re-enables interrupts, so the sample's kernel stack is where the irq-off section
 *             ended (e.g. _raw_spin_unlock_irq < the function that held the lock).
 *             Late samples that are not irq-off are counted (timer_gaps), not reported:
 *             - the sample landed in the idle task or in user mode: interrupts were on there, the
 *               timer itself was late (on a VM, a halted vCPU the host woke late);
 *             - a context switch or interrupt entry happened while the sampler was already overdue
 *               and well before the sample (more than BURST_NS): interrupts were on during the gap.
 *               Interrupts that were pending while irqs were off are delivered together with the
 *               late timer (the "burst"); they say nothing about the gap and are ignored.
 *             The latency is measured from when the sample was due (previous + period), or from the
 *             last proof that interrupts were on when that is later: a lower bound, at most one
 *             period short of the real section.
 *   irqoff    (hardware NMI watchdog, preferred where the CPU has a PMU, x86-64) a cycles perf event
 *             per CPU whose overflow interrupt is an NMI, so it fires inside irq-off sections too. The
 *             program reads the interrupted context's EFLAGS.IF: a run of samples with IF clear is an
 *             irq-off section; its first sample's task and kernel stack are kept (the stack is *inside*
 *             the section, where it was found), and the event is sent at the first sample with IF set.
 *             The length is the run's span plus one mean sample interval (each end is known to within
 *             one interval). Cycles stop while a CPU is halted (idle with irqs masked until its wakeup)
 *             or its vCPU is stolen: a gap of more than NMI_GAP_PERIODS expected intervals between two
 *             samples ends the run there. When this runs, the cpu-clock tick leaves irqoff alone.
 *   softirq   softirq_raise → softirq_entry delay and softirq_entry → exit run time, per vector.
 *   hardirq   irq_handler_entry → exit run time per IRQ.
 *
 * Every tracepoint program exists twice: tp_btf (preferred) and raw_tp (fallback); user space disables
 * the autoload of the set it does not use. Nothing is pinned: closing the fds detaches everything.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "runlatency.h"

char LICENSE[] SEC("license") = "GPL";

/* Configuration, set from JS before load. A threshold of 0 disables that kind. */
const volatile __u64 runq_thresh_ns = 0;
const volatile __u64 nosched_thresh_ns = 0;
const volatile __u64 irqoff_thresh_ns = 0;
const volatile __u64 softirq_thresh_ns = 0;
const volatile __u64 hardirq_thresh_ns = 0;
/* The cpu-clock sampling period (ns) of the perf events the tick program is attached to. */
const volatile __u64 sample_period_ns = 1000000;
const volatile __u32 targ_tgid = 0;   /* 0 = every process */
const volatile __u64 targ_cgid = 0;   /* cgroup id (kernfs inode) in the hierarchy below; 0 = every cgroup */
/* Which hierarchy cgroup ids come from (filter, events, histograms): -1 = cgroup v2 (the default
 * hierarchy), else the cgroup v1 hierarchy of the controller with this subsystem id (/proc/cgroups order). */
const volatile __s32 targ_ssid = -1;
/* Histograms per (cgroup, CPU); false: per CPU only (cgroup_id 0), a handful of map entries. */
const volatile bool hist_by_cgroup = true;
const volatile __s32 targ_cpu = -1;   /* -1 = every CPU */
const volatile bool want_hist = true;
/* irqoff comes from the NMI watchdog program (oscope_rl_nmi); the cpu-clock tick does nosched only. */
const volatile bool irqoff_nmi = false;
/* The expected time between two NMI samples of a busy CPU (1 / sample frequency). */
const volatile __u64 nmi_period_ns = 1000000;
/* Self-test of the NMI state machine on hosts without a PMU (the program is attached to cpu-clock
 * events): the interrupted context's interrupt flag is read from nmi_selftest_if[0] instead of the
 * registers. Never set outside the tests. */
const volatile bool nmi_selftest = false;

/* Events that did not fit in the ring buffer. */
__u64 lost_events = 0;
/* Late cpu-clock samples that were not irq-off (idle, user mode, or interrupts were on meanwhile). */
__u64 timer_gaps = 0;

/* Interrupts delivered within this long before a late sample are the ones that were pending while
 * irqs were off (delivered together with the late timer), not proof that irqs were on. */
#define BURST_NS 500000ULL
/* NMI samples further apart than this many expected intervals: cycles stopped (halted or stolen). */
#define NMI_GAP_PERIODS 4
#define RL_MAX_SSID 32

#define TASK_RUNNING 0

struct segment {
  __u64 start;
  __u64 end;
  __u32 pid;
  __u32 tgid;
  char comm[RL_COMM_LEN];
};

struct cpu_state {
  __u64 last_switch_ns; /* when the current task got the CPU */
  __u64 last_sample_ns; /* the previous cpu-clock sample on this CPU */
  __u64 raise_ns[RL_NR_SOFTIRQS];
  __u64 sirq_entry_ns[RL_NR_SOFTIRQS];
  __u64 hirq_entry_ns;
  __u64 activity_ns;    /* last context switch or interrupt entry while the sampler was not overdue */
  __u64 overdue_ns;     /* first switch or interrupt entry after the sample became overdue (0: none) */
  __s32 nosched_stack;
  __u32 nosched_pending;
  __u32 seg_next;
  __u32 pad;
  struct segment segs[RL_SEGMENTS];
  /* NMI watchdog: the current run of samples with interrupts off. */
  __u64 nmi_last_ns;    /* the previous NMI sample on this CPU */
  __u64 nmi_off_first;  /* the run's first and last samples */
  __u64 nmi_off_last;
  __u32 nmi_off_n;      /* samples in the run (0: none) */
  __u32 pad2;
  struct rl_event nmi_ev; /* the run's event, filled at its first sample: task and the stack inside */
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} cpu_states SEC(".maps");

/* Stack words of irqoff events whose unwind stopped short (struct rl_scan in runlatency.h); user space
 * deletes each one as it reads its event, LRU drops what nobody read. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 256);
  __type(key, struct rl_scan_key);
  __type(value, struct rl_scan);
} scans SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct rl_scan);
} scan_buf SEC(".maps");

/* When the unwinder gave fewer than RL_SCAN_MIN_FRAMES frames, keeps the interrupted stack's first
 * words for the event (ts, cpu). */
static __always_inline void scan_short_stack(struct bpf_perf_event_data *ctx, __u64 ts, __u32 cpu) {
  __u32 zero = 0;
  struct rl_scan *b = bpf_map_lookup_elem(&scan_buf, &zero);
  if (!b) return;
  long n = bpf_get_stack(ctx, b->words, RL_SCAN_MIN_FRAMES * sizeof(__u64), 0);
  if (n < 0 || n >= (long)(RL_SCAN_MIN_FRAMES * sizeof(__u64))) return;
  void *sp = (void *)PT_REGS_SP(&ctx->regs);
  /* Near the top of the task's stack the whole window may not be mapped: then its first third. */
  if (bpf_probe_read_kernel(b->words, sizeof(b->words), sp) &&
      bpf_probe_read_kernel(b->words, sizeof(b->words) / 3, sp))
    return;
  struct rl_scan_key k = {.ts_ns = ts, .cpu = cpu};
  bpf_map_update_elem(&scans, &k, b, BPF_ANY);
}

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);   /* thread id */
  __type(value, __u64); /* when it became runnable */
} wakeups SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct rl_hist_key);
  __type(value, struct oscope_hist);
} hists SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} nmi_selftest_if SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 2048);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* Kernel < 5.14 calls it `state`. */
struct task_struct___o {
  volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t) {
  if (bpf_core_field_exists(t->__state)) return BPF_CORE_READ(t, __state);
  return BPF_CORE_READ((struct task_struct___o *)t, state);
}

static __always_inline __u64 task_cgid(struct task_struct *t) {
  if (targ_ssid < 0) return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
  /* cgroup v1: the task's css of that controller → its cgroup's kernfs node (id = directory inode). */
  __u32 ssid = (__u32)targ_ssid;
  if (ssid >= RL_MAX_SSID) return 0;
  struct css_set *cs = BPF_CORE_READ(t, cgroups);
  struct cgroup_subsys_state *css = NULL;
  if (!cs) return 0;
  bpf_core_read(&css, sizeof(css), &cs->subsys[ssid]);
  if (!css) return 0;
  return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline struct cpu_state *state(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_states, &zero);
}

static __always_inline bool cpu_wanted(__u32 cpu) {
  return targ_cpu < 0 || (__u32)targ_cpu == cpu;
}

static __always_inline bool task_wanted(struct task_struct *t) {
  if (targ_tgid && BPF_CORE_READ(t, tgid) != targ_tgid) return false;
  if (targ_cgid && task_cgid(t) != targ_cgid) return false;
  return true;
}

static __always_inline struct rl_event *reserve(void) {
  struct rl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(&lost_events, 1);
    return NULL;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->stack_id = -1;
  return e;
}

static __always_inline void set_victim(struct rl_event *e, struct task_struct *t) {
  e->pid = BPF_CORE_READ(t, pid);
  e->tgid = BPF_CORE_READ(t, tgid);
  e->cgroup_id = task_cgid(t);
  BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
}

/* The culprit: the non-idle task (other than `victim`) that ran longest on this CPU in [from, to]. */
static __always_inline void set_culprit(struct rl_event *e, struct cpu_state *s, __u64 from, __u64 to, __u32 victim) {
  __u64 best = 0;
  int besti = -1;
#pragma unroll
  for (int i = 0; i < RL_SEGMENTS; i++) {
    struct segment *g = &s->segs[i];
    if (g->pid == 0 || g->pid == victim) continue;
    __u64 a = g->start > from ? g->start : from;
    __u64 b = g->end < to ? g->end : to;
    if (b > a && b - a > best) {
      best = b - a;
      besti = i;
    }
  }
  if (besti >= 0 && besti < RL_SEGMENTS) {
    struct segment *g = &s->segs[besti];
    e->culprit_pid = g->pid;
    e->culprit_tgid = g->tgid;
    __builtin_memcpy(e->culprit_comm, g->comm, RL_COMM_LEN);
  }
}

/*
 * A context switch or interrupt entry: interrupts were on (a switch re-enables them in
 * finish_task_switch). While the cpu-clock sample is not overdue it bounds where an irq-off section
 * can start; once it is overdue, it is either pending work delivered with the late timer or proof that
 * the timer was late with interrupts on: the tick program tells those apart by how long before the
 * sample it came.
 */
static __always_inline void mark_irqs_on(struct cpu_state *s, __u64 now) {
  __u64 last = s->last_sample_ns;
  if (irqoff_thresh_ns && last && now > last + sample_period_ns + irqoff_thresh_ns) {
    if (!s->overdue_ns) s->overdue_ns = now;
  } else {
    s->activity_ns = now;
  }
}

static __always_inline void hist_add(struct task_struct *t, __u32 cpu, __u64 delta) {
  struct rl_hist_key k = {.cgroup_id = hist_by_cgroup ? task_cgid(t) : 0, .cpu = cpu};
  struct oscope_hist *h = hist_lookup_or_init(&hists, &k);
  if (h) hist_record(h, delta);
}

static __always_inline int on_wakeup(struct task_struct *p) {
  if (!runq_thresh_ns && !want_hist) return 0;
  if (!task_wanted(p)) return 0;
  __u32 pid = BPF_CORE_READ(p, pid);
  if (pid == 0) return 0;
  __u64 ts = bpf_ktime_get_ns();
  bpf_map_update_elem(&wakeups, &pid, &ts, BPF_ANY);
  return 0;
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next) {
  __u64 now = bpf_ktime_get_ns();
  __u32 cpu = bpf_get_smp_processor_id();
  struct cpu_state *s = state();
  if (!s) return 0;
  __u32 prev_pid = BPF_CORE_READ(prev, pid);
  __u32 next_pid = BPF_CORE_READ(next, pid);

  /* A preempted task is runnable again at once: its wait starts now. */
  if (prev_pid && task_state(prev) == TASK_RUNNING && (runq_thresh_ns || want_hist) && task_wanted(prev))
    bpf_map_update_elem(&wakeups, &prev_pid, &now, BPF_ANY);

  /* Close prev's run segment. */
  __u64 run_start = s->last_switch_ns;
  __u32 i = s->seg_next % RL_SEGMENTS;
  if (i < RL_SEGMENTS) {
    struct segment *g = &s->segs[i];
    g->start = run_start ? run_start : now;
    g->end = now;
    g->pid = prev_pid;
    g->tgid = BPF_CORE_READ(prev, tgid);
    BPF_CORE_READ_STR_INTO(&g->comm, prev, comm);
    s->seg_next = i + 1;
  }

  /* nosched: prev held the CPU in kernel mode while others waited (seen by the tick program). */
  if (s->nosched_pending && run_start && nosched_thresh_ns && now - run_start > nosched_thresh_ns && cpu_wanted(cpu)) {
    struct rl_event *e = reserve();
    if (e) {
      e->kind = RL_NOSCHED;
      e->ts_ns = now;
      e->latency_ns = now - run_start;
      e->cpu = cpu;
      e->stack_id = s->nosched_stack;
      set_victim(e, next_pid ? next : prev);
      e->culprit_pid = prev_pid;
      e->culprit_tgid = BPF_CORE_READ(prev, tgid);
      BPF_CORE_READ_STR_INTO(&e->culprit_comm, prev, comm);
      bpf_ringbuf_submit(e, 0);
    }
  }
  s->nosched_pending = 0;
  s->nosched_stack = -1;
  s->last_switch_ns = now;
  mark_irqs_on(s, now);

  /* runqueue: next waited from its wakeup until now. */
  if (!next_pid) return 0;
  __u64 *tsp = bpf_map_lookup_elem(&wakeups, &next_pid);
  if (!tsp) return 0;
  __u64 woke = *tsp;
  bpf_map_delete_elem(&wakeups, &next_pid);
  if (now < woke || !cpu_wanted(cpu)) return 0;
  __u64 delta = now - woke;
  if (want_hist) hist_add(next, cpu, delta);
  if (!runq_thresh_ns || delta <= runq_thresh_ns) return 0;
  struct rl_event *e = reserve();
  if (!e) return 0;
  e->kind = RL_RUNQUEUE;
  e->ts_ns = now;
  e->latency_ns = delta;
  e->cpu = cpu;
  set_victim(e, next);
  set_culprit(e, s, woke, now, next_pid);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

static __always_inline int on_softirq_raise(unsigned int vec) {
  if (!softirq_thresh_ns) return 0;
  struct cpu_state *s = state();
  if (!s || vec >= RL_NR_SOFTIRQS) return 0;
  if (!s->raise_ns[vec]) s->raise_ns[vec] = bpf_ktime_get_ns();
  return 0;
}

static __always_inline int on_softirq_entry(unsigned int vec) {
  if (!softirq_thresh_ns) return 0;
  struct cpu_state *s = state();
  if (!s || vec >= RL_NR_SOFTIRQS) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u64 raised = s->raise_ns[vec];
  s->raise_ns[vec] = 0;
  s->sirq_entry_ns[vec] = now;
  __u32 cpu = bpf_get_smp_processor_id();
  if (!raised || now < raised || now - raised <= softirq_thresh_ns || !cpu_wanted(cpu)) return 0;
  struct rl_event *e = reserve();
  if (!e) return 0;
  e->kind = RL_SOFTIRQ_DELAY;
  e->ts_ns = now;
  e->latency_ns = now - raised;
  e->cpu = cpu;
  e->extra = vec;
  set_victim(e, bpf_get_current_task_btf());
  set_culprit(e, s, raised, now, 0);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

static __always_inline int on_softirq_exit(void *ctx, unsigned int vec) {
  if (!softirq_thresh_ns) return 0;
  struct cpu_state *s = state();
  if (!s || vec >= RL_NR_SOFTIRQS) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u64 entry = s->sirq_entry_ns[vec];
  s->sirq_entry_ns[vec] = 0;
  __u32 cpu = bpf_get_smp_processor_id();
  if (!entry || now < entry || now - entry <= softirq_thresh_ns || !cpu_wanted(cpu)) return 0;
  struct rl_event *e = reserve();
  if (!e) return 0;
  e->kind = RL_SOFTIRQ_RUN;
  e->ts_ns = now;
  e->latency_ns = now - entry;
  e->cpu = cpu;
  e->extra = vec;
  set_victim(e, bpf_get_current_task_btf());
  bpf_ringbuf_submit(e, 0);
  return 0;
}

static __always_inline int on_hardirq_entry(void) {
  struct cpu_state *s = state();
  if (!s) return 0;
  __u64 now = bpf_ktime_get_ns();
  mark_irqs_on(s, now);
  if (hardirq_thresh_ns) s->hirq_entry_ns = now;
  return 0;
}

static __always_inline int on_timer_entry(void) {
  struct cpu_state *s = state();
  if (s) mark_irqs_on(s, bpf_ktime_get_ns());
  return 0;
}

static __always_inline int on_hardirq_exit(void *ctx, int irq, struct irqaction *action) {
  if (!hardirq_thresh_ns) return 0;
  struct cpu_state *s = state();
  if (!s) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u64 entry = s->hirq_entry_ns;
  s->hirq_entry_ns = 0;
  __u32 cpu = bpf_get_smp_processor_id();
  if (!entry || now < entry || now - entry <= hardirq_thresh_ns || !cpu_wanted(cpu)) return 0;
  struct rl_event *e = reserve();
  if (!e) return 0;
  e->kind = RL_HARDIRQ;
  e->ts_ns = now;
  e->latency_ns = now - entry;
  e->cpu = cpu;
  e->extra = irq;
  const char *name = BPF_CORE_READ(action, name);
  if (name) bpf_probe_read_kernel_str(e->name, sizeof(e->name), name);
  set_victim(e, bpf_get_current_task_btf());
  bpf_ringbuf_submit(e, 0);
  return 0;
}

/* ---- tp_btf (preferred) ---- */

SEC("tp_btf/sched_wakeup")
int BPF_PROG(oscope_rl_wake, struct task_struct *p) { return on_wakeup(p); }

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(oscope_rl_wnew, struct task_struct *p) { return on_wakeup(p); }

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_rl_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  return on_switch(ctx, prev, next);
}

SEC("tp_btf/softirq_raise")
int BPF_PROG(oscope_rl_sraise, unsigned int vec) { return on_softirq_raise(vec); }

SEC("tp_btf/softirq_entry")
int BPF_PROG(oscope_rl_sentry, unsigned int vec) { return on_softirq_entry(vec); }

SEC("tp_btf/softirq_exit")
int BPF_PROG(oscope_rl_sexit, unsigned int vec) { return on_softirq_exit(ctx, vec); }

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(oscope_rl_hentry, int irq, struct irqaction *action) { return on_hardirq_entry(); }

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(oscope_rl_hexit, int irq, struct irqaction *action, int ret) { return on_hardirq_exit(ctx, irq, action); }

/* x86 local APIC timer: proves interrupts were on (optional: attach failures are ignored). */
SEC("tp_btf/local_timer_entry")
int BPF_PROG(oscope_rl_ltimer, int vector) { return on_timer_entry(); }

/* ---- raw_tp (fallback for kernels without tp_btf) ---- */

SEC("raw_tp/sched_wakeup")
int BPF_PROG(oscope_rl_wake_r, struct task_struct *p) { return on_wakeup(p); }

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(oscope_rl_wnew_r, struct task_struct *p) { return on_wakeup(p); }

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_rl_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) {
  return on_switch(ctx, prev, next);
}

SEC("raw_tp/softirq_raise")
int BPF_PROG(oscope_rl_sraise_r, unsigned int vec) { return on_softirq_raise(vec); }

SEC("raw_tp/softirq_entry")
int BPF_PROG(oscope_rl_sentry_r, unsigned int vec) { return on_softirq_entry(vec); }

SEC("raw_tp/softirq_exit")
int BPF_PROG(oscope_rl_sexit_r, unsigned int vec) { return on_softirq_exit(ctx, vec); }

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(oscope_rl_hentry_r, int irq, struct irqaction *action) { return on_hardirq_entry(); }

SEC("raw_tp/local_timer_entry")
int BPF_PROG(oscope_rl_ltimer_r, int vector) { return on_timer_entry(); }

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(oscope_rl_hexit_r, int irq, struct irqaction *action, int ret) { return on_hardirq_exit(ctx, irq, action); }

/* ---- cpu-clock sampler, one perf event per CPU: irqoff and nosched ---- */

SEC("perf_event")
int oscope_rl_tick(struct bpf_perf_event_data *ctx) {
  struct cpu_state *s = state();
  if (!s) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u32 cpu = bpf_get_smp_processor_id();
  __u64 last = s->last_sample_ns;
  __u64 overdue = s->overdue_ns;
  s->last_sample_ns = now;
  s->overdue_ns = 0;
  if (!cpu_wanted(cpu)) return 0;
  struct task_struct *cur = bpf_get_current_task_btf();
  __u32 pid = BPF_CORE_READ(cur, pid);
  bool kernel = (long)PT_REGS_IP(&ctx->regs) < 0;

  __u64 due = last + sample_period_ns;
  if (irqoff_thresh_ns && !irqoff_nmi && last && now > due + irqoff_thresh_ns) {
    /* Irqs were on at the last switch/interrupt entry: the section can only start after it. */
    __u64 since = s->activity_ns > due && s->activity_ns < now ? s->activity_ns : due;
    if (!kernel || pid == 0 || (overdue && overdue < now && now - overdue > BURST_NS)) {
      /* Idle or user mode (interrupts on), or interrupts taken during the gap: a late timer. */
      __sync_fetch_and_add(&timer_gaps, 1);
    } else if (now - since > irqoff_thresh_ns) {
      struct rl_event *e = reserve();
      if (e) {
        e->kind = RL_IRQOFF;
        e->ts_ns = now;
        e->latency_ns = now - since;
        e->cpu = cpu;
        e->stack_id = bpf_get_stackid(ctx, &stacks, 0);
        scan_short_stack(ctx, now, cpu);
        e->extra = overdue && overdue < now ? (__u32)((now - overdue) / 1000) : 0;
        set_victim(e, cur);
        e->culprit_pid = pid;
        e->culprit_tgid = BPF_CORE_READ(cur, tgid);
        BPF_CORE_READ_STR_INTO(&e->culprit_comm, cur, comm);
        bpf_ringbuf_submit(e, 0);
      }
    }
  }

  if (nosched_thresh_ns && kernel && pid && s->last_switch_ns && now - s->last_switch_ns > nosched_thresh_ns) {
    /* The CPU's runqueue through the task's CFS runqueue (CONFIG_FAIR_GROUP_SCHED); when the kernel
     * has no cfs_rq->rq, assume others wait (the event then only says the task did not schedule). */
    unsigned int nr = 2;
    if (bpf_core_field_exists(((struct cfs_rq *)0)->rq)) {
      struct rq *rq = BPF_CORE_READ(cur, se.cfs_rq, rq);
      if (rq) nr = BPF_CORE_READ(rq, nr_running);
    }
    if (nr > 1 && task_wanted(cur)) {
      s->nosched_stack = bpf_get_stackid(ctx, &stacks, 0);
      s->nosched_pending = 1;
    }
  }
  return 0;
}

/* ---- hardware NMI watchdog (x86-64), one cycles perf event per CPU: irqoff ---- */

/* Whether the context the NMI interrupted had interrupts enabled. */
static __always_inline bool nmi_irqs_were_on(struct bpf_perf_event_data *ctx) {
  if (nmi_selftest) {
    __u32 zero = 0;
    __u32 *v = bpf_map_lookup_elem(&nmi_selftest_if, &zero);
    return !v || *v != 0;
  }
#if defined(__TARGET_ARCH_x86)
  return (ctx->regs.flags & 0x200) != 0; /* X86_EFLAGS_IF */
#else
  /* arm64 masks interrupts with the GIC priority (pseudo-NMI), not in the registers BPF sees:
   * user space uses this program on x86-64 only. */
  return true;
#endif
}

/* The run of interrupts-off samples ended (at its last sample): send it when long enough. */
static __always_inline void nmi_end_run(struct cpu_state *s, __u64 now) {
  __u32 n = s->nmi_off_n;
  __u64 first = s->nmi_off_first, last = s->nmi_off_last;
  s->nmi_off_n = 0;
  if (n < 2 || last <= first) return;
  __u64 span = last - first;
  __u64 mean = span / (n - 1);
  __u64 len = span + mean;
  if (len <= irqoff_thresh_ns) return;
  struct rl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(&lost_events, 1);
    return;
  }
  __builtin_memcpy(e, &s->nmi_ev, sizeof(*e));
  e->latency_ns = len;
  e->ts_ns = last + mean < now ? last + mean : now;
  e->extra = n;
  bpf_ringbuf_submit(e, 0);
}

SEC("perf_event")
int oscope_rl_nmi(struct bpf_perf_event_data *ctx) {
  struct cpu_state *s = state();
  if (!s || !irqoff_thresh_ns) return 0;
  __u64 now = bpf_ktime_get_ns();
  __u32 cpu = bpf_get_smp_processor_id();
  __u64 prev = s->nmi_last_ns;
  s->nmi_last_ns = now;
  if (!cpu_wanted(cpu)) return 0;
  bool on = nmi_irqs_were_on(ctx);
  if (s->nmi_off_n && (on || (prev && now - prev > NMI_GAP_PERIODS * nmi_period_ns))) nmi_end_run(s, now);
  if (on) return 0;
  if (!s->nmi_off_n) {
    struct rl_event *t = &s->nmi_ev;
    struct task_struct *cur = bpf_get_current_task_btf();
    __builtin_memset(t, 0, sizeof(*t));
    t->kind = RL_IRQOFF;
    t->cpu = cpu;
    t->stack_id = bpf_get_stackid(ctx, &stacks, 0);
    set_victim(t, cur);
    t->culprit_pid = t->pid;
    t->culprit_tgid = t->tgid;
    __builtin_memcpy(t->culprit_comm, t->comm, RL_COMM_LEN);
    s->nmi_off_first = now;
  }
  s->nmi_off_last = now;
  s->nmi_off_n++;
  return 0;
}
