/**
 * From the panorama's sections to findings. Pure: every number comes from the sections, every limit
 * from Thresholds. Each finding carries the numbers of its conclusion in `params` and the rows that
 * prove it in `evidence`; the words are in the catalogs (src/report/i18n/<lang>/mem.ts).
 */
import type { RawFinding } from '../../contract/common.js';
import { containerLabel } from '../../contract/label.js';
import type { Thresholds } from '../thresholds.js';
import type { Breakdown } from './breakdown.js';
import type { FileCacheFile } from '../filecache/types.js';
import type { CgroupRow, MemcgSection, ProcessRow, ShmemSection, SlabSection, UnaccountedSection } from './types.js';

export interface FindingInput {
  breakdown: Breakdown;
  availableBytes: number;
  processes: ProcessRow[];
  cgroups: CgroupRow[];
  shmem: ShmemSection;
  slab: SlabSection;
  memcg: MemcgSection;
  unaccounted: UnaccountedSection;
  /** Files holding page cache with the cgroups their pages are charged to (optional: live hosts only). */
  fileCacheFiles?: FileCacheFile[];
}

/** Bytes a negative dentry costs (struct dentry is 192 bytes on 64-bit kernels). */
export const DENTRY_BYTES = 192;

const pct = (part: number, whole: number): number => (whole > 0 ? (part / whole) * 100 : 0);
const round1 = (x: number): number => Math.round(x * 10) / 10;

function item(b: Breakdown, key: string): number {
  return b.items.find((i) => i.key === key && !i.partOf)?.bytes ?? 0;
}

/** " (namespace/pod/container)" after a cgroup path, in the one container label (no words of any language). */
function containerSuffix(c: CgroupRow | ProcessRow): string {
  return c.container ? ` (${containerLabel(c.container)})` : '';
}

/** Drops cgroups that have a descendant in the same list: the deepest cgroup names the place. */
function deepest<T extends { path: string }>(rows: T[]): T[] {
  return rows.filter((r) => !rows.some((o) => o !== r && o.path.startsWith(r.path === '/' ? '/' : `${r.path}/`)));
}

/** The files whose pages are charged most to `cgroup` (or below it), largest first. */
export function cgroupTopFiles(files: readonly FileCacheFile[], cgroup: string, n: number): { path: string; containerPath: string | null; bytes: number }[] {
  const within = (p: string): boolean => p === cgroup || p.startsWith(cgroup === '/' ? '/' : `${cgroup}/`);
  return files
    .map((f) => ({ path: f.path, containerPath: f.containerPath, bytes: f.cgroups.filter((g) => within(g.path)).reduce((s, g) => s + g.bytes, 0) }))
    .filter((f) => f.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, n);
}

