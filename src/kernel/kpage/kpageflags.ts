/**
 * /proc/kpageflags — one little-endian (native-endian) u64 of flags per page frame number (PFN), from
 * fs/proc/page.c. Bit numbers are the kernel's: include/uapi/linux/kernel-page-flags.h for the stable
 * bits 0–26 and include/linux/kernel-page-flags.h for the "kernel hacking assistance" bits from 32 on
 * (see Documentation/admin-guide/mm/pagemap.rst).
 *
 * This module is the pure part: bit numbers, the page classes, and `classifyChunk`, which classifies a
 * run of kpageflags entries given as pairs of 32-bit words (low half, high half) and adds them to a
 * `ClassifyState`. It never allocates per page, so it can run over tens of millions of PFNs. The I/O
 * (chunked reads, the lock-step kpagecgroup pass) is in ./scan.ts.
 *
 * Classification (one class per PFN, first rule that matches):
 *  1. NOPAGE → `nopage` (a hole in the PFN space: no struct page). Kernels do not always say so: on
 *     6.18 the x86 PCI hole below 4 GiB reads as flagless pages. `classifyHole` classifies a PFN range
 *     known not to be RAM (from /proc/iomem) and counts its flagless pages as `nopage` too.
 *  2. COMPOUND_TAIL → the class of the compound head seen last (a tail belongs to its head's folio:
 *     THP tails are anon/file/shmem LRU pages, hugetlb tails are hugetlb, slab tails are slab).
 *  3. HWPOISON, OFFLINE, BUDDY, SLAB, PGTABLE, HUGE (hugetlbfs), ZERO_PAGE, RESERVED — in that order.
 *     SLAB comes before the ANON/KSM tests on purpose: for slab pages the kernel's "mapping" word is slab
 *     data, so ANON and KSM can read as set on slab pages and mean nothing.
 *  4. LRU: UNEVICTABLE → `unevictable`; ANON → `lruActiveAnon`/`lruInactiveAnon` by ACTIVE;
 *     SWAPBACKED without ANON → `shmem` (tmpfs, /dev/shm, SysV shm, memfd: the kernel keeps these on the
 *     anon LRU lists, meminfo's Active(anon)/Inactive(anon) include them); else `lruActiveFile` /
 *     `lruInactiveFile`.
 *  5. Not on an LRU list but with user-page flags (ANON, SWAPBACKED, MMAP, UPTODATE, DIRTY, WRITEBACK,
 *     SWAPCACHE, UNEVICTABLE) → `offLru`: user pages momentarily off the lists (being migrated or
 *     reclaimed, in a per-CPU LRU batch) and page-cache pages not yet on a list.
 *  6. No flags at all (a lone COMPOUND_HEAD counts as none: large kmalloc and other compound kernel
 *     allocations) → `other`: pages allocated by drivers, alloc_pages(), vmalloc, kernel stacks, page
 *     tables of kernels that do not mark them, per-CPU free lists, … — the hint for unaccounted memory.
 *     Any other flag combination → `flaggedOther`.
 *
 * Free pages and BUDDY. The kernel marks a free block with PageBuddy. Up to 6.x it did so on the first
 * page of the block only, and the block's order is not exported; the remaining pages of the block have no
 * flags and would read as `other`. Recent kernels (seen on 6.18) report BUDDY on every page of a free
 * block. `classifyChunk` handles both: it counts pages with the BUDDY bit as `buddy`, and separately
 * counts `inferredBuddyTailPages`: flagless pages that follow a BUDDY page inside the largest naturally
 * aligned power-of-two block (at most 2^MAX_BUDDY_ORDER pages) that can start there — a free block of
 * order k starts at a PFN aligned to 2^k and its 2^k − 1 following pages carry no flags. `finishClassify`
 * decides which kernel it saw (on a head-only kernel, a BUDDY page right after another BUDDY page is
 * rare; on an all-pages kernel it is the rule) and moves the inferred tails from `other` to `buddy` only
 * on a head-only kernel. The inference is an upper bound (an allocated flagless page right after a free
 * block can be taken for part of it). Free pages on the per-CPU lists and, on kernels with deferred or
 * lazy struct-page init, not-yet-initialised free memory are counted in MemFree but carry no flags at
 * all: they read as `other`. Use `reconcileFree` (./scan.ts) with /proc/meminfo's MemFree to move them.
 *
 * Besides the exclusive classes, per-page `counters` count flags as the kernel reports them (a page can
 * be dirty and mmapped and THP): see PAGE_COUNTERS.
 */

