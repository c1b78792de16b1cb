/**
 * `oscope mem`, in two steps (the shape of every area, see diagnose/inspect/checks.ts):
 *
 *   collectMem(host, opts)  → MemCapture   every read, each kernel file once, through the Host
 *   analyzeMem(capture, …)  → MemAnalysis  pure: breakdown, rows, sections, findings
 *
 * runMemPanorama composes the two. The same code runs on a live host, under a RecordingHost for
 * `oscope capture`, and on a BundleHost for `--from`; the analysis never sees the Host, so a capture
 * built from fixtures pins it exactly (test/golden).
 */
import type { Host } from '../../host/host.js';
import { type MemoryHierarchy, discoverMemoryHierarchy } from '../../kernel/cgroup/discover.js';
import { type MemoryCgroupWalk, walkMemoryCgroups } from '../../kernel/cgroup/walk.js';
import { computeZombies } from '../../kernel/cgroup/zombie.js';
import { type KpageScan, reconcileFree, scanKpages } from '../../kernel/kpage/scan.js';
import { type Allocinfo, readAllocinfo, topAllocSites } from '../../kernel/procfs/allocinfo.js';
import { type Iomem, readIomem, systemRamBytes } from '../../kernel/procfs/iomem.js';
import { type Meminfo, readMeminfo } from '../../kernel/procfs/meminfo.js';
import { type FdInfo, readFdinfo } from '../../kernel/procfs/pid/fdinfo.js';
import { readSocketBufferBytes } from '../../kernel/procfs/sockstat.js';
import { type VmallocCallerUsage, readVmallocByCaller } from '../../kernel/procfs/vmallocinfo.js';
import { pageSize as readPageSize } from '../../kernel/procfs/vmstat.js';
import { type Zoneinfo, readZoneinfo } from '../../kernel/procfs/zoneinfo.js';
import { mapLimit } from '../../util/concurrency.js';
import type { PageCacheProbe } from '../../kernel/pagecache/probe.js';
import { runFileCache } from '../filecache/run.js';
import type { Thresholds } from '../thresholds.js';
import { type PhysicalRam, computeBreakdown } from './breakdown.js';
import { containerLookup } from './containers.js';
import { memFindings } from './findings.js';
import { type ProcessScan, commOf, processRows, scanProcesses, scannedProcesses } from './processes.js';
import { type ShmemSources, analyzeShmem, collectShmemSources } from './shmem.js';
import { type SlabSources, analyzeSlab, collectSlabSources } from './slab.js';
import type { CgroupRow, ContainerRef, Coverage, KpageSummary, MemAnalysis, MemcgSection, MemFileCacheSection, UnaccountedSection } from './types.js';
import { pcpFreeBytesOf, vmallocStackBytesOf, vmallocinfoBytesOf } from './unaccounted.js';

export interface MemOptions {
  thresholds: Thresholds;
  /** Scan /proc/kpageflags to cross-check the unaccounted figure (default true; root only). */
  kpage?: boolean;
  /** Rows kept in the process and cgroup tables (default 30; the JSON keeps this many too). */
  top?: number;
  /** Progress of the long steps, for a TTY progress bar. */
  onProgress?: (step: string, done: number, total: number) => void;
  /**
   * The files holding the most page cache (live hosts with the native addon; default true there):
   * processes' files and tmpfs, no disk walk. A probe may be given (tests); false skips it.
   */
  fileCache?: boolean | PageCacheProbe;
}

export type CollectMemOptions = Pick<MemOptions, 'kpage' | 'onProgress' | 'fileCache'>;
export type AnalyzeMemOptions = Pick<MemOptions, 'top'>;

/** A BPF object fd found in the process scan, with its fdinfo (undefined: gone or unreadable). */
export interface BpfFd {
  pid: number;
  fd: number;
  cls: 'bpf-map' | 'bpf-prog';
  info: FdInfo | undefined;
}

/** Files holding page cache, as the file-cache part measured them (live hosts only). */
export type MemFileCacheCapture = Omit<MemFileCacheSection, 'files'> & { all: MemFileCacheSection['files'] };

/**
 * Everything `oscope mem` reads, read once. Optional parts are undefined when the file is missing or
 * unreadable, with the reason kept where the report says it (`…Error`).
 */
