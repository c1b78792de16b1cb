/**
 * `oscope filecache`: which files hold the page cache, host-wide or for one container, pod or cgroup.
 *
 * Method 1 (root, BTF, bpf_loop, the built object): the BPF in-core inode walk lists every inode in
 * memory with page cache on every super block, named from the dentry cache (./inodes.ts maps them onto
 * mount points); processes' open and mapped files are still read for the holders and for reaching
 * unlinked files through /proc/PID/fd. Files that make the top N are measured again with cachestat
 * through their path (dirty, writeback; a file no path reaches keeps the walk's page count). No file
 * system walk is needed then (`walk: true` or `roots` still asks for one).
 *
 * Method 2 (no BPF): files open or mapped by any process, every tmpfs, and a walk of the local file
 * systems, each measured with cachestat (mincore before Linux 6.5); files are merged by device and inode
 * (the same file reached by a path, an fd and a mapping is one row). Then, for the files that can make
 * the top N, method 3: a sample of resident pages → PFNs → /proc/kpageflags (active or not) and
 * /proc/kpagecgroup (charged to which memory cgroup), scaled to the file's cached size. A scoped query
 * ranks files by the bytes charged to the scope, examining files by total cache until no later file can
 * enter the top N. Pages of a removed ("dying") cgroup show under its nearest live ancestor.
 *
 * Collect, then analyse: collectFileCache (here) does every kernel-facing read through the Host and
 * the PageCacheProbe (live only) and returns a plain capture (./capture.ts, `oscope.filecache-capture/v1`,
 * which `oscope capture` keeps in a bundle); analyzeFileCache (./analyze.ts, pure) ranks, scopes and
 * makes the findings. runFileCache is the two in a row (`oscope filecache`, `oscope mem`, the agent).
 */
import type { Host } from '../../host/host.js';
import { listContainerdTasks } from '../../containers/index.js';
import { type MemoryCgroupWalk, walkMemoryCgroups } from '../../kernel/cgroup/walk.js';
import { KPF } from '../../kernel/kpage/kpageflags.js';
import type { FileCacheRow } from '../../kernel/native.js';
import { type InodeWalkFile, type InodeWalkRun, type InodeWalker, userDevNumber } from '../../kernel/pagecache/inode-walk.js';
import type { PageCacheProbe, PagesSampled } from '../../kernel/pagecache/probe.js';
import { walkFiles } from '../../kernel/pagecache/walk.js';
import { containerLookup } from '../memory/containers.js';
import { devString } from '../memory/shmem.js';
import { type Thresholds, resolveThresholds } from '../thresholds.js';
import { type ScopeQuery, analysisContext, analyzeFileCache, buildFile, resolveScope, scopeBytesOf, scopeTarget } from './analyze.js';
import { type CapturedFile, FILECACHE_CAPTURE_SCHEMA, type FileCacheCapture, type PageSampleCounts } from './capture.js';
import { type MountIndex, mountIndex, placeWalkFile } from './inodes.js';
import { type Candidate, DEFAULT_EXCLUDES, type ScannedProcess, type Sources, collectSources } from './sources.js';
import type { Coverage, FileCacheAnalysis, FileHolder } from './types.js';

export { ScopeNotFoundError } from './analyze.js';
export { type FileCacheCapture, FileCacheCaptureSchema, FILECACHE_CAPTURE_SCHEMA } from './capture.js';

