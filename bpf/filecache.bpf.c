// SPDX-License-Identifier: GPL-2.0
/*
 * oscope filecache: the in-core inode walk. Which files hold page cache, found from the kernel's own
 * lists instead of from processes' files or a walk of the disks, so that files nobody has open (and
 * unlinked ones, and files of other mount namespaces) are seen too.
 *
 * An iter/task_file program. The first file the iterator hands us gives a super block
 * (file->f_inode->i_sb); from there the walk follows the global super block list (sb->s_list) and each
 * super block's in-core inodes (sb->s_inodes / inode->i_sb_list), and writes one record per inode whose
 * own mapping holds pages (i_data.nrpages > 0): inode number, mode, link count, pages, size, and its
 * name, from its first dentry alias and the parent chain up to the super block's root. Each directory
 * dentry is named once (a "D" record with an id) and files refer to their parent's id, so the output
 * stays small and the path of a deep tree is not re-read for every file. Record layout: filecache.h.
 *
 * The walk is one state machine in .bss that every call continues: a call writes at most what fits in
 * the seq_file buffer (bpf_iter gives 8 pages per read and drops the whole output of a call that
 * overflows it), so a call stops before a record that would not fit and the next call (the next file
 * of the iterator, or the same file again) resumes from the saved inode. When an earlier file's call
 * has left too little room, a call overflows the buffer on purpose without having advanced: the
 * kernel then hands the buffer to user space and shows the same file again with an empty buffer.
 * User space reads the iterator again until the "Z" record (a pass of the iterator may end first).
 * Once the walk is done, every further call returns at once.
 *
 * No locks are taken: everything is read with BPF_CORE_READ (probe reads) under the RCU read lock that
 * bpf_iter holds, and every loop is bounded. Races end a loop early, never hang it: an inode or super
 * block unlinked while we stand on it points to itself (list_del_init), which ends that list; a saved
 * position that no longer checks out (freed between calls) restarts the super block and skips the
 * inodes already seen (duplicates are possible and merged by user space, missed inodes are counted).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filecache.h"

char LICENSE[] SEC("license") = "GPL";

/* Steps (one inode, or one super block candidate) per call; bounds the time spent under RCU. */
const volatile __u32 max_steps_per_call = 65536;
/* Inodes walked per super block at most. */
const volatile __u64 max_sb_inodes = 1ULL << 26;
/* Super block list entries examined per search for the next one. */
const volatile __u32 max_sbs = 65536;

#define BUF_SIZE 65536
#define BUF_MASK (BUF_SIZE - 1)
/* A call writes at most this much (the seq_file buffer is 8 pages: 32 KiB with 4 KiB pages). */
#define CHUNK_MAX 30000
#define NAME_BYTES 256

struct scratch {
  char buf[BUF_SIZE + 1024];
  __u64 chain[FC_MAX_DEPTH];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch SEC(".maps");

/* Directory dentry → its id (named once). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1 << 20);
  __type(key, __u64);
  __type(value, __u32);
} dir_ids SEC(".maps");

/* s_dev of the super blocks walked. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} sbs_done SEC(".maps");

enum { PH_NEW = 0, PH_WALK, PH_SCAN, PH_FINISH, PH_DONE };

struct walk_state {
  __u64 sb;       /* super block being walked */
  __u64 node;     /* &inode->i_sb_list of the next inode; 0 = the super block has not started */
  __u64 node_ino; /* i_ino of that inode, to check it on resume */
  __u64 pos;      /* inodes of this super block passed */
  __u64 skip;     /* inodes to pass without looking after a restart of this super block */
  __u64 sb_files;
  __u64 scan;       /* super block list entry being examined */
  __u64 scan_start; /* where a fallback search started */
  __u64 scan_steps;
  __u64 sbs, inodes, files, dirs, races, calls;
  __u32 phase, dev, next_id, sb_status, scan_fallback, status;
};

struct walk_state st = {};

/*
 * The state of one call, and of the bpf_loop callbacks, lives in .bss rather than on the stack: the
 * verifier does not track values in maps, so the loops converge at once instead of being explored
 * for every possible offset.
 */
struct step_ctx {
  __u32 len;    /* bytes ready in scratch.buf */
  __u32 budget; /* bytes this call may write */
  __u32 blocked;
  __u64 obj_sb; /* the super block of this call's file (alive: the iterator holds the file) */
};

struct step_ctx call = {};

#define OFF(type, field) ((__u64)bpf_core_field_offset(type, field))

static __always_inline __u64 rd64(__u64 addr) {
  __u64 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), (const void *)addr);
  return v;
}

