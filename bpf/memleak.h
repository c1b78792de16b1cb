/*
 * Shared between memleak.bpf.c and its TypeScript decoder (src/diagnose/memleak/trace.ts): keep the
 * layouts in step with ALLOC_INFO_LAYOUT, STAT_INDEX and CONTROL there. Fixed-size types, 8-byte aligned.
 */
#ifndef OSCOPE_MEMLEAK_H
#define OSCOPE_MEMLEAK_H

#define MEMLEAK_NAME_LEN 32
/* Compiled-in size of `allocs`; the loader resizes it before load (bpf_map__set_max_entries). */
#define MEMLEAK_MAX_TRACKED 65536
#define MEMLEAK_MAX_STACKS 16384
/* Sampling keeps one address in 2^shift; shift never goes above this. */
#define MEMLEAK_MAX_SHIFT 20

enum memleak_mode {
  MEMLEAK_MODE_SLAB = 1,    /* kmalloc / kmem_cache_alloc ↔ kfree / kmem_cache_free */
  MEMLEAK_MODE_PAGE = 2,    /* mm_page_alloc ↔ mm_page_free / mm_page_free_batched */
  MEMLEAK_MODE_VMALLOC = 3, /* alloc_vmap_area ↔ free_vmap_area_noflush */
};

/* Indexes of the `control` array (each a __u32, written one at a time by user space). */
enum memleak_control {
  MEMLEAK_CTL_STATE = 0,     /* enum memleak_state */
  MEMLEAK_CTL_SHIFT = 1,     /* allocations kept: address hash & (2^shift - 1) == 0; the kernel raises it */
  MEMLEAK_CTL_FREE_SHIFT = 2, /* frees looked up only when hash & (2^free_shift - 1) == 0 (≤ every shift used) */
  MEMLEAK_CTL_COUNT = 3,
};

enum memleak_state {
  MEMLEAK_STATE_OFF = 0,       /* nothing */
  MEMLEAK_STATE_TRACK = 1,     /* allocations sampled and stored, frees matched */
  MEMLEAK_STATE_CALIBRATE = 2, /* allocations counted (the sampling shift adapts), none stored */
  MEMLEAK_STATE_FREES = 3,     /* end of the window: frees matched, allocations ignored */
};

/* Indexes of the per-CPU `stats` array. */
enum memleak_stat {
  MEMLEAK_STAT_SEEN = 0,    /* allocations that passed the filter */
  MEMLEAK_STAT_TRACKED = 1, /* of those, stored in `allocs` (after sampling) */
  MEMLEAK_STAT_FULL = 2,    /* not stored: the hash was full */
  MEMLEAK_STAT_FREED = 3,   /* frees that matched a tracked allocation */
  MEMLEAK_STAT_RAISED = 4,  /* times the kernel raised the sampling shift (rate over budget) */
  MEMLEAK_STAT_COUNT = 5,
};

/* Per-CPU rate window of the adaptive sampling (`window` map). */
struct memleak_window {
  __u64 start_ns;
  __u64 seen;
};

/* Value of `allocs` (key: the object's address, the struct page pointer or the pfn). */
struct memleak_alloc {
  __u64 size;     /* bytes */
  __u64 ts_ns;    /* bpf_ktime_get_ns() at allocation */
  __s32 stack_id; /* kernel stack in `stack_traces`, or a negative errno */
  __u32 shift;    /* sampled 1 in 2^shift: this entry stands for 2^shift allocations */
};

_Static_assert(__builtin_offsetof(struct memleak_alloc, size) == 0, "size");
_Static_assert(__builtin_offsetof(struct memleak_alloc, ts_ns) == 8, "tsNs");
_Static_assert(__builtin_offsetof(struct memleak_alloc, stack_id) == 16, "stackId");
_Static_assert(__builtin_offsetof(struct memleak_alloc, shift) == 20, "shift");
_Static_assert(sizeof(struct memleak_alloc) == 24, "size of memleak_alloc");

#endif
