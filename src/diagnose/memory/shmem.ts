/**
 * Shared memory: every tmpfs (in every mount namespace, each super block once), SysV segments, and
 * memfd / deleted-but-open files found through the process scan; then the Shmem total that none of
 * these explains (shared anonymous mappings, GPU buffers, SysV segments' page-table-only parts...).
 * collectShmemSources reads; analyzeShmem is pure.
 */
import type { Host } from '../../host/host.js';
import { type DirUsage, walkTree } from '../../kernel/fs/walk.js';
import { type MountInfo, readMountinfo } from '../../kernel/procfs/pid/mountinfo.js';
import { type SysvShm, readSysvShm } from '../../kernel/procfs/sysvipc-shm.js';
import { mapLimit } from '../../util/concurrency.js';
import { type ProcessScan, commOf } from './processes.js';
import type { Coverage, DeletedOpenRow, ShmemSection, SysvRow, TmpfsRow } from './types.js';

const SHMEM_FS = new Set(['tmpfs', 'devtmpfs']);

/** Linux dev_t as Node reports it → "major:minor". */
export function devString(dev: number): string {
  const major = Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

interface TmpfsMount {
  mount: MountInfo;
  /** Where we can reach it from our namespace. */
  access: string;
  /** The mount point as its namespace sees it, prefixed with the namespace's holder when not ours. */
  label: string;
}

/** tmpfs mounts of our namespace and of every other mount namespace a process lives in, each super block once. */
async function tmpfsMounts(host: Host, scan: ProcessScan): Promise<TmpfsMount[]> {
  const seen = new Set<string>();
  const out: TmpfsMount[] = [];
  const addFrom = (mounts: MountInfo[], prefix: string, labelPrefix: string): void => {
    // A mount hidden by a later mount on the same point cannot be reached by path: skip it.
    const lastAt = new Map(mounts.map((m, i) => [m.mountPoint, i]));
    for (const [i, m] of mounts.entries()) {
      if (lastAt.get(m.mountPoint) !== i) continue;
      if (!SHMEM_FS.has(m.fsType)) continue;
      const dev = `${m.major}:${m.minor}`;
      if (seen.has(dev) || m.root !== '/') continue;
      seen.add(dev);
      out.push({ mount: m, access: `${prefix}${m.mountPoint}`, label: `${labelPrefix}${m.mountPoint}` });
    }
  };
  addFrom(await readMountinfo(host, 'self'), '', '');
  // Other mount namespaces (containers): one process per namespace is enough.
  let ours: string | undefined;
  try {
    ours = await host.readLink('/proc/self/ns/mnt');
  } catch {
    return out;
  }
  const byNs = new Map<string, number>();
  await mapLimit(scan.processes, 16, async (p) => {
    try {
      const ns = await host.readLink(`/proc/${p.pid}/ns/mnt`);
      if (ns !== ours && !byNs.has(ns)) byNs.set(ns, p.pid);
    } catch {
      /* gone or kernel thread */
    }
  });
  const comm = commOf(scan);
  for (const pid of byNs.values()) {
    try {
      addFrom(await readMountinfo(host, pid), `/proc/${pid}/root`, `[${comm.get(pid) ?? 'pid'}:${pid}]`);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** One tmpfs super block as read: its usage (statfs) and, when it holds data, its directory sizes. */
export interface TmpfsSource {
  /** The mount point as its namespace sees it (prefixed with the namespace's holder when not ours). */
  label: string;
  /** Where it was reached from our namespace (the walk's paths start with it). */
  access: string;
  fsType: string;
  dev: string;
  usedBytes: number;
  sizeBytes: number;
  files: number;
  /** Directories holding files (undefined: empty mount, or the walk could not read it). */
  dirs?: DirUsage[];
  truncated: boolean;
}

/** A memfd or deleted-but-open file seen in one process's fd table, with the stat of what it points to. */
export interface DeletedOpenSource {
  pid: number;
  fd: number;
  path: string;
  kind: 'memfd' | 'deleted';
  dev: string;
  ino: number;
  bytes: number;
}

/** Everything the shared-memory section reads (collectShmemSources); analyzeShmem is pure over it. */
export interface ShmemSources {
  /** Reachable tmpfs mounts whose statfs answered. */
  tmpfs: TmpfsSource[];
  /** Every tmpfs super block found (statfs answered or not), "major:minor". */
  tmpfsDevs: string[];
  /** undefined when /proc/sysvipc/shm could not be read. */
  sysv: SysvShm | undefined;
  deletedOpen: DeletedOpenSource[];
}

export async function collectShmemSources(host: Host, scan: ProcessScan, opts: { maxEntriesPerMount?: number } = {}): Promise<ShmemSources> {
  const mounts = await tmpfsMounts(host, scan);
  const tmpfs: TmpfsSource[] = [];
  for (const m of mounts) {
    let st;
    try {
      st = await host.statfs(m.access);
    } catch {
      continue;
    }
    const src: TmpfsSource = {
      label: m.label,
      access: m.access,
      fsType: m.mount.fsType,
      dev: `${m.mount.major}:${m.mount.minor}`,
      usedBytes: (st.blocks - st.bfree) * st.bsize,
      sizeBytes: st.blocks * st.bsize,
      files: Math.max(0, st.files - st.ffree),
      truncated: false,
    };
    if (src.usedBytes > 0) {
      try {
        const walk = await walkTree(host, m.access, { maxEntries: opts.maxEntriesPerMount ?? 200_000 });
        src.dirs = walk.dirs;
        src.truncated = walk.truncated;
      } catch {
        /* unreadable mount: totals only */
      }
    }
    tmpfs.push(src);
  }
  const sysv = await readSysvShm(host).catch(() => undefined);

  const candidates: { pid: number; fd: number; path: string; kind: 'memfd' | 'deleted' }[] = [];
  for (const [pid, fds] of scan.fds) {
    for (const f of fds) {
      if (f.kind === 'memfd') candidates.push({ pid, fd: f.fd, path: `memfd:${f.path ?? ''}`, kind: 'memfd' });
      else if (f.kind === 'file' && f.deleted) candidates.push({ pid, fd: f.fd, path: f.path ?? f.target, kind: 'deleted' });
    }
  }
  const deletedOpen: DeletedOpenSource[] = [];
  await mapLimit(candidates, 16, async (c) => {
    try {
      const st = await host.stat(`/proc/${c.pid}/fd/${c.fd}`, { follow: true });
      deletedOpen.push({ ...c, dev: devString(st.dev), ino: st.ino, bytes: st.blocks !== undefined ? st.blocks * 512 : st.size });
    } catch {
      /* gone */
    }
  });
  // mapLimit finishes in any order: keep the scan's order so that the analysis is reproducible.
  const order = new Map(candidates.map((c, i) => [`${c.pid}/${c.fd}`, i]));
  deletedOpen.sort((a, b) => order.get(`${a.pid}/${a.fd}`)! - order.get(`${b.pid}/${b.fd}`)!);
  return { tmpfs, tmpfsDevs: mounts.map((m) => `${m.mount.major}:${m.mount.minor}`), sysv, deletedOpen };
}

/** Pure: the shared-memory section from what collectShmemSources read. */
export function analyzeShmem(
  src: ShmemSources,
  comm: ReadonlyMap<number, string>,
  shmemTotalBytes: number,
  coverage: Coverage[],
  opts: { topDirs?: number } = {},
): ShmemSection {
  const topN = opts.topDirs ?? 10;
  const tmpfs: TmpfsRow[] = [];
  let truncatedAny = false;
  for (const m of src.tmpfs) {
    truncatedAny ||= m.truncated;
    const rel = (p: string): string => {
      const tail = p.slice(m.access.length);
      const base = m.label === '/' ? '' : m.label;
      return tail === '' ? m.label : `${base}${tail}`;
    };
    const topDirs: TmpfsRow['topDirs'] = (m.dirs ?? [])
      .filter((d) => d.files > 0)
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, topN)
      .map((d) => ({ path: rel(d.path), files: d.files, bytes: d.bytes }));
    tmpfs.push({ mount: m.label, fstype: m.fsType, usedBytes: m.usedBytes, sizeBytes: m.sizeBytes, files: m.files, topDirs, truncated: m.truncated });
  }
  tmpfs.sort((a, b) => b.usedBytes - a.usedBytes);
  // /dev/shm first: it is where leaks usually are.
  const shmIdx = tmpfs.findIndex((t) => t.mount === '/dev/shm');
  if (shmIdx > 0) tmpfs.unshift(...tmpfs.splice(shmIdx, 1));
  if (truncatedAny) coverage.push({ section: 'shmem', status: 'partial', reason: 'a tmpfs has more entries than the walk reads; its top directories cover part of it' });

  let sysv: SysvRow[] = [];
  if (src.sysv) {
    sysv = src.sysv.segments.map((s) => {
      const row: SysvRow = {
        key: `0x${(s.key >>> 0).toString(16).padStart(8, '0')}`,
        shmid: s.shmid,
        sizeBytes: s.size,
        rssBytes: s.rss ?? s.size,
        swapBytes: s.swap ?? 0,
        nattch: s.nattch,
        cpid: s.cpid,
        lpid: s.lpid,
        orphan: s.nattch === 0,
      };
      const c = comm.get(s.cpid);
      if (c) row.creator = c;
      const l = comm.get(s.lpid);
      if (l) row.lastUser = l;
      return row;
    });
    sysv.sort((a, b) => b.rssBytes - a.rssBytes);
  } else {
    coverage.push({ section: 'shmem.sysv', status: 'unavailable', reason: '/proc/sysvipc/shm is not readable' });
  }

  // memfd and deleted-but-open files, each inode once with all its holders.
  const tmpfsDevs = new Set(src.tmpfsDevs);
  const byInode = new Map<string, DeletedOpenRow>();
  for (const c of src.deletedOpen) {
    const key = `${c.dev}/${c.ino}`;
    let row = byInode.get(key);
    if (!row) {
      row = { path: c.path, kind: c.kind, shmem: c.kind === 'memfd' || tmpfsDevs.has(c.dev), bytes: c.bytes, device: c.dev, inode: c.ino, holders: [] };
      byInode.set(key, row);
    }
    row.holders.push({ pid: c.pid, comm: comm.get(c.pid) ?? '?', fd: c.fd });
  }
  const deletedOpen = [...byInode.values()].sort((a, b) => b.bytes - a.bytes);
  for (const d of deletedOpen) d.holders.sort((a, b) => a.pid - b.pid || a.fd - b.fd);

  // Deleted files on a visible tmpfs are already in that mount's used bytes; memfds live on an internal mount.
  const explained =
    tmpfs.reduce((s, t) => s + t.usedBytes, 0) +
    sysv.reduce((s, x) => s + x.rssBytes, 0) +
    deletedOpen.filter((d) => d.kind === 'memfd').reduce((s, d) => s + d.bytes, 0);
  return { totalBytes: shmemTotalBytes, tmpfs, sysv, deletedOpen, residualBytes: Math.max(0, shmemTotalBytes - explained) };
}
