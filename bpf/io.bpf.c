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
 *   writeback_dirty_folio  a page cache folio becomes dirty, in the dirtier's context (the kernel
 *                       charges /proc/PID/io write_bytes right there): dirtied bytes per process, per file
 *                       and per (file, process) — so writes are the dirtier's, not the flusher's
 *                       (writeback_dirty_page on kernels before 5.18)
 *   block_bio_queue     reads: the file of the bio's first page (page->mapping->host) gets the bio's
 *                       bytes, as does its submitter (what /proc/PID/io read_bytes counts); clones (dm,
 *                       md, splits) are skipped so a stacked device does not count a read twice
 *   sched_switch        a thread going to sleep with in_iowait (io_schedule) is an iowait sleeper;
 *                       when a request it issued completes while it sleeps, the time from that
 *                       completion to its next switch-in is the wake stage, and the whole sleep
 *                       counts as its iowait (per thread, with the stack of its longest sleep, or the
 *                       one captured last before it: stacks are sampled, see STACK_LONG_NS).
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
#include "rd.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 slow_ns = 50000000;
const volatile __u32 targ_dev = 0;   /* 0 = every disk */
const volatile __u32 targ_tgid = 0;  /* slow events and iowait of this process only; 0 = all */
const volatile __s32 targ_ssid = -1; /* -1: cgroup v2 ids, else the v1 hierarchy of this subsystem id */
const volatile bool want_wake = true;

const volatile bool want_files = true;
const volatile __u32 page_size = 4096;

__u64 lost_events = 0;
/* Per-file rows that did not fit in their maps (the totals per process still count them). */
__u64 files_dropped = 0;

#define REQ_OP_MASK 0xff
#define BDEVFS_MAGIC 0x62646576
/* BIO_CLONED in bio->bi_flags: 1 since 5.1 (an anonymous enum, so CO-RE cannot relocate it; the
 * tracepoint arguments used here are 5.11+ anyway). */
#define BIO_CLONED_BIT 1
#define BDI_CAP_WRITEBACK (1 << 0) /* include/linux/backing-dev.h, 5.10+ */
#define PAGE_MAPPING_FLAGS 3UL     /* anon / movable mapping bits */
#define IO_MAX_SSID 32

struct bio_info {
  __u64 ts;
  __u64 cgroup_id;
  __u32 pid;
  __u32 tgid;
  char comm[IO_COMM_LEN];
};

/* Per thread that ever slept in iowait (kept across sleeps, so a sleep costs no map update). */
struct sleeper {
  __u64 since;       /* when it went to sleep in iowait (0: running) */
  __u64 completed;   /* first completion of one of its requests while asleep (0: none yet) */
  __u64 last_ns;     /* how long its previous iowait sleep lasted */
  __s32 stack_id;    /* its last captured kernel stack (-1: none yet) */
  __u32 dev;         /* the disk of that completion */
  __u32 has_event;   /* `ev` holds a slow request waiting for its wake stage */
  __u32 sleeps;
  struct oio_event ev;
};

/* A sleep's kernel stack costs a stack walk, so it is taken only for a thread's first iowait sleep, after
 * a sleep of at least this long (a thread that waited long once is likely to again: the stack that
 * matters), and for one sleep in STACK_EVERY otherwise. A thread's longest sleep gets the stack captured
 * last before it. */
#define STACK_LONG_NS 1000000ULL
#define STACK_EVERY 64

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

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct oio_file_key);
  __type(value, struct oio_file);
} files SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct oio_file_task_key);
  __type(value, struct oio_file_task);
} file_tasks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32); /* tgid */
  __type(value, struct oio_task);
} tasks SEC(".maps");

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

static __always_inline __u64 task_cgid(struct task_struct *t, const bool btf) {
  if (targ_ssid < 0) return RD(btf, t, cgroups, dfl_cgrp, kn, id);
  __u32 ssid = (__u32)targ_ssid;
  if (ssid >= IO_MAX_SSID) return 0;
  struct css_set *cs = RD(btf, t, cgroups);
  struct cgroup_subsys_state *css = NULL;
  if (!cs) return 0;
  /* A variable index: through a number, which both program types may offset. */
  bpf_core_read(&css, sizeof(css), &((struct css_set *)(unsigned long)cs)->subsys[ssid]);
  if (!css) return 0;
  return RD(btf, css, cgroup, kn, id);
}

/* Kernels before 6.x kept the folio order in a byte of the second page. */
struct folio___o {
  unsigned char _folio_order;
} __attribute__((preserve_access_index));

