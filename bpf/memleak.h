/*
 * Shared between memleak.bpf.c and its TypeScript decoder (src/diagnose/memleak/trace.ts): keep the
 * layouts in step with ALLOC_INFO_LAYOUT and STAT_INDEX there. Fixed-size types, 8-byte aligned.
 */
#ifndef OSCOPE_MEMLEAK_H
#define OSCOPE_MEMLEAK_H

#define MEMLEAK_NAME_LEN 32
#define MEMLEAK_MAX_TRACKED 65536
#define MEMLEAK_MAX_STACKS 16384

enum memleak_mode {
  MEMLEAK_MODE_SLAB = 1,    /* kmalloc / kmem_cache_alloc ↔ kfree / kmem_cache_free */
  MEMLEAK_MODE_PAGE = 2,    /* mm_page_alloc ↔ mm_page_free / mm_page_free_batched */
  MEMLEAK_MODE_VMALLOC = 3, /* alloc_vmap_area ↔ free_vmap_area_noflush */
};

/* Indexes of the per-CPU `stats` array. */
enum memleak_stat {
  MEMLEAK_STAT_SEEN = 0,    /* allocations that passed the filter */
  MEMLEAK_STAT_TRACKED = 1, /* of those, stored in `allocs` (after sampling) */
  MEMLEAK_STAT_FULL = 2,    /* not stored: the hash was full */
  MEMLEAK_STAT_FREED = 3,   /* frees that matched a tracked allocation */
  MEMLEAK_STAT_COUNT = 4,
};

/* Value of `allocs` (key: the object's address, or the struct page pointer). */
struct memleak_alloc {
  __u64 size;     /* bytes */
  __u64 ts_ns;    /* bpf_ktime_get_ns() at allocation */
  __s32 stack_id; /* kernel stack in `stack_traces`, or a negative errno */
  __u32 pad;
};

_Static_assert(__builtin_offsetof(struct memleak_alloc, size) == 0, "size");
_Static_assert(__builtin_offsetof(struct memleak_alloc, ts_ns) == 8, "tsNs");
_Static_assert(__builtin_offsetof(struct memleak_alloc, stack_id) == 16, "stackId");
_Static_assert(sizeof(struct memleak_alloc) == 24, "size of memleak_alloc");

#endif