export interface FileCacheOptions {
  top?: number;
  /** A memory cgroup walk the caller already made (the panorama), so the tree is not walked twice. */
  cgroupWalk?: MemoryCgroupWalk;
  scope?: ScopeQuery;
  /** Host-wide: files measured, sampled and kept in the capture at least (default `top`); more let a capture be analysed for a scope later. */
  keep?: number;
  /** For the analysis runFileCache does after collecting (default: the built-in thresholds). */
  thresholds?: Thresholds;
  /**
   * How files are found: 'auto' (default: the BPF in-core inode walk where it can run, else processes'
   * files, tmpfs and the file system walk), 'bpf-inode-walk' (fail when it cannot run), 'procfs'.
   */
  discovery?: 'auto' | 'bpf-inode-walk' | 'procfs';
  /** The in-core inode walker (default: the live one; tests may pass their own). */
  inodeWalker?: InodeWalker;
  /** Processes the caller already scanned (the panorama): /proc/PID/{fd,maps} are not read again. */
  processes?: readonly ScannedProcess[];
  /**
   * Walk local file systems. Default: only when the BPF inode walk did not run, or `roots` are given
   * (with the inode walk, files nobody holds are found without reading a directory).
   */
  walk?: boolean;
  /** Roots of the walk (default: every local disk file system's mount point). */
  roots?: readonly string[];
  /** Path prefixes never walked (default /proc /sys /dev /run). */
  exclude?: readonly string[];
  /** Stop the walk after this many files (default 2,000,000). */
  maxWalkFiles?: number;
  /** Resident pages sampled per file for active/inactive and cgroups (default 256; 0 = no sampling). */
  samplePages?: number;
  /** Scoped queries: files examined at most (default 5000). */
  maxExamined?: number;
  /** Read /proc/PID/maps (default true). */
  maps?: boolean;
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface Acc {
  row: FileCacheRow;
  /** The row is cachestat's (or mincore's); false: the inode walk's page count, not measured yet. */
  measured: boolean;
  path: string;
  /** What to open to measure or sample it; '' when no path reaches it. */
  access: string;
  /** A block device's own cache (from the inode walk): not measurable by cachestat, listed with the walk's count. */
  deviceNode?: boolean;
  /** Found by the inode walk and not placed on a mount yet (path, access and container path are ''/unset). */
  unplaced?: InodeWalkFile;
  /** Where to place it (shared by all the walk's files). */
  placeIn?: { index: MountIndex; blockDevices?: ReadonlyMap<string, string> };
  containerPath?: string;
  deleted: boolean;
  shmem: boolean;
  holders: Map<number, FileHolder>;
  viaPid?: number;
}

const isProcPath = (p: string): boolean => p.startsWith('/proc/');

/** The holders of the many files only the inode walk found: one shared empty map, replaced on the first holder. */
const NO_HOLDERS: Map<number, FileHolder> = new Map();

const asCands = (paths: string[], shmem: boolean): Candidate[] => paths.map((p) => ({ access: p, path: p, deleted: false, shmem, holders: [] }));

/**
 * The inode walk's files, merged by device and inode with what processes' files already measured.
 * Files are placed on mount points (placeAcc) only when they are looked at: most never are.
 */
export function addWalkFiles(
  files: Map<string, Acc>,
  walk: Pick<InodeWalkRun, 'files'>,
  index: MountIndex,
  blockDevices?: ReadonlyMap<string, string>,
  /** Collect the files no process holds here instead of making rows of them all (made by walkAcc when needed). */
  deferred?: InodeWalkFile[],
): void {
  const devs = new Map<string, number>();
  const placeIn = { index, ...(blockDevices ? { blockDevices } : {}) };
  // The rows already there by device, then inode (no key string per walked file).
  const byDev = new Map<number, Map<number, Acc>>();
  for (const a of files.values()) {
    let m = byDev.get(a.row.dev);
    if (!m) byDev.set(a.row.dev, (m = new Map()));
    m.set(a.row.ino, a);
  }
  for (const f of walk.files) {
    if (f.cachedPages <= 0) continue;
    let dev = devs.get(f.device);
    if (dev === undefined) {
      const [major, minor] = f.device.split(':').map(Number) as [number, number];
      devs.set(f.device, (dev = userDevNumber(major, minor)));
    }
    const a = byDev.get(dev)?.get(f.inode);
    if (a) {
      // Held by a process (and measured through it): the walk may know a better name.
      if (isProcPath(a.path) || a.containerPath === undefined) {
        const place = placeWalkFile(f, index, blockDevices);
        if (isProcPath(a.path) && place.access !== undefined) a.path = place.path;
        if (a.containerPath === undefined && place.containerPath !== undefined) a.containerPath = place.containerPath;
      }
      a.shmem ||= f.shmem;
      continue;
    }
    if (deferred) deferred.push(f);
    else files.set(`${dev}:${f.inode}`, walkAcc(f, dev, placeIn));
  }
}

/** The row of a file only the inode walk found (placed on a mount when looked at: placeAcc). */
export function walkAcc(f: InodeWalkFile, dev: number, placeIn: NonNullable<Acc['placeIn']>): Acc {
  return {
    row: {
      path: '',
      errno: 0,
      sizeBytes: Math.max(0, f.sizeBytes),
      dev,
      ino: f.inode,
      cachePages: f.cachedPages,
      dirtyPages: Number.NaN,
      writebackPages: Number.NaN,
      evictedPages: Number.NaN,
      recentlyEvictedPages: Number.NaN,
    },
    measured: false,
    path: '',
    access: '',
    deleted: f.nlink === 0 && !f.blockDevice,
    shmem: f.shmem,
    holders: NO_HOLDERS,
    unplaced: f,
    placeIn,
  };
}

/** Gives a file found by the inode walk its path, access path and container path. */
export function placeAcc(a: Acc): Acc {
  const f = a.unplaced;
  if (!f || !a.placeIn) return a;
  delete a.unplaced;
  const place = placeWalkFile(f, a.placeIn.index, a.placeIn.blockDevices);
  a.path = place.path;
  a.row.path = place.path;
  // cachestat and mincore measure regular files only: a block device keeps the walk's count.
  a.access = place.deviceNode ? '' : (place.access ?? '');
  if (place.containerPath !== undefined) a.containerPath = place.containerPath;
  if (place.viaPid !== undefined) a.viaPid = place.viaPid;
  if (place.deviceNode) a.deviceNode = true;
  return a;
}

/** "MAJ:MIN" → /dev/NAME of the block devices whose own cache the walk found (DEVNAME in sysfs). */
async function blockDeviceNodes(host: Host, w: Pick<InodeWalkRun, 'files'>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of w.files) {
    if (!f.blockDevice || f.rdev === null || out.has(f.rdev)) continue;
    const uevent = await host.tryReadText(`/sys/dev/block/${f.rdev}/uevent`);
    const name = uevent ? /^DEVNAME=(.+)$/m.exec(uevent)?.[1] : undefined;
    if (name && (await host.exists(`/dev/${name}`))) out.set(f.rdev, `/dev/${name}`);
  }
  return out;
}