export interface MemCapture {
  meminfo: Meminfo;
  pageSize: number;
  /** /proc/zoneinfo: physical RAM (present pages) and the per-CPU free lists. */
  zoneinfo: Zoneinfo | undefined;
  /** /proc/iomem, read only when zoneinfo does not give the physical RAM size. */
  iomem: Iomem | undefined;
  /** /proc/vmallocinfo by caller (root). */
  vmalloc: VmallocCallerUsage[] | undefined;
  vmallocError?: string;
  scan: ProcessScan;
  hierarchy: MemoryHierarchy | undefined;
  walk: MemoryCgroupWalk | undefined;
  /** Container of each cgroup path the report mentions (runtime state files read once). */
  containers: Map<string, ContainerRef>;
  shmem: ShmemSources;
  slab: SlabSources;
  /** TCP+UDP socket buffers; undefined when sockstat has no memory figures, null when it is unreadable. */
  socketBytes: number | undefined | null;
  /** /proc/allocinfo: absent (undefined), unreadable (null) or read. */
  allocinfo: Allocinfo | null | undefined;
  bpf: BpfFd[];
  /** The kpageflags scan: not asked for (undefined), its result, or why it failed. */
  kpage: { scan: Pick<KpageScan, 'pfns' | 'pageSizeBytes' | 'classes' | 'method' | 'durationMs'> } | { error: string } | undefined;
  /** The file-cache part: not asked for (undefined), its files, or why it could not run. */
  fileCache: MemFileCacheCapture | { unavailable: string } | undefined;
}

export interface MemAnalysisResult {
  analysis: MemAnalysis;
  availableBytes: number;
}

export interface MemResult extends MemAnalysisResult {
  meminfo: Meminfo;
}

/** Files holding page cache (top 200 sampled for cgroups, for the per-container findings). */
async function collectFileCache(
  host: Host,
  opts: CollectMemOptions,
  progress: (step: string, done: number, total: number) => void,
  cgroupWalk: MemoryCgroupWalk | undefined,
  scan: ProcessScan,
): Promise<MemCapture['fileCache']> {
  if (opts.fileCache === false) return undefined;
  let probe: PageCacheProbe;
  let owned = false;
  if (typeof opts.fileCache === 'object') probe = opts.fileCache;
  else {
    if (!host.live) return { unavailable: 'the page cache of files can only be measured on the live host' };
    const st = host.live.pageCacheProbe();
    if (!st.available) return { unavailable: st.reason };
    probe = st.probe;
    owned = true;
  }
  try {
    progress('filecache', 0, 1);
    // The processes' open and mapped files come from the panorama's scan (read once); files nobody
    // holds come from the BPF in-core inode walk where it runs, else from tmpfs only (no disk walk).
    const a = await runFileCache(host, probe, {
      walk: false,
      top: 200,
      samplePages: 64,
      processes: scannedProcesses(scan),
      ...(cgroupWalk ? { cgroupWalk } : {}),
    });
    return { all: a.files, method: `${a.method.discovery} ${a.method.measure} ${a.method.attribution}` };
  } catch (err) {
    return { unavailable: (err as Error).message };
  } finally {
    if (owned) probe.close();
  }
}

async function collectBpf(host: Host, scan: ProcessScan): Promise<BpfFd[]> {
  const jobs: Omit<BpfFd, 'info'>[] = [];
  for (const [pid, fds] of scan.fds) {
    for (const f of fds) if (f.kind === 'anon_inode' && (f.anonClass === 'bpf-map' || f.anonClass === 'bpf-prog')) jobs.push({ pid, fd: f.fd, cls: f.anonClass });
  }
  return mapLimit(jobs, 16, async (j) => ({ ...j, info: await readFdinfo(host, j.pid, j.fd).catch(() => undefined) }));
}