/** Bit numbers of /proc/kpageflags (stable ABI 0–26, kernel-internal 32+). */
export const KPF = {
  LOCKED: 0,
  ERROR: 1,
  REFERENCED: 2,
  UPTODATE: 3,
  DIRTY: 4,
  LRU: 5,
  ACTIVE: 6,
  SLAB: 7,
  WRITEBACK: 8,
  RECLAIM: 9,
  BUDDY: 10,
  MMAP: 11,
  ANON: 12,
  SWAPCACHE: 13,
  SWAPBACKED: 14,
  COMPOUND_HEAD: 15,
  COMPOUND_TAIL: 16,
  HUGE: 17,
  UNEVICTABLE: 18,
  HWPOISON: 19,
  NOPAGE: 20,
  KSM: 21,
  THP: 22,
  OFFLINE: 23,
  ZERO_PAGE: 24,
  IDLE: 25,
  PGTABLE: 26,
  // include/linux/kernel-page-flags.h: not ABI, but stable for years.
  RESERVED: 32,
  MLOCKED: 33,
  /** PG_owner_2 since 6.12; KPF_MAPPEDTODISK before. */
  OWNER_2: 34,
  PRIVATE: 35,
  PRIVATE_2: 36,
  OWNER_PRIVATE: 37,
  ARCH: 38,
  UNCACHED: 39,
  SOFTDIRTY: 40,
  ARCH_2: 41,
} as const;

/** The largest buddy order assumed when inferring free-block tails (MAX_PAGE_ORDER on x86 and most configs). */
export const MAX_BUDDY_ORDER = 10;

/** The exclusive page classes, in the order of their numeric index. */
export const PAGE_CLASSES = [
  'lruActiveFile',
  'lruInactiveFile',
  'lruActiveAnon',
  'lruInactiveAnon',
  'shmem',
  'unevictable',
  'offLru',
  'slab',
  'buddy',
  'pageTable',
  'hugetlb',
  'reserved',
  'nopage',
  'offline',
  'zeroPage',
  'hwpoison',
  'flaggedOther',
  'other',
] as const;
export type PageClass = (typeof PAGE_CLASSES)[number];

/** Numeric class index, as stored per PFN by classifyChunk's optional output. */
export const C = {
  lruActiveFile: 0,
  lruInactiveFile: 1,
  lruActiveAnon: 2,
  lruInactiveAnon: 3,
  shmem: 4,
  unevictable: 5,
  offLru: 6,
  slab: 7,
  buddy: 8,
  pageTable: 9,
  hugetlb: 10,
  reserved: 11,
  nopage: 12,
  offline: 13,
  zeroPage: 14,
  hwpoison: 15,
  flaggedOther: 16,
  other: 17,
} as const satisfies Record<PageClass, number>;

/** Non-exclusive per-page flag counts. */
export const PAGE_COUNTERS = [
  'mmap',
  'dirty',
  'writeback',
  'locked',
  'mlocked',
  'ksm',
  'thp',
  'swapcache',
  'idle',
  'compoundHead',
  'compoundTail',
  'anon',
] as const;
export type PageCounter = (typeof PAGE_COUNTERS)[number];