export function memFindings(input: FindingInput, th: Thresholds): RawFinding[] {
  const out: RawFinding[] = [];
  const { breakdown: b } = input;
  const memTotal = b.memTotalBytes;

  // mem.usage.high — little memory left for new work.
  const availPct = pct(input.availableBytes, memTotal);
  if (availPct < th['mem.availableLowPct']) {
    const groups = [
      { key: 'anon', bytes: item(b, 'anon') },
      { key: 'filecache', bytes: item(b, 'filecache') },
      { key: 'shmem', bytes: item(b, 'shmem') },
      { key: 'slab', bytes: item(b, 'slabReclaimable') + item(b, 'slabUnreclaimable') },
      { key: 'unaccounted', bytes: b.unaccountedBytes },
    ].sort((x, y) => y.bytes - x.bytes);
    const top = input.processes.slice(0, 5);
    out.push({
      id: 'mem.usage.high',
      severity: availPct < th['mem.availableLowPct'] / 2 ? 'critical' : 'warning',
      params: {
        availableBytes: input.availableBytes,
        totalBytes: memTotal,
        availablePct: round1(availPct),
        biggest: groups[0]!.key,
        biggestBytes: groups[0]!.bytes,
        topProcess: top[0] ? `${top[0].comm} (${top[0].pid})` : '-',
        topProcessBytes: top[0]?.rssBytes ?? 0,
      },
      evidence: { groups, topProcesses: top.map((p) => ({ pid: p.pid, comm: p.comm, rssBytes: p.rssBytes })) },
    });
  }

  // mem.filecache.high — host-wide, and per cgroup (the deepest cgroups whose page cache dominates).
  const fileCache = item(b, 'filecache');
  if (pct(fileCache, memTotal) > th['mem.filecacheHighPct']) {
    out.push({
      id: 'mem.filecache.high',
      severity: 'info',
      params: { place: 'host', fileBytes: fileCache, totalBytes: memTotal, filePct: round1(pct(fileCache, memTotal)) },
      evidence: { scope: 'host', fileBytes: fileCache },
    });
  }
  // memory.stat's file (v2) and cache (v1) include shmem, which is not reclaimable page cache: leave it out.
  const pageCache = (c: CgroupRow): number => Math.max(0, c.fileBytes - c.shmemBytes);
  const heavy = input.cgroups.filter((c) => {
    if (c.path === '/' || pageCache(c) < th['mem.cgroupFilecacheMinBytes']) return false;
    const base = c.limitBytes ?? c.usageBytes;
    return pct(pageCache(c), base) >= th['mem.cgroupFilecacheHighPct'];
  });
  for (const c of deepest(heavy).sort((x, y) => pageCache(y) - pageCache(x)).slice(0, 5)) {
    const limited = c.limitBytes !== null;
    const topFiles = cgroupTopFiles(input.fileCacheFiles ?? [], c.path, 3);
    out.push({
      id: 'mem.filecache.high',
      severity: limited && pct(pageCache(c), c.limitBytes!) >= th['mem.cgroupFilecacheHighPct'] ? 'warning' : 'info',
      params: {
        place: `${c.path}${containerSuffix(c)}`,
        fileBytes: pageCache(c),
        totalBytes: c.limitBytes ?? c.usageBytes,
        filePct: round1(pct(pageCache(c), c.limitBytes ?? c.usageBytes)),
        activeFileBytes: c.activeFileBytes,
      },
      evidence: { scope: 'cgroup', cgroup: c, ...(topFiles.length > 0 ? { topFiles } : {}) },
      ...(topFiles.length > 0
        ? { extraSuggestions: [{ key: 'filecache.topFiles', params: { files: topFiles.map((f) => `${f.containerPath ?? f.path} (${(f.bytes / 1048576).toFixed(1)} MiB)`).join(', ') } }] }
        : {}),
    });
  }

  // mem.cgroup.near-limit — workingset (what Kubernetes evicts on) close to the limit.
  for (const c of input.cgroups) {
    if (c.limitBytes === null || c.limitBytes <= 0 || c.path === '/') continue;
    const p = pct(c.workingsetBytes, c.limitBytes);
    if (p < th['mem.cgroupNearLimitPct']) continue;
    out.push({
      id: 'mem.cgroup.near-limit',
      severity: p >= 100 ? 'critical' : 'warning',
      params: {
        place: `${c.path}${containerSuffix(c)}`,
        workingsetBytes: c.workingsetBytes,
        limitBytes: c.limitBytes,
        workingsetPct: round1(p),
        anonBytes: c.anonBytes,
        activeFileBytes: c.activeFileBytes,
      },
      evidence: { cgroup: c },
    });
  }

  // mem.shmem.leak — "many small files under one directory", or shmem too large overall.
  const sh = input.shmem;
  const dirs = sh.tmpfs.flatMap((t) => t.topDirs.map((d) => ({ ...d, mount: t.mount })));
  const smallFileDirs = dirs.filter(
    (d) => d.files >= th['mem.shmemDirMinFiles'] && d.bytes >= th['mem.shmemDirMinBytes'] && d.bytes / d.files <= th['mem.shmemSmallFileMaxBytes'],
  );
  for (const d of deepest(smallFileDirs).sort((x, y) => y.bytes - x.bytes).slice(0, 5)) {
    out.push({
      id: 'mem.shmem.leak',
      severity: 'warning',
      params: { place: d.path, shmemBytes: d.bytes, files: d.files, avgFileBytes: Math.round(d.bytes / d.files), totalShmemBytes: sh.totalBytes },
      evidence: { pattern: 'many-small-files', dir: d },
    });
  }
  if (pct(sh.totalBytes, memTotal) > th['mem.shmemHighPct'] && smallFileDirs.length === 0) {
    const candidates = [
      ...dirs.map((d) => ({ place: d.path, bytes: d.bytes })),
      ...sh.sysv.map((s) => ({ place: `SysV shmid ${s.shmid} (key ${s.key})`, bytes: s.rssBytes })),
      ...sh.deletedOpen.filter((d) => d.shmem).map((d) => ({ place: d.path, bytes: d.bytes })),
    ].sort((x, y) => y.bytes - x.bytes);
    const top = candidates[0];
    out.push({
      id: 'mem.shmem.leak',
      severity: pct(sh.totalBytes, memTotal) > 2 * th['mem.shmemHighPct'] ? 'warning' : 'info',
      params: {
        place: top?.place ?? '-',
        shmemBytes: top?.bytes ?? 0,
        files: 0,
        avgFileBytes: 0,
        totalShmemBytes: sh.totalBytes,
        shmemPct: round1(pct(sh.totalBytes, memTotal)),
      },
      evidence: { pattern: 'shmem-high', top: candidates.slice(0, 10), residualBytes: sh.residualBytes },
    });
  }

  // mem.sysv.orphan — SysV segments nobody has attached, still holding memory.
  const orphans = sh.sysv.filter((s) => s.orphan && Math.max(s.rssBytes, 0) >= th['mem.sysvOrphanMinBytes']);
  if (orphans.length > 0) {
    const bytes = orphans.reduce((s, o) => s + o.rssBytes + o.swapBytes, 0);
    out.push({
      id: 'mem.sysv.orphan',
      severity: 'warning',
      params: { segments: orphans.length, orphanBytes: bytes, shmids: orphans.slice(0, 5).map((o) => o.shmid).join(', ') },
      evidence: { segments: orphans },
    });
  }

  // mem.slab.reclaimable-high — the kernel's caches (dentries, inodes, ...) hold a lot of memory.
  const sl = input.slab;
  if (pct(sl.reclaimableBytes, memTotal) > th['mem.slabReclaimableHighPct']) {
    const top = sl.top.filter((c) => c.reclaimable !== false).slice(0, 5);
    out.push({
      id: 'mem.slab.reclaimable-high',
      severity: 'warning',
      params: {
        reclaimableBytes: sl.reclaimableBytes,
        reclaimablePct: round1(pct(sl.reclaimableBytes, memTotal)),
        topCache: top[0]?.name ?? '-',
        topCacheBytes: top[0]?.bytes ?? 0,
      },
      evidence: { top, dentry: sl.dentry },
    });
  }

  // mem.dentry.negative-high — lookups of names that do not exist, cached by the million.
  const neg = sl.dentry.negative;
  if (neg !== null) {
    const negBytes = neg * DENTRY_BYTES;
    if (neg >= th['mem.negativeDentryMin'] || pct(negBytes, memTotal) > th['mem.negativeDentryHighPct']) {
      out.push({
        id: 'mem.dentry.negative-high',
        severity: pct(negBytes, memTotal) > th['mem.negativeDentryHighPct'] ? 'warning' : 'info',
        params: { negative: neg, total: sl.dentry.total, negativeBytes: negBytes, negativePct: round1(pct(neg, Math.max(1, sl.dentry.total))) },
        evidence: { dentry: sl.dentry },
      });
    }
  }

  // mem.cgroup.zombie — removed memory cgroups the kernel still keeps for the pages charged to them.
  const mc = input.memcg;
  if (mc.zombies >= th['mem.zombieCgroupMin'] || mc.zombieBytes >= th['mem.zombieMinBytes']) {
    const top = [...mc.byParent].sort((x, y) => y.zombieBytes - x.zombieBytes);
    out.push({
      id: 'mem.cgroup.zombie',
      severity: mc.zombies >= 10 * th['mem.zombieCgroupMin'] || mc.zombieBytes >= 16 * th['mem.zombieMinBytes'] ? 'warning' : 'info',
      params: {
        zombies: mc.zombies,
        zombieBytes: mc.zombieBytes,
        place: top[0]?.path ?? '/',
        placeBytes: top[0]?.zombieBytes ?? 0,
        visible: mc.visible,
      },
      evidence: { byParent: top.slice(0, 10), total: mc.total, visible: mc.visible, hierarchy: mc.hierarchy },
    });
  }

  // mem.unaccounted.high — memory that no kernel counter shows.
  const un = input.unaccounted;
  if (pct(un.bytes, memTotal) > th['mem.unaccountedHighPct']) {
    const explanations: { what: string; bytes: number }[] = [];
    if (un.socketBytes) explanations.push({ what: 'socket buffers', bytes: un.socketBytes });
    for (const a of un.allocinfoTop ?? []) explanations.push({ what: a.site, bytes: a.bytes });
    out.push({
      id: 'mem.unaccounted.high',
      severity: pct(un.bytes, memTotal) > 2 * th['mem.unaccountedHighPct'] ? 'critical' : 'warning',
      params: {
        unaccountedBytes: un.bytes,
        unaccountedPct: round1(pct(un.bytes, memTotal)),
        socketBytes: un.socketBytes ?? 0,
      },
      evidence: { explanations, kpageEstimateBytes: un.kpageEstimateBytes },
    });
  }

  // mem.kernel.leak-suspect — unreclaimable kernel memory that counters say is too large.
  const sunreclaim = item(b, 'slabUnreclaimable');
  const vmalloc = item(b, 'vmalloc');
  if (pct(sunreclaim, memTotal) > th['mem.slabUnreclaimableHighPct'] || pct(vmalloc, memTotal) > th['mem.vmallocHighPct']) {
    const slabSide = pct(sunreclaim, memTotal) >= pct(vmalloc, memTotal);
    const topSlab = sl.top.filter((c) => c.reclaimable !== true)[0];
    const topV = un.vmallocTop[0];
    out.push({
      id: 'mem.kernel.leak-suspect',
      severity: 'warning',
      params: {
        kind: slabSide ? 'slab' : 'vmalloc',
        suspectBytes: slabSide ? sunreclaim : vmalloc,
        suspectPct: round1(pct(slabSide ? sunreclaim : vmalloc, memTotal)),
        suspect: slabSide ? (topSlab?.name ?? '-') : (topV?.caller ?? '-'),
        suspectTopBytes: slabSide ? (topSlab?.bytes ?? 0) : (topV?.bytes ?? 0),
        type: slabSide ? 'slab' : 'vmalloc',
      },
      evidence: { slabUnreclaimableBytes: sunreclaim, vmallocBytes: vmalloc, topSlab: sl.top.slice(0, 5), vmallocTop: un.vmallocTop.slice(0, 5) },
    });
  }

  return out;
}
