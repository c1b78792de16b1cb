/**
 * Where memory cgroups can be created: the mount of the hierarchy that has the memory controller, as
 * src/kernel/cgroup/discover.ts chooses it (cgroup v1 mount with `memory`, else a cgroup2 mount whose
 * cgroup.controllers lists memory; a v2 mount without it, as in hybrid setups, is never chosen). The
 * simulations read synchronously (they run before and after an event loop exists), hence this wrapper.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseMemoryHierarchy } from '../kernel/cgroup/discover.js';
import { parseCgroups } from '../kernel/procfs/cgroups.js';
import { parseMountinfo } from '../kernel/procfs/pid/mountinfo.js';

export interface MemoryHierarchy {
  version: 1 | 2;
  /** Mount point of the hierarchy's root as this process sees it. */
  mount: string;
}

/**
 * Picks the memory hierarchy from /proc/self/mountinfo text. `controllers(mount)` returns the content of
 * a cgroup2 mount's cgroup.controllers (or undefined when unreadable); `cgroupsText` is /proc/cgroups.
 */
export function findMemoryHierarchy(
  mountinfo: string,
  controllers: (mount: string) => string | undefined,
  cgroupsText?: string,
): MemoryHierarchy | undefined {
  let mounts;
  try {
    mounts = parseMountinfo(mountinfo);
  } catch {
    return undefined;
  }
  let memoryRow;
  try {
    memoryRow = cgroupsText === undefined ? undefined : parseCgroups(cgroupsText).controllers.get('memory');
  } catch {
    memoryRow = undefined;
  }
  const v2 = new Map(mounts.filter((m) => m.fsType === 'cgroup2').map((m) => [m.mountPoint, controllers(m.mountPoint)] as const));
  const h = chooseMemoryHierarchy(mounts, memoryRow, v2);
  return h && { version: h.version, mount: h.mountPoint };
}

export function detectMemoryHierarchy(): MemoryHierarchy | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  let cgroups: string | undefined;
  try {
    cgroups = readFileSync('/proc/cgroups', 'utf8');
  } catch {
    cgroups = undefined;
  }
  return findMemoryHierarchy(
    text,
    (m) => {
      try {
        return readFileSync(join(m, 'cgroup.controllers'), 'utf8');
      } catch {
        return undefined;
      }
    },
    cgroups,
  );
}

/**
 * Why memory cgroups cannot be created under the hierarchy's root, or undefined when they can. On v2 the
 * root must already delegate memory to its children (cgroup.subtree_control); we never change that.
 */
export function memoryCgroupProblem(h: MemoryHierarchy | undefined): string | undefined {
  if (!h) return 'this host has no cgroup hierarchy with the memory controller mounted';
  if (h.version === 2) {
    try {
      const sub = readFileSync(join(h.mount, 'cgroup.subtree_control'), 'utf8');
      if (!sub.trim().split(/\s+/).includes('memory')) {
        return `${h.mount}/cgroup.subtree_control does not enable memory, so new cgroups there would not account memory`;
      }
    } catch {
      return `cannot read ${h.mount}/cgroup.subtree_control`;
    }
  }
  return undefined;
}

/** Page cache bytes charged to a cgroup: v1 memory.stat `cache`, v2 memory.stat `file`. */
export function cgroupCacheBytes(h: MemoryHierarchy, cgroupPath: string): number | undefined {
  try {
    const text = readFileSync(join(cgroupPath, 'memory.stat'), 'utf8');
    const key = h.version === 1 ? 'cache' : 'file';
    for (const line of text.split('\n')) {
      const [k, v] = line.split(' ');
      if (k === key && v !== undefined) return Number(v);
    }
  } catch {
    /* fallthrough */
  }
  return undefined;
}