function walkCoverage(w: InodeWalkRun, pageSize: number): Coverage[] {
  const out: Coverage[] = [];
  const skipped = [...new Set(w.superBlocks.filter((b) => b.status === 'skipped').map((b) => b.fsType))].sort();
  const troubled = w.superBlocks.filter((b) => b.status === 'race' || b.status === 'limit' || b.status === 'vanished');
  const partial = !w.complete || troubled.length > 0 || w.superBlockLimit;
  const parts = [
    `BPF in-core inode walk: ${w.totals.superBlocks} super blocks, ${w.totals.inodes} inodes in memory, ${w.totals.files} with page cache (${w.passes} iterator pass${w.passes === 1 ? '' : 'es'}, ${Math.round(w.durationMs)} ms)`,
  ];
  if (skipped.length > 0) parts.push(`file systems without page cache not walked: ${skipped.join(' ')}`);
  if (!w.complete) parts.push('the walk did not finish (the iterator stopped giving output): super blocks after the last one listed were not seen');
  if (troubled.length > 0) parts.push(`${troubled.length} super block${troubled.length === 1 ? '' : 's'} changed under the walk (${troubled.map((b) => `${b.fsType} ${b.device}: ${b.status}`).join(', ')}): some of their inodes may be missing`);
  if (w.superBlockLimit) parts.push('the super block list was longer than the walk follows');
  out.push({ section: 'discovery', status: partial ? 'partial' : 'complete', reason: parts.join('; ') });
  const nameless = w.files.filter((f) => !f.named && !f.blockDevice);
  if (nameless.length > 0) {
    const bytes = nameless.reduce((s, f) => s + f.cachedPages * pageSize, 0);
    out.push({
      section: 'names',
      status: 'partial',
      reason: `${nameless.length} cached inodes (${bytes} bytes) have no name left in the dentry cache: they are listed as "(fs device) inode N" unless a process holds them`,
    });
  }
  return out;
}

