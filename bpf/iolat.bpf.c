// SPDX-License-Identifier: GPL-2.0
/*
 * oscope agent: always-on block I/O latency per disk and stage, histograms only (the run-queue
 * histogram's counterpart for I/O). `oscope io` (bpf/io.bpf.c) adds slow-request events, in-flight
 * requests, iowait per thread and stacks; this program keeps only what a per-tick Prometheus histogram
 * needs, so it can stay attached for the agent's life.
 *
 * THE STAMPED PATH (the default: the agent leaves the wake stage off).
 *   block_rq_complete   device = complete − rq->io_start_time_ns, for every request. The block layer
 *                       stamps each request when it dispatches it, on queues that collect stats
 *                       (writeback throttling, iocost or iolatency on: the default for most disks).
 *   block_bio_queue     for 1 bio in 2^sample_shift (chosen by a hash of its first sector, so no
 *                       lookup is needed to know): when it entered the block layer
 *   block_rq_insert,    for a sampled request (the same hash of its first sector): when it was
 *   block_rq_issue      inserted and dispatched (this program's clock: the kernel's stamp can be a
 *                       time cached when the plug began, a few microseconds early)
 *   block_rq_complete   for a sampled request: queue = insert − bio queued, sched = dispatched − insert
 *                       (without an insert: queue = dispatched − bio queued); without a dispatch stamp
 *                       (a queue without stats, a flush) also device = complete − dispatched.
 * A sampled request adds 2^sample_shift to its histograms' counts (it stands for that many), so counts
 * and means keep their meaning. (rq->start_time_ns is not used: recent kernels set it at dispatch.)
 *
 * THE CLASSIC PATH (the wake stage wanted): every request is followed through a map:
 *   block_bio_queue     remember when the bio entered the block layer and who submitted it
 *   block_rq_insert     queue = insert − bio queued
 *   block_rq_issue      sched = issue − insert (without an insert: queue = issue − bio queued)
 *   block_rq_complete   device = complete − issue; if the issuer sleeps in iowait, note the completion
 *   sched_switch        only threads with in_iowait set touch a map: going to sleep records the thread,
 *                       switching in after a completion of its request gives wake = switch-in − completion
 *
 * Merged bios are not followed (no merge hooks: their entries age out of the LRU maps). Per-CPU
 * histograms (no atomics, no shared cache lines), one map value per disk holding every stage, read by
 * the agent every interval. tp_btf programs, each with a raw_tp twin as the fallback (5.11+ tracepoint
 * arguments).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "iolat.h"
#include "rd.h"

char LICENSE[] SEC("license") = "GPL";

/* The wake stage needs the sched_switch hook and the classic path; the agent can turn it off. */
const volatile bool want_wake = true;

/* The stamped path samples 1 request in 2^sample_shift for the queue and sched stages. */
const volatile __u32 sample_shift = 2;

/* The sample: a multiplicative hash of the first sector (the bio's at queue time, the request's
 * later: the same unless a bio was merged in front), its top bits zero. A hash of the address would
 * be better spread, but a tp_btf program may not compute with a kernel pointer. */
static __always_inline bool sampled(__u64 sector) {
  if (!sample_shift) return true;
  return ((sector * 0x9E3779B97F4A7C15ULL) >> (64 - sample_shift)) == 0;
}

struct ins_times {
  __u64 bio_ns;    /* the sampled first bio was queued (0: unknown) */
  __u64 insert_ns; /* 0: not inserted */
  __u64 issue_ns;  /* 0: not seen dispatched */
};

struct bio_start {
  __u64 ts;
  __u32 pid;
  __u32 pad;
};

struct req_times {
  __u64 bio_ns;    /* 0: unknown */
  __u64 insert_ns; /* 0: not inserted into a scheduler */
  __u64 issue_ns;
  __u32 pid;       /* the submitter of its first bio (0: unknown) */
  __u32 dev;
};