/** Every read `oscope mem` makes, each kernel file once. Throws only when /proc/meminfo cannot be read. */
export async function collectMem(host: Host, opts: CollectMemOptions = {}): Promise<MemCapture> {
  const progress = opts.onProgress ?? (() => {});
  const meminfo = await readMeminfo(host);
  const pageSize = await readPageSize(host);

  // On a live host the kpageflags scan runs in a worker thread, overlapping the procfs reads below.
  const kpageJob =
    opts.kpage !== false
      ? host.live
        ? host.live.scanKpages()
        : scanKpages(host, { cgroups: false, pageSizeBytes: pageSize, onProgress: (d, t) => progress('kpageflags', d, t) })
      : undefined;
  kpageJob?.catch(() => {}); // awaited below; keep an early rejection from being unhandled meanwhile

  progress('processes', 0, 1);
  // The file cache part needs each process's mapped files and mount namespace too: read them in the
  // same scan, so that /proc/PID is read once (only where that part can run: live, with the addon).
  const fileCacheRuns = opts.fileCache !== false && (typeof opts.fileCache === 'object' || host.live?.native().available === true);
  const scan = await scanProcesses(host, { maps: fileCacheRuns });

  let vmalloc: VmallocCallerUsage[] | undefined;
  let vmallocError: string | undefined;
  try {
    vmalloc = await readVmallocByCaller(host);
  } catch (err) {
    vmallocError = (err as Error).message;
  }

  // zoneinfo's present pages need no privilege; iomem gives the same from the firmware map as root.
  const zoneinfo = await readZoneinfo(host).catch(() => undefined);
  const iomem = zoneinfo && presentBytes(zoneinfo) > 0 ? undefined : await readIomem(host).catch(() => undefined);

  const hierarchy = await discoverMemoryHierarchy(host).catch(() => undefined);
  let walk: MemoryCgroupWalk | undefined;
  if (hierarchy) {
    progress('cgroups', 0, 1);
    walk = await walkMemoryCgroups(host, { hierarchy });
  }
  const cgroupPaths = new Set<string>(scan.processes.map((p) => p.memoryCgroup).filter((p): p is string => p !== undefined));
  for (const c of walk?.cgroups ?? []) cgroupPaths.add(c.path);
  const containerOf = await containerLookup(host, cgroupPaths);
  const containers = new Map<string, ContainerRef>();
  for (const p of cgroupPaths) {
    const ref = containerOf(p);
    if (ref) containers.set(p, ref);
  }

  progress('shmem', 0, 1);
  const shmem = await collectShmemSources(host, scan);
  const slab = await collectSlabSources(host);

  let socketBytes: number | undefined | null;
  try {
    socketBytes = await readSocketBufferBytes(host);
  } catch {
    socketBytes = null;
  }
  const allocinfo = (await host.exists('/proc/allocinfo')) ? await readAllocinfo(host).catch(() => null) : undefined;
  const bpf = await collectBpf(host, scan);

  let kpage: MemCapture['kpage'];
  if (kpageJob) {
    try {
      kpage = { scan: await kpageJob };
    } catch (err) {
      kpage = { error: (err as Error).message };
    }
  }
  const fileCache = await collectFileCache(host, opts, progress, walk, scan);
  return {
    meminfo,
    pageSize,
    zoneinfo,
    iomem,
    vmalloc,
    ...(vmallocError !== undefined ? { vmallocError } : {}),
    scan,
    hierarchy,
    walk,
    containers,
    shmem,
    slab,
    socketBytes,
    allocinfo,
    bpf,
    kpage,
    fileCache,
  };
}

function presentBytes(z: Zoneinfo): number {
  return z.zones.reduce((s, zone) => s + zone.present, 0) * z.pageSizeBytes;
}

function physicalRam(c: MemCapture, coverage: Coverage[]): PhysicalRam | undefined {
  if (c.zoneinfo) {
    // zoneinfo's page size is the one read with it; `present` is in pages.
    const present = c.zoneinfo.zones.reduce((s, zone) => s + zone.present, 0);
    if (present > 0) return { bytes: present * c.pageSize, source: 'zoneinfo' };
  }
  const ram = c.iomem ? systemRamBytes(c.iomem) : undefined;
  if (ram !== undefined && ram > 0) return { bytes: ram, source: 'iomem' };
  coverage.push({ section: 'breakdown.reserved', status: 'unavailable', reason: 'neither /proc/zoneinfo nor /proc/iomem gave the physical RAM size' });
  return undefined;
}

function bpfUsage(fds: readonly BpfFd[]): UnaccountedSection['bpf'] {
  const maps = new Map<string, number>();
  const progs = new Set<string>();
  for (const j of fds) {
    if (!j.info) continue;
    if (j.cls === 'bpf-map') {
      const id = j.info.fields.get('map_id') ?? `${j.pid}/${j.fd}`;
      maps.set(id, Number(j.info.fields.get('memlock') ?? 0) || 0);
    } else progs.add(j.info.fields.get('prog_id') ?? `${j.pid}/${j.fd}`);
  }
  return { maps: maps.size, mapBytes: [...maps.values()].reduce((s, n) => s + n, 0), progs: progs.size };
}

/** Processes by thread count, each thread costing the average kernel stack (KernelStack ÷ all threads). */
function kernelStackTop(scan: ProcessScan, kernelStackBytes: number): UnaccountedSection['kernelStackTop'] {
  const threads = scan.processes.reduce((s, p) => s + Math.max(1, p.status.threads), 0);
  if (threads === 0) return [];
  const perThread = kernelStackBytes / threads;
  return [...scan.processes]
    .sort((a, b) => b.status.threads - a.status.threads || a.pid - b.pid)
    .slice(0, 10)
    .map((p) => ({ pid: p.pid, comm: p.status.name, threads: p.status.threads, bytes: Math.round(p.status.threads * perThread) }));
}

