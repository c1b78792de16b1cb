/**
 * Where files that may hold page cache are found without BPF (method 2), read through the Host:
 *
 * - every process's open files (/proc/PID/fd) and mapped files (/proc/PID/maps), deleted ones included:
 *   a deleted file is measured through /proc/PID/fd/N or /proc/PID/map_files/START-END (root), which
 *   reach the inode although no path does;
 * - processes in another mount namespace (containers): their paths are in that namespace, so they are
 *   mapped to the host: through the overlay layers of the mount that holds them (the real upper/lower
 *   file, whose pages hold the cache), else through /proc/PID/root;
 * - every tmpfs (each super block once, in every mount namespace), and local file systems to walk.
 *
 * Overlay mounts are collected with the container they belong to (the container of a process whose
 * root file system it is, or the containerd task whose bundle rootfs it is mounted on), so that any
 * file in an upper or lower directory gets its path inside the container.
 */
import type { Host } from '../../host/host.js';
import { type OverlayLayers, overlayLayers } from '../../containers/overlay.js';
import { CONTAINERD_TASK_DIR } from '../../containers/runtime.js';
import { type SnapshotLayout, containerPathFromLayout } from '../../containers/snapshot.js';
import { type FdEntry, readFds } from '../../kernel/procfs/pid/fd.js';
import { type MapEntry, readMaps } from '../../kernel/procfs/pid/maps.js';
import { memoryCgroupPath, readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { type MountInfo, readMountinfo } from '../../kernel/procfs/pid/mountinfo.js';
import { listPids } from '../../kernel/procfs/pid/process.js';
import { mapLimit } from '../../util/concurrency.js';
import type { Coverage, FileHolder } from './types.js';

/** A file to measure, before we know its device and inode. */
export interface Candidate {
  /** What to open to measure it. */
  access: string;
  /** The host path shown. */
  path: string;
  containerPath?: string;
  deleted: boolean;
  /** Known to be shared memory from how it was found (memfd, SysV, /dev/shm mapping). */
  shmem: boolean;
  holders: FileHolder[];
  /** Pid whose container the file is in, when found through a process of another mount namespace. */
  viaPid?: number;
}

export interface ProcInfo {
  pid: number;
  comm: string;
  memoryCgroup?: string;
  mntNs?: string;
}

/**
 * A process as a caller already read it (the panorama's process scan), so that /proc/PID/{fd,maps}
 * are read once per report. `fds` or `maps` undefined: they could not be read (or were not asked for).
 */
export interface ScannedProcess {
  pid: number;
  comm: string;
  memoryCgroup?: string;
  /** readlink /proc/PID/ns/mnt. */
  mntNs?: string;
  fds?: readonly FdEntry[];
  maps?: readonly MapEntry[];
}

export interface OverlayMount {
  layers: OverlayLayers;
  /** A process whose root file system this overlay is. */
  pid?: number;
  /** containerd task id, when the overlay is mounted on a task bundle's rootfs. */
  taskId?: string;
}

export interface Sources {
  processes: Map<number, ProcInfo>;
  candidates: Candidate[];
  overlays: OverlayMount[];
  /** "major:minor" of every tmpfs super block. */
  tmpfsDevs: Set<string>;
  /** tmpfs mount points reachable from here (host mounts, and /proc/PID/root/... for other namespaces). */
  tmpfsRoots: string[];
  /** Mount points of local disk file systems to walk, and every mount point (not to cross). */
  localRoots: string[];
  mountPoints: Set<string>;
  /** Processes whose files could not be read. */
  unreadable: number;
  /** This process's mounts, and one process of every other mount namespace with its mounts. */
  hostMounts: MountInfo[];
  namespaces: { pid: number; mounts: MountInfo[] }[];
}

/** Disk-backed local file systems: their page cache is what a walk can find. */
export const LOCAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'jfs', 'reiserfs', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'fuseblk', 'zfs', 'bcachefs', 'nilfs2', 'hfsplus']);
const SHMEM_FS = new Set(['tmpfs', 'ramfs']);
export const DEFAULT_EXCLUDES = ['/proc', '/sys', '/dev', '/run'];

/** The mount that holds `path` (longest mount point prefix; later mounts win ties). */
export function mountOf(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    if (path === mp || mp === '/' || path.startsWith(`${mp}/`)) {
      if (!best || mp.length >= best.mountPoint.length) best = m;
    }
  }
  return best;
}

/** The overlay that a mount point of a containerd task bundle's rootfs belongs to: the task id. */
export function taskOfRootfs(mountPoint: string): string | undefined {
  const prefix = `${CONTAINERD_TASK_DIR}/`;
  if (!mountPoint.startsWith(prefix)) return undefined;
  const parts = mountPoint.slice(prefix.length).split('/');
  return parts.length === 3 && parts[2] === 'rootfs' ? parts[1] : undefined;
}