/** Merges measured rows into the per-inode table: only files with cached pages are kept. */
export function mergeMeasured(files: Map<string, Acc>, cands: readonly Pick<Candidate, 'access' | 'path' | 'containerPath' | 'deleted' | 'shmem' | 'holders' | 'viaPid'>[], rows: readonly FileCacheRow[]): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const c = cands[i]!;
    if (r.errno !== 0 || !(r.cachePages > 0)) continue;
    const key = `${r.dev}:${r.ino}`;
    let a = files.get(key);
    if (!a) {
      a = { row: r, measured: true, path: c.path, access: c.access, deleted: c.deleted, shmem: c.shmem, holders: new Map() };
      files.set(key, a);
    } else {
      if (a.unplaced) {
        // Found by the inode walk first: this path reaches it, so it is its place.
        delete a.unplaced;
        a.path = c.path;
      }
      if (!a.measured) {
        a.row = r;
        a.measured = true;
        a.access = c.access;
      }
      // Prefer a real path over a /proc magic link, and a live name over a deleted one.
      if ((isProcPath(a.path) && !isProcPath(c.path)) || (a.deleted && !c.deleted)) a.path = c.path;
      if (a.access === '' || (isProcPath(a.access) && !isProcPath(c.access))) a.access = c.access;
      a.deleted &&= c.deleted;
      a.shmem ||= c.shmem;
    }
    if (c.containerPath !== undefined && a.containerPath === undefined) a.containerPath = c.containerPath;
    if (c.viaPid !== undefined) a.viaPid ??= c.viaPid;
    if (a.holders === NO_HOLDERS && c.holders.length > 0) a.holders = new Map();
    for (const h of c.holders) a.holders.set(h.pid, h);
  }
}

/**
 * Everything `oscope filecache` reads from the kernel, as a plain capture (./capture.ts): processes'
 * files and maps, tmpfs, the file system walk or the BPF inode walk, the probe's rows, page samples of
 * the files that can make the list, the memory cgroups and what identifies containers. A scoped run
 * examines files (measuring and sampling them) until no file left can enter the scope's top N.
 * Throws ScopeNotFoundError when the scope matches nothing.
 */