static __always_inline struct scratch *scratch_buf(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&scratch, &zero);
}

/* File systems without page cache of their own: their inode lists are not walked. */
static __always_inline bool pseudo_fs(__u64 magic) {
  switch (magic) {
  case 0x9fa0:     /* proc */
  case 0x62656572: /* sysfs */
  case 0x27e0eb:   /* cgroup */
  case 0x63677270: /* cgroup2 */
  case 0xcafe4a11: /* bpf */
  case 0x50495045: /* pipefs */
  case 0x534f434b: /* sockfs */
  case 0x09041934: /* anon_inodefs */
  case 0x64626720: /* debugfs */
  case 0x74726163: /* tracefs */
  case 0x1cd1:     /* devpts */
  case 0x6e736673: /* nsfs */
  case 0x50494446: /* pidfs */
  case 0x73636673: /* securityfs */
  case 0x6165676c: /* pstore */
  case 0x62656570: /* configfs */
  case 0x958458f6: /* hugetlbfs: huge pages, not page cache */
  case 0x19800202: /* mqueue */
  case 0x42494e4d: /* binfmt_misc */
  case 0x444d4142: /* dma-buf */
  case 0xf97cff8c: /* selinuxfs */
  case 0x65735543: /* fusectl */
  case 0x0187:     /* autofs */
  case 0xde5e81e4: /* efivarfs */
    return true;
  }
  return false;
}

/* A super block that is mounted (its root dentry points back at it) and still on the list. */
static __always_inline bool sb_valid(__u64 sb) {
  if (!sb) return false;
  struct super_block *s = (struct super_block *)sb;
  struct dentry *root = BPF_CORE_READ(s, s_root);
  if (!root) return false;
  if ((__u64)BPF_CORE_READ(root, d_sb) != sb) return false;
  __u64 self = sb + OFF(struct super_block, s_list);
  __u64 next = rd64(self);
  return next != 0 && next != self;
}

/* Appends "<name>\0\n" of a dentry at off; returns the bytes written. */
static __always_inline __u32 put_name(struct scratch *s, __u32 off, __u64 dentry) {
  const unsigned char *name = BPF_CORE_READ((struct dentry *)dentry, d_name.name);
  long r = bpf_probe_read_kernel_str(&s->buf[off & BUF_MASK], NAME_BYTES, name);
  if (r <= 0) {
    s->buf[off & BUF_MASK] = 0;
    r = 1;
  }
  s->buf[(off + (__u32)r) & BUF_MASK] = '\n';
  return (__u32)r + 1;
}

/* Takes a record of w bytes (snprintf's count, NUL included) written at off into the call's output; a
 * record past the budget blocks the call (the kernel shows the same position again with a new buffer). */
static __always_inline int commit(struct step_ctx *sc, __u32 off, long w) {
  off += (__u32)w - 1;
  if (off > sc->budget) {
    sc->blocked = 1;
    return -1;
  }
  sc->len = off;
  return 0;
}

static __always_inline int put_sb_start(struct step_ctx *sc, struct scratch *s, __u64 sb, __u32 dev, __u64 magic) {
  __u32 off = sc->len;
  if (off > sc->budget) return -1;
  const char *type = BPF_CORE_READ((struct super_block *)sb, s_type, name);
  long w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 96, "S %u %lu %s\n", dev, magic, type);
  if (w <= 1 || w > 96) w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 96, "S %u %lu ?\n", dev, magic);
  if (w <= 1 || w > 96) return -1;
  return commit(sc, off, w);
}

static __always_inline int put_sb_end(struct step_ctx *sc, struct scratch *s) {
  __u32 off = sc->len;
  if (off > sc->budget) return -1;
  long w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 96, "E %u %lu %lu %u\n", st.dev, st.pos, st.sb_files, st.sb_status);
  if (w <= 1 || w > 96) return -1;
  return commit(sc, off, w);
}

static __always_inline int put_done(struct step_ctx *sc, struct scratch *s) {
  __u32 off = sc->len;
  if (off > sc->budget) return -1;
  long w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 128, "Z %lu %lu %lu %lu %lu %u\n", st.sbs, st.inodes, st.files, st.dirs, st.races, st.status);
  if (w <= 1 || w > 128) return -1;
  return commit(sc, off, w);
}

/* Walks up from a dentry to the first directory already named, or the root (bpf_loop callback). */
struct chain_ctx {
  __u64 cur;
  __u64 sroot;
  __u32 n, top, flags, ended;
};

struct chain_ctx chain = {};

