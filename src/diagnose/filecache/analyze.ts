/**
 * The analysis of `oscope filecache`, pure: from a FileCacheCapture (./capture.ts: what collect read
 * on the live host, or what a bundle recorded) to the ranked files of a scope, its coverage and its
 * findings. No file is opened here; the same capture gives the same answer anywhere.
 *
 * - scope: the host, or the memory cgroups of a container, pod or cgroup (with their descendants);
 * - each examined file gets its path inside its container (namespace, overlay layers or the runtime's
 *   snapshot layout), its container, and the cgroups and active share of its sampled pages;
 * - ranking: host-wide by cache; scoped by the bytes charged to the scope (or, without page
 *   attribution, by the cache of files in the scope's containers or held by its processes);
 * - findings (filecache.*, ./findings.ts).
 */
import type { ContainerRef, Coverage } from '../../contract/common.js';
import { type ContainerIdentity, identifyContainerWithTasks, identifyPod } from '../../containers/index.js';
import { cgroupWithin, scaleCounts } from '../../kernel/pagecache/attribution.js';
import type { Thresholds } from '../thresholds.js';
import type { CapturedFile, FileCacheCapture } from './capture.js';
import { fileCacheFindings } from './findings.js';
import { type ContainerPathOf, type OverlayMount, containerPathCoverage, resolveContainerPath } from './sources.js';
import type { FileCacheAnalysis, FileCacheFile, FileCacheScope, ScopeKind } from './types.js';

export class ScopeNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeNotFoundError';
  }
}

export type ScopeQuery = { kind: Exclude<ScopeKind, 'host'>; query: string };

export interface FileCacheParams {
  /** Files to list (default 30). */
  top?: number;
  scope?: ScopeQuery;
}

/** What the analysis looks things up in, made once from a capture. */
export interface AnalysisContext {
  pageSize: number;
  /** kpagecgroup inode → cgroup path. */
  pathOfIno: ReadonlyMap<number, string>;
  /** Every memory cgroup known: the hierarchy's and the processes'. */
  cgroupPaths: readonly string[];
  /** Page cache charged to each cgroup and its descendants (memory.stat). */
  fileBytesOf: ReadonlyMap<string, number>;
  mountPoint: string | undefined;
  lookup: (cgroupPath: string) => ContainerRef | undefined;
  tasks: ReadonlyMap<string, string>;
  cgroupOfPid: ReadonlyMap<number, string | undefined>;
  overlays: readonly OverlayMount[];
  /** Sampled pages carry their cgroup. */
  withCgroups: boolean;
}

export function analysisContext(c: Pick<FileCacheCapture, 'pageSize' | 'method' | 'cgroups' | 'processes' | 'containers' | 'tasks' | 'overlays'>): AnalysisContext {
  const pathOfIno = new Map<number, string>();
  const fileBytesOf = new Map<string, number>();
  const paths = new Set<string>();
  for (const g of c.cgroups?.list ?? []) {
    pathOfIno.set(g.ino, g.path);
    fileBytesOf.set(g.path, g.fileBytes);
    paths.add(g.path);
  }
  const cgroupOfPid = new Map<number, string | undefined>();
  for (const p of c.processes) {
    cgroupOfPid.set(p.pid, p.memoryCgroup);
    if (p.memoryCgroup !== undefined) paths.add(p.memoryCgroup);
  }
  const refs = new Map(c.containers.map((x) => [x.cgroup, x.container]));
  return {
    pageSize: c.pageSize,
    pathOfIno,
    cgroupPaths: [...paths],
    fileBytesOf,
    mountPoint: c.cgroups?.mountPoint ?? undefined,
    lookup: (p) => refs.get(p),
    tasks: new Map(Object.entries(c.tasks)),
    cgroupOfPid,
    overlays: c.overlays,
    withCgroups: c.method.attribution === 'pagemap+kpageflags+kpagecgroup' && pathOfIno.size > 0,
  };
}