/** Pure: the panorama from a capture. */
export function analyzeMem(c: MemCapture, thresholds: Thresholds, opts: AnalyzeMemOptions = {}): MemAnalysisResult {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {};
  const top = opts.top ?? 30;
  const { meminfo, scan } = c;
  const memTotalBytes = meminfo.bytesOr0('MemTotal');
  const availableBytes = meminfo.availableBytes();

  if (scan.unreadable > 0) coverage.push({ section: 'processes', status: 'partial', reason: `${scan.unreadable} process${scan.unreadable === 1 ? '' : 'es'} could not be read fully (permission denied)` });
  method.processes = 'procfs status+smaps_rollup+fd';

  // vmalloc by caller (root): the stacks part corrects double counting; the rest explains vmalloc.
  if (c.vmallocError !== undefined) coverage.push({ section: 'unaccounted.vmalloc', status: 'unavailable', reason: c.vmallocError });
  const vmallocStackBytes = c.vmalloc ? vmallocStackBytesOf(c.vmalloc) : undefined;
  const pcpFreeBytes = c.zoneinfo ? pcpFreeBytesOf(c.zoneinfo) : undefined;

  const physical = physicalRam(c, coverage);
  const breakdown = computeBreakdown({
    meminfo,
    ...(physical ? { physical } : {}),
    ...(vmallocStackBytes !== undefined ? { vmallocStackBytes } : {}),
    ...(pcpFreeBytes !== undefined ? { pcpFreeBytes } : {}),
    ...(c.vmalloc ? { vmallocinfoBytes: vmallocinfoBytesOf(c.vmalloc) } : {}),
  });
  method.breakdown = `meminfo${physical ? ` + ${physical.source}` : ''}${c.vmalloc ? ' + vmallocinfo' : ''}`;

  // Cgroups and zombies.
  let cgroups: CgroupRow[] = [];
  let memcg: MemcgSection = { total: 0, visible: 0, zombies: 0, zombieBytes: 0, byParent: [], hierarchy: 'none' };
  const containerOf = (path: string): ContainerRef | undefined => c.containers.get(path);
  if (c.hierarchy && c.walk) {
    const walk = c.walk;
    if (walk.errors.length > 0) coverage.push({ section: 'cgroups', status: 'partial', reason: `${walk.errors.length} cgroup directories could not be read` });
    const z = computeZombies(walk);
    memcg = {
      total: z.total ?? z.visible,
      visible: z.visible,
      zombies: z.zombies ?? 0,
      zombieBytes: z.zombieBytes,
      byParent: z.byParent.map((p) => ({ path: p.path, zombies: p.zombies ?? null, zombieBytes: p.zombieBytes ?? 0 })),
      hierarchy: c.hierarchy.version === 1 ? 'v1' : 'v2',
    };
    if (z.zombies === undefined) coverage.push({ section: 'memcg', status: 'partial', reason: 'the kernel does not export the dying cgroup count' });
    method.memcg = z.method;
    cgroups = walk.cgroups
      .map((cg) => {
        const row: CgroupRow = {
          path: cg.path,
          usageBytes: cg.memory.usageBytes,
          anonBytes: cg.memory.anonBytes,
          fileBytes: cg.memory.fileBytes,
          activeFileBytes: cg.memory.activeFileBytes,
          shmemBytes: cg.memory.shmemBytes,
          workingsetBytes: cg.memory.workingsetBytes,
          limitBytes: cg.memory.limitBytes,
          dirtyBytes: cg.memory.dirtyBytes,
        };
        const ct = containerOf(cg.path);
        if (ct) row.container = ct;
        return row;
      })
      .sort((a, b) => b.usageBytes - a.usageBytes);
  } else {
    coverage.push({ section: 'cgroups', status: 'unavailable', reason: 'no memory cgroup hierarchy is mounted' });
  }
  const processes = processRows(scan, containerOf);

  const shmem = analyzeShmem(c.shmem, commOf(scan), meminfo.bytesOr0('Shmem'), coverage);
  const slab = analyzeSlab(c.slab, { reclaimable: meminfo.slabReclaimableBytes(), unreclaimable: meminfo.slabUnreclaimableBytes() }, coverage);

  // Unaccounted: what can explain memory no counter shows.
  if (c.socketBytes === null) coverage.push({ section: 'unaccounted.sockets', status: 'unavailable', reason: '/proc/net/sockstat is not readable' });
  if (c.allocinfo !== undefined) method.allocinfo = c.allocinfo ? 'allocinfo' : 'allocinfo unreadable';
  let kpage: KpageSummary | null = null;
  let kpageEstimateBytes: number | null = null;
  if (c.kpage && 'scan' in c.kpage) {
    const k = c.kpage.scan;
    kpage = { pfns: k.pfns, pageSize: k.pageSizeBytes, classes: { ...k.classes }, durationMs: Math.round(k.durationMs) };
    const r = reconcileFree(k, meminfo.bytesOr0('MemFree'));
    const stacksOutsideVmalloc = vmallocStackBytes !== undefined ? Math.max(0, meminfo.bytesOr0('KernelStack') - vmallocStackBytes) : 0;
    // Flagless pages that are not memory in use: PFN holes with a struct page (PFN span − present
    // pages − holes already seen as nopage), boot-reserved pages that do not carry PG_reserved, and
    // the per-CPU free lists (free, but not in MemFree, so reconcileFree leaves them in `other`).
    if (physical) {
      const ps = k.pageSizeBytes;
      // Holes the scanner already classed as nopage (from iomem's System RAM ranges) are not in `other`.
      const holes = Math.max(0, k.pfns * ps - physical.bytes - k.classes.nopage * ps);
      const reservedUnflagged = Math.max(0, physical.bytes - memTotalBytes - k.classes.reserved * ps);
      kpageEstimateBytes = Math.max(
        0,
        r.otherAllocatedPages * ps - holes - reservedUnflagged - meminfo.bytesOr0('VmallocUsed') - meminfo.bytesOr0('Percpu') - stacksOutsideVmalloc - (pcpFreeBytes ?? 0),
      );
    } else {
      coverage.push({ section: 'kpage', status: 'partial', reason: 'without the physical RAM size, PFN holes cannot be told from unaccounted pages' });
    }
    method.kpage = k.method;
  } else if (c.kpage) {
    coverage.push({ section: 'kpage', status: 'unavailable', reason: c.kpage.error });
    method.kpage = 'unavailable';
  } else method.kpage = 'skipped';

  const unaccounted: UnaccountedSection = {
    bytes: breakdown.unaccountedBytes,
    kpageEstimateBytes,
    vmallocTop: (c.vmalloc ?? []).slice(0, 15).map((v) => ({ caller: v.caller, bytes: v.bytes, count: v.areas })),
    vmallocBytes: c.vmalloc ? vmallocinfoBytesOf(c.vmalloc) : null,
    bpf: bpfUsage(c.bpf),
    socketBytes: c.socketBytes ?? null,
    pageTableTop: processes
      .filter((p) => (p.pageTableBytes ?? 0) > 0)
      .sort((a, b) => (b.pageTableBytes ?? 0) - (a.pageTableBytes ?? 0) || a.pid - b.pid)
      .slice(0, 10)
      .map((p) => ({ pid: p.pid, comm: p.comm, bytes: p.pageTableBytes ?? 0 })),
    kernelStackTop: kernelStackTop(scan, meminfo.bytesOr0('KernelStack')),
    allocinfoTop: c.allocinfo ? topAllocSites(c.allocinfo, 15).map((a) => ({ site: `${a.function} (${a.site})`, bytes: a.bytes, calls: a.calls })) : null,
  };

  const fileCache = c.fileCache && 'all' in c.fileCache ? c.fileCache : undefined;
  if (c.fileCache && 'unavailable' in c.fileCache) coverage.push({ section: 'filecache', status: 'unavailable', reason: c.fileCache.unavailable });
  if (fileCache) method.fileCache = fileCache.method;
  const findings = memFindings(
    { breakdown, availableBytes, processes, cgroups, shmem, slab, memcg, unaccounted, ...(fileCache ? { fileCacheFiles: fileCache.all } : {}) },
    thresholds,
  );
  const analysis: MemAnalysis = {
    breakdown,
    kpage,
    processes: processes.slice(0, top),
    cgroups: cgroups.slice(0, Math.max(top, 100)),
    shmem,
    slab,
    memcg,
    unaccounted,
    fileCache: fileCache ? { files: fileCache.all.slice(0, top), method: fileCache.method } : null,
    findings,
    method,
    coverage,
  };
  return { analysis, availableBytes };
}

/** collectMem then analyzeMem: what the CLI, the agent and `oscope capture` run. */
export async function runMemPanorama(host: Host, opts: MemOptions): Promise<MemResult> {
  const capture = await collectMem(host, opts);
  return { ...analyzeMem(capture, opts.thresholds, opts), meminfo: capture.meminfo };
}
