// SPDX-License-Identifier: GPL-2.0
/*
 * oscope memleak: outstanding kernel allocations with their stacks, on the kmem tracepoints through
 * tp_btf (BTF-typed arguments, no tracefs, fd-scoped links). Allocations that pass the in-kernel filter
 * (the suspect slab cache by name or object size; non-movable pages; every vmap area) are stored in a
 * bounded hash keyed by address with their size, time and stack id; the matching free deletes them.
 * User space stops allocation tracking near the end of the window (the `control` map) and reads what
 * is still live and old enough.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memleak.h"

char LICENSE[] SEC("license") = "GPL";

/* Set from JS before load. */
const volatile __u32 mode = MEMLEAK_MODE_SLAB;
/* Slab: only this cache (by name; empty = any cache) ... */
const volatile char filter_name[MEMLEAK_NAME_LEN] = {};
/* ... and/or objects of this size (kmalloc-N caches are matched by size; 0 = any size). */
const volatile __u64 filter_size = 0;
/* Slab: include kmalloc()/kfree() (generic caches). */
const volatile bool trace_kmalloc = true;
/* Slab: include kmem_cache_alloc() (named caches). */
const volatile bool trace_cache = true;
/* Page: skip movable pages (user memory, page cache): what leaks in the kernel is not movable. */
const volatile bool skip_movable = true;
/* Keep one allocation in `sample_every` (1 = all), chosen by address so a free finds its alloc. */
const volatile __u32 sample_every = 1;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MEMLEAK_MAX_TRACKED);
  __type(key, __u64);
  __type(value, struct memleak_alloc);
} allocs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, MEMLEAK_MAX_STACKS);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 127 * sizeof(__u64));
} stack_traces SEC(".maps");

/* control[0] = 1 while allocations are tracked (user space sets 0 near the end of the window). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} control SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, MEMLEAK_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat(__u32 i) {
  __u64 *v = bpf_map_lookup_elem(&stats, &i);
  if (v) *v += 1;
}

static __always_inline bool allocs_on(void) {
  __u32 zero = 0;
  __u32 *on = bpf_map_lookup_elem(&control, &zero);
  return on && *on;
}

static __always_inline void record(void *ctx, __u64 addr, __u64 size) {
  if (!addr || !allocs_on()) return;
  stat(MEMLEAK_STAT_SEEN);
  if (sample_every > 1 && ((addr >> 6) * 0x9E3779B97F4A7C15ULL >> 40) % sample_every) return;
  struct memleak_alloc a = {};
  a.size = size;
  a.ts_ns = bpf_ktime_get_ns();
  a.stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
  if (bpf_map_update_elem(&allocs, &addr, &a, BPF_ANY)) stat(MEMLEAK_STAT_FULL);
  else stat(MEMLEAK_STAT_TRACKED);
}

static __always_inline void forget(__u64 addr) {
  if (addr && bpf_map_delete_elem(&allocs, &addr) == 0) stat(MEMLEAK_STAT_FREED);
}

/* The cache's name equals filter_name (bounded compare). */
static __always_inline bool name_matches(const struct kmem_cache *s) {
  char name[MEMLEAK_NAME_LEN] = {};
  bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(s, name));
  for (int i = 0; i < MEMLEAK_NAME_LEN; i++) {
    if (name[i] != filter_name[i]) return false;
    if (name[i] == 0) return true;
  }
  return true;
}

SEC("tp_btf/kmalloc")
int BPF_PROG(oscope_ml_kmalloc, unsigned long call_site, const void *ptr, size_t bytes_req, size_t bytes_alloc, gfp_t gfp_flags, int node) {
  if (mode != MEMLEAK_MODE_SLAB || !trace_kmalloc) return 0;
  if (filter_size && bytes_alloc != filter_size) return 0;
  record(ctx, (__u64)ptr, bytes_alloc);
  return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(oscope_ml_cache, unsigned long call_site, const void *ptr, struct kmem_cache *s, gfp_t gfp_flags, int node) {
  if (mode != MEMLEAK_MODE_SLAB || !trace_cache) return 0;
  __u32 size = BPF_CORE_READ(s, size);
  if (filter_size && size != filter_size) return 0;
  if (filter_name[0] && !name_matches(s)) return 0;
  record(ctx, (__u64)ptr, size);
  return 0;
}

SEC("tp_btf/kfree")
int BPF_PROG(oscope_ml_kfree, unsigned long call_site, const void *ptr) {
  if (mode == MEMLEAK_MODE_SLAB) forget((__u64)ptr);
  return 0;
}

SEC("tp_btf/kmem_cache_free")
int BPF_PROG(oscope_ml_cfree, unsigned long call_site, const void *ptr, const struct kmem_cache *s) {
  if (mode == MEMLEAK_MODE_SLAB) forget((__u64)ptr);
  return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(oscope_ml_palloc, struct page *page, unsigned int order, gfp_t gfp_flags, int migratetype) {
  if (mode != MEMLEAK_MODE_PAGE) return 0;
  if (skip_movable && (gfp_flags & 0x08u)) return 0; /* ___GFP_MOVABLE */
  record(ctx, (__u64)page, 4096ULL << order);
  return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(oscope_ml_pfree, struct page *page, unsigned int order) {
  if (mode == MEMLEAK_MODE_PAGE) forget((__u64)page);
  return 0;
}

SEC("tp_btf/mm_page_free_batched")
int BPF_PROG(oscope_ml_pfreeb, struct page *page) {
  if (mode == MEMLEAK_MODE_PAGE) forget((__u64)page);
  return 0;
}

SEC("tp_btf/alloc_vmap_area")
int BPF_PROG(oscope_ml_valloc, unsigned long addr, unsigned long size, unsigned long align, unsigned long vstart, unsigned long vend, int failed) {
  if (mode != MEMLEAK_MODE_VMALLOC || failed) return 0;
  record(ctx, addr, size);
  return 0;
}

SEC("tp_btf/free_vmap_area_noflush")
int BPF_PROG(oscope_ml_vfree, unsigned long va_start, unsigned long nr_lazy, unsigned long nr_lazy_max) {
  if (mode == MEMLEAK_MODE_VMALLOC) forget(va_start);
  return 0;
}
