// SPDX-License-Identifier: GPL-2.0
/*
 * oscope agent: always-on block I/O latency per disk and stage, histograms only (the run-queue
 * histogram's counterpart for I/O). `oscope io` (bpf/io.bpf.c) adds slow-request events, in-flight
 * requests, iowait per thread and stacks; this program keeps only what a per-tick Prometheus histogram
 * needs, so it can stay attached for the agent's life:
 *
 *   block_bio_queue     remember when the bio entered the block layer and who submitted it
 *   block_rq_insert     queue = insert − bio queued
 *   block_rq_issue      sched = issue − insert (without an insert: queue = issue − bio queued)
 *   block_rq_complete   device = complete − issue; if the issuer sleeps in iowait, note the completion
 *   sched_switch        only threads with in_iowait set touch a map: going to sleep records the thread,
 *                       switching in after a completion of its request gives wake = switch-in − completion
 *
 * Per-CPU histograms (no atomics, no shared cache lines), keyed by (disk, stage), in a bounded map read
 * by the agent every interval. Merged bios are not tracked (no merge hooks: their entries age out of
 * the LRU map). tp_btf programs, each with a raw_tp twin as the fallback (5.11+ tracepoint arguments).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "iolat.h"
#include "rd.h"

char LICENSE[] SEC("license") = "GPL";

/* The wake stage needs the sched_switch hook; the agent can turn it off. */
const volatile bool want_wake = true;

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

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* thread id */
  __type(value, struct sleeper);
} iolat_sleepers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024); /* 256 disks × 4 stages */
  __type(key, struct iolat_key);
  __type(value, struct iolat_hist);
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

static __always_inline void hist_add(__u32 dev, __u32 stage, __u64 delta) {
  struct iolat_key k = {.dev = dev, .stage = stage};
  struct iolat_hist *h = bpf_map_lookup_elem(&iolat_hists, &k);
  if (!h) {
    struct iolat_hist zero = {};
    bpf_map_update_elem(&iolat_hists, &k, &zero, BPF_NOEXIST);
    h = bpf_map_lookup_elem(&iolat_hists, &k);
    if (!h) return;
  }
  __u64 us = delta / 1000;
  __u32 slot = 0;
#pragma unroll
  for (int i = 0; i < IOLAT_HIST_SLOTS - 1; i++) {
    if (us >> (i + 1)) slot = i + 1;
  }
  if (slot < IOLAT_HIST_SLOTS) h->slots[slot]++;
  h->count++;
  h->sum_ns += delta;
  if (delta > h->max_ns) h->max_ns = delta;
}

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

static __always_inline int on_rq_complete(struct request *rq) {
  __u64 key = (__u64)rq;
  struct req_times *r = bpf_map_lookup_elem(&iolat_reqs, &key);
  if (!r) return 0;
  __u64 now = bpf_ktime_get_ns();
  if (r->issue_ns && now >= r->issue_ns) {
    __u32 dev = r->dev;
    hist_add(dev, IOLAT_DEVICE, now - r->issue_ns);
    if (r->insert_ns && r->insert_ns <= r->issue_ns) hist_add(dev, IOLAT_SCHED, r->issue_ns - r->insert_ns);
    __u64 qend = r->insert_ns ? r->insert_ns : r->issue_ns;
    if (r->bio_ns && r->bio_ns <= qend) hist_add(dev, IOLAT_QUEUE, qend - r->bio_ns);
    __u32 pid = r->pid;
    struct sleeper *s = want_wake && pid ? bpf_map_lookup_elem(&iolat_sleepers, &pid) : NULL;
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
  if (s->completed && now >= s->completed) hist_add(s->dev, IOLAT_WAKE, now - s->completed);
  bpf_map_delete_elem(&iolat_sleepers, &npid);
  return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq, struct bio *bio) { return on_bio_queue(bio); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(oscope_iolat_insert, struct request *rq) { return on_rq_insert(rq, true); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(oscope_iolat_issue, struct request *rq) { return on_rq_issue(rq, true); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(oscope_iolat_done, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq); }

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_iolat_switch, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(prev, next, true); }

SEC("raw_tp/block_bio_queue")
int BPF_PROG(oscope_iolat_bioq_r, struct bio *bio) { return on_bio_queue(bio); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(oscope_iolat_insert_r, struct request *rq) { return on_rq_insert(rq, false); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(oscope_iolat_issue_r, struct request *rq) { return on_rq_issue(rq, false); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(oscope_iolat_done_r, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq); }

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_iolat_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(prev, next, false); }
