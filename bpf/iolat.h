/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iolat: the agent's always-on block I/O latency histogram (bpf/iolat.bpf.c), mirrored by
 * src/agent/iolat.ts (IOLAT_* constants and decodeIolatHistogram). Keep both in step; the asserts pin
 * the sizes. Histograms only: no events, no ring buffer.
 */
#ifndef OSCOPE_IOLAT_H
#define OSCOPE_IOLAT_H

#define IOLAT_HIST_SLOTS 32

enum iolat_stage {
  IOLAT_QUEUE = 0,  /* bio queued → request inserted into the scheduler (or issued, without one) */
  IOLAT_SCHED = 1,  /* inserted → issued to the driver */
  IOLAT_DEVICE = 2, /* issued → completed */
  IOLAT_WAKE = 3,   /* completed → the issuer, asleep in iowait, runs again */
  IOLAT_NR_STAGES = 4,
};


/* One CPU's share (the map is per-CPU: user space sums the CPUs, max is the max of theirs). */
struct iolat_hist {
  __u64 slots[IOLAT_HIST_SLOTS]; /* slot i: [2^i, 2^(i+1)) microseconds (slot 0 also < 1 us) */
  __u64 count;
  __u64 sum_ns;
  __u64 max_ns;
};

/* The map's value per disk (key: the kernel dev_t, major << 20 | minor): one histogram per stage, so a
 * completion costs one map lookup for all its stages. */
struct iolat_disk {
  struct iolat_hist stages[IOLAT_NR_STAGES];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct iolat_hist) == 280, "iolat_hist layout changed: update src/agent/iolat.ts");
_Static_assert(sizeof(struct iolat_disk) == 1120, "iolat_disk layout changed: update src/agent/iolat.ts");
#endif

#endif