// Masks on the low and high 32-bit halves.
const B = (bit: number): number => (1 << bit) >>> 0;
const M_LOCKED = B(KPF.LOCKED);
const M_DIRTY = B(KPF.DIRTY);
const M_LRU = B(KPF.LRU);
const M_ACTIVE = B(KPF.ACTIVE);
const M_SLAB = B(KPF.SLAB);
const M_WRITEBACK = B(KPF.WRITEBACK);
const M_BUDDY = B(KPF.BUDDY);
const M_MMAP = B(KPF.MMAP);
const M_ANON = B(KPF.ANON);
const M_SWAPCACHE = B(KPF.SWAPCACHE);
const M_SWAPBACKED = B(KPF.SWAPBACKED);
const M_HEAD = B(KPF.COMPOUND_HEAD);
const M_TAIL = B(KPF.COMPOUND_TAIL);
const M_HUGE = B(KPF.HUGE);
const M_UNEVICTABLE = B(KPF.UNEVICTABLE);
const M_HWPOISON = B(KPF.HWPOISON);
const M_NOPAGE = B(KPF.NOPAGE);
const M_KSM = B(KPF.KSM);
const M_THP = B(KPF.THP);
const M_OFFLINE = B(KPF.OFFLINE);
const M_ZERO = B(KPF.ZERO_PAGE);
const M_IDLE = B(KPF.IDLE);
const M_PGTABLE = B(KPF.PGTABLE);
const MH_RESERVED = B(KPF.RESERVED - 32);
const MH_MLOCKED = B(KPF.MLOCKED - 32);
const M_USER = (M_ANON | M_SWAPBACKED | M_MMAP | B(KPF.UPTODATE) | M_DIRTY | M_WRITEBACK | M_SWAPCACHE | M_UNEVICTABLE) >>> 0;

/** Running totals of a scan; feed chunks in PFN order through classifyChunk. */
export interface ClassifyState {
  /** PFNs classified so far (= the next PFN expected). */
  pfns: number;
  /** Pages per class, indexed by C. */
  classCounts: Float64Array;
  /** Per-page flag counts, indexed like PAGE_COUNTERS. */
  counters: Float64Array;
  /** Pages that carry the BUDDY bit. */
  buddyFlaggedPages: number;
  /** BUDDY pages whose previous PFN also carried BUDDY (tells an all-pages kernel from a head-only one). */
  buddyAfterBuddyPages: number;
  /** Flagless pages inside the aligned block that a BUDDY page can head (see the module comment). */
  inferredBuddyTailPages: number;
  /** @internal class of the compound head seen last, -1 when the previous page was not part of a compound. */
  lastHeadClass: number;
  /** @internal whether the previous PFN carried BUDDY. */
  prevBuddy: boolean;
  /** @internal end (exclusive) of the block the last BUDDY page could head; flagless pages before it extend the run. */
  buddyLimit: number;
  /** @internal flagless pages counted so far after the last BUDDY page. */
  buddyRun: number;
}

export function newClassifyState(): ClassifyState {
  return {
    pfns: 0,
    classCounts: new Float64Array(PAGE_CLASSES.length),
    counters: new Float64Array(PAGE_COUNTERS.length),
    buddyFlaggedPages: 0,
    buddyAfterBuddyPages: 0,
    inferredBuddyTailPages: 0,
    lastHeadClass: -1,
    prevBuddy: false,
    buddyLimit: 0,
    buddyRun: 0,
  };
}

/** The class of a page from its own flags (compound tails are handled by the caller). */
export function pageClassOf(lo: number, hi: number): number {
  if (lo & M_NOPAGE) return C.nopage;
  if (lo & M_HWPOISON) return C.hwpoison;
  if (lo & M_OFFLINE) return C.offline;
  if (lo & M_BUDDY) return C.buddy;
  if (lo & M_SLAB) return C.slab;
  if (lo & M_PGTABLE) return C.pageTable;
  if (lo & M_HUGE) return C.hugetlb;
  if (lo & M_ZERO) return C.zeroPage;
  if (hi & MH_RESERVED) return C.reserved;
  if (lo & M_LRU) {
    if (lo & M_UNEVICTABLE) return C.unevictable;
    if (lo & M_ANON) return lo & M_ACTIVE ? C.lruActiveAnon : C.lruInactiveAnon;
    if (lo & M_SWAPBACKED) return C.shmem;
    return lo & M_ACTIVE ? C.lruActiveFile : C.lruInactiveFile;
  }
  if (lo & M_USER) return C.offLru;
  if (hi === 0 && (lo & ~M_HEAD) === 0) return C.other;
  return C.flaggedOther;
}

