/**
 * `oscope filecache`: which files hold the page cache, host-wide or for one container, pod or cgroup.
 *
 * Method 2 (no BPF): files open or mapped by any process, every tmpfs, and a walk of the local file
 * systems, each measured with cachestat (mincore before Linux 6.5); files are merged by device and inode
 * (the same file reached by a path, an fd and a mapping is one row). Then, for the files that can make
 * the top N, method 3: a sample of resident pages → PFNs → /proc/kpageflags (active or not) and
 * /proc/kpagecgroup (charged to which memory cgroup), scaled to the file's cached size. A scoped query
 * ranks files by the bytes charged to the scope, examining files by total cache until no later file can
 * enter the top N. Pages of a removed ("dying") cgroup show under its nearest live ancestor.
 *
 * Reads kernel files through the Host and file cache state through a PageCacheProbe (live only).
 */
import type { Host } from '../../host/host.js';
import { type ContainerIdentity, identifyContainerWithTasks, identifyPod, listContainerdTasks } from '../../containers/index.js';
import { type MemoryCgroupWalk, walkMemoryCgroups } from '../../kernel/cgroup/walk.js';
import type { FileCacheRow } from '../../kernel/native.js';
import { attributeSample, cgroupWithin } from '../../kernel/pagecache/attribution.js';
import type { PageCacheProbe } from '../../kernel/pagecache/probe.js';
import { walkFiles } from '../../kernel/pagecache/walk.js';
import { containerLookup } from '../memory/containers.js';
import { devString } from '../memory/shmem.js';
import { type Candidate, DEFAULT_EXCLUDES, type OverlayMount, type Sources, collectSources, containerPathOf } from './sources.js';
import type { ContainerRef, Coverage, FileCacheAnalysis, FileCacheFile, FileCacheScope, FileHolder, ScopeKind } from './types.js';

export interface FileCacheOptions {
  top?: number;
  /** A memory cgroup walk the caller already made (the panorama), so the tree is not walked twice. */
  cgroupWalk?: MemoryCgroupWalk;
  scope?: { kind: Exclude<ScopeKind, 'host'>; query: string };
  /** Walk local file systems (default true). */
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

export class ScopeNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeNotFoundError';
  }
}

interface Acc {
  row: FileCacheRow;
  path: string;
  access: string;
  containerPath?: string;
  deleted: boolean;
  shmem: boolean;
  holders: Map<number, FileHolder>;
  viaPid?: number;
}

const isProcPath = (p: string): boolean => p.startsWith('/proc/');

/** Merges measured rows into the per-inode table: only files with cached pages are kept. */
export function mergeMeasured(files: Map<string, Acc>, cands: readonly Pick<Candidate, 'access' | 'path' | 'containerPath' | 'deleted' | 'shmem' | 'holders' | 'viaPid'>[], rows: readonly FileCacheRow[]): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const c = cands[i]!;
    if (r.errno !== 0 || !(r.cachePages > 0)) continue;
    const key = `${r.dev}:${r.ino}`;
    let a = files.get(key);
    if (!a) {
      a = { row: r, path: c.path, access: c.access, deleted: c.deleted, shmem: c.shmem, holders: new Map() };
      files.set(key, a);
    } else {
      // Prefer a real path over a /proc magic link, and a live name over a deleted one.
      if ((isProcPath(a.path) && !isProcPath(c.path)) || (a.deleted && !c.deleted)) a.path = c.path;
      if (isProcPath(a.access) && !isProcPath(c.access)) a.access = c.access;
      a.deleted &&= c.deleted;
      a.shmem ||= c.shmem;
    }
    if (c.containerPath !== undefined && a.containerPath === undefined) a.containerPath = c.containerPath;
    if (c.viaPid !== undefined) a.viaPid ??= c.viaPid;
    for (const h of c.holders) a.holders.set(h.pid, h);
  }
}

