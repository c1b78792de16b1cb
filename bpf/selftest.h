/*
 * Shared between selftest.bpf.c and its TypeScript decoder (src/kernel/bpf/selftest.ts): keep the
 * layout in step with SELFTEST_EVENT_LAYOUT there. Fixed-size types, explicit padding, 8-byte aligned.
 */
#ifndef OSCOPE_SELFTEST_H
#define OSCOPE_SELFTEST_H

#define SELFTEST_COMM_LEN 16
#define SELFTEST_FILENAME_LEN 64

/* Which program saw the exec (one program per attach kind, to prove each path). */
enum selftest_source {
  SELFTEST_SRC_TRACEPOINT = 1, /* tracepoint/sched/sched_process_exec (needs tracefs for the id) */
  SELFTEST_SRC_RAW_TP = 2,     /* raw_tp/sched_process_exec */
  SELFTEST_SRC_TP_BTF = 3,     /* tp_btf/sched_process_exec */
};

struct selftest_event {
  __u32 pid;        /* tgid of the task that exec'd */
  __u32 ppid;       /* tgid of its real parent */
  __u32 source;     /* enum selftest_source */
  __s32 stack_id;   /* kernel stack id in `stacks`, or a negative errno */
  __u64 ts_ns;      /* bpf_ktime_get_ns() */
  char comm[SELFTEST_COMM_LEN];
  char filename[SELFTEST_FILENAME_LEN];
};

/* The layout the TypeScript decoder reads (SELFTEST_EVENT_LAYOUT; a test compares these lines). */
_Static_assert(__builtin_offsetof(struct selftest_event, pid) == 0, "pid");
_Static_assert(__builtin_offsetof(struct selftest_event, ppid) == 4, "ppid");
_Static_assert(__builtin_offsetof(struct selftest_event, source) == 8, "source");
_Static_assert(__builtin_offsetof(struct selftest_event, stack_id) == 12, "stackId");
_Static_assert(__builtin_offsetof(struct selftest_event, ts_ns) == 16, "tsNs");
_Static_assert(__builtin_offsetof(struct selftest_event, comm) == 24, "comm");
_Static_assert(__builtin_offsetof(struct selftest_event, filename) == 40, "filename");
_Static_assert(sizeof(struct selftest_event) == 104, "size");

#endif
