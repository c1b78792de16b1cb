/**
 * `oscope mem`: reads everything the panorama needs through the Host (once per file), builds each
 * section, and derives the findings. The same function runs on a live host, under a RecordingHost for
 * `oscope capture`, and on a BundleHost for `--from`.
 */
import type { Host } from '../../host/host.js';
import { discoverMemoryHierarchy } from '../../kernel/cgroup/discover.js';
import { type MemoryCgroupWalk, walkMemoryCgroups } from '../../kernel/cgroup/walk.js';
import { computeZombies } from '../../kernel/cgroup/zombie.js';
import { reconcileFree, scanKpages } from '../../kernel/kpage/scan.js';
import { type Allocinfo, readAllocinfo, topAllocSites } from '../../kernel/procfs/allocinfo.js';
import { readIomem, systemRamBytes } from '../../kernel/procfs/iomem.js';
import { type Meminfo, readMeminfo } from '../../kernel/procfs/meminfo.js';
import { readFdinfo } from '../../kernel/procfs/pid/fdinfo.js';
import { readSocketBufferBytes } from '../../kernel/procfs/sockstat.js';
import { type VmallocCallerUsage, readVmallocByCaller } from '../../kernel/procfs/vmallocinfo.js';
import { pageSize as readPageSize } from '../../kernel/procfs/vmstat.js';
import { readZoneinfo } from '../../kernel/procfs/zoneinfo.js';
import { mapLimit } from '../../util/concurrency.js';
import type { PageCacheProbe } from '../../kernel/pagecache/probe.js';
import { runFileCache } from '../filecache/run.js';
import type { Thresholds } from '../thresholds.js';
import { type PhysicalRam, computeBreakdown } from './breakdown.js';
import { containerLookup } from './containers.js';
import { memFindings } from './findings.js';
import { type ProcessScan, processRows, scanProcesses, scannedProcesses } from './processes.js';
import { collectShmem } from './shmem.js';
import { collectSlab } from './slab.js';
import type { CgroupRow, Coverage, KpageSummary, MemAnalysis, MemcgSection, MemFileCacheSection, UnaccountedSection } from './types.js';

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

/**
 * vmalloc callers that allocate kernel thread stacks (CONFIG_VMAP_STACK). alloc_thread_stack_node is
 * often inlined, so vmallocinfo names its caller: dup_task_struct, copy_process or kernel_clone, and
 * fork_idle for the idle threads' stacks.
 */
const STACK_CALLERS = new Set(['alloc_thread_stack_node', 'dup_task_struct', 'copy_process', 'kernel_clone', 'fork_idle', 'create_io_thread']);

export interface MemResult {
  analysis: MemAnalysis;
  meminfo: Meminfo;
  availableBytes: number;
}

async function physicalRam(host: Host, pageSize: number, coverage: Coverage[]): Promise<PhysicalRam | undefined> {
  // zoneinfo's present pages need no privilege; iomem gives the same from the firmware map as root.
  try {
    const z = await readZoneinfo(host);
    const present = z.zones.reduce((s, zone) => s + zone.present, 0);
    if (present > 0) return { bytes: present * pageSize, source: 'zoneinfo' };
  } catch {
    /* fall through */
  }
  try {
    const ram = systemRamBytes(await readIomem(host));
    if (ram !== undefined && ram > 0) return { bytes: ram, source: 'iomem' };
  } catch {
    /* fall through */
  }
  coverage.push({ section: 'breakdown.reserved', status: 'unavailable', reason: 'neither /proc/zoneinfo nor /proc/iomem gave the physical RAM size' });
  return undefined;
}

async function bpfUsage(host: Host, scan: ProcessScan): Promise<UnaccountedSection['bpf']> {
  const maps = new Map<string, number>();
  const progs = new Set<string>();
  const jobs: { pid: number; fd: number; cls: string }[] = [];
  for (const [pid, fds] of scan.fds) {
    for (const f of fds) if (f.kind === 'anon_inode' && (f.anonClass === 'bpf-map' || f.anonClass === 'bpf-prog')) jobs.push({ pid, fd: f.fd, cls: f.anonClass });
  }
  await mapLimit(jobs, 16, async (j) => {
    const info = await readFdinfo(host, j.pid, j.fd).catch(() => undefined);
    if (!info) return;
    if (j.cls === 'bpf-map') {
      const id = info.fields.get('map_id') ?? `${j.pid}/${j.fd}`;
      maps.set(id, Number(info.fields.get('memlock') ?? 0) || 0);
    } else progs.add(info.fields.get('prog_id') ?? `${j.pid}/${j.fd}`);
  });
  return { maps: maps.size, mapBytes: [...maps.values()].reduce((s, n) => s + n, 0), progs: progs.size };
}

/** Processes by thread count, each thread costing the average kernel stack (KernelStack ÷ all threads). */
function kernelStackTop(scan: ProcessScan, kernelStackBytes: number): UnaccountedSection['kernelStackTop'] {
  const threads = scan.processes.reduce((s, p) => s + Math.max(1, p.status.threads), 0);
  if (threads === 0) return [];
  const perThread = kernelStackBytes / threads;
  return [...scan.processes]
    .sort((a, b) => b.status.threads - a.status.threads)
    .slice(0, 10)
    .map((p) => ({ pid: p.pid, comm: p.status.name, threads: p.status.threads, bytes: Math.round(p.status.threads * perThread) }));
}