struct sleeper {
  __u64 completed; /* first completion of one of its requests while asleep (0: none yet) */
  __u32 dev;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u64); /* struct bio * */
  __type(value, struct bio_start);
} iolat_bios SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u64); /* struct request * */
  __type(value, struct req_times);
} iolat_reqs SEC(".maps");

/* The stamped path's sampled bios and requests (per-CPU LRU lists: no shared lock on update). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
  __type(key, __u64); /* struct bio * */
  __type(value, __u64);
} iolat_sbios SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
  __type(key, __u64); /* struct request * */
  __type(value, struct ins_times);
} iolat_sreqs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* thread id */
  __type(value, struct sleeper);
} iolat_sleepers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 256); /* disks */
  __type(key, __u32);       /* kernel dev_t */
  __type(value, struct iolat_disk);
} iolat_hists SEC(".maps");

/* Kernels before 5.17 keep the disk in the request. */
struct request___o {
  struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_dev(struct request *rq, const bool btf) {
  struct gendisk *disk = NULL;
  if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
    disk = RD(btf, (struct request___o *)rq, rq_disk);
  else
    disk = RD(btf, rq, q, disk);
  if (!disk) return 0;
  __u32 major = RD(btf, disk, major);
  __u32 minor = RD(btf, disk, first_minor);
  return (major << 20) | minor;
}

static const struct iolat_disk zero_disk = {};

/* The disk's per-CPU histograms, created on its first completion. */
static __always_inline struct iolat_disk *disk_hists(__u32 dev) {
  struct iolat_disk *d = bpf_map_lookup_elem(&iolat_hists, &dev);
  if (d) return d;
  bpf_map_update_elem(&iolat_hists, &dev, &zero_disk, BPF_NOEXIST);
  return bpf_map_lookup_elem(&iolat_hists, &dev);
}

/* Adds one request (or, for a sample, the `w` requests it stands for). */
static __always_inline void hist_addw(struct iolat_disk *d, __u32 stage, __u64 delta, __u64 w) {
  if (stage >= IOLAT_NR_STAGES) return;
  struct iolat_hist *h = &d->stages[stage];
  __u64 us = delta / 1000;
  __u32 slot = 0;
#pragma unroll
  for (int i = 0; i < IOLAT_HIST_SLOTS - 1; i++) {
    if (us >> (i + 1)) slot = i + 1;
  }
  if (slot < IOLAT_HIST_SLOTS) h->slots[slot] += w;
  h->count += w;
  h->sum_ns += delta * w;
  if (delta > h->max_ns) h->max_ns = delta;
}

static __always_inline void hist_add(struct iolat_disk *d, __u32 stage, __u64 delta) { hist_addw(d, stage, delta, 1); }

static __always_inline int on_bio_queue(struct bio *bio) {
  __u64 key = (__u64)bio;
  struct bio_start b = {.ts = bpf_ktime_get_ns(), .pid = (__u32)bpf_get_current_pid_tgid()};
  bpf_map_update_elem(&iolat_bios, &key, &b, BPF_ANY);
  return 0;
}

static __always_inline struct req_times *req_entry(struct request *rq, const bool btf) {
  __u64 key = (__u64)rq;
  struct req_times *r = bpf_map_lookup_elem(&iolat_reqs, &key);
  if (r) return r;
  struct req_times n = {};
  n.dev = rq_dev(rq, btf);
  __u64 bkey = (__u64)RD(btf, rq, bio);
  struct bio_start *b = bkey ? bpf_map_lookup_elem(&iolat_bios, &bkey) : NULL;
  if (b) {
    n.bio_ns = b->ts;
    n.pid = b->pid;
    bpf_map_delete_elem(&iolat_bios, &bkey);
  } else {
    n.pid = (__u32)bpf_get_current_pid_tgid();
  }
  bpf_map_update_elem(&iolat_reqs, &key, &n, BPF_ANY);
  return bpf_map_lookup_elem(&iolat_reqs, &key);
}

static __always_inline int on_rq_insert(struct request *rq, const bool btf) {
  __u64 now = bpf_ktime_get_ns();
  struct req_times *r = req_entry(rq, btf);
  if (r && !r->insert_ns) r->insert_ns = now;
  return 0;
}

static __always_inline int on_rq_issue(struct request *rq, const bool btf) {
  __u64 now = bpf_ktime_get_ns();
  struct req_times *r = req_entry(rq, btf);
  if (r) r->issue_ns = now;
  return 0;
}

/* The stamped path's hooks: only sampled bios and their requests touch a map. */
static __always_inline int on_bio_queue_s(struct bio *bio, const bool btf) {
  if (!sampled(RD(btf, bio, bi_iter.bi_sector))) return 0;
  __u64 key = (__u64)bio;
  __u64 ts = bpf_ktime_get_ns();
  bpf_map_update_elem(&iolat_sbios, &key, &ts, BPF_ANY);
  return 0;
}

/* The sampled request's entry, created with its first bio's queue time. */
static __always_inline struct ins_times *sreq_entry(struct request *rq, const bool btf) {
  __u64 key = (__u64)rq;
  struct ins_times *r = bpf_map_lookup_elem(&iolat_sreqs, &key);
  if (r) return r;
  struct ins_times n = {};
  __u64 bkey = (__u64)RD(btf, rq, bio);
  __u64 *b = bkey ? bpf_map_lookup_elem(&iolat_sbios, &bkey) : NULL;
  if (b) {
    n.bio_ns = *b;
    bpf_map_delete_elem(&iolat_sbios, &bkey);
  }
  bpf_map_update_elem(&iolat_sreqs, &key, &n, BPF_ANY);
  return bpf_map_lookup_elem(&iolat_sreqs, &key);
}

static __always_inline int on_rq_insert_s(struct request *rq, const bool btf) {
  if (!sampled(RD(btf, rq, __sector))) return 0;
  __u64 now = bpf_ktime_get_ns();
  struct ins_times *r = sreq_entry(rq, btf);
  if (r && !r->insert_ns) r->insert_ns = now;
  return 0;
}

static __always_inline int on_rq_issue_s(struct request *rq, const bool btf) {
  if (!sampled(RD(btf, rq, __sector))) return 0;
  __u64 now = bpf_ktime_get_ns();
  struct ins_times *r = sreq_entry(rq, btf);
  if (r) r->issue_ns = now;
  return 0;
}

/* The stamped path at completion: true when the request carried its dispatch time (and was counted).
 * The kernel's dispatch stamp may be a time cached when its plug started (blk_time_get_ns), a few
 * microseconds early; the sampled requests' stages use this program's own clock reads instead. */
static __always_inline void on_stamped(struct request *rq, __u64 now, const bool btf) {
  __u64 issue = RD(btf, rq, io_start_time_ns);
  if (issue > now) issue = 0;
  struct iolat_disk *d = NULL;
  if (issue) {
    d = disk_hists(rq_dev(rq, btf));
    if (!d) return;
    hist_add(d, IOLAT_DEVICE, now - issue);
  }
  if (!sampled(RD(btf, rq, __sector))) return;
  __u64 key = (__u64)rq;
  struct ins_times *r = bpf_map_lookup_elem(&iolat_sreqs, &key);
  if (!r) return;
  __u64 w = 1ULL << sample_shift;
  if (r->issue_ns && r->issue_ns <= now) {
    if (!d) d = disk_hists(rq_dev(rq, btf));
    if (d) {
      /* No dispatch stamp (a queue that collects no stats; a flush): the sample gives the device stage. */
      if (!issue) hist_addw(d, IOLAT_DEVICE, now - r->issue_ns, w);
      if (r->insert_ns && r->insert_ns <= r->issue_ns) hist_addw(d, IOLAT_SCHED, r->issue_ns - r->insert_ns, w);
      __u64 qend = r->insert_ns ? r->insert_ns : r->issue_ns;
      if (r->bio_ns && r->bio_ns <= qend) hist_addw(d, IOLAT_QUEUE, qend - r->bio_ns, w);
    }
  }
  bpf_map_delete_elem(&iolat_sreqs, &key);
}

static __always_inline int on_rq_complete(struct request *rq, const bool btf) {
  __u64 key = (__u64)rq;
  __u64 now = bpf_ktime_get_ns();
  if (!want_wake) {
    on_stamped(rq, now, btf);
    return 0;
  }
  struct req_times *r = bpf_map_lookup_elem(&iolat_reqs, &key);
  if (!r) return 0;
  if (r->issue_ns && now >= r->issue_ns) {
    __u32 dev = r->dev;
    struct iolat_disk *d = disk_hists(dev);
    if (d) {
      hist_add(d, IOLAT_DEVICE, now - r->issue_ns);
      if (r->insert_ns && r->insert_ns <= r->issue_ns) hist_add(d, IOLAT_SCHED, r->issue_ns - r->insert_ns);
      __u64 qend = r->insert_ns ? r->insert_ns : r->issue_ns;
      if (r->bio_ns && r->bio_ns <= qend) hist_add(d, IOLAT_QUEUE, qend - r->bio_ns);
    }
    __u32 pid = r->pid;
    struct sleeper *s = pid ? bpf_map_lookup_elem(&iolat_sleepers, &pid) : NULL;
    if (s && !s->completed) {
      s->completed = now;
      s->dev = dev;
    }
  }
  bpf_map_delete_elem(&iolat_reqs, &key);
  return 0;
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next, const bool btf) {
  if (!want_wake) return 0;
  if (RD_BITFIELD(btf, prev, in_iowait)) {
    __u32 ppid = RD(btf, prev, pid);
    if (ppid) {
      struct sleeper z = {};
      bpf_map_update_elem(&iolat_sleepers, &ppid, &z, BPF_ANY);
    }
  }
  if (!RD_BITFIELD(btf, next, in_iowait)) return 0;
  __u32 npid = RD(btf, next, pid);
  if (!npid) return 0;
  struct sleeper *s = bpf_map_lookup_elem(&iolat_sleepers, &npid);
  if (!s) return 0;
  __u64 now = bpf_ktime_get_ns();
  if (s->completed && now >= s->completed) {
    struct iolat_disk *d = disk_hists(s->dev);
    if (d) hist_add(d, IOLAT_WAKE, now - s->completed);
  }
  bpf_map_delete_elem(&iolat_sleepers, &npid);
  return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq, struct bio *bio) { return on_bio_queue(bio); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(oscope_iolat_insert, struct request *rq) { return on_rq_insert(rq, true); }

SEC("tp_btf/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq_s, struct bio *bio) { return on_bio_queue_s(bio, true); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(oscope_iolat_insert_s, struct request *rq) { return on_rq_insert_s(rq, true); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(oscope_iolat_issue_s, struct request *rq) { return on_rq_issue_s(rq, true); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(oscope_iolat_issue, struct request *rq) { return on_rq_issue(rq, true); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(oscope_iolat_done, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, true); }

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_iolat_switch, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(prev, next, true); }

SEC("raw_tp/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq_r, struct bio *bio) { return on_bio_queue(bio); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(oscope_iolat_insert_r, struct request *rq) { return on_rq_insert(rq, false); }

SEC("raw_tp/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq_s_r, struct bio *bio) { return on_bio_queue_s(bio, false); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(oscope_iolat_insert_s_r, struct request *rq) { return on_rq_insert_s(rq, false); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(oscope_iolat_issue_s_r, struct request *rq) { return on_rq_issue_s(rq, false); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(oscope_iolat_issue_r, struct request *rq) { return on_rq_issue(rq, false); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(oscope_iolat_done_r, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, false); }

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_iolat_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(prev, next, false); }