/** Pages of the inferred free block after a BUDDY head, given the flagless run r after it: 2^k − 1 for the largest 2^k ≤ r + 1. */
function inferredTail(run: number): number {
  // A free block of order k starts aligned to 2^k and its 2^k − 1 following pages carry no flags; the
  // run is already cut at the aligned limit, so any power of two ≤ run + 1 is a possible block.
  let size = 1;
  while (size * 2 <= run + 1) size *= 2;
  return size - 1;
}

/** End (exclusive) of the largest naturally aligned block (≤ 2^MAX_BUDDY_ORDER pages) starting at pfn. */
function buddyBlockEnd(pfn: number): number {
  let size = 1;
  const cap = 2 ** MAX_BUDDY_ORDER;
  while (size < cap && pfn % (size * 2) === 0) size *= 2;
  return pfn + size;
}

/**
 * Classifies `count` kpageflags entries given as 32-bit words: entry i has its low half at
 * words[start + 2i + lo] and its high half at words[start + 2i + 1 − lo], where `lo` is 0 on a
 * little-endian reader of a little-endian file (the default). The first entry is PFN `state.pfns`.
 * When `classOut` is given, the class index of entry i is written to classOut[outStart + i].
 */
export function classifyChunk(
  words: Uint32Array,
  state: ClassifyState,
  opts: { start?: number; count?: number; lo?: 0 | 1; classOut?: Uint8Array; outStart?: number } = {},
): void {
  const start = opts.start ?? 0;
  const count = opts.count ?? Math.floor((words.length - start) / 2);
  if (start < 0 || count < 0 || start + count * 2 > words.length) throw new RangeError('classifyChunk: count exceeds the words given');
  const out = opts.classOut ?? SINK;
  const outStride = opts.classOut === undefined ? 0 : 1;
  const outStart = opts.classOut === undefined ? 0 : (opts.outStart ?? 0);
  if (outStart + count * outStride > out.length) throw new RangeError('classifyChunk: classOut is too small');
  const loOff = opts.lo ?? 0;
  const hiOff = 1 - loOff;
  const cc = state.classCounts;
  const ct = state.counters;
  const first = state.pfns;
  let lastHead = state.lastHeadClass;
  let prevBuddy = state.prevBuddy;
  let buddyLimit = state.buddyLimit;
  let buddyRun = state.buddyRun;
  let inferred = 0;
  let afterBuddy = 0;
  let other = 0;
  let buddy = 0; // fast-path buddy pages (class counted at the end)
  let buddyFlagged = 0; // every page with the BUDDY bit
  let o = outStart;
  for (let k = 0, i = start; k < count; k++, i += 2, o += outStride) {
    const lo = words[i + loOff]!;
    const hi = words[i + hiOff]!;
    if ((lo | hi) === 0) {
      // The common case on an idle host: a flagless page.
      out[o] = 17; // C.other
      other++;
      if (prevBuddy) {
        // First flagless page after a BUDDY page: the block that page could head ends here at most.
        buddyLimit = buddyBlockEnd(first + k - 1);
        prevBuddy = false;
      }
      if (buddyLimit > first + k) buddyRun++;
      lastHead = -1;
      continue;
    }
    if (buddyRun !== 0) {
      inferred += inferredTail(buddyRun);
      buddyRun = 0;
    }
    if (lo === 0x400 && hi === 0) {
      // The other common case: a free page with nothing else set.
      out[o] = 8; // C.buddy
      buddy++;
      buddyFlagged++;
      if (prevBuddy) afterBuddy++;
      lastHead = -1;
      prevBuddy = true;
      continue;
    }
    let cls: number;
    if (lo & M_TAIL && lastHead >= 0) {
      cls = lastHead;
    } else {
      cls = pageClassOf(lo, hi);
      lastHead = lo & M_HEAD ? cls : -1;
    }
    if (lo & M_BUDDY) {
      if (prevBuddy) afterBuddy++;
      prevBuddy = true;
      buddyFlagged++;
    } else {
      buddyLimit = 0;
      prevBuddy = false;
    }
    out[o] = cls;
    cc[cls]!++;
    if (lo & M_MMAP) ct[0]!++;
    if (lo & M_DIRTY) ct[1]!++;
    if (lo & M_WRITEBACK) ct[2]!++;
    if (lo & M_LOCKED) ct[3]!++;
    if (hi & MH_MLOCKED) ct[4]!++;
    if (lo & M_KSM && !(lo & M_SLAB)) ct[5]!++;
    if (lo & M_THP) ct[6]!++;
    if (lo & M_SWAPCACHE) ct[7]!++;
    if (lo & M_IDLE) ct[8]!++;
    if (lo & M_HEAD) ct[9]!++;
    if (lo & M_TAIL) ct[10]!++;
    if (lo & M_ANON && !(lo & M_SLAB)) ct[11]!++;
  }
  cc[C.other]! += other;
  cc[C.buddy]! += buddy;
  state.buddyFlaggedPages += buddyFlagged;
  state.buddyAfterBuddyPages += afterBuddy;
  state.inferredBuddyTailPages += inferred;
  state.pfns = first + count;
  state.lastHeadClass = lastHead;
  state.prevBuddy = prevBuddy;
  state.buddyLimit = buddyLimit;
  state.buddyRun = buddyRun;
}

