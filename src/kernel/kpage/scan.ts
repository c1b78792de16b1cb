/**
 * Full scans of /proc/kpageflags and /proc/kpagecgroup: every page frame of the machine classified
 * (see ./kpageflags.ts for the classes and the BUDDY caveat) and, optionally, counted per memory cgroup.
 *
 * Both files hold one native-endian u64 per PFN, from PFN 0 to the highest one (holes read as NOPAGE in
 * kpageflags and 0 in kpagecgroup). Root only (mode 0400): a non-root reader gets HostError EACCES; a
 * kernel without CONFIG_PROC_PAGE_MONITOR gets ENOENT for kpageflags, one without CONFIG_MEMCG gets
 * ENOENT for kpagecgroup (then the flags scan is still returned, with `cgroupError` set).
 *
 * How: each file is read through Host.scanFile in large chunks (8 MiB by default) and read as a
 * Uint32Array view over the chunk buffer: no per-page allocation, one tight loop per chunk. A chunk that
 * is not a multiple of 8 bytes or not 4-byte aligned (possible with a bundle host) is handled by carrying
 * the split entry over and copying into an aligned scratch buffer.
 *
 * Holes: PFNs outside every "System RAM" range of /proc/iomem are holes (PCI windows, firmware). Some
 * kernels report them as flagless pages rather than NOPAGE; with the RAM ranges known (read from
 * /proc/iomem through the host, or given), their flagless pages are counted as `nopage`, so that `other`
 * stays the hint for allocated-but-unaccounted RAM. `ramRangesKnown` says whether that was possible.
 *
 * kpagecgroup is read in lock-step with kpageflags by PFN index, as a second pass: the first pass keeps
 * each PFN's class in one byte (6.5 MB for 24 GiB of RAM), the second adds each page to the counts of
 * its cgroup inode. Pages can change between the passes (a second or so apart); counts are a snapshot,
 * not an atomic one.
 *
 * kpagecgroup gives the inode number of the memory cgroup a page is charged to (page_cgroup_ino(): the
 * directory inode in the memory controller's hierarchy; `stat -c %i <cgroup dir>`), or 0 for pages not
 * charged to any (free pages, most kernel memory, pages charged to the root cgroup on some kernels). A
 * removed but still alive (zombie, "dying") cgroup has no directory: the kernel reports its pages under
 * the inode of its nearest live ancestor. So per-cgroup counts here include the pages of the cgroup's
 * dead descendants; `byCgroup` only holds inodes with at least one page, and never inode 0.
 */
import type { Host } from '../../host/host.js';
import { type Iomem, parseIomem } from '../procfs/iomem.js';
import { pageSize as hostPageSize } from '../procfs/vmstat.js';
import {
  C,
  type ClassifyResult,
  type ClassifyState,
  PAGE_CLASSES,
  type PageClass,
  type PageCounter,
  classifyChunk,
  classifyHole,
  finishClassify,
  newClassifyState,
} from './kpageflags.js';

export const KPAGEFLAGS_PATH = '/proc/kpageflags';
export const KPAGECGROUP_PATH = '/proc/kpagecgroup';
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Pages charged to one memory cgroup, by class. */
export interface CgroupPageCounts {
  /** Every page whose kpagecgroup entry names this inode. */
  total: number;
  /** Page cache on the LRU lists (active + inactive file). */
  file: number;
  /** Anonymous pages on the LRU lists (active + inactive anon). */
  anon: number;
  /** tmpfs/shmem pages on the LRU lists. */
  shmem: number;
  /** Unevictable (mlocked, ramfs, SHM_LOCKed) pages. */
  unevictable: number;
  /** Slab pages charged to the cgroup (kmem accounting). */
  slab: number;
  /** Everything else charged to it: page tables, off-LRU pages, other kernel pages. */
  other: number;
}

export interface KpageScan {
  pageSizeBytes: number;
  /** PFNs scanned (entries in kpageflags), holes included. */
  pfns: number;
  /** Pages per exclusive class; the classes add up to `pfns`. */
  classes: Record<PageClass, number>;
  /** Non-exclusive per-page flag counts. */
  counters: Record<PageCounter, number>;
  buddy: ClassifyResult['buddy'];
  /** Bytes of a class (pages × page size). */
  bytes(cls: PageClass): number;
  /** Per memory-cgroup inode; present when `cgroups` was asked and kpagecgroup could be read. */
  byCgroup?: Map<number, CgroupPageCounts>;
  /** Why byCgroup is missing although asked: the HostError code of kpagecgroup (ENOENT, EACCES, …). */
  cgroupError?: string;
  /** Whether RAM ranges were known, so that flagless PFNs outside RAM were counted as holes (`nopage`). */
  ramRangesKnown: boolean;
  method: 'kpageflags' | 'kpageflags+kpagecgroup';
  durationMs: number;
}

