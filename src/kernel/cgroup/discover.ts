/**
 * Where is the memory controller? Finds the cgroup hierarchy that carries `memory`, from mountinfo and
 * /proc/cgroups:
 *
 * - cgroup v1: a mount of type `cgroup` whose super options include `memory` (e.g.
 *   `/sys/fs/cgroup/memory`, or a combined mount). /proc/cgroups gives memory a non-zero hierarchy id.
 * - cgroup v2: a mount of type `cgroup2` whose root `cgroup.controllers` lists `memory`. /proc/cgroups
 *   shows hierarchy 0 for controllers bound to v2 (or not mounted at all).
 *
 * A hybrid host (systemd's "hybrid" mode, and this development VM) has both: v1 per-controller mounts
 * plus a v2 mount at /sys/fs/cgroup/unified *without* memory. Memory can be bound to only one hierarchy,
 * so the v2 mount is chosen only when its cgroup.controllers really lists memory.
 *
 * Among several mounts of the same hierarchy (bind mounts, container views) the one whose root is `/`
 * is preferred, so that paths are relative to the real hierarchy root.
 */
import type { Host } from '../../host/host.js';
import { type CgroupController, parseCgroups } from '../procfs/cgroups.js';
import { type MountInfo, parseMountinfo } from '../procfs/pid/mountinfo.js';

export interface MemoryHierarchy {
  version: 1 | 2;
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** The mount's root within the hierarchy (`/` unless only a sub-tree is mounted). */
  mountRoot: string;
  /** /proc/cgroups hierarchy id for memory (0 on v2). */
  hierarchyId?: number;
  /** /proc/cgroups num_cgroups for memory: every memory cgroup the kernel still has, dying ones included. */
  numCgroups?: number;
}

/**
 * Pure choice from mountinfo, the memory row of /proc/cgroups (if known), and a lookup of each v2
 * mount's root cgroup.controllers text.
 */
export function chooseMemoryHierarchy(
  mounts: readonly MountInfo[],
  memoryRow: CgroupController | undefined,
  v2Controllers: ReadonlyMap<string, string | undefined>,
): MemoryHierarchy | undefined {
  if (memoryRow && !memoryRow.enabled) return undefined;
  const rank = (m: MountInfo): number => (m.root === '/' ? 0 : 1);
  const extra = memoryRow ? { hierarchyId: memoryRow.hierarchy, numCgroups: memoryRow.num_cgroups } : {};
  const v1 = mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.has('memory')).sort((a, b) => rank(a) - rank(b))[0];
  if (v1 && (!memoryRow || memoryRow.hierarchy !== 0)) {
    return { version: 1, mountPoint: v1.mountPoint, mountRoot: v1.root, ...extra };
  }
  const v2 = mounts
    .filter((m) => m.fsType === 'cgroup2' && (v2Controllers.get(m.mountPoint) ?? '').split(/\s+/).includes('memory'))
    .sort((a, b) => rank(a) - rank(b))[0];
  if (v2) return { version: 2, mountPoint: v2.mountPoint, mountRoot: v2.root, ...extra };
  return undefined;
}

/** The memory hierarchy of this host, or `undefined` when memory cgroups are not available. */
export async function discoverMemoryHierarchy(host: Host): Promise<MemoryHierarchy | undefined> {
  let text = await host.tryReadText('/proc/self/mountinfo');
  let file = '/proc/self/mountinfo';
  if (text === undefined) {
    file = '/proc/1/mountinfo';
    text = await host.readText(file);
  }
  const mounts = parseMountinfo(text, file);
  const cg = await host.tryReadText('/proc/cgroups');
  const memoryRow = cg === undefined ? undefined : parseCgroups(cg).controllers.get('memory');
  const v2Controllers = new Map<string, string | undefined>();
  for (const m of mounts) {
    if (m.fsType === 'cgroup2') v2Controllers.set(m.mountPoint, await host.tryReadText(`${m.mountPoint}/cgroup.controllers`));
  }
  return chooseMemoryHierarchy(mounts, memoryRow, v2Controllers);
}