/* The file a page cache page belongs to; false for anonymous, movable or unmapped pages. */
static __always_inline bool page_file(struct page *page, struct oio_file_key *k, const bool btf) {
  if (!page) return false;
  unsigned long head = RD(btf, page, compound_head);
  if (head & 1) page = (struct page *)(head - 1);
  unsigned long mapping = (unsigned long)RD(btf, page, mapping);
  if (!mapping || (mapping & PAGE_MAPPING_FLAGS)) return false;
  struct inode *inode = RD(btf, (struct address_space *)mapping, host);
  if (!inode) return false;
  struct super_block *sb = RD(btf, inode, i_sb);
  if (!sb) return false;
  if (RD(btf, sb, s_magic) == BDEVFS_MAGIC) {
    k->dev = RD(btf, inode, i_rdev);
    k->kind = IO_FILE_BDEV;
    k->ino = 0;
  } else {
    k->dev = RD(btf, sb, s_dev);
    k->kind = IO_FILE_INODE;
    k->ino = RD(btf, inode, i_ino);
  }
  return true;
}

/* The file of a bio's first page. */
static __always_inline bool bio_file(struct bio *bio, struct oio_file_key *k, const bool btf) {
  if (!bio || !RD(btf, bio, bi_vcnt)) return false;
  struct bio_vec *bv = RD(btf, bio, bi_io_vec);
  if (!bv) return false;
  /* The page's words (compound_head, mapping) carry flag bits: numbers, read with probes in both. */
  return page_file(RD(btf, bv, bv_page), k, false);
}

/* `dirtied`: bytes of the file's page cache the task dirtied, or with `direct`, bytes it wrote to the file
 * directly (O_DIRECT): both are the file's written bytes, only the first is the task's dirtied bytes. */
static __always_inline void file_add(struct oio_file_key *k, __u32 tgid, __u64 cgid, __u64 read, __u64 dirtied, const bool direct) {
  struct oio_task *t = bpf_map_lookup_elem(&tasks, &tgid);
  if (!t) {
    struct oio_task nt = {.cgroup_id = cgid};
    bpf_get_current_comm(&nt.comm, sizeof(nt.comm));
    bpf_map_update_elem(&tasks, &tgid, &nt, BPF_NOEXIST);
    t = bpf_map_lookup_elem(&tasks, &tgid);
  }
  if (t) {
    __sync_fetch_and_add(&t->read_bytes, read);
    if (!direct) __sync_fetch_and_add(&t->dirtied_bytes, dirtied);
  } else {
    __sync_fetch_and_add(&files_dropped, 1);
  }
  struct oio_file *f = bpf_map_lookup_elem(&files, k);
  if (!f) {
    struct oio_file nf = {};
    bpf_map_update_elem(&files, k, &nf, BPF_NOEXIST);
    f = bpf_map_lookup_elem(&files, k);
  }
  if (!f) {
    __sync_fetch_and_add(&files_dropped, 1);
    return;
  }
  __sync_fetch_and_add(&f->read_bytes, read);
  __sync_fetch_and_add(&f->dirtied_bytes, dirtied);
  struct oio_file_task_key tk = {.file = *k, .tgid = tgid};
  struct oio_file_task *ft = bpf_map_lookup_elem(&file_tasks, &tk);
  if (!ft) {
    struct oio_file_task nft = {};
    bpf_get_current_comm(&nft.comm, sizeof(nft.comm));
    bpf_map_update_elem(&file_tasks, &tk, &nft, BPF_NOEXIST);
    ft = bpf_map_lookup_elem(&file_tasks, &tk);
  }
  if (!ft) {
    __sync_fetch_and_add(&files_dropped, 1);
    return;
  }
  __sync_fetch_and_add(&ft->read_bytes, read);
  __sync_fetch_and_add(&ft->dirtied_bytes, dirtied);
}

/* The disk (dev_t of the whole disk) a super block sits on; 0 when it has none (nfs, btrfs, tmpfs). */
static __always_inline __u32 sb_disk(struct super_block *sb, const bool btf) {
  struct gendisk *disk = RD(btf, sb, s_bdev, bd_disk);
  if (!disk) return 0;
  return (RD(btf, disk, major) << 20) | RD(btf, disk, first_minor);
}

