// SPDX-License-Identifier: GPL-2.0
/*
 * oscope io: where a block request spends its time, per disk and stage, and who waits for it.
 *
 *   block_bio_queue     the bio enters the block layer (in the submitter's context: pid, comm, cgroup)
 *   block_bio_*merge    the bio was merged into a request that already exists: forget it
 *   block_rq_insert     the request enters the I/O scheduler          queue = insert − bio queued
 *   block_rq_issue      the driver gets it                            sched = issue − insert
 *                       (no insert: it bypassed the scheduler)        queue = issue − bio queued
 *   block_rq_complete   done                                          device = complete − issue
 *   sched_switch        a thread going to sleep with in_iowait (io_schedule) is an iowait sleeper;
 *                       when a request it issued completes while it sleeps, the time from that
 *                       completion to its next switch-in is the wake stage, and the whole sleep
 *                       counts as its iowait (per thread, with the stack of its longest sleep).
 *
 * Log2 histograms per (disk, stage); requests above slow_ns go to the ring buffer (deferred to the
 * issuer's switch-in when it sleeps for them, so the event carries the wake stage too). Requests still
 * in flight stay in `reqs`: user space reads their age (hangs). Every map is bounded (LRU where a missed
 * event could leave an entry behind). tp_btf programs, each with a raw_tp twin as the fallback; the
 * tracepoint arguments are those of 5.11+ kernels (the request_queue argument was dropped there).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "io.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 slow_ns = 50000000;
const volatile __u32 targ_dev = 0;   /* 0 = every disk */
const volatile __u32 targ_tgid = 0;  /* slow events and iowait of this process only; 0 = all */
const volatile __s32 targ_ssid = -1; /* -1: cgroup v2 ids, else the v1 hierarchy of this subsystem id */
const volatile bool want_wake = true;

__u64 lost_events = 0;

#define REQ_OP_MASK 0xff
#define IO_MAX_SSID 32

struct bio_info {
  __u64 ts;
  __u64 cgroup_id;
  __u32 pid;
  __u32 tgid;
  char comm[IO_COMM_LEN];
};

struct sleeper {
  __u64 since;       /* when it went to sleep in iowait */
  __u64 completed;   /* first completion of one of its requests while asleep (0: none yet) */
  __s32 stack_id;
  __u32 dev;         /* the disk of that completion */
  __u32 has_event;
  __u32 pad;   /* `ev` holds a slow request waiting for its wake stage */
  struct oio_event ev;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64); /* struct bio * */
  __type(value, struct bio_info);
} bios SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64); /* struct request * */
  __type(value, struct oio_req);
} reqs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct oio_hist_key);
  __type(value, struct oscope_hist);
} hists SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32); /* thread id */
  __type(value, struct sleeper);
} sleepers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32); /* thread id */
  __type(value, struct oio_wait);
} waits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 1024);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* Scratch for a zeroed sleeper (too big for the stack with an event inside). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sleeper);
} scratch SEC(".maps");