function under(dir: string, path: string): string | undefined {
  const d = dir.replace(/\/+$/, '');
  if (path === d) return '/';
  return d !== '' && path.startsWith(`${d}/`) ? path.slice(d.length) : undefined;
}

/** A host path in one of the overlays (upper, lower or merged mount): its path inside the overlay's root, and which overlay. */
export function containerPathOf(overlays: readonly OverlayMount[], hostPath: string): { overlay: OverlayMount; path: string } | undefined {
  for (const o of overlays) {
    const l = o.layers;
    if (l.workDir && under(l.workDir, hostPath) !== undefined) continue;
    for (const dir of [l.upperDir, ...l.lowerDirs, l.mountPoint]) {
      if (!dir) continue;
      const p = under(dir, hostPath);
      if (p !== undefined) return { overlay: o, path: p };
    }
  }
  return undefined;
}

/** How a file's path inside its container was found. */
export type ContainerPathVia = 'namespace' | 'overlay' | 'layout';

export interface ContainerPathOf {
  path: string | null;
  via?: ContainerPathVia;
  /** The snapshot layout, when found that way. */
  layout?: SnapshotLayout;
  /** The overlay mount whose layers hold the file, when one does (whatever gave the path): its container is the file's. */
  overlay?: OverlayMount;
}

/**
 * A file's path inside its container, from what says most: the path a process of the container's mount
 * namespace reaches it by (`known`: its open or mapped files, or the inode walk placed on that
 * namespace's mounts), else the layers of an overlay mount we can see, else the runtime's on-disk layer
 * layout (the overlay is mounted in a namespace we cannot see, or not at all; containers/snapshot.ts).
 *
 * A path found the first two ways that is itself in a snapshot layout is a container's runtime storage
 * seen from inside another container (a kind node's containerd, docker in docker): the innermost
 * container's path is given, as its cgroup is the one the file is attributed to; the outer overlay's
 * container is then not the file's.
 */
export function resolveContainerPath(known: string | undefined, overlays: readonly OverlayMount[], hostPath: string): ContainerPathOf {
  const inOverlay = containerPathOf(overlays, hostPath);
  const outer = known ?? inOverlay?.path;
  const l = containerPathFromLayout(outer ?? hostPath);
  if (l) return { path: l.path, via: 'layout', layout: l.layout };
  const overlay = inOverlay ? { overlay: inOverlay.overlay } : {};
  if (known !== undefined) return { path: known, via: 'namespace', ...overlay };
  if (inOverlay) return { path: inOverlay.path, via: 'overlay', ...overlay };
  return { path: null };
}

/**
 * The coverage row that says how the listed files' container paths were found, and how many files of
 * containers (by their page's cgroup, holder or overlay) have none; undefined when no listed file is in
 * a container.
 */
export function containerPathCoverage(files: readonly { via?: ContainerPathVia; layout?: SnapshotLayout; inContainer: boolean }[]): Coverage | undefined {
  const by = { namespace: 0, overlay: 0, layout: 0 };
  const layouts = new Map<SnapshotLayout, number>();
  let without = 0;
  for (const f of files) {
    if (f.via) by[f.via]++;
    else if (f.inContainer) without++;
    if (f.layout) layouts.set(f.layout, (layouts.get(f.layout) ?? 0) + 1);
  }
  if (by.namespace + by.overlay + by.layout + without === 0) return undefined;
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  const list = [...layouts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([l, n]) => `${l}: ${n}`).join(', ');
  const parts = [
    `${plural(by.overlay, 'file')} mapped through overlay mounts`,
    `${by.layout} through runtime snapshot layouts on disk${list ? ` (${list})` : ''}`,
    `${by.namespace} through processes' mount namespaces`,
  ];
  const missing = `${plural(without, 'container file')} without a path${without > 0 ? ' (a volume or bind mount, named by its host path, or a layer in a layout not known)' : ''}`;
  return { section: 'containerPath', status: without > 0 ? 'partial' : 'complete', reason: `${parts.join(', ')}; ${missing}` };
}

function join(a: string, b: string): string {
  return a.endsWith('/') ? `${a}${b.replace(/^\/+/, '')}` : `${a}${b.startsWith('/') ? '' : '/'}${b}`;
}

/**
 * The host path of a path seen by a process in another mount namespace: the real file in an overlay
 * layer when the path is on an overlay (upper first, then lowers), else through /proc/PID/root.
 */