static long chain_cb(__u32 k, void *ctx) {
  struct chain_ctx *c = &chain;
  struct scratch *s = scratch_buf();
  if (!s) return 1;
  __u64 cur = c->cur;
  __u64 up = (__u64)BPF_CORE_READ((struct dentry *)cur, d_parent);
  if (up == cur || !up) {
    if (cur == c->sroot) {
      c->top = FC_ROOT_ID;
    } else {
      c->top = FC_UNKNOWN_ID;
      c->flags |= FC_F_DISCONNECTED;
    }
    c->ended = 1;
    return 1;
  }
  __u32 *id = bpf_map_lookup_elem(&dir_ids, &cur);
  if (id) {
    c->top = *id;
    c->ended = 1;
    return 1;
  }
  s->chain[k & (FC_MAX_DEPTH - 1)] = cur;
  c->n = k + 1;
  c->cur = up;
  return 0;
}

/* Writes the "D" records of the directories collected by chain_cb (bpf_loop callback). */
struct dirs_ctx {
  __u32 off, n, base, top, budget, failed;
};

struct dirs_ctx dirs = {};

static long dirs_cb(__u32 k, void *ctx) {
  struct dirs_ctx *c = &dirs;
  struct scratch *s = scratch_buf();
  if (!s || k >= c->n) return 1;
  __u32 off = c->off;
  if (off > c->budget) {
    c->failed = 1;
    return 1;
  }
  __u32 parent = k + 1 < c->n ? c->base + k + 1 : c->top;
  long w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 32, "D %u %u ", c->base + k, parent);
  if (w <= 1 || w > 32) {
    c->failed = 1;
    return 1;
  }
  off += (__u32)w - 1;
  off += put_name(s, off, s->chain[k & (FC_MAX_DEPTH - 1)]);
  c->off = off;
  return 0;
}

/* Gives the directories written their ids (bpf_loop callback). */
static long ids_cb(__u32 k, void *ctx) {
  struct dirs_ctx *c = &dirs;
  struct scratch *s = scratch_buf();
  if (!s || k >= c->n) return 1;
  __u64 key = s->chain[k & (FC_MAX_DEPTH - 1)];
  __u32 id = c->base + k;
  if (bpf_map_update_elem(&dir_ids, &key, &id, BPF_ANY)) st.status |= FC_Z_IDS_FULL;
  return 0;
}

/*
 * The records of one inode: the directories above it not named yet, then the file. Nothing is
 * committed (ids, lengths) unless all of it fits.
 */
static __always_inline int put_file(struct step_ctx *sc, struct scratch *s, __u64 sb, __u64 inode, __u64 nrpages) {
  struct inode *in = (struct inode *)inode;
  struct chain_ctx *ch = &chain;
  ch->cur = 0;
  ch->sroot = 0;
  ch->n = 0;
  ch->top = FC_UNKNOWN_ID;
  ch->flags = 0;
  ch->ended = 0;
  __u64 d = 0;
  struct hlist_node *first = BPF_CORE_READ(in, i_dentry.first);
  if (first) d = (__u64)first - OFF(struct dentry, d_u.d_alias);
  if (!d) {
    ch->flags |= FC_F_NO_DENTRY;
  } else {
    struct dentry *dd = (struct dentry *)d;
    struct super_block *ss = (struct super_block *)sb;
    if (!BPF_CORE_READ(dd, d_hash.pprev)) ch->flags |= FC_F_UNHASHED;
    ch->cur = (__u64)BPF_CORE_READ(dd, d_parent);
    ch->sroot = (__u64)BPF_CORE_READ(ss, s_root);
    if (ch->cur == d || !ch->cur) {
      ch->top = d == ch->sroot ? FC_ROOT_ID : FC_UNKNOWN_ID;
    } else {
      bpf_loop(FC_MAX_DEPTH, chain_cb, NULL, 0);
      if (!ch->ended) {
        ch->top = FC_UNKNOWN_ID;
        ch->flags |= FC_F_TRUNCATED;
      }
    }
  }
  __u32 n = ch->n;
  if (n > FC_MAX_DEPTH) return -1;

  struct dirs_ctx *dc = &dirs;
  dc->off = sc->len;
  dc->n = n;
  dc->base = st.next_id;
  dc->top = ch->top;
  dc->budget = sc->budget;
  dc->failed = 0;
  if (n) {
    bpf_loop(FC_MAX_DEPTH, dirs_cb, NULL, 0);
    if (dc->failed) goto blocked;
  }
  __u32 off = dc->off;
  if (off > sc->budget) goto blocked;
  {
    __u64 ino = BPF_CORE_READ(in, i_ino);
    __u32 mode = BPF_CORE_READ(in, i_mode);
    __u32 nlink = BPF_CORE_READ(in, i_nlink);
    __s64 size = BPF_CORE_READ(in, i_size);
    __u32 rdev = BPF_CORE_READ(in, i_rdev);
    long w = BPF_SNPRINTF(&s->buf[off & BUF_MASK], 160, "F %lu %u %u %lu %ld %u %u %u ", ino, mode, nlink, nrpages, size, rdev, n ? dc->base : ch->top, ch->flags);
    if (w <= 1 || w > 160) return -1;
    off += (__u32)w - 1;
  }
  if (d) {
    off += put_name(s, off, d);
  } else {
    s->buf[off & BUF_MASK] = 0;
    s->buf[(off + 1) & BUF_MASK] = '\n';
    off += 2;
  }
  if (off > sc->budget) goto blocked;

  if (n) bpf_loop(FC_MAX_DEPTH, ids_cb, NULL, 0);
  st.next_id = dc->base + n;
  st.dirs += n;
  st.files++;
  sc->len = off;
  return 0;
blocked:
  sc->blocked = 1;
  return -1;
}