/* Kernels before 5.17 keep the disk in the request. */
struct request___o {
  struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_dev(struct request *rq) {
  struct gendisk *disk = NULL;
  if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
    disk = BPF_CORE_READ((struct request___o *)rq, rq_disk);
  else
    disk = BPF_CORE_READ(rq, q, disk);
  if (!disk) return 0;
  __u32 major = BPF_CORE_READ(disk, major);
  __u32 minor = BPF_CORE_READ(disk, first_minor);
  return (major << 20) | minor;
}

static __always_inline __u64 task_cgid(struct task_struct *t) {
  if (targ_ssid < 0) return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
  __u32 ssid = (__u32)targ_ssid;
  if (ssid >= IO_MAX_SSID) return 0;
  struct css_set *cs = BPF_CORE_READ(t, cgroups);
  struct cgroup_subsys_state *css = NULL;
  if (!cs) return 0;
  bpf_core_read(&css, sizeof(css), &cs->subsys[ssid]);
  if (!css) return 0;
  return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline void hist_add(__u32 dev, __u32 stage, __u64 delta) {
  struct oio_hist_key k = {.dev = dev, .stage = stage};
  struct oscope_hist *h = hist_lookup_or_init(&hists, &k);
  if (h) hist_record(h, delta);
}

static __always_inline int on_bio_queue(struct bio *bio) {
  __u64 key = (__u64)bio;
  struct task_struct *t = bpf_get_current_task_btf();
  struct bio_info b = {};
  b.ts = bpf_ktime_get_ns();
  __u64 id = bpf_get_current_pid_tgid();
  b.pid = (__u32)id;
  b.tgid = id >> 32;
  b.cgroup_id = task_cgid(t);
  bpf_get_current_comm(&b.comm, sizeof(b.comm));
  bpf_map_update_elem(&bios, &key, &b, BPF_ANY);
  return 0;
}

static __always_inline int on_bio_merge(struct bio *bio) {
  __u64 key = (__u64)bio;
  bpf_map_delete_elem(&bios, &key);
  return 0;
}

/* The request's entry, created from its first bio (or from the current task when that bio is unknown). */
static __always_inline struct oio_req *req_entry(struct request *rq, __u64 now) {
  __u64 key = (__u64)rq;
  struct oio_req *r = bpf_map_lookup_elem(&reqs, &key);
  if (r) return r;
  __u32 dev = rq_dev(rq);
  if (targ_dev && dev != targ_dev) return NULL;
  struct oio_req n = {};
  n.dev = dev;
  n.sector = BPF_CORE_READ(rq, __sector);
  n.bytes = BPF_CORE_READ(rq, __data_len);
  n.op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
  __u64 bkey = (__u64)BPF_CORE_READ(rq, bio);
  struct bio_info *b = bkey ? bpf_map_lookup_elem(&bios, &bkey) : NULL;
  if (b) {
    n.bio_ns = b->ts <= now ? b->ts : 0;
    n.pid = b->pid;
    n.tgid = b->tgid;
    n.cgroup_id = b->cgroup_id;
    __builtin_memcpy(n.comm, b->comm, IO_COMM_LEN);
    bpf_map_delete_elem(&bios, &bkey);
  } else {
    __u64 id = bpf_get_current_pid_tgid();
    n.pid = (__u32)id;
    n.tgid = id >> 32;
    n.cgroup_id = task_cgid(bpf_get_current_task_btf());
    bpf_get_current_comm(&n.comm, sizeof(n.comm));
  }
  bpf_map_update_elem(&reqs, &key, &n, BPF_ANY);
  return bpf_map_lookup_elem(&reqs, &key);
}

static __always_inline int on_rq_insert(struct request *rq) {
  __u64 now = bpf_ktime_get_ns();
  struct oio_req *r = req_entry(rq, now);
  if (r && !r->insert_ns) r->insert_ns = now;
  return 0;
}

static __always_inline int on_rq_issue(struct request *rq) {
  __u64 now = bpf_ktime_get_ns();
  struct oio_req *r = req_entry(rq, now);
  if (!r) return 0;
  r->issue_ns = now;
  /* A request issued again after a requeue keeps its first insert. */
  return 0;
}

static __always_inline int on_rq_complete(struct request *rq, int error) {
  __u64 key = (__u64)rq;
  struct oio_req *r = bpf_map_lookup_elem(&reqs, &key);
  if (!r) return 0;
  __u64 now = bpf_ktime_get_ns();
  if (!r->issue_ns || now < r->issue_ns) {
    bpf_map_delete_elem(&reqs, &key);
    return 0;
  }
  __u64 device = now - r->issue_ns;
  __u64 sched = r->insert_ns && r->insert_ns <= r->issue_ns ? r->issue_ns - r->insert_ns : 0;
  __u64 qend = r->insert_ns ? r->insert_ns : r->issue_ns;
  __u64 queue = r->bio_ns && r->bio_ns <= qend ? qend - r->bio_ns : ~0ULL;
  __u32 dev = r->dev;
  hist_add(dev, IO_STAGE_DEVICE, device);
  if (r->insert_ns) hist_add(dev, IO_STAGE_SCHED, sched);
  if (queue != ~0ULL) hist_add(dev, IO_STAGE_QUEUE, queue);

  __u32 pid = r->pid;
  struct sleeper *s = want_wake && pid ? bpf_map_lookup_elem(&sleepers, &pid) : NULL;
  if (s && !s->completed) {
    s->completed = now;
    s->dev = dev;
  }
  __u64 total = device + sched + (queue != ~0ULL ? queue : 0);
  if (total > slow_ns && (!targ_tgid || r->tgid == targ_tgid)) {
    struct oio_event e = {};
    e.ts_ns = now;
    e.queue_ns = queue;
    e.sched_ns = sched;
    e.device_ns = device;
    e.wake_ns = ~0ULL;
    e.sector = r->sector;
    e.cgroup_id = r->cgroup_id;
    e.dev = dev;
    e.bytes = r->bytes;
    e.pid = r->pid;
    e.tgid = r->tgid;
    e.op = r->op;
    e.error = error;
    __builtin_memcpy(e.comm, r->comm, IO_COMM_LEN);
    if (s && !s->has_event) {
      /* Sent at the sleeper's switch-in, with its wake stage. */
      __builtin_memcpy(&s->ev, &e, sizeof(e));
      s->has_event = 1;
    } else if (bpf_ringbuf_output(&events, &e, sizeof(e), 0)) {
      __sync_fetch_and_add(&lost_events, 1);
    }
  }
  bpf_map_delete_elem(&reqs, &key);
  return 0;
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next) {
  if (!want_wake) return 0;
  __u64 now = bpf_ktime_get_ns();
  /* prev goes to sleep in io_schedule(): an iowait sleeper. */
  if (BPF_CORE_READ_BITFIELD_PROBED(prev, in_iowait)) {
    __u32 ppid = BPF_CORE_READ(prev, pid);
    __u32 ptgid = BPF_CORE_READ(prev, tgid);
    if (ppid && (!targ_tgid || ptgid == targ_tgid)) {
      __u32 zero = 0;
      struct sleeper *z = bpf_map_lookup_elem(&scratch, &zero);
      if (z) {
        z->since = now;
        z->completed = 0;
        z->has_event = 0;
        z->dev = 0;
        z->stack_id = bpf_get_stackid(ctx, &stacks, 0);
        bpf_map_update_elem(&sleepers, &ppid, z, BPF_ANY);
      }
    }
  }
  __u32 npid = BPF_CORE_READ(next, pid);
  if (!npid) return 0;
  struct sleeper *s = bpf_map_lookup_elem(&sleepers, &npid);
  if (!s) return 0;
  if (now > s->since) {
    __u64 slept = now - s->since;
    struct oio_wait *w = bpf_map_lookup_elem(&waits, &npid);
    if (!w) {
      struct oio_wait nw = {};
      nw.tgid = BPF_CORE_READ(next, tgid);
      nw.cgroup_id = task_cgid(next);
      nw.max_stack_id = -1;
      BPF_CORE_READ_STR_INTO(&nw.comm, next, comm);
      bpf_map_update_elem(&waits, &npid, &nw, BPF_NOEXIST);
      w = bpf_map_lookup_elem(&waits, &npid);
    }
    if (w) {
      w->total_ns += slept;
      w->count += 1;
      if (slept > w->max_ns) {
        w->max_ns = slept;
        w->max_stack_id = s->stack_id;
      }
    }
  }
  if (s->completed && now >= s->completed) {
    __u64 wake = now - s->completed;
    if (s->has_event) {
      hist_add(s->ev.dev, IO_STAGE_WAKE, wake);
      s->ev.wake_ns = wake;
      if (bpf_ringbuf_output(&events, &s->ev, sizeof(s->ev), 0)) __sync_fetch_and_add(&lost_events, 1);
    } else {
      hist_add(s->dev, IO_STAGE_WAKE, wake);
    }
  } else if (s->has_event) {
    if (bpf_ringbuf_output(&events, &s->ev, sizeof(s->ev), 0)) __sync_fetch_and_add(&lost_events, 1);
  }
  bpf_map_delete_elem(&sleepers, &npid);
  return 0;
}

/* ---- tp_btf (preferred) ---- */

SEC("tp_btf/block_bio_queue")
int BPF_PROG(oscope_io_bioq, struct bio *bio) { return on_bio_queue(bio); }

SEC("tp_btf/block_bio_backmerge")
int BPF_PROG(oscope_io_bmerge, struct bio *bio) { return on_bio_merge(bio); }

SEC("tp_btf/block_bio_frontmerge")
int BPF_PROG(oscope_io_fmerge, struct bio *bio) { return on_bio_merge(bio); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(oscope_io_insert, struct request *rq) { return on_rq_insert(rq); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(oscope_io_issue, struct request *rq) { return on_rq_issue(rq); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(oscope_io_done, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, error); }

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_io_switch, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(ctx, prev, next); }

/* ---- raw_tp (fallback) ---- */

SEC("raw_tp/block_bio_queue")
int BPF_PROG(oscope_io_bioq_r, struct bio *bio) { return on_bio_queue(bio); }

SEC("raw_tp/block_bio_backmerge")
int BPF_PROG(oscope_io_bmerge_r, struct bio *bio) { return on_bio_merge(bio); }

SEC("raw_tp/block_bio_frontmerge")
int BPF_PROG(oscope_io_fmerge_r, struct bio *bio) { return on_bio_merge(bio); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(oscope_io_insert_r, struct request *rq) { return on_rq_insert(rq); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(oscope_io_issue_r, struct request *rq) { return on_rq_issue(rq); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(oscope_io_done_r, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, error); }

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_io_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(ctx, prev, next); }
