/**
 * Walks the memory cgroup hierarchy: every live memory cgroup with its usage, memory.stat, limit,
 * children, and (v2) cgroup.stat.
 *
 * - Paths are relative to the hierarchy root (`/`, `/system.slice/foo.service`), i.e. the same strings
 *   /proc/PID/cgroup shows (when the hierarchy is mounted from its root).
 * - `ino` is the cgroup directory's inode number: the id /proc/kpagecgroup reports for pages charged
 *   to this cgroup (pages of a dead cgroup show under its nearest live ancestor).
 * - Leaves are found without listing them: cgroupfs (kernfs) sets a directory's link count to
 *   2 + its number of sub-directories, so a directory with nlink 2 has no children.
 * - Cgroups removed during the walk are skipped (ENOENT), not errors.
 * - On v2, a directory is a memory cgroup when it has memory.stat (the parent enabled `memory` in its
 *   cgroup.subtree_control); the walk does not descend below a directory without it, since the
 *   controller is enabled top-down.
 */
import { HostError, type Host } from '../../host/host.js';
import { type CgroupStat, readCgroupStat } from './cgroup-stat.js';
import { parseCgroups } from '../procfs/cgroups.js';
import { type MemoryHierarchy, discoverMemoryHierarchy } from './discover.js';
import { type CgroupMemory, readCgroupMemory } from './memory-stat.js';

export interface MemoryCgroup {
  /** Path relative to the hierarchy root, `/` for the root. */
  path: string;
  /** The absolute directory on the host. */
  dir: string;
  /** Inode of the cgroup directory (= the /proc/kpagecgroup id). */
  ino: number;
  depth: number;
  /** Paths of live child memory cgroups. */
  children: string[];
  memory: CgroupMemory;
  /** The raw memory.stat. */
  stat: Map<string, number>;
  /** v2 only. */
  cgroupStat?: CgroupStat;
}

export interface MemoryCgroupWalk {
  hierarchy: MemoryHierarchy;
  /** Pre-order: parents before children. */
  cgroups: MemoryCgroup[];
  /**
   * /proc/cgroups num_cgroups for memory read right after the walk (v1 zombie count input); undefined
   * when the file is missing.
   */
  numCgroupsAfter?: number;
  /** Directories that could not be read (permission), with the error code. */
  errors: { dir: string; code: string }[];
}

export interface WalkOptions {
  /** Defaults to discoverMemoryHierarchy(host). */
  hierarchy?: MemoryHierarchy;
  /** Stop below this depth (root = 0). Default: unlimited. */
  maxDepth?: number;
}

function joinPath(base: string, name: string): string {
  return base === '/' ? `/${name}` : `${base}/${name}`;
}

function gone(err: unknown): boolean {
  return err instanceof HostError && err.notFound;
}

/** Names that are control files in any cgroup version (a cgroup could still be named like one: checked last). */
const CONTROL_FILE = /^(cgroup|memory|cpu|cpuacct|cpuset|io|blkio|pids|hugetlb|rdma|misc|devices|freezer|net_cls|net_prio|perf_event)\.|^(tasks|notify_on_release|release_agent)$/;

/**
 * The sub-directories of a cgroup directory. kernfs gives a directory nlink = 2 + sub-directories, so
 * once that many are found the control files need not be stat'ed; names that look like cgroups are tried
 * first. With nlink < 2 (a file system without directory link counts, e.g. some bundle hosts) all are checked.
 */
async function childDirs(host: Host, dir: string, nlink: number): Promise<string[]> {
  const names = await host.readDir(dir);
  const want = nlink >= 2 ? nlink - 2 : Infinity;
  const isDir = async (n: string): Promise<string | undefined> => {
    try {
      return (await host.stat(`${dir}/${n}`)).isDirectory ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const found: string[] = [];
  for (const group of [names.filter((n) => !CONTROL_FILE.test(n)), names.filter((n) => CONTROL_FILE.test(n))]) {
    if (found.length >= want) break;
    for (const n of await Promise.all(group.map(isDir))) if (n !== undefined) found.push(n);
  }
  return found.sort();
}

/** Every live memory cgroup. Throws HostError when there is no memory hierarchy (code ENOENT). */
export async function walkMemoryCgroups(host: Host, opts: WalkOptions = {}): Promise<MemoryCgroupWalk> {
  const hierarchy = opts.hierarchy ?? (await discoverMemoryHierarchy(host));
  if (!hierarchy) throw new HostError('/proc/self/mountinfo', 'ENOENT', 'no memory cgroup hierarchy is mounted on this host');
  const cgroups: MemoryCgroup[] = [];
  const errors: { dir: string; code: string }[] = [];
  const maxDepth = opts.maxDepth ?? Infinity;
  const mount = hierarchy.mountPoint.replace(/\/+$/, '');

  const visit = async (relFromMount: string, depth: number): Promise<MemoryCgroup[] | undefined> => {
    const dir = relFromMount === '/' ? mount : mount + relFromMount;
    const path = hierarchy.mountRoot === '/' ? relFromMount : relFromMount === '/' ? hierarchy.mountRoot : hierarchy.mountRoot + relFromMount;
    let node: MemoryCgroup;
    let subdirs: string[] = [];
    try {
      const st = await host.stat(dir);
      if (!st.isDirectory) return undefined;
      let mem: Awaited<ReturnType<typeof readCgroupMemory>>;
      try {
        mem = await readCgroupMemory(host, dir, hierarchy.version);
      } catch (err) {
        // v2: no memory.stat → the memory controller is not enabled here (or we are at an old root).
        if (hierarchy.version === 2 && gone(err) && (await host.exists(dir))) return undefined;
        throw err;
      }
      let cgroupStat: CgroupStat | undefined;
      if (hierarchy.version === 2 && (await host.exists(`${dir}/cgroup.stat`))) cgroupStat = await readCgroupStat(host, dir);
      node = { path, dir, ino: st.ino, depth, children: [], memory: mem.memory, stat: mem.stat, cgroupStat };
      if (st.nlink !== 2 && depth < maxDepth) subdirs = await childDirs(host, dir, st.nlink);
    } catch (err) {
      if (gone(err)) return undefined;
      if (err instanceof HostError && err.denied) {
        errors.push({ dir, code: err.code });
        return undefined;
      }
      throw err;
    }
    const out: MemoryCgroup[] = [node];
    const kids = await Promise.all(subdirs.map((n) => visit(joinPath(relFromMount, n), depth + 1)));
    for (const k of kids) {
      if (!k) continue;
      node.children.push(k[0]!.path);
      out.push(...k);
    }
    return out;
  };

  // The v2 root may lack memory.stat on old kernels: then walk its children as the top level.
  const root = await visit('/', 0);
  if (root) cgroups.push(...root);
  else if (hierarchy.version === 2) {
    const names = await host.readDir(mount);
    for (const n of names.sort()) {
      const k = await visit(`/${n}`, 1);
      if (k) cgroups.push(...k);
    }
  }
  const pc = await host.tryReadText('/proc/cgroups');
  const numCgroupsAfter = pc === undefined ? undefined : parseCgroups(pc).controllers.get('memory')?.num_cgroups;
  return { hierarchy, cgroups, numCgroupsAfter, errors };
}
