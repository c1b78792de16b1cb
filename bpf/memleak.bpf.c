// SPDX-License-Identifier: GPL-2.0
/*
 * oscope memleak: outstanding kernel allocations with their stacks, on the kmem tracepoints.
 *
 * Two flavours of the same programs, chosen by the loader by probing (src/diagnose/memleak/trace.ts):
 * - tp_btf (oscope_ml_*): BTF-typed tracepoint arguments, the cheapest; needs the kernel's BTF for the
 *   tracepoint and at least as many arguments as used here (kmem_cache_free's third is 5.12+).
 * - raw_tp (oscope_mlr_*): the raw tracepoint arguments by position (4.17+). In both, kmem_cache_alloc's
 *   prototype changed in 6.1 (the cache instead of the sizes): which one this kernel has is told by
 *   CO-RE (whether `struct trace_event_raw_kmem_cache_alloc` exists); before 6.1 the cache is matched by
 *   object size only. Neither needs tracefs; both attach through fd-scoped links, so a `kill -9` at any
 *   moment leaves nothing attached.
 *
 * Cost is bounded by design:
 * - the filter runs before anything else: the suspect cache is compared by pointer (learned from its
 *   name at its first allocation), frees of other caches return at once (tp_btf);
 * - adaptive sampling: each CPU counts the allocations that pass the filter in a short window and raises
 *   the shared sampling shift as soon as the count exceeds its share of the budget (`budget_per_window`),
 *   so at most about `budget` allocations a second pay for a stack walk and a hash update. An address is
 *   kept when hash(address) & (2^shift - 1) == 0; each stored allocation records its shift, so user
 *   space scales counts and bytes back (an estimate, said so in the report). User space lowers the shift
 *   again when the rate drops (it is the only writer of the free-side shift, see below);
 * - frees return unless hash(address) & (2^free_shift - 1) == 0, where free_shift is at most every
 *   shift used since tracking began (so no tracked allocation's free is skipped), then a lock-free
 *   lookup, and the delete only when it was tracked;
 * - user space first runs a short calibration (allocations counted, none stored) so tracking starts at
 *   the right shift, and stops allocation tracking near the end of the window (frees still matched).
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
/* Page: skip movable pages (user memory, page cache): what leaks in the kernel is not movable. */
const volatile bool skip_movable = true;
/* Adaptive sampling: allocations one CPU may keep per window before the shift is raised (0 = keep all). */
const volatile __u64 budget_per_window = 0;
const volatile __u64 window_ns = 100000000;

/* The suspect cache's struct kmem_cache, learned from its name (merged caches share it). */
__u64 cache_ptr = 0;

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

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MEMLEAK_CTL_COUNT);
  __type(key, __u32);
  __type(value, __u32);
} control SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, MEMLEAK_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct memleak_window);
} window SEC(".maps");

static __always_inline void stat(__u32 i) {
  __u64 *v = bpf_map_lookup_elem(&stats, &i);
  if (v) *v += 1;
}

static __always_inline __u32 *ctl(__u32 i) {
  return bpf_map_lookup_elem(&control, &i);
}

/* Multiplicative hash: slab addresses are aligned, their high product bits are not. */
static __always_inline __u64 addr_hash(__u64 addr) {
  return (addr * 0x9E3779B97F4A7C15ULL) >> 32;
}

/* have_sid: the stack was taken earlier (a kprobe's entry, for its kretprobe); else it is taken here. */
static __always_inline void record_as(void *ctx, __u64 addr, __u64 size, bool have_sid, __s32 sid) {
  if (!addr) return;
  __u32 *state = ctl(MEMLEAK_CTL_STATE);
  if (!state || (*state != MEMLEAK_STATE_TRACK && *state != MEMLEAK_STATE_CALIBRATE)) return;
  __u32 *shp = ctl(MEMLEAK_CTL_SHIFT);
  if (!shp) return;
  stat(MEMLEAK_STAT_SEEN);
  __u32 shift = *shp;
  if (budget_per_window) {
    __u32 zero = 0;
    struct memleak_window *w = bpf_map_lookup_elem(&window, &zero);
    if (w) {
      w->seen += 1;
      /* The clock is read once every 64 allocations: a window is "at least window_ns". */
      if ((w->seen & 63) == 0) {
        __u64 now = bpf_ktime_get_ns();
        if (now - w->start_ns >= window_ns) {
          w->start_ns = now;
          w->seen = 0;
        }
      }
      if (shift < MEMLEAK_MAX_SHIFT && (w->seen >> shift) > budget_per_window) {
        shift += 1;
        *shp = shift;
        stat(MEMLEAK_STAT_RAISED);
      }
    }
  }
  if (*state != MEMLEAK_STATE_TRACK) return;
  if (shift > MEMLEAK_MAX_SHIFT) shift = MEMLEAK_MAX_SHIFT;
  if (addr_hash(addr) & ((1ULL << shift) - 1)) return;
  struct memleak_alloc a = {};
  a.size = size;
  a.ts_ns = bpf_ktime_get_ns();
  a.stack_id = have_sid ? sid : bpf_get_stackid(ctx, &stack_traces, 0);
  a.shift = shift;
  if (bpf_map_update_elem(&allocs, &addr, &a, BPF_ANY)) stat(MEMLEAK_STAT_FULL);
  else stat(MEMLEAK_STAT_TRACKED);
}