/* A folio of `nr` pages of `mapping` became dirty, in the dirtier's context (folio_account_dirtied). */
static __always_inline int on_dirty(struct page *page, struct address_space *mapping, __u64 nr, const bool btf) {
  if (!want_files || !mapping) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (targ_tgid && tgid != targ_tgid) return 0;
  struct inode *inode = RD(btf, mapping, host);
  if (!inode) return 0;
  struct super_block *sb = RD(btf, inode, i_sb);
  if (!sb) return 0;
  struct oio_file_key k = {};
  if (RD(btf, sb, s_magic) == BDEVFS_MAGIC) {
    k.dev = RD(btf, inode, i_rdev);
    k.kind = IO_FILE_BDEV;
    if (targ_dev && k.dev != targ_dev) return 0; /* (a partition of the disk is left out too) */
  } else {
    /* What the kernel charges: mappings that write back (not tmpfs, ramfs, ...). */
    struct backing_dev_info *bdi = RD(btf, sb, s_bdi);
    if (!bdi || !(RD(btf, bdi, capabilities) & BDI_CAP_WRITEBACK)) return 0;
    if (targ_dev && sb_disk(sb, btf) != targ_dev) return 0;
    k.dev = RD(btf, sb, s_dev);
    k.kind = IO_FILE_INODE;
    k.ino = RD(btf, inode, i_ino);
  }
  file_add(&k, tgid, task_cgid(bpf_get_current_task_btf(), btf), 0, nr * page_size, false);
  return 0;
}

/* Pages in a folio: 1, or 2^order for a large one (PG_head set). */
static __always_inline __u64 folio_pages(struct folio *folio, const bool btf) {
  unsigned long flags = 0;
  bpf_core_read(&flags, sizeof(flags), &folio->flags);
  if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head)))) return 1;
  __u32 order = 0;
  if (bpf_core_field_exists(folio->_flags_1))
    order = RD(btf, folio, _flags_1) & 0xff;
  else if (bpf_core_field_exists(((struct folio___o *)folio)->_folio_order))
    order = RD(btf, (struct folio___o *)folio, _folio_order);
  return order < 20 ? 1ULL << order : 1;
}

/* Kernels before 6.0 kept the direction in iov_iter.type (WRITE = 1: the iterator is the data's source). */
struct iov_iter___o {
  unsigned int type;
} __attribute__((preserve_access_index));

/*
 * Direct I/O through iomap (ext4, xfs, btrfs, gfs2, ...): iomap_dio_rw_begin, in the issuer's context,
 * with the file and the bytes asked for. Its bios carry the process's own pages, so the bio hook cannot
 * name the file: this does, for reads and for writes.
 */
static __always_inline int on_dio_begin(struct kiocb *iocb, struct iov_iter *iter, const bool btf) {
  if (!want_files || !iocb || !iter) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (targ_tgid && tgid != targ_tgid) return 0;
  struct inode *inode = RD(btf, iocb, ki_filp, f_inode);
  if (!inode) return 0;
  struct super_block *sb = RD(btf, inode, i_sb);
  if (!sb) return 0;
  if (targ_dev && sb_disk(sb, btf) != targ_dev) return 0;
  __u64 bytes = RD(btf, iter, count);
  bool write;
  if (bpf_core_field_exists(iter->data_source))
    write = RD(btf, iter, data_source);
  else
    write = RD(btf, (struct iov_iter___o *)iter, type) & 1;
  if (!write) {
    /* A read stops at the end of the file (dd's last read asks for a whole block and gets 0). */
    __s64 size = RD(btf, inode, i_size);
    __s64 pos = RD(btf, iocb, ki_pos);
    __u64 left = size > pos ? (__u64)(size - pos) : 0;
    if (bytes > left) bytes = left;
  }
  if (!bytes) return 0;
  struct oio_file_key k = {.dev = RD(btf, sb, s_dev), .kind = IO_FILE_INODE, .ino = RD(btf, inode, i_ino)};
  file_add(&k, tgid, task_cgid(bpf_get_current_task_btf(), btf), write ? 0 : bytes, write ? bytes : 0, true);
  return 0;
}

static __always_inline void hist_add(__u32 dev, __u32 stage, __u64 delta) {
  struct oio_hist_key k = {.dev = dev, .stage = stage};
  struct oscope_hist *h = hist_lookup_or_init(&hists, &k);
  if (h) hist_record(h, delta);
}

