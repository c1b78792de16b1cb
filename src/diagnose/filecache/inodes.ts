/**
 * From the in-core inode walk's files (device + path inside that file system) to paths a user knows
 * and that can be opened to measure them, through the mount tables (pure):
 *
 * - a mount of the file in our namespace: the mount point + the path below the mount's root (bind
 *   mounts of a subdirectory included: the mount with the shortest root that holds the path wins, then
 *   one not hidden by a later mount on the same point, then the shortest mount point);
 * - else a mount in another mount namespace (a container's volume): reached through
 *   /proc/PID/root, with the path inside the container;
 * - else (unmounted super blocks: the kernel's internal tmpfs of memfd and SysV segments, or a file
 *   system mounted nowhere any more): the path inside the file system, with the file system named.
 *
 * Unlinked files keep the name they had; they are not opened by path (another file may have the name
 * now). A block device's own cache (meminfo's Buffers: file system metadata) is named and measured
 * by its device node (`blockDevices`: "MAJ:MIN" → /dev/NAME), else shown as /dev/block/MAJ:MIN.
 */
import type { InodeWalkFile } from '../../kernel/pagecache/inode-walk.js';
import type { MountInfo } from '../../kernel/procfs/pid/mountinfo.js';

export interface MountTable {
  /** Our mount namespace. */
  host: readonly MountInfo[];
  /** One process of every other mount namespace, with its mounts. */
  namespaces: readonly { pid: number; mounts: readonly MountInfo[] }[];
}

interface Placed {
  m: MountInfo;
  /** Index in its table and whether a later mount sits on the same mount point. */
  hidden: boolean;
  /** undefined: our namespace. */
  pid?: number;
}

export type MountIndex = Map<string, Placed[]>;

export function mountIndex(table: MountTable): MountIndex {
  const out: MountIndex = new Map();
  const add = (mounts: readonly MountInfo[], pid?: number): void => {
    const last = new Map<string, number>();
    mounts.forEach((m, i) => last.set(m.mountPoint, i));
    mounts.forEach((m, i) => {
      const dev = `${m.major}:${m.minor}`;
      let list = out.get(dev);
      if (!list) out.set(dev, (list = []));
      list.push({ m, hidden: last.get(m.mountPoint) !== i, ...(pid !== undefined ? { pid } : {}) });
    });
  };
  add(table.host);
  for (const ns of table.namespaces) add(ns.mounts, ns.pid);
  return out;
}

export interface PlacedFile {
  /** The path shown. */
  path: string;
  /** What to open to measure it; undefined when no path is known to reach this inode. */
  access?: string;
  /** The path inside a container (another mount namespace). */
  containerPath?: string;
  /** A process of that namespace. */
  viaPid?: number;
  /**
   * `access` is a block device node: opening it reaches the device's page cache, but stat names the
   * node's inode (devtmpfs), not the device's.
   */
  deviceNode?: true;
  /** Why it has no `access`: 'unlinked', 'no-name', 'partial-name', 'not-mounted'. */
  unreachable?: 'unlinked' | 'no-name' | 'partial-name' | 'not-mounted';
}

/** The part of `path` below a mount's root, or undefined when the mount does not show it. */
function below(root: string, path: string): string | undefined {
  if (root === '/') return path;
  if (path === root) return '';
  return path.startsWith(`${root}/`) ? path.slice(root.length) : undefined;
}

function joinMount(mountPoint: string, rest: string): string {
  if (mountPoint === '/') return rest === '' ? '/' : rest;
  return `${mountPoint}${rest}`;
}

function better(a: Placed, b: Placed): boolean {
  const ah = a.pid === undefined ? 0 : 1;
  const bh = b.pid === undefined ? 0 : 1;
  if (ah !== bh) return ah < bh;
  if (a.m.root.length !== b.m.root.length) return a.m.root.length < b.m.root.length;
  if (a.hidden !== b.hidden) return !a.hidden;
  return a.m.mountPoint.length < b.m.mountPoint.length;
}

/** Where a walked file is, for a user and for measuring it. */
export function placeWalkFile(f: InodeWalkFile, index: MountIndex, blockDevices: ReadonlyMap<string, string> = new Map()): PlacedFile {
  if (f.blockDevice && f.rdev !== null) {
    const node = blockDevices.get(f.rdev);
    return node ? { path: node, access: node, deviceNode: true } : { path: `/dev/block/${f.rdev}`, unreachable: 'not-mounted' };
  }
  const tag = `(${f.fsType} ${f.device})`;
  if (f.path === null) return { path: `${tag} inode ${f.inode}`, unreachable: 'no-name' };
  if (f.pathPartial) return { path: `${tag} …${f.path}`, unreachable: 'partial-name' };
  let best: { p: Placed; rest: string } | undefined;
  for (const p of index.get(f.device) ?? []) {
    const rest = below(p.m.root, f.path);
    if (rest === undefined) continue;
    if (!best || better(p, best.p)) best = { p, rest };
  }
  const unlinked = f.nlink === 0;
  if (!best) {
    // memfd and SysV segments live on the kernel's internal tmpfs: the kernel names them /memfd:NAME
    // and /SYSV<key> too.
    if (f.shmem && /^\/(memfd:|SYSV)/.test(f.path)) return { path: f.path, unreachable: 'not-mounted' };
    return { path: `${tag} ${f.path}`, unreachable: 'not-mounted' };
  }
  const inNs = joinMount(best.p.m.mountPoint, best.rest);
  if (best.p.pid === undefined) return unlinked ? { path: inNs, unreachable: 'unlinked' } : { path: inNs, access: inNs };
  const viaRoot = `/proc/${best.p.pid}/root${inNs === '/' ? '' : inNs}`;
  const out: PlacedFile = { path: viaRoot, containerPath: inNs, viaPid: best.p.pid };
  if (unlinked) out.unreachable = 'unlinked';
  else out.access = viaRoot;
  return out;
}