export async function collectFileCache(host: Host, probe: PageCacheProbe, opts: FileCacheOptions = {}): Promise<FileCacheCapture> {
  const t0 = performance.now();
  const top = opts.top ?? 30;
  const keep = Math.max(top, opts.keep ?? top);
  const samplePages = opts.samplePages ?? 256;
  const progress = opts.onProgress ?? (() => {});
  const coverage: Coverage[] = [];
  const ps = probe.pageSize;

  // The processes are read on the thread pool while method 1 loads (the verifier runs on this thread)
  // and walks (its iterator is read on the thread pool too).
  progress('processes', 0, 1);
  const srcJob = collectSources(host, { maps: opts.maps, ...(opts.processes ? { processes: opts.processes } : {}) });
  srcJob.catch(() => {}); // awaited below
  const cgroupJob = opts.cgroupWalk ? Promise.resolve(opts.cgroupWalk) : walkMemoryCgroups(host);
  cgroupJob.catch(() => {}); // awaited below
  const discoveryWanted = opts.discovery ?? 'auto';
  let walkJob: Promise<InodeWalkRun> | undefined;
  let walkUnavailable: string | undefined;
  if (discoveryWanted !== 'procfs') {
    const walker = opts.inodeWalker ?? (host.live ? host.live.inodeWalker() : { available: false as const, reason: 'the host is a captured bundle' });
    if ('walk' in walker) walkJob = walker.walk();
    else if (walker.available) walkJob = walker.walker.walk();
    else walkUnavailable = walker.reason;
    walkJob?.catch(() => {}); // awaited below
  }

  const src: Sources = await srcJob;
  if (src.unreadable > 0) coverage.push({ section: 'processes', status: 'partial', reason: `the open files of ${src.unreadable} processes could not be read (permission or gone)` });

  const files = new Map<string, Acc>();
  let measured = 0;
  const measure = async (cands: Candidate[]): Promise<void> => {
    if (cands.length === 0) return;
    const rows = await probe.measure(cands.map((c) => c.access));
    measured += rows.length;
    mergeMeasured(files, cands, rows);
  };
  progress('open files', 0, src.candidates.length);
  await measure(src.candidates);

  let inodeWalk: InodeWalkRun | undefined;
  const deferred: InodeWalkFile[] = [];
  let walkPlace: NonNullable<Acc['placeIn']> | undefined;
  if (walkJob) {
    progress('inode walk', 0, 1);
    try {
      inodeWalk = await walkJob;
    } catch (err) {
      walkUnavailable = (err as Error).message;
    }
  }
  if (!inodeWalk && discoveryWanted === 'bpf-inode-walk') throw new Error(`the BPF in-core inode walk cannot run: ${walkUnavailable ?? 'unknown reason'}`);

  let discovery: FileCacheCapture['method']['discovery'] = 'procfs+tmpfs';
  if (inodeWalk) {
    discovery = 'bpf-inode-walk';
    const index = mountIndex({ host: src.hostMounts, namespaces: src.namespaces });
    const blockDevices = await blockDeviceNodes(host, inodeWalk);
    walkPlace = { index, blockDevices };
    // Rows are made only for the files that can make the list (a file system walk, when one runs too,
    // merges by inode, so then every file gets its row).
    const fsWalkToo = opts.walk ?? opts.roots !== undefined;
    addWalkFiles(files, inodeWalk, index, blockDevices, fsWalkToo ? undefined : deferred);
    coverage.push(...walkCoverage(inodeWalk, ps));
  } else {
    // Every tmpfs.
    progress('tmpfs', 0, 1);
    const tmpfsWalk = await walkFiles(src.tmpfsRoots, (b) => measure(asCands(b, true)), { skipMounts: src.mountPoints, maxFiles: 1_000_000 });
    if (tmpfsWalk.truncated) coverage.push({ section: 'tmpfs', status: 'partial', reason: 'tmpfs holds more than 1,000,000 files; the rest were not measured' });
  }

  // Local file systems.
  const fsWalk = opts.walk ?? (opts.roots !== undefined || !inodeWalk);
  if (fsWalk) {
    if (!inodeWalk) discovery = 'procfs+tmpfs+walk';
    const roots = opts.roots ?? src.localRoots;
    const exclude = opts.exclude ?? DEFAULT_EXCLUDES;
    const w = await walkFiles(roots, (b) => measure(asCands(b, false)), {
      exclude,
      skipMounts: src.mountPoints,
      maxFiles: opts.maxWalkFiles ?? 2_000_000,
      onProgress: (f) => progress('walk', f, Math.max(f, 1)),
    });
    if (w.truncated) coverage.push({ section: 'walk', status: 'partial', reason: `the walk stopped after ${w.files} files; files further down were not measured` });
    if (w.errors > 0) coverage.push({ section: 'walk', status: 'partial', reason: `${w.errors} directories could not be read` });
    coverage.push({ section: 'walk', status: 'complete', reason: `walked ${roots.join(' ')} (excluding ${exclude.join(' ')}): ${w.files} files in ${w.dirs} directories` });
  } else if (!inodeWalk) {
    coverage.push({ section: 'walk', status: 'partial', reason: 'no file system walk: files that no process holds are found on tmpfs only' });
  }
  if (!inodeWalk) {
    const why = walkUnavailable ?? 'not asked for (--discovery procfs)';
    coverage.push({
      section: 'discovery',
      status: 'partial',
      reason: `the BPF in-core inode walk did not run (${why}): cached files outside the walked trees that no process holds (other mount namespaces' disks, unlinked and closed files) are not seen`,
    });
  }

  // Files the walk found that no path measured yet: measure through their path, keep the walk's count
  // where no path reaches them (or the path now names another inode).
  const refresh = async (accs: readonly Acc[]): Promise<void> => {
    const todo = accs.map(placeAcc).filter((a) => !a.measured && a.access !== '');
    if (todo.length === 0) return;
    const rows = await probe.measure(todo.map((a) => a.access));
    measured += rows.length;
    rows.forEach((r, i) => {
      const a = todo[i]!;
      if (r.errno === 0 && r.dev === a.row.dev && r.ino === a.row.ino) {
        a.row = r;
        a.measured = true;
      } else {
        a.access = ''; // gone, or another file has that name now: do not sample it either
      }
    });
  };

  // Cgroups: inode → path for kpagecgroup, and containers.
  let cgroups: FileCacheCapture['cgroups'] = null;
  try {
    const walk = await cgroupJob;
    cgroups = { mountPoint: walk.hierarchy.mountPoint ?? null, list: walk.cgroups.map((c) => ({ path: c.path, ino: c.ino, fileBytes: c.memory.fileBytes })) };
  } catch {
    coverage.push({ section: 'cgroups', status: 'unavailable', reason: 'no memory cgroup hierarchy: pages cannot be attributed to cgroups' });
  }
  const cgroupPaths = new Set<string>(cgroups?.list.map((c) => c.path) ?? []);
  for (const p of src.processes.values()) if (p.memoryCgroup !== undefined) cgroupPaths.add(p.memoryCgroup);
  const lookup = await containerLookup(host, cgroupPaths);
  const tasks = await listContainerdTasks(host).catch(() => new Map<string, string>());
  const containers: FileCacheCapture['containers'] = [];
  for (const p of [...cgroupPaths, '/']) {
    const ref = lookup(p);
    if (ref && !containers.some((c) => c.cgroup === p)) containers.push({ cgroup: p, container: ref });
  }

  const attribute = probe.canSample && samplePages > 0;
  const withCgroups = attribute && probe.canAttribute && (cgroups?.list.length ?? 0) > 0;
  if (!attribute) coverage.push({ section: 'attribution', status: 'unavailable', reason: probe.sampleUnavailable ?? 'page sampling is off' });
  else if (!withCgroups) coverage.push({ section: 'attribution', status: 'partial', reason: '/proc/kpagecgroup or the memory cgroup hierarchy is missing: active/inactive only, no cgroups' });
  else coverage.push({ section: 'attribution', status: 'complete', reason: `cgroups and active pages from up to ${samplePages} sampled resident pages per file, scaled to its cache; pages of removed (dying) cgroups show under their nearest live parent` });

  const base = {
    pageSize: ps,
    method: {
      discovery,
      measure: probe.method,
      attribution: withCgroups ? 'pagemap+kpageflags+kpagecgroup' : attribute ? 'pagemap+kpageflags' : 'none',
      samplePages: attribute ? samplePages : 0,
    } as const,
    cgroups,
    processes: [...src.processes.values()].map((p) => ({ pid: p.pid, ...(p.memoryCgroup !== undefined ? { memoryCgroup: p.memoryCgroup } : {}) })),
    containers,
    tasks: Object.fromEntries(tasks),
    overlays: src.overlays,
  };
  const ctx = analysisContext({ ...base, method: { ...base.method, filesMeasured: 0, durationMs: 0 } });
  const res = resolveScope(opts.scope, ctx);

  /** The capture's row of a file: placed, and its pages sampled (raw counts). */
  const record = (a: Acc): CapturedFile => {
    placeAcc(a);
    const r = a.row;
    const out: CapturedFile = {
      path: a.path,
      ...(a.containerPath !== undefined ? { knownContainerPath: a.containerPath } : {}),
      ...(a.viaPid !== undefined ? { viaPid: a.viaPid } : {}),
      device: devString(r.dev),
      inode: r.ino,
      cachedBytes: r.cachePages * ps,
      dirtyBytes: Number.isNaN(r.dirtyPages) ? null : r.dirtyPages * ps,
      writebackBytes: Number.isNaN(r.writebackPages) ? null : r.writebackPages * ps,
      sizeBytes: r.sizeBytes,
      deleted: a.deleted,
      shmem: a.shmem || src.tmpfsDevs.has(devString(r.dev)),
      holders: [...a.holders.values()].sort((x, y) => x.pid - y.pid),
      measured: a.measured,
      deviceNode: a.deviceNode === true,
      sample: null,
    };
    if (attribute && a.access !== '') {
      const s = probe.samplePages(a.access, samplePages, r.cachePages);
      if (s && s.flags.length > 0) out.sample = sampleCounts(s, withCgroups);
    }
    return out;
  };

  const byCache = (x: Acc, y: Acc): number => y.row.cachePages - x.row.cachePages;
  // Rows by cache, largest first: the measured rows and the inode walk's deferred files merged, the
  // latter made into rows only as far as they are looked at.
  const held = [...files.values()].sort(byCache);
  deferred.sort((x, y) => y.cachedPages - x.cachedPages);
  const devNumber = new Map<string, number>();
  const rowOf = (f: InodeWalkFile): Acc => {
    let dev = devNumber.get(f.device);
    if (dev === undefined) {
      const [major, minor] = f.device.split(':').map(Number) as [number, number];
      devNumber.set(f.device, (dev = userDevNumber(major, minor)));
    }
    return walkAcc(f, dev, walkPlace!);
  };
  const firstRows = (n: number): Acc[] => {
    const out: Acc[] = [];
    let i = 0;
    let j = 0;
    while (out.length < n && (i < held.length || j < deferred.length)) {
      if (j >= deferred.length || (i < held.length && held[i]!.row.cachePages >= deferred[j]!.cachedPages)) out.push(held[i++]!);
      else out.push(rowOf(deferred[j++]!));
    }
    return out;
  };
  const totalRows = held.length + deferred.length;
  const totalBytes = held.reduce((s, a) => s + a.row.cachePages * ps, 0) + deferred.reduce((s, f) => s + f.cachedPages * ps, 0);
  const examined: CapturedFile[] = [];
  const scopeCoverage: Coverage[] = [];
  progress('attribution', 0, Math.min(totalRows, keep));
  if (res.scope.kind === 'host') {
    // Measure the walk's candidates for the top again (a few more: their counts may have moved).
    const head = firstRows(keep + 32);
    await refresh(head);
    const chosen = head.sort(byCache).slice(0, keep);
    chosen.forEach((a, i) => {
      progress('attribution', i + 1, chosen.length);
      examined.push(record(a));
    });
  } else {
    // Files by total cache until no file left can enter the scope's top N.
    const scopedBytes: number[] = [];
    const maxExamined = opts.maxExamined ?? 5000;
    const ordered = firstRows(maxExamined + top + 64);
    // The scope's page cache from memory.stat: once the files found explain it, no file left can add
    // more than what is still unexplained, so the search can stop early.
    const target = scopeTarget(res, ctx);
    let explained = 0;
    for (const [i, a] of ordered.entries()) {
      const kth = scopedBytes.length >= top ? scopedBytes[top - 1]! : 0;
      if (scopedBytes.length >= top && a.row.cachePages * ps <= kth) break;
      if (target > 0 && scopedBytes.length > 0) {
        const unexplained = target - explained;
        if (scopedBytes.length >= top && unexplained <= kth) break;
        if (unexplained <= target / 100) {
          scopeCoverage.push({ section: 'scope', status: 'complete', reason: `stopped after ${examined.length} files: they explain ${Math.min(100, Math.round((100 * explained) / target))}% of the scope's page cache (memory.stat)` });
          break;
        }
      }
      if (examined.length >= maxExamined) {
        scopeCoverage.push({ section: 'scope', status: 'partial', reason: `stopped after examining the ${maxExamined} files with the most cache` });
        break;
      }
      progress('attribution', examined.length + 1, Math.min(totalRows, maxExamined));
      if (!a.measured && (a.unplaced || a.access !== '')) await refresh(ordered.slice(i, i + 64));
      const rec = record(a);
      examined.push(rec);
      const bytes = scopeBytesOf(buildFile(rec, ctx).file, res, ctx);
      if (bytes <= 0) continue;
      explained += bytes;
      scopedBytes.push(bytes);
      scopedBytes.sort((x, y) => y - x);
    }
  }

  return {
    schema: FILECACHE_CAPTURE_SCHEMA,
    ...base,
    method: { ...base.method, filesMeasured: measured, durationMs: Math.round(performance.now() - t0) },
    coverage,
    totals: { files: totalRows, cachedBytes: totalBytes },
    files: examined,
    examined: { scope: opts.scope ?? null, coverage: scopeCoverage },
  };
}

