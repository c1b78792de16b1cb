/* SPDX-License-Identifier: GPL-2.0 */
/*
 * profile: the layout shared by bpf/profile.bpf.c and its TypeScript decoder
 * (src/diagnose/profile/bpf.ts, PROFILE_KEY_LAYOUT / PROFILE_VALUE_LAYOUT). Keep both in step.
 */
#ifndef OSCOPE_PROFILE_H
#define OSCOPE_PROFILE_H

#define PROF_COMM_LEN 16
#define PROF_MAX_DEPTH 127

/* One aggregation bucket: a process and its (kernel, user) stack pair. */
struct prof_key {
  __u32 tgid;
  __s32 kstack; /* stack map id; < 0: the bpf_get_stackid error (-EFAULT: no kernel part) */
  __s32 ustack; /* the same for the user part (-EFAULT: a kernel thread, no user stack) */
  __u32 pad;
};

struct prof_value {
  __u64 count;     /* on-CPU: samples; off-CPU: nanoseconds blocked */
  __u64 cgroup_id; /* cgroup v2 id of the task (bpf_get_current_cgroup_id) */
  char comm[PROF_COMM_LEN];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct prof_key) == 16, "prof_key layout changed: update PROFILE_KEY_LAYOUT");
_Static_assert(sizeof(struct prof_value) == 32, "prof_value layout changed: update PROFILE_VALUE_LAYOUT");
#endif

#endif