function normalizeCgroupQuery(q: string, mountPoint: string | undefined): string {
  let p = q.trim();
  const mp = mountPoint?.replace(/\/+$/, '');
  if (mp && (p === mp || p.startsWith(`${mp}/`))) p = p.slice(mp.length) || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

interface ScopeResolution {
  scope: FileCacheScope;
  /** When attribution is missing: whether a file is in the scope by its container or holders. */
  containerIds: Set<string>;
}

async function resolveScope(
  opts: FileCacheOptions,
  cgroupPaths: readonly string[],
  lookup: (p: string) => ContainerRef | undefined,
  tasks: ReadonlyMap<string, string>,
  mountPoint: string | undefined,
): Promise<ScopeResolution> {
  if (!opts.scope) return { scope: { kind: 'host', query: null, cgroups: ['/'], cachedBytes: 0 }, containerIds: new Set() };
  const { kind, query } = opts.scope;
  const cgroups = new Set<string>();
  const ids = new Set<string>();
  if (kind === 'cgroup') {
    const p = normalizeCgroupQuery(query, mountPoint);
    if (!cgroupPaths.some((c) => cgroupWithin(c, p))) throw new ScopeNotFoundError(`no memory cgroup ${p} on this host`);
    cgroups.add(p);
    for (const c of cgroupPaths) if (cgroupWithin(c, p)) {
      const ref = lookup(c);
      if (ref) ids.add(ref.id);
    }
  } else {
    const [name, ns] = kind === 'pod' ? query.split('/', 2) : [query, undefined];
    for (const c of cgroupPaths) {
      const ref = lookup(c);
      if (!ref || ref.runtime === 'systemd-service') continue;
      const ident: ContainerIdentity | undefined = identifyContainerWithTasks(c, tasks);
      if (!ident) continue;
      if (kind === 'container') {
        if (ref.id.startsWith(query) || ref.name === query) {
          cgroups.add(ident.cgroupPath);
          ids.add(ref.id);
        }
      } else if ((ref.podName === name && (ns === undefined || ref.podNamespace === ns)) || ref.podUid === name) {
        cgroups.add(identifyPod(c)?.cgroupPath ?? ident.cgroupPath);
        ids.add(ref.id);
      }
    }
    if (cgroups.size === 0) throw new ScopeNotFoundError(kind === 'container' ? `no running container matches "${query}"` : `no pod named "${query}" has a running container here`);
  }
  // Keep the outermost paths only.
  const list = [...cgroups].filter((c) => ![...cgroups].some((o) => o !== c && cgroupWithin(c, o))).sort();
  return { scope: { kind, query, cgroups: list, cachedBytes: 0 }, containerIds: ids };
}

export async function runFileCache(host: Host, probe: PageCacheProbe, opts: FileCacheOptions = {}): Promise<FileCacheAnalysis> {
  const t0 = performance.now();
  const top = opts.top ?? 30;
  const samplePages = opts.samplePages ?? 256;
  const progress = opts.onProgress ?? (() => {});
  const coverage: Coverage[] = [];
  const ps = probe.pageSize;

  progress('processes', 0, 1);
  const src: Sources = await collectSources(host, { maps: opts.maps });
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

  // Every tmpfs.
  progress('tmpfs', 0, 1);
  const asCands = (paths: string[], shmem: boolean): Candidate[] => paths.map((p) => ({ access: p, path: p, deleted: false, shmem, holders: [] }));
  const tmpfsWalk = await walkFiles(src.tmpfsRoots, (b) => measure(asCands(b, true)), { skipMounts: src.mountPoints, maxFiles: 1_000_000 });
  if (tmpfsWalk.truncated) coverage.push({ section: 'tmpfs', status: 'partial', reason: 'tmpfs holds more than 1,000,000 files; the rest were not measured' });

  // Local file systems.
  let discovery: FileCacheAnalysis['method']['discovery'] = 'procfs+tmpfs';
  if (opts.walk !== false) {
    discovery = 'procfs+tmpfs+walk';
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
  } else {
    coverage.push({ section: 'walk', status: 'partial', reason: 'no file system walk: files that no process holds are found on tmpfs only' });
  }
  coverage.push({ section: 'discovery', status: 'partial', reason: 'without the BPF in-core inode walk, cached files outside the walked trees that no process holds (other mount namespaces\' disks, unlinked and closed files) are not seen' });

  // Cgroups: inode → path for kpagecgroup, and containers.
  const pathOfIno = new Map<number, string>();
  const cgroupPaths = new Set<string>();
  let mountPoint: string | undefined;
  try {
    const walk = opts.cgroupWalk ?? (await walkMemoryCgroups(host));
    mountPoint = walk.hierarchy.mountPoint;
    for (const c of walk.cgroups) {
      pathOfIno.set(c.ino, c.path);
      cgroupPaths.add(c.path);
    }
  } catch {
    coverage.push({ section: 'cgroups', status: 'unavailable', reason: 'no memory cgroup hierarchy: pages cannot be attributed to cgroups' });
  }
  for (const p of src.processes.values()) if (p.memoryCgroup !== undefined) cgroupPaths.add(p.memoryCgroup);
  const lookup = await containerLookup(host, cgroupPaths);
  const tasks = await listContainerdTasks(host).catch(() => new Map<string, string>());
  const { scope, containerIds } = await resolveScope(opts, [...cgroupPaths], lookup, tasks, mountPoint);

  const attribute = probe.canSample && samplePages > 0;
  const withCgroups = attribute && probe.canAttribute && pathOfIno.size > 0;
  if (!attribute) coverage.push({ section: 'attribution', status: 'unavailable', reason: probe.sampleUnavailable ?? 'page sampling is off' });
  else if (!withCgroups) coverage.push({ section: 'attribution', status: 'partial', reason: '/proc/kpagecgroup or the memory cgroup hierarchy is missing: active/inactive only, no cgroups' });
  else coverage.push({ section: 'attribution', status: 'complete', reason: `cgroups and active pages from up to ${samplePages} sampled resident pages per file, scaled to its cache; pages of removed (dying) cgroups show under their nearest live parent` });

  const containerOfPid = (pid: number | undefined): ContainerRef | undefined => {
    const cg = pid === undefined ? undefined : src.processes.get(pid)?.memoryCgroup;
    return cg === undefined ? undefined : lookup(cg);
  };
  const containerOfOverlay = (o: OverlayMount): ContainerRef | undefined => {
    const viaPid = containerOfPid(o.pid);
    if (viaPid) return viaPid;
    if (o.taskId) {
      for (const p of cgroupPaths) {
        const ref = lookup(p);
        if (ref?.id === o.taskId) return ref;
      }
      return { runtime: 'containerd', id: o.taskId };
    }
    return undefined;
  };

  const build = (a: Acc): FileCacheFile => {
    const r = a.row;
    const cachedBytes = r.cachePages * ps;
    const f: FileCacheFile = {
      path: a.path,
      containerPath: null,
      device: devString(r.dev),
      inode: r.ino,
      cachedBytes,
      dirtyBytes: Number.isNaN(r.dirtyPages) ? null : r.dirtyPages * ps,
      writebackBytes: Number.isNaN(r.writebackPages) ? null : r.writebackPages * ps,
      activeBytes: null,
      sizeBytes: r.sizeBytes,
      deleted: a.deleted,
      shmem: a.shmem || src.tmpfsDevs.has(devString(r.dev)),
      holders: [...a.holders.values()].sort((x, y) => x.pid - y.pid),
      cgroups: [],
      container: null,
    };
    const inOverlay = containerPathOf(src.overlays, a.path);
    f.containerPath = a.containerPath ?? inOverlay?.path ?? null;
    f.container = (inOverlay ? containerOfOverlay(inOverlay.overlay) : undefined) ?? containerOfPid(a.viaPid) ?? null;
    if (attribute) {
      const s = probe.samplePages(a.access, samplePages, r.cachePages);
      if (s && s.flags.length > 0) {
        const at = attributeSample(withCgroups ? s : { flags: s.flags }, cachedBytes, pathOfIno);
        f.activeBytes = Math.round((at.activeShare ?? 0) * cachedBytes);
        f.cgroups = at.cgroups;
      }
    }
    if (!f.container) {
      for (const c of f.cgroups) {
        const ref = lookup(c.path);
        if (ref && ref.runtime !== 'systemd-service') {
          f.container = ref;
          break;
        }
      }
    }
    if (!f.container) for (const h of f.holders) f.container ??= containerOfPid(h.pid) ?? null;
    return f;
  };

  const ordered = [...files.values()].sort((x, y) => y.row.cachePages - x.row.cachePages);
  let out: FileCacheFile[] = [];
  progress('attribution', 0, Math.min(ordered.length, top));
  if (scope.kind === 'host') {
    out = ordered.slice(0, top).map((a, i) => {
      progress('attribution', i + 1, Math.min(ordered.length, top));
      return build(a);
    });
    scope.cachedBytes = ordered.reduce((s, a) => s + a.row.cachePages * ps, 0);
  } else {
    const scoped: { f: FileCacheFile; bytes: number }[] = [];
    const maxExamined = opts.maxExamined ?? 5000;
    let examined = 0;
    const inScopeByContainer = (f: FileCacheFile): boolean =>
      (f.container !== null && containerIds.has(f.container.id)) ||
      f.holders.some((h) => {
        const cg = src.processes.get(h.pid)?.memoryCgroup;
        return cg !== undefined && scope.cgroups.some((s) => cgroupWithin(cg, s));
      });
    for (const a of ordered) {
      const kth = scoped.length >= top ? scoped[top - 1]!.bytes : 0;
      if (scoped.length >= top && a.row.cachePages * ps <= kth) break;
      if (examined >= maxExamined) {
        coverage.push({ section: 'scope', status: 'partial', reason: `stopped after examining the ${maxExamined} files with the most cache` });
        break;
      }
      examined++;
      progress('attribution', examined, Math.min(ordered.length, maxExamined));
      const f = build(a);
      let bytes = 0;
      if (f.cgroups.length > 0) bytes = f.cgroups.filter((c) => scope.cgroups.some((s) => cgroupWithin(c.path, s))).reduce((s, c) => s + c.bytes, 0);
      else if (inScopeByContainer(f)) bytes = f.cachedBytes;
      if (bytes <= 0) continue;
      scoped.push({ f, bytes });
      scoped.sort((x, y) => y.bytes - x.bytes);
    }
    out = scoped.slice(0, top).map((s) => s.f);
    scope.cachedBytes = scoped.reduce((s, x) => s + x.bytes, 0);
    if (!withCgroups) coverage.push({ section: 'scope', status: 'partial', reason: 'without page attribution, files count for the scope when they are in its container or held by its processes' });
  }

  return {
    scope,
    method: {
      discovery,
      measure: probe.method,
      attribution: withCgroups ? 'pagemap+kpageflags+kpagecgroup' : attribute ? 'pagemap+kpageflags' : 'none',
      samplePages: attribute ? samplePages : 0,
      filesMeasured: measured,
      durationMs: Math.round(performance.now() - t0),
    },
    coverage,
    files: out,
  };
}