static __always_inline int on_bio_queue(struct bio *bio, const bool btf) {
  __u64 key = (__u64)bio;
  struct task_struct *t = bpf_get_current_task_btf();
  struct bio_info b = {};
  b.ts = bpf_ktime_get_ns();
  __u64 id = bpf_get_current_pid_tgid();
  b.pid = (__u32)id;
  b.tgid = id >> 32;
  b.cgroup_id = task_cgid(t, btf);
  bpf_get_current_comm(&b.comm, sizeof(b.comm));
  bpf_map_update_elem(&bios, &key, &b, BPF_ANY);
  if (want_files && (RD(btf, bio, bi_opf) & REQ_OP_MASK) == 0 /* REQ_OP_READ */ &&
      !(RD(btf, bio, bi_flags) & (1 << BIO_CLONED_BIT)) &&
      (!targ_tgid || b.tgid == targ_tgid)) {
    struct oio_file_key k = {};
    __u32 disk = 0;
    struct gendisk *gd = RD(btf, bio, bi_bdev, bd_disk);
    if (gd) disk = (RD(btf, gd, major) << 20) | RD(btf, gd, first_minor);
    if ((!targ_dev || disk == targ_dev) && bio_file(bio, &k, btf)) file_add(&k, b.tgid, b.cgroup_id, RD(btf, bio, bi_iter.bi_size), 0, false);
  }
  return 0;
}

static __always_inline int on_bio_merge(struct bio *bio) {
  __u64 key = (__u64)bio;
  bpf_map_delete_elem(&bios, &key);
  return 0;
}

/* The request's entry, created from its first bio (or from the current task when that bio is unknown). */
static __always_inline struct oio_req *req_entry(struct request *rq, __u64 now, const bool btf) {
  __u64 key = (__u64)rq;
  struct oio_req *r = bpf_map_lookup_elem(&reqs, &key);
  if (r) return r;
  __u32 dev = rq_dev(rq, btf);
  if (targ_dev && dev != targ_dev) return NULL;
  struct oio_req n = {};
  n.dev = dev;
  n.sector = RD(btf, rq, __sector);
  n.bytes = RD(btf, rq, __data_len);
  n.op = RD(btf, rq, cmd_flags) & REQ_OP_MASK;
  /* The file (ino, fdev, fkind) is looked up at completion, for slow requests only. */
  __u64 bkey = (__u64)RD(btf, rq, bio);
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
    n.cgroup_id = task_cgid(bpf_get_current_task_btf(), btf);
    bpf_get_current_comm(&n.comm, sizeof(n.comm));
  }
  bpf_map_update_elem(&reqs, &key, &n, BPF_ANY);
  return bpf_map_lookup_elem(&reqs, &key);
}

static __always_inline int on_rq_insert(struct request *rq, const bool btf) {
  __u64 now = bpf_ktime_get_ns();
  struct oio_req *r = req_entry(rq, now, btf);
  if (r && !r->insert_ns) r->insert_ns = now;
  return 0;
}

static __always_inline int on_rq_issue(struct request *rq, const bool btf) {
  __u64 now = bpf_ktime_get_ns();
  struct oio_req *r = req_entry(rq, now, btf);
  if (!r) return 0;
  r->issue_ns = now;
  /* A request issued again after a requeue keeps its first insert. */
  return 0;
}