/**
 * Like classifyChunk, for PFNs known to lie outside RAM (not "System RAM" in /proc/iomem): flagless
 * pages there are holes, counted as `nopage` (and written so to classOut), not `other`; they never
 * extend an inferred buddy block.
 */
export function classifyHole(
  words: Uint32Array,
  state: ClassifyState,
  opts: { start?: number; count?: number; lo?: 0 | 1; classOut?: Uint8Array; outStart?: number } = {},
): void {
  state.prevBuddy = false;
  state.buddyLimit = 0;
  const before = state.classCounts[C.other]!;
  classifyChunk(words, state, opts);
  const holes = state.classCounts[C.other]! - before;
  state.classCounts[C.other]! -= holes;
  state.classCounts[C.nopage]! += holes;
  state.prevBuddy = false;
  state.buddyLimit = 0;
  const out = opts.classOut;
  if (out !== undefined && holes > 0) {
    const start = opts.outStart ?? 0;
    const count = opts.count ?? Math.floor((words.length - (opts.start ?? 0)) / 2);
    for (let i = start; i < start + count; i++) if (out[i] === C.other) out[i] = C.nopage;
  }
}

/** Where classes go when the caller does not want them: one byte written over and over. */
const SINK = new Uint8Array(1);

/** The totals of a finished scan, with the buddy inference resolved. */
export interface ClassifyResult {
  pfns: number;
  classes: Record<PageClass, number>;
  counters: Record<PageCounter, number>;
  buddy: {
    /** Pages with the BUDDY bit. */
    flaggedPages: number;
    /** 'all-pages' when the kernel marks every page of a free block, 'head-only' when only the first. */
    marking: 'all-pages' | 'head-only' | 'none';
    /** Flagless pages taken as the rest of head-marked free blocks (moved from `other` to `buddy`). */
    inferredTailPages: number;
  };
}

/** Ends a scan: flushes the pending buddy run and resolves the buddy inference (see the module comment). */
export function finishClassify(state: ClassifyState): ClassifyResult {
  if (state.buddyRun !== 0) {
    state.inferredBuddyTailPages += inferredTail(state.buddyRun);
    state.buddyRun = 0;
  }
  const classes = {} as Record<PageClass, number>;
  PAGE_CLASSES.forEach((name, i) => (classes[name] = state.classCounts[i]!));
  const counters = {} as Record<PageCounter, number>;
  PAGE_COUNTERS.forEach((name, i) => (counters[name] = state.counters[i]!));
  const flagged = state.buddyFlaggedPages;
  let marking: ClassifyResult['buddy']['marking'] = 'none';
  let inferred = 0;
  if (flagged > 0) {
    // On an all-pages kernel nearly every BUDDY page follows another one (free blocks are mostly large);
    // on a head-only kernel only adjacent order-0 blocks do.
    marking = state.buddyAfterBuddyPages * 2 > flagged ? 'all-pages' : 'head-only';
    if (marking === 'head-only') {
      inferred = Math.min(state.inferredBuddyTailPages, classes.other);
      classes.other -= inferred;
      classes.buddy += inferred;
    }
  }
  return { pfns: state.pfns, classes, counters, buddy: { flaggedPages: flagged, marking, inferredTailPages: inferred } };
}