static __always_inline void begin_scan(__u64 from, bool fallback) {
  st.phase = PH_SCAN;
  st.scan_fallback = fallback;
  st.scan_start = from;
  st.scan = fallback ? from : rd64(from);
  st.scan_steps = 0;
}

/* One entry of the super block list: the next super block to walk, or the end. */
static __always_inline long scan_step(struct step_ctx *sc) {
  if (++st.scan_steps > (__u64)max_sbs + 2) {
    st.status |= FC_Z_SB_LIMIT;
    st.phase = PH_FINISH;
    return 0;
  }
  __u64 node = st.scan;
  if (st.scan_fallback && st.scan_steps > 1 && node == st.scan_start) {
    st.phase = PH_FINISH; /* a full turn found nothing left */
    return 0;
  }
  __u64 next = node ? rd64(node) : 0;
  if (!node || !next || next == node) {
    /* This entry left the list under us: search again from a super block that is surely on it. */
    st.races++;
    if (st.scan_fallback) {
      st.status |= FC_Z_SB_LIMIT;
      st.phase = PH_FINISH;
    } else {
      begin_scan(sc->obj_sb + OFF(struct super_block, s_list), true);
    }
    return 0;
  }
  __u64 cand = node - OFF(struct super_block, s_list);
  /* The list head (not a super block) and super blocks being set up or torn down fail sb_valid. */
  if (sb_valid(cand)) {
    __u32 dev = BPF_CORE_READ((struct super_block *)cand, s_dev);
    if (!bpf_map_lookup_elem(&sbs_done, &dev)) {
      st.sb = cand;
      st.node = 0;
      st.phase = PH_WALK;
      return 0;
    }
    if (!st.scan_fallback) {
      /* Super blocks are walked in list order from the first one: a walked one means we are round. */
      st.phase = PH_FINISH;
      return 0;
    }
  }
  st.scan = next;
  return 0;
}

static __always_inline long walk_step(struct step_ctx *sc, struct scratch *s) {
  __u64 sb = st.sb;
  __u64 head = sb + OFF(struct super_block, s_inodes);
  if (st.node == 0) {
    __u32 dev = BPF_CORE_READ((struct super_block *)sb, s_dev);
    __u64 magic = BPF_CORE_READ((struct super_block *)sb, s_magic);
    if (put_sb_start(sc, s, sb, dev, magic) < 0) return 1;
    st.dev = dev;
    st.pos = 0;
    st.skip = 0;
    st.sb_files = 0;
    st.sb_status = FC_SB_COMPLETE;
    st.sbs++;
    if (pseudo_fs(magic)) {
      st.sb_status = FC_SB_SKIPPED;
      st.node = head;
    } else {
      __u64 first = rd64(head);
      st.node = first ? first : head;
    }
    return 0;
  }
  if (st.node == head || st.pos >= max_sb_inodes) {
    if (st.node != head) st.sb_status = FC_SB_LIMIT;
    if (put_sb_end(sc, s) < 0) return 1;
    __u32 dev = st.dev;
    __u8 one = 1;
    bpf_map_update_elem(&sbs_done, &dev, &one, BPF_ANY);
    begin_scan(sb + OFF(struct super_block, s_list), false);
    return 0;
  }
  __u64 node = st.node;
  __u64 next = rd64(node);
  if (!next || next == node) {
    /* This inode left the list under us (evicted): the rest of this super block is out of reach. */
    st.races++;
    st.sb_status = FC_SB_RACE;
    st.node = head;
    return 0;
  }
  if (st.skip) {
    st.skip--;
    st.pos++;
    st.node = next;
    return 0;
  }
  __u64 inode = node - OFF(struct inode, i_sb_list);
  __u64 nrpages = BPF_CORE_READ((struct inode *)inode, i_data.nrpages);
  if (nrpages) {
    if (put_file(sc, s, sb, inode, nrpages) < 0) return 1;
    st.sb_files++;
  }
  st.pos++;
  st.inodes++;
  st.node = next;
  return 0;
}