function normalizeCgroupQuery(q: string, mountPoint: string | undefined): string {
  let p = q.trim();
  const mp = mountPoint?.replace(/\/+$/, '');
  if (mp && (p === mp || p.startsWith(`${mp}/`))) p = p.slice(mp.length) || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

export interface ScopeResolution {
  scope: FileCacheScope;
  /** When attribution is missing: whether a file is in the scope by its container or holders. */
  containerIds: Set<string>;
}

/** The memory cgroups of what the user asked for; ScopeNotFoundError when nothing matches. */
export function resolveScope(q: ScopeQuery | undefined, ctx: AnalysisContext): ScopeResolution {
  if (!q) return { scope: { kind: 'host', query: null, cgroups: ['/'], cachedBytes: 0 }, containerIds: new Set() };
  const { kind, query } = q;
  const cgroups = new Set<string>();
  const ids = new Set<string>();
  const { cgroupPaths, lookup } = ctx;
  if (kind === 'cgroup') {
    const p = normalizeCgroupQuery(query, ctx.mountPoint);
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
      const ident: ContainerIdentity | undefined = identifyContainerWithTasks(c, ctx.tasks);
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

const inContainer = (ref: ContainerRef | undefined): ref is ContainerRef => ref !== undefined && ref.runtime !== 'systemd-service';

/** A captured file as the document lists it, and how its container path was found. */
export function buildFile(r: CapturedFile, ctx: AnalysisContext): { file: FileCacheFile; path: ContainerPathOf } {
  const containerOfPid = (pid: number | undefined): ContainerRef | undefined => {
    const cg = pid === undefined ? undefined : ctx.cgroupOfPid.get(pid);
    return cg === undefined ? undefined : ctx.lookup(cg);
  };
  const containerOfOverlay = (o: OverlayMount): ContainerRef | undefined => {
    const viaPid = containerOfPid(o.pid);
    if (viaPid) return viaPid;
    if (o.taskId) {
      for (const p of ctx.cgroupPaths) {
        const ref = ctx.lookup(p);
        if (ref?.id === o.taskId) return ref;
      }
      return { runtime: 'containerd', id: o.taskId };
    }
    return undefined;
  };
  const f: FileCacheFile = {
    path: r.path,
    containerPath: null,
    device: r.device,
    inode: r.inode,
    cachedBytes: r.cachedBytes,
    dirtyBytes: r.dirtyBytes,
    writebackBytes: r.writebackBytes,
    activeBytes: null,
    sizeBytes: r.sizeBytes,
    deleted: r.deleted,
    shmem: r.shmem,
    holders: r.holders,
    cgroups: [],
    container: null,
  };
  const cp = resolveContainerPath(r.knownContainerPath, ctx.overlays, r.path);
  f.containerPath = cp.path;
  f.container = (cp.overlay ? containerOfOverlay(cp.overlay) : undefined) ?? containerOfPid(r.viaPid) ?? null;
  const s = r.sample;
  if (s && s.pages > 0) {
    f.activeBytes = Math.round((s.activePages / s.pages) * r.cachedBytes);
    if (ctx.withCgroups && s.cgroupPages) {
      // Inode 0 is "not charged" (the root); an inode not in the walk (a cgroup made after it) keeps its bytes as ino:N.
      const counts = new Map<string, number>();
      let total = 0;
      for (const c of s.cgroupPages) {
        const path = c.ino === 0 ? '/' : (ctx.pathOfIno.get(c.ino) ?? `ino:${c.ino}`);
        counts.set(path, (counts.get(path) ?? 0) + c.pages);
        total += c.pages;
      }
      f.cgroups = scaleCounts(counts, total, r.cachedBytes);
    }
  }
  if (!f.container) {
    for (const c of f.cgroups) {
      const ref = ctx.lookup(c.path);
      if (inContainer(ref)) {
        f.container = ref;
        break;
      }
    }
  }
  if (!f.container) for (const h of f.holders) f.container ??= containerOfPid(h.pid) ?? null;
  return { file: f, path: cp };
}

/** The bytes of a file's cache that count for the scope (all of it host-wide). */
export function scopeBytesOf(f: FileCacheFile, res: ScopeResolution, ctx: AnalysisContext): number {
  const { scope, containerIds } = res;
  if (scope.kind === 'host') return f.cachedBytes;
  if (f.cgroups.length > 0) return f.cgroups.filter((c) => scope.cgroups.some((s) => cgroupWithin(c.path, s))).reduce((s, c) => s + c.bytes, 0);
  const byContainer =
    (f.container !== null && containerIds.has(f.container.id)) ||
    f.holders.some((h) => {
      const cg = ctx.cgroupOfPid.get(h.pid);
      return cg !== undefined && scope.cgroups.some((s) => cgroupWithin(cg, s));
    });
  return byContainer ? f.cachedBytes : 0;
}

/** The scope's page cache from memory.stat (0 when unknown): once the files found explain it, the search can stop. */
export function scopeTarget(res: ScopeResolution, ctx: AnalysisContext): number {
  const cg = res.scope.cgroups;
  return ctx.withCgroups && cg.every((c) => ctx.fileBytesOf.has(c)) ? cg.reduce((t, c) => t + ctx.fileBytesOf.get(c)!, 0) : 0;
}

const sameScope = (a: ScopeQuery | null | undefined, b: ScopeQuery | undefined): boolean => (a ?? undefined)?.kind === b?.kind && (a ?? undefined)?.query === b?.query;

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Ranks the capture's files for the scope, with coverage and findings. */
export function analyzeFileCache(capture: FileCacheCapture, params: FileCacheParams, thresholds: Thresholds): FileCacheAnalysis {
  const t0 = performance.now();
  const top = params.top ?? 30;
  const ctx = analysisContext(capture);
  const res = resolveScope(params.scope, ctx);
  const { scope } = res;
  const coverage: Coverage[] = [...capture.coverage];
  // Each examined file with the bytes that count for the scope (its whole cache host-wide).
  const built = capture.files.map((r) => {
    const b = buildFile(r, ctx);
    return { r, ...b, bytes: scopeBytesOf(b.file, res, ctx) };
  });
  let chosen: typeof built;
  if (scope.kind === 'host') {
    chosen = [...built].sort((x, y) => y.file.cachedBytes - x.file.cachedBytes).slice(0, top);
    scope.cachedBytes = capture.totals.cachedBytes;
  } else {
    const scored = built.filter((b) => b.bytes > 0);
    scored.sort((x, y) => y.bytes - x.bytes);
    chosen = scored.slice(0, top);
    scope.cachedBytes = scored.reduce((s, x) => s + x.bytes, 0);
    if (sameScope(capture.examined.scope, params.scope)) coverage.push(...capture.examined.coverage);
    else if (capture.files.length < capture.totals.files) {
      // A host-wide capture analysed for a scope: only the files it examined can be ranked.
      coverage.push({
        section: 'scope',
        status: 'partial',
        reason: `the capture examined the ${plural(capture.files.length, 'file')} with the most cache of ${capture.totals.files}: cache of the scope in files further down is not counted`,
      });
    }
    if (!ctx.withCgroups) coverage.push({ section: 'scope', status: 'partial', reason: 'without page attribution, files count for the scope when they are in its container or held by its processes' });
  }

  const paths = containerPathCoverage(chosen.map((b) => ({ ...b.path, inContainer: inContainer(b.file.container ?? undefined) })));
  if (paths) coverage.push(paths);
  const unreached = { files: 0, bytes: 0, devices: 0, deviceBytes: 0 };
  for (const { r } of chosen) {
    if (r.measured) continue;
    if (r.deviceNode) {
      unreached.devices++;
      unreached.deviceBytes += r.cachedBytes;
    } else {
      unreached.files++;
      unreached.bytes += r.cachedBytes;
    }
  }
  if (unreached.files > 0) {
    coverage.push({
      section: 'measure',
      status: 'partial',
      reason: `${unreached.files} of the listed files (${unreached.bytes} bytes) cannot be opened by a path (unlinked and held by no process, no name, or mounted nowhere reachable): their cache is the inode walk's page count, without dirty, writeback, active pages or cgroups`,
    });
  }
  if (unreached.devices > 0) {
    coverage.push({
      section: 'measure',
      status: 'partial',
      reason: `${unreached.devices} block device${unreached.devices === 1 ? '' : 's'} (${unreached.deviceBytes} bytes: file system metadata, meminfo's Buffers) listed with the inode walk's page count: cachestat measures regular files only`,
    });
  }

  const files = chosen.map((b) => b.file);
  const listed = chosen.map((b) => ({ f: b.file, bytes: b.bytes }));
  const m = capture.method;
  return {
    scope,
    method: { ...m, durationMs: Math.round(m.durationMs + performance.now() - t0) },
    coverage,
    files,
    findings: fileCacheFindings(scope, listed, thresholds),
  };
}