static __always_inline void record(void *ctx, __u64 addr, __u64 size) {
  record_as(ctx, addr, size, false, 0);
}

static __always_inline void forget(__u64 addr) {
  if (!addr) return;
  __u32 *fs = ctl(MEMLEAK_CTL_FREE_SHIFT);
  __u32 shift = fs ? *fs : 0;
  if (shift > MEMLEAK_MAX_SHIFT) shift = MEMLEAK_MAX_SHIFT;
  if (addr_hash(addr) & ((1ULL << shift) - 1)) return;
  if (!bpf_map_lookup_elem(&allocs, &addr)) return;
  if (bpf_map_delete_elem(&allocs, &addr) == 0) stat(MEMLEAK_STAT_FREED);
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

/* Whether an allocation from cache `s` is wanted; learns the suspect's pointer on its first match. */
static __always_inline bool cache_wanted(const struct kmem_cache *s) {
  if (!filter_name[0]) return !filter_size || BPF_CORE_READ(s, size) == filter_size;
  __u64 known = cache_ptr;
  if (known) return (__u64)s == known;
  if (filter_size && BPF_CORE_READ(s, size) != filter_size) return false;
  if (!name_matches(s)) return false;
  cache_ptr = (__u64)s;
  return true;
}

/* ---- slab bodies ------------------------------------------------------------------------------- */

static __always_inline void on_kmalloc(void *ctx, const void *ptr, __u64 bytes_alloc) {
  if (mode != MEMLEAK_MODE_SLAB) return;
  if (filter_size && bytes_alloc != filter_size) return;
  record(ctx, (__u64)ptr, bytes_alloc);
}

static __always_inline void on_cache_alloc(void *ctx, const void *ptr, const struct kmem_cache *s) {
  if (mode != MEMLEAK_MODE_SLAB || !cache_wanted(s)) return;
  record(ctx, (__u64)ptr, BPF_CORE_READ(s, size));
}

/*
 * The 6.1 slab rework made kmem_cache_alloc and kmem_cache_free pass the cache (before: the sizes, and
 * the cache's name for frees since 5.12); it also gave kmem_cache_alloc an event class of its own,
 * which is what CO-RE can see.
 */
#define TRACEPOINTS_PASS_CACHE bpf_core_type_exists(struct trace_event_raw_kmem_cache_alloc)

/* A kmem_cache_free: with a cache filter, frees of other caches return before any map access. */
static __always_inline void on_cache_free(const void *ptr, const struct kmem_cache *s) {
  if (mode != MEMLEAK_MODE_SLAB) return;
  if (filter_name[0] && TRACEPOINTS_PASS_CACHE && (__u64)s != cache_ptr) return;
  forget((__u64)ptr);
}

static __always_inline void on_page_alloc(void *ctx, const struct page *page, unsigned int order, gfp_t gfp_flags) {
  if (mode != MEMLEAK_MODE_PAGE) return;
  if (skip_movable && (gfp_flags & 0x08u)) return; /* ___GFP_MOVABLE */
  record(ctx, (__u64)page, 4096ULL << order);
}

static __always_inline void on_page_free(const struct page *page) {
  if (mode == MEMLEAK_MODE_PAGE) forget((__u64)page);
}

static __always_inline void on_vmap_alloc(void *ctx, unsigned long addr, unsigned long size, int failed) {
  if (mode != MEMLEAK_MODE_VMALLOC || failed) return;
  record(ctx, addr, size);
}

static __always_inline void on_vmap_free(unsigned long va_start) {
  if (mode == MEMLEAK_MODE_VMALLOC) forget(va_start);
}

/* Before 6.1: (call_site, ptr, bytes_req, bytes_alloc, gfp_flags); since: (call_site, ptr, s, gfp_flags, node). */
static __always_inline void any_cache_alloc(void *ctx, const void *ptr, __u64 arg2, __u64 arg3) {
  if (mode != MEMLEAK_MODE_SLAB) return;
  if (TRACEPOINTS_PASS_CACHE) {
    on_cache_alloc(ctx, ptr, (const struct kmem_cache *)arg2);
    return;
  }
  /* No cache pointer: the suspect is matched by its object size only. */
  if (filter_size && arg3 != filter_size) return;
  record(ctx, (__u64)ptr, arg3);
}

/* ---- tp_btf ------------------------------------------------------------------------------------ */

SEC("tp_btf/kmalloc")
int BPF_PROG(oscope_ml_kmall, unsigned long call_site, const void *ptr, size_t bytes_req, size_t bytes_alloc) {
  on_kmalloc(ctx, ptr, bytes_alloc);
  return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(oscope_ml_cache, unsigned long call_site, const void *ptr, __u64 arg2, __u64 arg3) {
  any_cache_alloc(ctx, ptr, arg2, arg3);
  return 0;
}

SEC("tp_btf/kfree")
int BPF_PROG(oscope_ml_kfree, unsigned long call_site, const void *ptr) {
  if (mode == MEMLEAK_MODE_SLAB) forget((__u64)ptr);
  return 0;
}

SEC("tp_btf/kmem_cache_free")
int BPF_PROG(oscope_ml_cfree, unsigned long call_site, const void *ptr, const struct kmem_cache *s) {
  on_cache_free(ptr, s);
  return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(oscope_ml_palloc, struct page *page, unsigned int order, gfp_t gfp_flags) {
  on_page_alloc(ctx, page, order, gfp_flags);
  return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(oscope_ml_pfree, struct page *page) {
  on_page_free(page);
  return 0;
}

SEC("tp_btf/mm_page_free_batched")
int BPF_PROG(oscope_ml_pfreeb, struct page *page) {
  on_page_free(page);
  return 0;
}

SEC("tp_btf/alloc_vmap_area")
int BPF_PROG(oscope_ml_valloc, unsigned long addr, unsigned long size, unsigned long align, unsigned long vstart, unsigned long vend, int failed) {
  on_vmap_alloc(ctx, addr, size, failed);
  return 0;
}

SEC("tp_btf/free_vmap_area_noflush")
int BPF_PROG(oscope_ml_vfree, unsigned long va_start) {
  on_vmap_free(va_start);
  return 0;
}

/* ---- kprobes: vmalloc where the vmap-area tracepoints are missing (kernels before 6.3) -------------- */

/*
 * __vmalloc_node_range (…_noprof since 6.10) has nine arguments, more than a 6.1 x86 trampoline takes,
 * so fexit cannot see its return value there; a kprobe/kretprobe pair can. The entry keeps the size and
 * the stack per thread (the kretprobe's own stack starts at the return trampoline); the return records
 * the area at the address vmalloc returned, sized as the tracepoint sizes it: pages plus the guard page.
 */
struct vm_entry {
  __u64 size;
  __s32 stack_id;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct vm_entry);
} vm_entries SEC(".maps");

SEC("kprobe")
int BPF_KPROBE(oscope_mlk_va, unsigned long size) {
  if (mode != MEMLEAK_MODE_VMALLOC) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct vm_entry e = {};
  e.size = ((size + 4095) & ~4095ULL) + 4096;
  e.stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
  bpf_map_update_elem(&vm_entries, &tid, &e, BPF_ANY);
  return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(oscope_mlk_var, void *ret) {
  if (mode != MEMLEAK_MODE_VMALLOC) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct vm_entry *e = bpf_map_lookup_elem(&vm_entries, &tid);
  if (!e) return 0;
  __u64 size = e->size;
  __s32 sid = e->stack_id;
  bpf_map_delete_elem(&vm_entries, &tid);
  record_as(ctx, (__u64)ret, size, true, sid);
  return 0;
}

SEC("kprobe")
int BPF_KPROBE(oscope_mlk_vf, const void *addr) {
  on_vmap_free((unsigned long)addr);
  return 0;
}

/* ---- fentry/fexit: vmalloc where the vmap-area tracepoints are missing (5.5+ with BTF, before 6.3) -- */

/*
 * The two functions the 6.3 tracepoints sit in: alloc_vmap_area (six arguments on 6.1, within what an
 * x86 trampoline takes; its return value is the area) and free_vmap_area_noflush. They see what the
 * tracepoints see (every vmap area, sized with its guard page), one program per side, with no entry map
 * and no per-hit kprobe trap. Arguments and the return value are read with bpf_get_func_arg/ret, so
 * the programs do not depend on how many arguments the function has on the running kernel.
 */
SEC("fexit/alloc_vmap_area")
int oscope_mlf_va(void *ctx) {
  if (mode != MEMLEAK_MODE_VMALLOC) return 0;
  __u64 ret = 0, size = 0;
  if (bpf_get_func_ret(ctx, &ret) || bpf_get_func_arg(ctx, 0, &size)) return 0;
  /* NULL or ERR_PTR: no area. */
  if (!ret || ret >= (__u64)-4095) return 0;
  struct vmap_area *va = (struct vmap_area *)ret;
  record(ctx, BPF_CORE_READ(va, va_start), size);
  return 0;
}

SEC("fentry/free_vmap_area_noflush")
int BPF_PROG(oscope_mlf_vf, struct vmap_area *va) {
  if (mode == MEMLEAK_MODE_VMALLOC) on_vmap_free(BPF_CORE_READ(va, va_start));
  return 0;
}

/* ---- raw_tp: the same, arguments by position ----------------------------------------------------- */

SEC("raw_tp/kmalloc")
int BPF_PROG(oscope_mlr_km, unsigned long call_site, const void *ptr, size_t bytes_req, size_t bytes_alloc) {
  on_kmalloc(ctx, ptr, bytes_alloc);
  return 0;
}

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(oscope_mlr_kc, unsigned long call_site, const void *ptr, __u64 arg2, __u64 arg3) {
  any_cache_alloc(ctx, ptr, arg2, arg3);
  return 0;
}

/* Before 6.1 the NUMA variants had tracepoints of their own (attached when the kernel has them). */
SEC("raw_tp/kmem_cache_alloc_node")
int BPF_PROG(oscope_mlr_kcn, unsigned long call_site, const void *ptr, __u64 arg2, __u64 arg3) {
  any_cache_alloc(ctx, ptr, arg2, arg3);
  return 0;
}

SEC("raw_tp/kmalloc_node")
int BPF_PROG(oscope_mlr_kmn, unsigned long call_site, const void *ptr, size_t bytes_req, size_t bytes_alloc) {
  on_kmalloc(ctx, ptr, bytes_alloc);
  return 0;
}

SEC("raw_tp/kfree")
int BPF_PROG(oscope_mlr_kf, unsigned long call_site, const void *ptr) {
  if (mode == MEMLEAK_MODE_SLAB) forget((__u64)ptr);
  return 0;
}

/* The third argument changed (none, the name, the cache): match by address only. */
SEC("raw_tp/kmem_cache_free")
int BPF_PROG(oscope_mlr_kcf, unsigned long call_site, const void *ptr) {
  if (mode == MEMLEAK_MODE_SLAB) forget((__u64)ptr);
  return 0;
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(oscope_mlr_pa, struct page *page, unsigned int order, gfp_t gfp_flags) {
  on_page_alloc(ctx, page, order, gfp_flags);
  return 0;
}

SEC("raw_tp/mm_page_free")
int BPF_PROG(oscope_mlr_pf, struct page *page) {
  on_page_free(page);
  return 0;
}

SEC("raw_tp/mm_page_free_batched")
int BPF_PROG(oscope_mlr_pfb, struct page *page) {
  on_page_free(page);
  return 0;
}

SEC("raw_tp/alloc_vmap_area")
int BPF_PROG(oscope_mlr_va, unsigned long addr, unsigned long size, unsigned long align, unsigned long vstart, unsigned long vend, int failed) {
  on_vmap_alloc(ctx, addr, size, failed);
  return 0;
}

SEC("raw_tp/free_vmap_area_noflush")
int BPF_PROG(oscope_mlr_vf, unsigned long va_start) {
  on_vmap_free(va_start);
  return 0;
}