static long step(__u32 i, void *ctx) {
  struct step_ctx *sc = &call;
  struct scratch *s = scratch_buf();
  if (!s) return 1;
  switch (st.phase) {
  case PH_WALK:
    return walk_step(sc, s);
  case PH_SCAN:
    return scan_step(sc);
  case PH_FINISH:
    if (put_done(sc, s) < 0) return 1;
    st.phase = PH_DONE;
    return 1;
  default:
    return 1;
  }
}

/* Checks that the saved position is still where we left it; else restarts what it can. */
static __always_inline void resume(__u64 obj_sb) {
  if (st.phase != PH_WALK) return;
  __u64 sb = st.sb;
  if (!sb_valid(sb) || (st.node != 0 && BPF_CORE_READ((struct super_block *)sb, s_dev) != st.dev)) {
    /* Unmounted between two calls: leave it (user space sees an S without its E) and go on. */
    st.races++;
    __u32 dev = st.dev;
    __u8 one = 1;
    if (st.node != 0) bpf_map_update_elem(&sbs_done, &dev, &one, BPF_ANY);
    begin_scan(obj_sb + OFF(struct super_block, s_list), true);
    return;
  }
  __u64 head = sb + OFF(struct super_block, s_inodes);
  __u64 node = st.node;
  if (node == 0 || node == head) return;
  __u64 next = rd64(node);
  __u64 inode = node - OFF(struct inode, i_sb_list);
  bool ok = next != 0 && next != node && rd64(next + sizeof(void *)) == node &&
            (__u64)BPF_CORE_READ((struct inode *)inode, i_sb) == sb && BPF_CORE_READ((struct inode *)inode, i_ino) == st.node_ino;
  if (ok) return;
  /* The inode we stopped at went away: start this super block again and pass what we have seen. */
  st.races++;
  st.sb_status = FC_SB_RACE;
  st.skip = st.pos;
  st.pos = 0;
  __u64 first = rd64(head);
  st.node = first ? first : head;
}

SEC("iter/task_file")
int oscope_fc_walk(struct bpf_iter__task_file *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct file *file = ctx->file;
  if (!file || st.phase == PH_DONE) return 0;
  struct scratch *s = scratch_buf();
  if (!s) return 0;
  __u64 obj_sb = (__u64)BPF_CORE_READ(file, f_inode, i_sb);
  if (!obj_sb) return 0;
  st.calls++;
  if (st.phase == PH_NEW) {
    st.sb = obj_sb;
    st.node = 0;
    st.next_id = FC_FIRST_ID;
    st.phase = PH_WALK;
  } else {
    resume(obj_sb);
  }

  __u64 size = BPF_CORE_READ(seq, size);
  __u64 count = BPF_CORE_READ(seq, count);
  __u64 room = size > count + 1 ? size - count - 1 : 0;
  if (room > CHUNK_MAX) room = CHUNK_MAX;
  struct step_ctx *sc = &call;
  sc->len = 0;
  sc->budget = (__u32)room;
  sc->blocked = 0;
  sc->obj_sb = obj_sb;
  bpf_loop(max_steps_per_call, step, NULL, 0);

  /* (Locals: inside BPF_CORE_READ every access, st.* too, would become a CO-RE relocation.) */
  __u64 node = st.node;
  __u64 head = st.sb + OFF(struct super_block, s_inodes);
  if (st.phase == PH_WALK && node != 0 && node != head) {
    struct inode *in = (struct inode *)(node - OFF(struct inode, i_sb_list));
    st.node_ino = BPF_CORE_READ(in, i_ino);
  }

  __u32 n = sc->len;
  if (n > 0) {
    if (n > CHUNK_MAX) n = CHUNK_MAX;
    bpf_seq_write(seq, s->buf, n);
  } else if (sc->blocked && count > 0) {
    /*
     * Not even one record fits after what earlier files wrote, and we have not advanced: overflow on
     * purpose, so that the kernel hands the buffer to user space and shows this file again with an
     * empty buffer.
     */
    __u64 over = size - count;
    if (over > BUF_SIZE) over = BUF_SIZE;
    bpf_seq_write(seq, s->buf, (__u32)over);
  }
  return 0;
}