/** A probe's page sample as counts: pages, active pages, pages per kpagecgroup inode. */
function sampleCounts(s: PagesSampled, withCgroups: boolean): PageSampleCounts {
  const active = 1n << BigInt(KPF.ACTIVE);
  let activePages = 0;
  for (const w of s.flags) if ((w & active) !== 0n) activePages++;
  const out: PageSampleCounts = { pages: s.flags.length, activePages };
  if (withCgroups && s.cgroupInos) {
    const by = new Map<number, number>();
    for (const ino of s.cgroupInos) by.set(ino, (by.get(ino) ?? 0) + 1);
    out.cgroupPages = [...by].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([ino, pages]) => ({ ino, pages }));
  }
  return out;
}

/**
 * `oscope filecache`: collect on the live host, then analyse (the same as analysing the capture later).
 * Thresholds default to the built-in ones.
 */
export async function runFileCache(host: Host, probe: PageCacheProbe, opts: FileCacheOptions = {}): Promise<FileCacheAnalysis> {
  const capture = await collectFileCache(host, probe, opts);
  return analyzeFileCache(capture, { ...(opts.top !== undefined ? { top: opts.top } : {}), ...(opts.scope ? { scope: opts.scope } : {}) }, opts.thresholds ?? resolveThresholds());
}