/** Files holding page cache (top 200 sampled for cgroups, for the per-container findings); undefined when it cannot run. */
async function collectFileCache(
  host: Host,
  opts: MemOptions,
  coverage: Coverage[],
  progress: (step: string, done: number, total: number) => void,
  cgroupWalk: MemoryCgroupWalk | undefined,
  scan: ProcessScan,
): Promise<(Omit<MemFileCacheSection, 'files'> & { all: MemFileCacheSection['files'] }) | undefined> {
  if (opts.fileCache === false) return undefined;
  let probe: PageCacheProbe;
  let owned = false;
  if (typeof opts.fileCache === 'object') probe = opts.fileCache;
  else {
    if (!host.live) {
      coverage.push({ section: 'filecache', status: 'unavailable', reason: 'the page cache of files can only be measured on the live host' });
      return undefined;
    }
    const st = host.live.pageCacheProbe();
    if (!st.available) {
      coverage.push({ section: 'filecache', status: 'unavailable', reason: st.reason });
      return undefined;
    }
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
    coverage.push({ section: 'filecache', status: 'unavailable', reason: (err as Error).message });
    return undefined;
  } finally {
    if (owned) probe.close();
  }
}

export async function runMemPanorama(host: Host, opts: MemOptions): Promise<MemResult> {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {};
  const top = opts.top ?? 30;
  const progress = opts.onProgress ?? (() => {});

  const meminfo = await readMeminfo(host);
  const pageSize = await readPageSize(host);
  const memTotalBytes = meminfo.bytesOr0('MemTotal');
  const availableBytes = meminfo.bytes('MemAvailable') ?? meminfo.bytesOr0('MemFree') + meminfo.bytesOr0('Cached');

  // On a live host the kpageflags scan runs in a worker thread, overlapping the procfs reads below.
  const wantKpage = opts.kpage !== false;
  const kpageJob = wantKpage
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
  if (scan.unreadable > 0) coverage.push({ section: 'processes', status: 'partial', reason: `${scan.unreadable} process${scan.unreadable === 1 ? '' : 'es'} could not be read fully (permission denied)` });
  method.processes = 'procfs status+smaps_rollup+fd';

  // vmalloc by caller (root): the stacks part corrects double counting; the rest explains vmalloc.
  let vmalloc: VmallocCallerUsage[] | undefined;
  try {
    vmalloc = await readVmallocByCaller(host);
  } catch (err) {
    coverage.push({ section: 'unaccounted.vmalloc', status: 'unavailable', reason: (err as Error).message });
  }
  const vmallocStackBytes = vmalloc?.filter((v) => STACK_CALLERS.has(v.func)).reduce((s, v) => s + v.bytes, 0);

  const physical = await physicalRam(host, pageSize, coverage);
  const breakdown = computeBreakdown({ meminfo, ...(physical ? { physical } : {}), ...(vmallocStackBytes !== undefined ? { vmallocStackBytes } : {}) });
  method.breakdown = `meminfo${physical ? ` + ${physical.source}` : ''}${vmalloc ? ' + vmallocinfo' : ''}`;

  // Cgroups and zombies.
  let cgroups: CgroupRow[] = [];
  let memcg: MemcgSection = { total: 0, visible: 0, zombies: 0, zombieBytes: 0, byParent: [], hierarchy: 'none' };
  const hierarchy = await discoverMemoryHierarchy(host).catch(() => undefined);
  const cgroupPaths = new Set<string>(scan.processes.map((p) => p.memoryCgroup).filter((p): p is string => p !== undefined));
  let walk: Awaited<ReturnType<typeof walkMemoryCgroups>> | undefined;
  if (hierarchy) {
    progress('cgroups', 0, 1);
    walk = await walkMemoryCgroups(host, { hierarchy });
    for (const c of walk.cgroups) cgroupPaths.add(c.path);
    if (walk.errors.length > 0) coverage.push({ section: 'cgroups', status: 'partial', reason: `${walk.errors.length} cgroup directories could not be read` });
    const z = computeZombies(walk);
    memcg = {
      total: z.total ?? z.visible,
      visible: z.visible,
      zombies: z.zombies ?? 0,
      zombieBytes: z.zombieBytes,
      byParent: z.byParent.map((p) => ({ path: p.path, zombies: p.zombies ?? null, zombieBytes: p.zombieBytes ?? 0 })),
      hierarchy: hierarchy.version === 1 ? 'v1' : 'v2',
    };
    if (z.zombies === undefined) coverage.push({ section: 'memcg', status: 'partial', reason: 'the kernel does not export the dying cgroup count' });
    method.memcg = z.method;
  } else {
    coverage.push({ section: 'cgroups', status: 'unavailable', reason: 'no memory cgroup hierarchy is mounted' });
  }
  const containerOf = await containerLookup(host, cgroupPaths);
  if (walk) {
    cgroups = walk.cgroups
      .map((c) => {
        const row: CgroupRow = {
          path: c.path,
          usageBytes: c.memory.usageBytes,
          anonBytes: c.memory.anonBytes,
          fileBytes: c.memory.fileBytes,
          activeFileBytes: c.memory.activeFileBytes,
          shmemBytes: c.memory.shmemBytes,
          workingsetBytes: c.memory.workingsetBytes,
          limitBytes: c.memory.limitBytes,
          dirtyBytes: c.memory.dirtyBytes,
        };
        const ct = containerOf(c.path);
        if (ct) row.container = ct;
        return row;
      })
      .sort((a, b) => b.usageBytes - a.usageBytes);
  }
  const processes = processRows(scan, containerOf);

  progress('shmem', 0, 1);
  const shmem = await collectShmem(host, scan, meminfo.bytesOr0('Shmem'), coverage);
  const slab = await collectSlab(host, { reclaimable: meminfo.bytesOr0('SReclaimable'), unreclaimable: meminfo.bytesOr0('SUnreclaim') }, coverage);

  // Unaccounted: what can explain memory no counter shows.
  let socketBytes: number | null = null;
  try {
    socketBytes = (await readSocketBufferBytes(host)) ?? null;
  } catch {
    coverage.push({ section: 'unaccounted.sockets', status: 'unavailable', reason: '/proc/net/sockstat is not readable' });
  }
  let allocinfo: Allocinfo | undefined;
  if (await host.exists('/proc/allocinfo')) {
    allocinfo = await readAllocinfo(host).catch(() => undefined);
    method.allocinfo = allocinfo ? 'allocinfo' : 'allocinfo unreadable';
  }
  let kpage: KpageSummary | null = null;
  let kpageEstimateBytes: number | null = null;
  if (kpageJob) {
    try {
      const k = await kpageJob;
      kpage = { pfns: k.pfns, pageSize: k.pageSizeBytes, classes: { ...k.classes }, durationMs: Math.round(k.durationMs) };
      const r = reconcileFree(k, meminfo.bytesOr0('MemFree'));
      const stacksOutsideVmalloc = vmallocStackBytes !== undefined ? Math.max(0, meminfo.bytesOr0('KernelStack') - vmallocStackBytes) : 0;
      // Flagless pages that are not memory in use: PFN holes with a struct page (PFN span − present
      // pages − holes already seen as nopage) and boot-reserved pages that do not carry PG_reserved.
      if (physical) {
        const ps = k.pageSizeBytes;
        // Holes the scanner already classed as nopage (from iomem's System RAM ranges) are not in `other`.
        const holes = Math.max(0, k.pfns * ps - physical.bytes - k.classes.nopage * ps);
        const reservedUnflagged = Math.max(0, physical.bytes - memTotalBytes - k.classes.reserved * ps);
        kpageEstimateBytes = Math.max(
          0,
          r.otherAllocatedPages * ps - holes - reservedUnflagged - meminfo.bytesOr0('VmallocUsed') - meminfo.bytesOr0('Percpu') - stacksOutsideVmalloc,
        );
      } else {
        coverage.push({ section: 'kpage', status: 'partial', reason: 'without the physical RAM size, PFN holes cannot be told from unaccounted pages' });
      }
      method.kpage = k.method;
    } catch (err) {
      coverage.push({ section: 'kpage', status: 'unavailable', reason: (err as Error).message });
      method.kpage = 'unavailable';
    }
  } else method.kpage = 'skipped';

  const unaccounted: UnaccountedSection = {
    bytes: breakdown.unaccountedBytes,
    kpageEstimateBytes,
    vmallocTop: (vmalloc ?? []).slice(0, 15).map((v) => ({ caller: v.caller, bytes: v.bytes, count: v.areas })),
    vmallocBytes: vmalloc ? vmalloc.reduce((s, v) => s + v.bytes, 0) : null,
    bpf: await bpfUsage(host, scan),
    socketBytes,
    pageTableTop: processes
      .filter((p) => (p.pageTableBytes ?? 0) > 0)
      .sort((a, b) => (b.pageTableBytes ?? 0) - (a.pageTableBytes ?? 0))
      .slice(0, 10)
      .map((p) => ({ pid: p.pid, comm: p.comm, bytes: p.pageTableBytes ?? 0 })),
    kernelStackTop: kernelStackTop(scan, meminfo.bytesOr0('KernelStack')),
    allocinfoTop: allocinfo ? topAllocSites(allocinfo, 15).map((a) => ({ site: `${a.function} (${a.site})`, bytes: a.bytes, calls: a.calls })) : null,
  };

  const fileCache = await collectFileCache(host, opts, coverage, progress, walk, scan);
  if (fileCache) method.fileCache = fileCache.method;
  const findings = memFindings(
    { breakdown, availableBytes, processes, cgroups, shmem, slab, memcg, unaccounted, ...(fileCache ? { fileCacheFiles: fileCache.all } : {}) },
    opts.thresholds,
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
  return { analysis, meminfo, availableBytes };
}