export interface ScanKpagesOptions {
  /** Also scan /proc/kpagecgroup and count pages per cgroup inode. */
  cgroups?: boolean;
  /** Read size per chunk; rounded down to a multiple of 8 (minimum 8). Default 8 MiB. */
  chunkBytes?: number;
  /** Called after each chunk with PFN entries processed so far and the expected total (0 when unknown). */
  onProgress?: (done: number, total: number) => void;
  /** Page size in bytes; default from the host (KernelPageSize of /proc/self/smaps, else 4096). */
  pageSizeBytes?: number;
  /**
   * RAM as PFN ranges [start, end), sorted; default: the "System RAM" ranges of /proc/iomem. An empty
   * array means unknown (no hole detection beyond the kernel's own NOPAGE).
   */
  ramRanges?: readonly (readonly [number, number])[];
}

/**
 * The "System RAM" ranges of /proc/iomem as sorted, merged PFN ranges [start, end) (a page partly in RAM
 * counts as RAM). Empty when the text has none or shows zeroed addresses (read without root).
 */
export function ramRangesFromIomem(text: string, pageSizeBytes: number): [number, number][] {
  let tree: Iomem;
  try {
    tree = parseIomem(text);
  } catch {
    return [];
  }
  // Without root the kernel shows every range as 00000000-00000000.
  if (tree.addressesHidden) return [];
  const ranges: [number, number][] = [];
  for (const r of tree.roots) {
    if (r.name !== 'System RAM' || r.end < r.start) continue;
    ranges.push([Math.floor(r.start / pageSizeBytes), Math.ceil((r.end + 1) / pageSizeBytes)]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/**
 * Classifies entries [pfn, pfn+count) split at the RAM boundaries: holes through classifyHole.
 * `ram` must be sorted; `cursor.i` is the index of the first range that may still matter.
 */
function classifySplit(
  words: Uint32Array,
  startWord: number,
  count: number,
  state: ClassifyState,
  ram: readonly (readonly [number, number])[],
  cursor: { i: number },
  classOut: Uint8Array | undefined,
  outStart: number,
): void {
  let done = 0;
  while (done < count) {
    const pfn = state.pfns;
    while (cursor.i < ram.length && ram[cursor.i]![1] <= pfn) cursor.i++;
    const r = ram[cursor.i];
    let n: number;
    let inRam: boolean;
    if (r === undefined) {
      inRam = false;
      n = count - done;
    } else if (pfn < r[0]) {
      inRam = false;
      n = Math.min(count - done, r[0] - pfn);
    } else {
      inRam = true;
      n = Math.min(count - done, r[1] - pfn);
    }
    const o = { start: startWord + done * 2, count: n, lo: LO, outStart: outStart + done } as const;
    const opts = classOut === undefined ? o : { ...o, classOut };
    if (inRam) classifyChunk(words, state, opts);
    else classifyHole(words, state, opts);
    done += n;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Index of the low 32-bit half of a little-endian u64 in a native Uint32Array view. */
const LO: 0 | 1 = LITTLE_ENDIAN ? 0 : 1;

/**
 * Turns a stream of byte chunks of arbitrary size and alignment into runs of whole 8-byte entries seen
 * as 32-bit words. `emit(words, startWord, entries)` gets entries in order.
 */
export class EntryStream {
  private carry = new Uint8Array(8);
  private carryLen = 0;
  private scratch: Uint32Array | undefined;
  private carryWords = new Uint32Array(this.carry.buffer);

  constructor(private readonly emit: (words: Uint32Array, startWord: number, entries: number) => void) {}

  push(chunk: Uint8Array): void {
    let pos = 0;
    if (this.carryLen > 0) {
      const take = Math.min(8 - this.carryLen, chunk.length);
      this.carry.set(chunk.subarray(0, take), this.carryLen);
      this.carryLen += take;
      pos = take;
      if (this.carryLen < 8) return;
      this.emit(this.carryWords, 0, 1);
      this.carryLen = 0;
    }
    const whole = Math.floor((chunk.length - pos) / 8);
    if (whole > 0) {
      const byteStart = chunk.byteOffset + pos;
      if (byteStart % 4 === 0) {
        this.emit(new Uint32Array(chunk.buffer, byteStart, whole * 2), 0, whole);
      } else {
        if (this.scratch === undefined || this.scratch.length < whole * 2) this.scratch = new Uint32Array(whole * 2);
        new Uint8Array(this.scratch.buffer, 0, whole * 8).set(chunk.subarray(pos, pos + whole * 8));
        this.emit(this.scratch, 0, whole);
      }
      pos += whole * 8;
    }
    if (pos < chunk.length) {
      this.carry.set(chunk.subarray(pos), 0);
      this.carryLen = chunk.length - pos;
    }
  }

  /** Bytes of a trailing partial entry left at the end (a truncated file). */
  get pendingBytes(): number {
    return this.carryLen;
  }
}

/** PFN classes kept between the two passes, one byte per PFN in blocks. */
const BLOCK = 1 << 20;

class ClassStore {
  readonly blocks: Uint8Array[] = [];
  /** Calls fn(block, offset in block, entries done so far, count) for each block piece of [firstPfn, firstPfn+n), allocating blocks as needed. */
  each(firstPfn: number, n: number, fn: (block: Uint8Array, blockStart: number, done: number, count: number) => void): void {
    let done = 0;
    while (done < n) {
      const pfn = firstPfn + done;
      const b = Math.floor(pfn / BLOCK);
      const off = pfn - b * BLOCK;
      const count = Math.min(n - done, BLOCK - off);
      while (this.blocks.length <= b) this.blocks.push(new Uint8Array(BLOCK));
      fn(this.blocks[b]!, off, done, count);
      done += count;
    }
  }
}

/** Estimated number of PFN entries, for progress: the file size if the host knows it, else from iomem. */
async function estimatePfns(host: Host, pageSizeBytes: number): Promise<number> {
  try {
    const st = await host.stat(KPAGEFLAGS_PATH);
    if (st.size > 0) return Math.floor(st.size / 8);
  } catch {
    /* fall through */
  }
  const iomem = await host.tryReadText('/proc/iomem');
  if (iomem === undefined) return 0;
  const top = ramRangesFromIomem(iomem, 1).at(-1)?.[1] ?? 0;
  return Math.floor(top / pageSizeBytes);
}

/** Maps a page class to the per-cgroup bucket (index into the Float64Array kept per inode). */
const CG_FIELDS = ['file', 'anon', 'shmem', 'unevictable', 'slab', 'other'] as const;
const CG_BUCKET = new Uint8Array(PAGE_CLASSES.length).fill(5);
CG_BUCKET[C.lruActiveFile] = 0;
CG_BUCKET[C.lruInactiveFile] = 0;
CG_BUCKET[C.lruActiveAnon] = 1;
CG_BUCKET[C.lruInactiveAnon] = 1;
CG_BUCKET[C.shmem] = 2;
CG_BUCKET[C.unevictable] = 3;
CG_BUCKET[C.slab] = 4;

/**
 * Adds `count` kpagecgroup entries (inode numbers as 32-bit word pairs) to `byIno`, using the classes
 * of the same PFNs from `classes`. Pure; exported for tests. Counts per inode are a Float64Array of
 * [file, anon, shmem, unevictable, slab, other].
 */
export function countCgroupChunk(
  words: Uint32Array,
  startWord: number,
  count: number,
  classes: Uint8Array,
  classStart: number,
  byIno: Map<number, Float64Array>,
  lo: 0 | 1 = LO,
): void {
  const hiOff = 1 - lo;
  let lastIno = 0;
  let last: Float64Array | undefined;
  for (let i = 0, w = startWord; i < count; i++, w += 2) {
    const l = words[w + lo]!;
    const h = words[w + hiOff]!;
    if ((l | h) === 0) continue;
    const ino = h * 4294967296 + l;
    if (ino !== lastIno || last === undefined) {
      last = byIno.get(ino);
      if (last === undefined) {
        last = new Float64Array(CG_FIELDS.length);
        byIno.set(ino, last);
      }
      lastIno = ino;
    }
    last[CG_BUCKET[classes[classStart + i]!]!]!++;
  }
}

function toCounts(a: Float64Array): CgroupPageCounts {
  const c: CgroupPageCounts = { total: 0, file: a[0]!, anon: a[1]!, shmem: a[2]!, unevictable: a[3]!, slab: a[4]!, other: a[5]! };
  c.total = c.file + c.anon + c.shmem + c.unevictable + c.slab + c.other;
  return c;
}

/**
 * Scans /proc/kpageflags (and /proc/kpagecgroup when `cgroups`). Throws HostError EACCES when not root,
 * ENOENT when the kernel does not have kpageflags.
 */
export async function scanKpages(host: Host, opts: ScanKpagesOptions = {}): Promise<KpageScan> {
  const t0 = performance.now();
  const chunkBytes = Math.max(8, Math.floor((opts.chunkBytes ?? DEFAULT_CHUNK_BYTES) / 8) * 8);
  const pageSizeBytes = opts.pageSizeBytes ?? (await hostPageSize(host));
  const wantCgroups = opts.cgroups === true;
  const onProgress = opts.onProgress;
  const expected = onProgress ? (await estimatePfns(host, pageSizeBytes)) * (wantCgroups ? 2 : 1) : 0;
  let ram = opts.ramRanges;
  if (ram === undefined) {
    const iomem = await host.tryReadText('/proc/iomem');
    ram = iomem === undefined ? [] : ramRangesFromIomem(iomem, pageSizeBytes);
  }
  const ramKnown = ram.length > 0;
  const ramCursor = { i: 0 };

  const state = newClassifyState();
  const store = wantCgroups ? new ClassStore() : undefined;
  const flags = new EntryStream((words, startWord, entries) => {
    if (store === undefined) {
      if (ramKnown) classifySplit(words, startWord, entries, state, ram, ramCursor, undefined, 0);
      else classifyChunk(words, state, { start: startWord, count: entries, lo: LO });
      return;
    }
    store.each(state.pfns, entries, (block, blockStart, done, count) => {
      if (ramKnown) classifySplit(words, startWord + done * 2, count, state, ram, ramCursor, block, blockStart);
      else classifyChunk(words, state, { start: startWord + done * 2, count, lo: LO, classOut: block, outStart: blockStart });
    });
  });
  await host.scanFile(KPAGEFLAGS_PATH, chunkBytes, (chunk) => {
    flags.push(chunk);
    onProgress?.(state.pfns, expected);
  });
  const result = finishClassify(state);
  const pfns = result.pfns;

  let byCgroup: Map<number, CgroupPageCounts> | undefined;
  let cgroupError: string | undefined;
  if (store !== undefined) {
    const byIno = new Map<number, Float64Array>();
    let cgPfn = 0;
    const cg = new EntryStream((words, startWord, entries) => {
      // Entries past the PFNs kpageflags had (memory hot-added between the passes) have no class: skip.
      const n = Math.max(0, Math.min(entries, pfns - cgPfn));
      store.each(cgPfn, n, (block, blockStart, done, count) => {
        countCgroupChunk(words, startWord + done * 2, count, block, blockStart, byIno, LO);
      });
      cgPfn += entries;
    });
    try {
      await host.scanFile(KPAGECGROUP_PATH, chunkBytes, (chunk) => {
        cg.push(chunk);
        onProgress?.(pfns + Math.min(cgPfn, pfns), expected);
      });
      byCgroup = new Map();
      for (const [ino, a] of byIno) byCgroup.set(ino, toCounts(a));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      cgroupError = typeof code === 'string' ? code : 'EIO';
    }
  }

  const classes = result.classes;
  const scan: KpageScan = {
    pageSizeBytes,
    pfns,
    classes,
    counters: result.counters,
    buddy: result.buddy,
    bytes: (cls) => classes[cls] * pageSizeBytes,
    ramRangesKnown: ramKnown,
    method: byCgroup ? 'kpageflags+kpagecgroup' : 'kpageflags',
    durationMs: performance.now() - t0,
  };
  if (byCgroup) scan.byCgroup = byCgroup;
  if (cgroupError !== undefined) scan.cgroupError = cgroupError;
  return scan;
}

/** kpageflags' free pages set against /proc/meminfo's MemFree (see the module comment of kpageflags.ts). */
export interface FreeReconciliation {
  /** Free pages kpageflags shows (BUDDY, plus inferred tails on head-only kernels). */
  buddyPages: number;
  /** MemFree in pages. */
  memFreePages: number;
  /**
   * Free pages that carry no flag (per-CPU free lists, free memory whose struct pages are not initialised
   * yet with deferred/lazy init): MemFree − buddy, at least 0, at most the `other` pages.
   */
  flaglessFreePages: number;
  /** `other` pages minus flaglessFreePages: allocated pages with no flags, the unaccounted-memory hint. */
  otherAllocatedPages: number;
}

export function reconcileFree(scan: Pick<KpageScan, 'classes' | 'pageSizeBytes'>, memFreeBytes: number): FreeReconciliation {
  const buddyPages = scan.classes.buddy;
  const memFreePages = Math.floor(memFreeBytes / scan.pageSizeBytes);
  const flaglessFreePages = Math.min(Math.max(0, memFreePages - buddyPages), scan.classes.other);
  return { buddyPages, memFreePages, flaglessFreePages, otherAllocatedPages: scan.classes.other - flaglessFreePages };
}
