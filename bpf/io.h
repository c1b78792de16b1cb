/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io: the layout shared by bpf/io.bpf.c and its TypeScript decoder (src/diagnose/io/bpf.ts,
 * IO_EVENT_LAYOUT and friends). Keep both in step; the asserts pin the sizes.
 */
#ifndef OSCOPE_IO_H
#define OSCOPE_IO_H

#include "hist.h"

#define IO_COMM_LEN 16

enum oio_stage {
  IO_STAGE_QUEUE = 0,  /* bio queued → request inserted into the scheduler (or issued, without one) */
  IO_STAGE_SCHED = 1,  /* inserted → issued to the driver */
  IO_STAGE_DEVICE = 2, /* issued → completed */
  IO_STAGE_WAKE = 3,   /* completed → the task asleep in iowait for it runs again */
  IO_NR_STAGES = 4,
};

/* A request that took longer than slow_ns (queue + sched + device). */
struct oio_event {
  __u64 ts_ns;      /* bpf_ktime_get_ns() at completion */
  __u64 queue_ns;   /* ~0: unknown (the bio was queued before we attached, or split) */
  __u64 sched_ns;
  __u64 device_ns;
  __u64 wake_ns;    /* ~0: the issuer was not asleep waiting for it */
  __u64 sector;
  __u64 cgroup_id;  /* the issuer's cgroup id in the hierarchy targ_ssid names */
  __u32 dev;        /* kernel dev_t: major << 20 | minor */
  __u32 bytes;
  __u32 pid;        /* issuing thread */
  __u32 tgid;
  __u32 op;         /* cmd_flags & REQ_OP_MASK */
  __s32 error;
  char comm[IO_COMM_LEN];
  __u64 ino;        /* the file of the request's first page (0: none, e.g. direct I/O or metadata) */
  __u32 fdev;       /* that file's super block dev_t (a block device's own: its dev_t, ino 0) */
  __u32 fkind;      /* enum oio_file_kind */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oio_event) == 112, "oio_event layout changed: update IO_EVENT_LAYOUT");
#endif

struct oio_hist_key {
  __u32 dev;
  __u32 stage;
};

/* Histogram values are struct oscope_hist (bpf/hist.h), keyed by oio_hist_key. */

/* A request in flight (key: struct request *). */
struct oio_req {
  __u64 bio_ns;    /* 0: unknown */
  __u64 insert_ns; /* 0: not inserted into a scheduler */
  __u64 issue_ns;  /* 0: not issued yet */
  __u64 sector;
  __u64 cgroup_id;
  __u32 dev;
  __u32 bytes;
  __u32 pid;
  __u32 tgid;
  __u32 op;
  __u32 pad;
  char comm[IO_COMM_LEN];
  __u64 ino;       /* unused: the file is looked up at completion, for slow requests only */
  __u32 fdev;
  __u32 fkind;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oio_req) == 96, "oio_req layout changed: update IO_REQ_LAYOUT");
#endif

/* Time a thread spent asleep with in_iowait set (io_schedule), over the run. */
struct oio_wait {
  __u64 total_ns;
  __u64 count;
  __u64 max_ns;
  __u64 cgroup_id;
  __u32 tgid;
  __s32 max_stack_id; /* kernel stack of the longest sleep */
  char comm[IO_COMM_LEN];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oio_wait) == 56, "oio_wait layout changed: update IO_WAIT_LAYOUT");
#endif

enum oio_file_kind {
  IO_FILE_NONE = 0,
  IO_FILE_INODE = 1, /* a file's page cache */
  IO_FILE_BDEV = 2,  /* a block device's own page cache: file system metadata, journal, raw device I/O */
};

/* Per-file traffic: a file by its super block's dev_t and inode number. */
struct oio_file_key {
  __u32 dev;
  __u32 kind; /* enum oio_file_kind */
  __u64 ino;
};

/* read: bytes of reads submitted to the block layer for the file's page cache (cache misses and
 * readahead: what /proc/PID/io read_bytes counts) plus its direct reads; dirtied: bytes of its page
 * cache dirtied (what /proc/PID/io write_bytes counts for buffered writes; writeback writes them later)
 * plus its direct writes (O_DIRECT): the file's written bytes. A task's own dirtied_bytes (struct
 * oio_task) leave the direct writes out. */
struct oio_file {
  __u64 read_bytes;
  __u64 dirtied_bytes;
};

/* The same per (file, process). */
struct oio_file_task_key {
  struct oio_file_key file;
  __u32 tgid;
  __u32 pad;
};

struct oio_file_task {
  __u64 read_bytes;
  __u64 dirtied_bytes;
  char comm[IO_COMM_LEN];
};

/* Per process (key: tgid): page cache it dirtied and reads it submitted, every file together. */
struct oio_task {
  __u64 dirtied_bytes;
  __u64 read_bytes;
  __u64 cgroup_id;
  char comm[IO_COMM_LEN];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct oio_file_task_key) == 24, "oio_file_task_key layout changed");
_Static_assert(sizeof(struct oio_file_task) == 32, "oio_file_task layout changed");
_Static_assert(sizeof(struct oio_task) == 40, "oio_task layout changed");
#endif

#endif
