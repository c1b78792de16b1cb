/**
 * The page cache of files, measured on the live machine through the native addon (../native.ts):
 *
 * - `measure(paths)`: cachestat(2) of many files in one call on the libuv thread pool (Linux 6.5+),
 *   with mincore(2) over a read-only mapping as the fallback (no I/O either way: mmap does not read,
 *   mincore only looks). cachestat gives cached, dirty, writeback and evicted pages; mincore only cached.
 * - `samplePages(path, maxPages)`: the PFNs of up to maxPages resident pages spread over the file
 *   (mincore, then a read of one byte of each chosen resident page through the read-only mapping, a
 *   minor fault that maps the cached page without I/O, then /proc/self/pagemap), and for each PFN its
 *   /proc/kpageflags word and /proc/kpagecgroup inode, read with pread at PFN × 8.
 *
 * This is the one place in oscope where file contents' cache state is read: it needs the live host
 * (a captured bundle has no page cache to ask) and root for PFNs (the kernel hides them otherwise) and
 * for /proc/kpage*. `liveProbe()` says why it cannot run instead of throwing.
 * Paths may be magic links (/proc/PID/fd/N, /proc/PID/map_files/A-B) to reach deleted files.
 */
import { closeSync, constants as fsc, openSync, readSync } from 'node:fs';
import { type FileCacheRow, decodeCachestatRows, loadNative, type NativeAddon } from '../native.js';
import type { PageSample } from './attribution.js';
import { sampleStride } from './attribution.js';

export type MeasureMethod = 'cachestat' | 'mincore';

export interface PagesSampled extends PageSample {
  /** Pages of the file (rounded up) and how many are resident, as mincore saw them. */
  pages: number;
  resident: number;
  /** Page index in the file of each sample. */
  index: Float64Array;
  pfn: Float64Array;
}

export interface PageCacheProbe {
  readonly pageSize: number;
  /** The measuring method in use (cachestat until the kernel answers ENOSYS, then mincore). */
  readonly method: MeasureMethod;
  /** Whether page sampling can attribute pages (root, /proc/kpagecgroup present). */
  readonly canSample: boolean;
  /** Why sampling is not possible, when it is not. */
  readonly sampleUnavailable?: string;
  /** Whether sampled pages carry their memory cgroup (/proc/kpagecgroup, CONFIG_MEMCG). */
  readonly canAttribute: boolean;
  /** Measures files in batches; rows in the order of `paths`. */
  measure(paths: readonly string[]): Promise<FileCacheRow[]>;
  /** Samples resident pages of one file; undefined when the file cannot be opened or mapped. */
  samplePages(path: string, maxPages: number, residentHint?: number): PagesSampled | undefined;
  close(): void;
}

export const KPAGEFLAGS = '/proc/kpageflags';
export const KPAGECGROUP = '/proc/kpagecgroup';
const BATCH = 2048;

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, fsc.O_RDONLY);
  } catch {
    return undefined;
  }
}

/** Reads one u64 per PFN from a /proc/kpage* file, coalescing neighbouring PFNs into one pread. */
export function readPfnWords(fd: number, pfns: Float64Array): BigUint64Array {
  const out = new BigUint64Array(pfns.length);
  const order = [...pfns.keys()].sort((a, b) => pfns[a]! - pfns[b]!);
  const buf = Buffer.alloc(8 * 64);
  for (let k = 0; k < order.length; ) {
    const first = pfns[order[k]!]!;
    let last = first;
    let j = k + 1;
    while (j < order.length && pfns[order[j]!]! - first < 64) {
      last = pfns[order[j]!]!;
      j++;
    }
    const len = (last - first + 1) * 8;
    let got = 0;
    try {
      got = readSync(fd, buf, 0, len, first * 8);
    } catch {
      got = 0;
    }
    for (let i = k; i < j; i++) {
      const at = (pfns[order[i]!]! - first) * 8;
      out[order[i]!] = at + 8 <= got ? buf.readBigUInt64LE(at) : 0n;
    }
    k = j;
  }
  return out;
}

class LiveProbe implements PageCacheProbe {
  readonly pageSize: number;
  method: MeasureMethod;
  readonly canSample: boolean;
  readonly sampleUnavailable?: string;
  private flagsFd?: number;
  private cgroupFd?: number;

  constructor(private readonly addon: NativeAddon, force?: MeasureMethod) {
    this.pageSize = addon.pageSize();
    this.method = force ?? 'cachestat';
    const root = typeof process.geteuid === 'function' && process.geteuid() === 0;
    this.flagsFd = root ? tryOpen(KPAGEFLAGS) : undefined;
    this.cgroupFd = root ? tryOpen(KPAGECGROUP) : undefined;
    if (!root) this.sampleUnavailable = 'not root: the kernel hides page frame numbers and /proc/kpage* from other users';
    else if (this.flagsFd === undefined) this.sampleUnavailable = `${KPAGEFLAGS} is missing (kernel without CONFIG_PROC_PAGE_MONITOR)`;
    this.canSample = this.sampleUnavailable === undefined;
  }

  /** Whether kpagecgroup could be opened (CONFIG_MEMCG); without it, only active/inactive is sampled. */
  get canAttribute(): boolean {
    return this.cgroupFd !== undefined;
  }

  async measure(paths: readonly string[]): Promise<FileCacheRow[]> {
    const out: FileCacheRow[] = [];
    for (let i = 0; i < paths.length; i += BATCH) {
      const batch = paths.slice(i, i + BATCH);
      let rows = decodeCachestatRows(batch, await this.addon.cachestatFiles(batch, this.method, true));
      if (this.method === 'cachestat' && rows.some((r) => r.errno === 38 /* ENOSYS */)) {
        this.method = 'mincore';
        rows = decodeCachestatRows(batch, await this.addon.cachestatFiles(batch, 'mincore', true));
      }
      out.push(...rows);
    }
    return out;
  }

  samplePages(path: string, maxPages: number, residentHint?: number): PagesSampled | undefined {
    if (!this.canSample || this.flagsFd === undefined) return undefined;
    let fd: number;
    try {
      fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    } catch {
      return undefined;
    }
    try {
      const stride = sampleStride(residentHint ?? 0, maxPages);
      const r = this.addon.residentPfns(fd, 0, 0, maxPages, stride);
      const flags = readPfnWords(this.flagsFd, r.pfn);
      const sample: PagesSampled = { pages: r.pages, resident: r.resident, index: r.index, pfn: r.pfn, flags };
      if (this.cgroupFd !== undefined) {
        const words = readPfnWords(this.cgroupFd, r.pfn);
        sample.cgroupInos = Float64Array.from(words, (w) => Number(w));
      }
      return sample;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    if (this.flagsFd !== undefined) closeSync(this.flagsFd);
    if (this.cgroupFd !== undefined) closeSync(this.cgroupFd);
    this.flagsFd = this.cgroupFd = undefined;
  }
}

export type ProbeStatus = { available: true; probe: PageCacheProbe } | { available: false; reason: string };

/** The live probe, or why there is none (no addon). `method` forces mincore (for tests and old kernels). */
export function liveProbe(opts: { method?: MeasureMethod } = {}): ProbeStatus {
  const n = loadNative();
  if (!n.available) return { available: false, reason: n.reason };
  return { available: true, probe: new LiveProbe(n.addon, opts.method) };
}