static __always_inline int on_rq_complete(struct request *rq, int error, const bool btf) {
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
  if (s && !s->since) s = NULL; /* not asleep now */
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
    /* block_rq_complete fires before the request's bios are ended: rq->bio is still its first. */
    struct oio_file_key fk = {};
    if (bio_file(RD(btf, rq, bio), &fk, btf)) {
      e.ino = fk.ino;
      e.fdev = fk.dev;
      e.fkind = fk.kind;
    }
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

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next, const bool btf) {
  if (!want_wake) return 0;
  /* Most switches are neither into nor out of io_schedule(): they read two bits and leave. */
  __u64 now = 0;
  /* prev goes to sleep in io_schedule(): an iowait sleeper. */
  if (RD_BITFIELD(btf, prev, in_iowait)) {
    now = bpf_ktime_get_ns();
    __u32 ppid = RD(btf, prev, pid);
    __u32 ptgid = RD(btf, prev, tgid);
    if (ppid && (!targ_tgid || ptgid == targ_tgid)) {
      struct sleeper *s = bpf_map_lookup_elem(&sleepers, &ppid);
      if (s) {
        if (s->last_ns >= STACK_LONG_NS || s->stack_id < 0 || (s->sleeps % STACK_EVERY) == 0) {
          __s32 id = bpf_get_stackid(ctx, &stacks, 0);
          if (id >= 0) s->stack_id = id;
        }
        s->completed = 0;
        s->has_event = 0;
        s->dev = 0;
        s->sleeps += 1;
        s->since = now;
      } else {
        __u32 zero = 0;
        struct sleeper *z = bpf_map_lookup_elem(&scratch, &zero);
        if (z) {
          z->since = now;
          z->completed = 0;
          z->last_ns = 0;
          z->has_event = 0;
          z->dev = 0;
          z->sleeps = 1;
          z->stack_id = bpf_get_stackid(ctx, &stacks, 0);
          bpf_map_update_elem(&sleepers, &ppid, z, BPF_ANY);
        }
      }
    }
  }
  /* A thread back from io_schedule() still has in_iowait set (io_schedule_finish clears it after the
   * switch): every other switch-in is not ours, and costs no map lookup. */
  if (!RD_BITFIELD(btf, next, in_iowait)) return 0;
  __u32 npid = RD(btf, next, pid);
  if (!npid) return 0;
  struct sleeper *s = bpf_map_lookup_elem(&sleepers, &npid);
  if (!s || !s->since) return 0;
  if (!now) now = bpf_ktime_get_ns();
  if (now > s->since) {
    __u64 slept = now - s->since;
    s->last_ns = slept;
    struct oio_wait *w = bpf_map_lookup_elem(&waits, &npid);
    if (!w) {
      struct oio_wait nw = {};
      nw.tgid = RD(btf, next, tgid);
      nw.cgroup_id = task_cgid(next, btf);
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
  s->since = 0;
  s->completed = 0;
  s->has_event = 0;
  return 0;
}

/* ---- tp_btf (preferred) ---- */

SEC("tp_btf/block_bio_queue")
int BPF_PROG(oscope_io_bioq, struct bio *bio) { return on_bio_queue(bio, true); }

SEC("tp_btf/block_bio_backmerge")
int BPF_PROG(oscope_io_bmerge, struct bio *bio) { return on_bio_merge(bio); }

SEC("tp_btf/block_bio_frontmerge")
int BPF_PROG(oscope_io_fmerge, struct bio *bio) { return on_bio_merge(bio); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(oscope_io_insert, struct request *rq) { return on_rq_insert(rq, true); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(oscope_io_issue, struct request *rq) { return on_rq_issue(rq, true); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(oscope_io_done, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, error, true); }

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(oscope_io_dirty, struct folio *folio, struct address_space *mapping) { return on_dirty((struct page *)folio, mapping, folio_pages(folio, true), true); }

SEC("tp_btf/sched_switch")
int BPF_PROG(oscope_io_switch, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(ctx, prev, next, true); }

SEC("tp_btf/iomap_dio_rw_begin")
int BPF_PROG(oscope_io_dio, struct kiocb *iocb, struct iov_iter *iter, unsigned int dio_flags, size_t done_before) { return on_dio_begin(iocb, iter, true); }

/* ---- raw_tp (fallback) ---- */

SEC("raw_tp/block_bio_queue")
int BPF_PROG(oscope_io_bioq_r, struct bio *bio) { return on_bio_queue(bio, false); }

SEC("raw_tp/block_bio_backmerge")
int BPF_PROG(oscope_io_bmerge_r, struct bio *bio) { return on_bio_merge(bio); }

SEC("raw_tp/block_bio_frontmerge")
int BPF_PROG(oscope_io_fmerge_r, struct bio *bio) { return on_bio_merge(bio); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(oscope_io_insert_r, struct request *rq) { return on_rq_insert(rq, false); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(oscope_io_issue_r, struct request *rq) { return on_rq_issue(rq, false); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(oscope_io_done_r, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, error, false); }

SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(oscope_io_dirty_r, struct folio *folio, struct address_space *mapping) { return on_dirty((struct page *)folio, mapping, folio_pages(folio, false), false); }

/* Kernels before 5.18: one page at a time. */
SEC("raw_tp/writeback_dirty_page")
int BPF_PROG(oscope_io_dirtyp_r, struct page *page, struct address_space *mapping) { return on_dirty(page, mapping, 1, false); }

SEC("raw_tp/sched_switch")
int BPF_PROG(oscope_io_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next) { return on_switch(ctx, prev, next, false); }

SEC("raw_tp/iomap_dio_rw_begin")
int BPF_PROG(oscope_io_dio_r, struct kiocb *iocb, struct iov_iter *iter, unsigned int dio_flags, size_t done_before) { return on_dio_begin(iocb, iter, false); }