async function hostPathFor(host: Host, pid: number, mounts: readonly MountInfo[] | undefined, path: string): Promise<{ access: string; containerPath: string }> {
  const m = mounts ? mountOf(mounts, path) : undefined;
  const layers = m ? overlayLayers(m) : undefined;
  if (m && layers) {
    const rel = m.mountPoint === '/' ? path : path.slice(m.mountPoint.length) || '/';
    for (const dir of [layers.upperDir, ...layers.lowerDirs]) {
      if (!dir) continue;
      const p = join(dir, rel);
      if (await host.exists(p)) return { access: p, containerPath: path };
    }
  }
  return { access: `/proc/${pid}/root${path}`, containerPath: path };
}

export interface SourceOptions {
  /** Read /proc/PID/maps too (default true). */
  maps?: boolean;
  concurrency?: number;
  /** Processes the caller already read: /proc/PID/{comm,cgroup,ns/mnt,fd,maps} are not read again. */
  processes?: readonly ScannedProcess[];
}

/** Processes, their files, mounts, overlays and tmpfs: everything but the file system walk. */
export async function collectSources(host: Host, opts: SourceOptions = {}): Promise<Sources> {
  const hostMounts = await readMountinfo(host, 'self');
  let ourNs: string | undefined;
  try {
    ourNs = await host.readLink('/proc/self/ns/mnt');
  } catch {
    ourNs = undefined;
  }
  const processes = new Map<number, ProcInfo>();
  const candidates: Candidate[] = [];
  let unreadable = 0;
  const nsMounts = new Map<string, { pid: number; mounts?: MountInfo[] }>();
  const given = new Map<number, ScannedProcess>();
  const addProcess = (info: ProcInfo): void => {
    processes.set(info.pid, info);
    if (info.mntNs !== undefined && info.mntNs !== ourNs && !nsMounts.has(info.mntNs)) nsMounts.set(info.mntNs, { pid: info.pid });
  };

  if (opts.processes) {
    for (const p of opts.processes) {
      if (p.pid === host.live?.selfPid) continue;
      given.set(p.pid, p);
      addProcess({ pid: p.pid, comm: p.comm, ...(p.memoryCgroup !== undefined ? { memoryCgroup: p.memoryCgroup } : {}), ...(p.mntNs !== undefined ? { mntNs: p.mntNs } : {}) });
    }
  } else {
    const pids = (await listPids(host)).filter((p) => p !== host.live?.selfPid);
    await mapLimit(pids, opts.concurrency ?? 16, async (pid) => {
      const comm = (await host.tryReadText(`/proc/${pid}/comm`))?.trim();
      if (comm === undefined) return;
      const info: ProcInfo = { pid, comm };
      try {
        info.memoryCgroup = memoryCgroupPath(await readProcCgroup(host, pid));
      } catch {
        /* gone or hidden */
      }
      try {
        info.mntNs = await host.readLink(`/proc/${pid}/ns/mnt`);
      } catch {
        /* kernel thread or gone */
      }
      addProcess(info);
    });
  }

  // Other namespaces' mounts (one process each).
  for (const ns of nsMounts.values()) {
    try {
      ns.mounts = await readMountinfo(host, ns.pid);
    } catch {
      /* gone */
    }
  }
  const mountsOfPid = (p: ProcInfo): MountInfo[] | undefined => (p.mntNs !== undefined && p.mntNs !== ourNs ? nsMounts.get(p.mntNs)?.mounts : undefined);

  await mapLimit([...processes.values()], opts.concurrency ?? 16, async (p) => {
    const holder: FileHolder = { pid: p.pid, comm: p.comm };
    const foreign = p.mntNs !== undefined && ourNs !== undefined && p.mntNs !== ourNs;
    const nsm = mountsOfPid(p);
    const scanned = given.get(p.pid);
    let fds: readonly FdEntry[] | undefined;
    if (scanned) fds = scanned.fds;
    else fds = await readFds(host, p.pid).catch(() => undefined);
    if (fds === undefined) unreadable++;
    for (const f of fds ?? []) {
      if (f.kind === 'memfd') {
        candidates.push({ access: `/proc/${p.pid}/fd/${f.fd}`, path: `/memfd:${f.path ?? ''}`, deleted: true, shmem: true, holders: [holder] });
      } else if (f.kind === 'file' && f.path !== undefined) {
        if (f.deleted) {
          candidates.push({ access: `/proc/${p.pid}/fd/${f.fd}`, path: f.path, deleted: true, shmem: false, holders: [holder], ...(foreign ? { containerPath: f.path, viaPid: p.pid } : {}) });
        } else if (foreign) {
          const hp = await hostPathFor(host, p.pid, nsm, f.path);
          candidates.push({ access: hp.access, path: hp.access, containerPath: hp.containerPath, deleted: false, shmem: false, holders: [holder], viaPid: p.pid });
        } else {
          candidates.push({ access: f.path, path: f.path, deleted: false, shmem: false, holders: [holder] });
        }
      }
    }
    if (opts.maps === false) return;
    let maps: readonly MapEntry[] | undefined;
    if (scanned) maps = scanned.maps;
    else maps = await readMaps(host, p.pid).catch(() => undefined); // kernel thread, gone, or hidden
    const seen = new Set<string>();
    for (const m of maps ?? []) {
      if (m.inode === 0 || !(m.kind === 'file' || m.kind === 'memfd' || m.kind === 'posix-shm' || m.kind === 'sysv')) continue;
      const key = `${m.major}:${m.minor}:${m.inode}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const mapFile = `/proc/${p.pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`;
      const shm = m.kind !== 'file';
      if (m.deleted || m.kind === 'sysv' || m.kind === 'memfd') {
        candidates.push({ access: mapFile, path: m.pathname, deleted: m.deleted, shmem: shm, holders: [holder], ...(foreign && m.kind === 'file' ? { containerPath: m.pathname, viaPid: p.pid } : {}) });
      } else if (foreign) {
        const hp = await hostPathFor(host, p.pid, nsm, m.pathname);
        candidates.push({ access: hp.access, path: hp.access, containerPath: hp.containerPath, deleted: false, shmem: shm, holders: [holder], viaPid: p.pid });
      } else {
        candidates.push({ access: m.pathname, path: m.pathname, deleted: false, shmem: shm, holders: [holder] });
      }
    }
  });

  // Overlays: the host's, and the root of every other namespace.
  const overlays: OverlayMount[] = [];
  const seenUpper = new Set<string>();
  const addOverlay = (o: OverlayMount): void => {
    const key = o.layers.upperDir ?? o.layers.lowerDirs.join(':');
    if (seenUpper.has(key)) {
      const prev = overlays.find((x) => (x.layers.upperDir ?? x.layers.lowerDirs.join(':')) === key)!;
      prev.pid ??= o.pid;
      prev.taskId ??= o.taskId;
      return;
    }
    seenUpper.add(key);
    overlays.push(o);
  };
  for (const ns of nsMounts.values()) {
    const root = ns.mounts ? [...ns.mounts].reverse().find((m) => m.mountPoint === '/') : undefined;
    const layers = root ? overlayLayers(root) : undefined;
    if (layers) addOverlay({ layers, pid: ns.pid });
  }
  for (const m of hostMounts) {
    const layers = overlayLayers(m);
    if (!layers) continue;
    const taskId = taskOfRootfs(m.mountPoint);
    addOverlay({ layers, ...(taskId ? { taskId } : {}) });
  }

  // tmpfs: every super block once, reachable from here.
  const tmpfsDevs = new Set<string>();
  const tmpfsRoots: string[] = [];
  const addTmpfs = (mounts: readonly MountInfo[], prefix: string): void => {
    const lastAt = new Map(mounts.map((m, i) => [m.mountPoint, i]));
    for (const [i, m] of mounts.entries()) {
      if (!SHMEM_FS.has(m.fsType)) continue;
      const dev = `${m.major}:${m.minor}`;
      const fresh = !tmpfsDevs.has(dev);
      tmpfsDevs.add(dev);
      if (fresh && lastAt.get(m.mountPoint) === i && m.root === '/') tmpfsRoots.push(prefix === '' ? m.mountPoint : `${prefix}${m.mountPoint}`);
    }
  };
  addTmpfs(hostMounts, '');
  for (const ns of nsMounts.values()) if (ns.mounts) addTmpfs(ns.mounts, `/proc/${ns.pid}/root`);

  const mountPoints = new Set(hostMounts.map((m) => m.mountPoint));
  const localDevs = new Set<string>();
  const localRoots: string[] = [];
  for (const m of [...hostMounts].sort((a, b) => (a.root === '/' ? 0 : 1) - (b.root === '/' ? 0 : 1))) {
    if (!LOCAL_FS.has(m.fsType)) continue;
    const dev = `${m.major}:${m.minor}`;
    if (localDevs.has(dev)) continue;
    localDevs.add(dev);
    localRoots.push(m.mountPoint);
  }
  const namespaces = [...nsMounts.values()].filter((n): n is { pid: number; mounts: MountInfo[] } => n.mounts !== undefined).map((n) => ({ pid: n.pid, mounts: n.mounts }));
  return { processes, candidates, overlays, tmpfsDevs, tmpfsRoots, localRoots, mountPoints, unreadable, hostMounts, namespaces };
}
