/**
 * Where is the memory controller? The hierarchy that carries `memory`, as src/kernel/cgroup/hierarchies.ts
 * lays the host's hierarchies out:
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
import type { CgroupController } from '../procfs/cgroups.js';
import type { MountInfo } from '../procfs/pid/mountinfo.js';
import { type CgroupLayout, controllerHierarchy, parseCgroupHierarchies, readCgroupHierarchies } from './hierarchies.js';

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

/** The memory hierarchy of a layout, or undefined when memory is disabled or mounted nowhere. */
export function memoryHierarchyOf(layout: CgroupLayout): MemoryHierarchy | undefined {
  const h = controllerHierarchy(layout, 'memory');
  if (!h) return undefined;
  const row = layout.controllers.get('memory');
  return { version: h.version, mountPoint: h.mountPoint, mountRoot: h.mountRoot, ...(row ? { hierarchyId: row.hierarchy, numCgroups: row.numCgroups } : {}) };
}

/**
 * Pure choice from mountinfo, the memory row of /proc/cgroups (if known), and a lookup of each v2
 * mount's root cgroup.controllers text. (For callers holding those pieces; the layout is the general form.)
 */
export function chooseMemoryHierarchy(
  mounts: readonly MountInfo[],
  memoryRow: CgroupController | undefined,
  v2Controllers: ReadonlyMap<string, string | undefined>,
): MemoryHierarchy | undefined {
  const layout = parseCgroupHierarchies({
    mountinfo: mounts,
    ...(memoryRow ? { cgroups: { controllers: new Map([['memory', memoryRow]]) } } : {}),
    v2Controllers: (m) => v2Controllers.get(m),
  });
  return memoryHierarchyOf(layout);
}

/** The memory hierarchy of this host, or `undefined` when memory cgroups are not available. */
export async function discoverMemoryHierarchy(host: Host): Promise<MemoryHierarchy | undefined> {
  return memoryHierarchyOf(await readCgroupHierarchies(host));
}
