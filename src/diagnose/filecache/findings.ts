/**
 * The findings of `oscope filecache` (pure), from the files an analysis lists: a summary, deleted
 * files still cached, dirty pages, one container holding most of the cache, and shared memory that is
 * not reclaimable. Thresholds: the filecache.* keys of ../thresholds.ts; words: report/i18n/{en,zh-CN}/filecache.ts.
 */
import type { ContainerRef, RawFinding } from '../../contract/common.js';
import type { Thresholds } from '../thresholds.js';
import type { FileCacheFile, FileCacheScope } from './types.js';

const inContainer = (ref: ContainerRef | null | undefined): ref is ContainerRef => ref !== undefined && ref !== null && ref.runtime !== 'systemd-service';

const round1 = (x: number): number => Math.round(x * 10) / 10;
const pct = (part: number, whole: number): number => (whole > 0 ? round1((100 * part) / whole) : 0);
const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);
const holderText = (h: { pid: number; comm: string }): string => `${h.comm}(${h.pid})`;
/** The files' own kernel names for memfd and SysV segments: shared memory, not deleted files. */
const isAnonShmem = (f: FileCacheFile): boolean => f.shmem && /^\/(memfd:|SYSV)/.test(f.path);
/** What `--container` takes for a container: its name, else the id's first 12 characters. */
const containerArg = (c: ContainerRef): string => c.name ?? c.id.slice(0, 12);

/**
 * The findings of one analysis. `listed`: the files listed with the bytes that count for the scope
 * (their whole cache host-wide, the part charged to the scope otherwise).
 */
export function fileCacheFindings(scope: FileCacheScope, listed: readonly { f: FileCacheFile; bytes: number }[], th: Thresholds): RawFinding[] {
  const out: RawFinding[] = [];
  const listedBytes = sum(listed.map((x) => x.bytes));
  const scopeParams = { scopeKind: scope.kind, scopeQuery: scope.query ?? '' };
  const first = listed[0];
  out.push({
    id: 'filecache.summary',
    severity: 'info',
    params: {
      ...scopeParams,
      files: listed.length,
      listedBytes,
      scopeBytes: scope.cachedBytes,
      sharePct: pct(listedBytes, scope.cachedBytes),
      topFile: first?.f.path ?? '-',
      topFileBytes: first?.bytes ?? 0,
    },
    evidence: { top: listed.slice(0, 5).map((x) => ({ path: x.f.path, bytes: x.bytes })) },
    extraSuggestions: [{ key: scope.kind === 'host' ? 'filecache.suggest.narrow' : 'filecache.suggest.scoped', params: scopeParams }],
  });

  // Deleted files still cached: a holder keeps the inode (and its cache and disk space) alive.
  const deleted = listed.filter((x) => x.f.deleted && !isAnonShmem(x.f));
  const deletedBytes = sum(deleted.map((x) => x.bytes));
  if (deleted.length > 0 && deletedBytes >= th['filecache.deletedMinBytes']) {
    const holders = [...new Map(deleted.flatMap((x) => x.f.holders).map((h) => [h.pid, h])).values()];
    out.push({
      id: 'filecache.deleted.cached',
      severity: deletedBytes >= th['filecache.deletedWarnBytes'] ? 'warning' : 'info',
      params: { ...scopeParams, files: deleted.length, deletedBytes, topFile: deleted[0]!.f.path, topFileBytes: deleted[0]!.bytes, holders: holders.length > 0 ? holders.slice(0, 5).map(holderText).join(', ') : '-' },
      evidence: { files: deleted.slice(0, 10).map((x) => ({ path: x.f.path, bytes: x.bytes, holders: x.f.holders.map(holderText) })) },
      extraSuggestions:
        holders.length > 0
          ? holders.slice(0, 3).map((h) => ({ key: 'filecache.suggest.restartHolder', params: { pid: h.pid, comm: h.comm } }))
          : [{ key: 'filecache.suggest.deletedNoHolder', params: {} }],
    });
  }

  // Dirty and under writeback: not reclaimable until written.
  const dirtyBytes = sum(listed.map((x) => (x.f.dirtyBytes ?? 0) + (x.f.writebackBytes ?? 0)));
  const dirtyPct = pct(dirtyBytes, listedBytes);
  if (dirtyBytes >= th['filecache.dirtyMinBytes'] && dirtyBytes > 0 && dirtyPct >= th['filecache.dirtyHighPct']) {
    const byDirty = [...listed].sort((a, b) => (b.f.dirtyBytes ?? 0) + (b.f.writebackBytes ?? 0) - ((a.f.dirtyBytes ?? 0) + (a.f.writebackBytes ?? 0)));
    const d = byDirty[0]!.f;
    out.push({
      id: 'filecache.dirty.high',
      severity: dirtyBytes >= th['filecache.dirtyWarnBytes'] ? 'warning' : 'info',
      params: { ...scopeParams, dirtyBytes, dirtyPct, listedBytes, topFile: d.path, topFileBytes: (d.dirtyBytes ?? 0) + (d.writebackBytes ?? 0) },
      evidence: { files: byDirty.slice(0, 5).map((x) => ({ path: x.f.path, dirtyBytes: x.f.dirtyBytes, writebackBytes: x.f.writebackBytes })) },
    });
  }

  // One container holding most of the host's listed cache.
  if (scope.kind === 'host' && listedBytes > 0) {
    const by = new Map<string, { ref: ContainerRef; bytes: number; files: number; top: string }>();
    for (const x of listed) {
      const c = x.f.container;
      if (!inContainer(c)) continue;
      const key = c.podUid ? `pod:${c.podUid}` : c.id;
      const e = by.get(key) ?? { ref: c, bytes: 0, files: 0, top: x.f.path };
      e.bytes += x.bytes;
      e.files++;
      by.set(key, e);
    }
    const best = [...by.values()].sort((a, b) => b.bytes - a.bytes)[0];
    const sharePct = best ? pct(best.bytes, listedBytes) : 0;
    if (best && best.bytes >= th['filecache.containerDominantMinBytes'] && sharePct >= th['filecache.containerDominantPct']) {
      const pod = best.ref.podName !== undefined ? `${best.ref.podName}${best.ref.podNamespace ? `/${best.ref.podNamespace}` : ''}` : '';
      out.push({
        id: 'filecache.container.dominant',
        severity: 'info',
        params: {
          container: pod !== '' ? `pod ${pod}` : containerArg(best.ref),
          containerBytes: best.bytes,
          sharePct,
          listedBytes,
          files: best.files,
          topFile: best.top,
          scopeFlag: pod !== '' ? `--pod ${pod}` : `--container ${containerArg(best.ref)}`,
        },
        evidence: { container: best.ref, bytes: best.bytes, files: best.files },
      });
    }
  }

  // Shared memory: tmpfs, /dev/shm, memfd, SysV. Its pages stay until the file is removed.
  const shm = listed.filter((x) => x.f.shmem);
  const shmemBytes = sum(shm.map((x) => x.bytes));
  if (shm.length > 0 && shmemBytes >= th['filecache.shmemMinBytes']) {
    out.push({
      id: 'filecache.shmem.unreclaimable',
      severity: shmemBytes >= th['filecache.shmemWarnBytes'] ? 'warning' : 'info',
      params: { ...scopeParams, files: shm.length, shmemBytes, shmemPct: pct(shmemBytes, listedBytes), topFile: shm[0]!.f.path, topFileBytes: shm[0]!.bytes },
      evidence: { files: shm.slice(0, 10).map((x) => ({ path: x.f.path, bytes: x.bytes, holders: x.f.holders.map(holderText) })) },
    });
  }
  return out;
}
