/**
 * Where memory cgroups can be created: the mount of the hierarchy that has the memory controller, as
 * src/kernel/cgroup/discover.ts chooses it (cgroup v1 mount with `memory`, else a cgroup2 mount whose
 * cgroup.controllers lists memory; a v2 mount without it, as in hybrid setups, is never chosen). The
 * simulations read synchronously (they run before and after an event loop exists), hence this wrapper.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryHierarchyOf } from '../kernel/cgroup/discover.js';
import { parseCgroupHierarchies } from '../kernel/cgroup/hierarchies.js';
import { parseMemoryStatV1, parseMemoryStatV2 } from '../kernel/cgroup/memory-stat.js';
import { parseCgroups } from '../kernel/procfs/cgroups.js';

export interface MemoryHierarchy {
  version: 1 | 2;
  /** Mount point of the hierarchy's root as this process sees it. */
  mount: string;
}

/**
 * Picks the memory hierarchy from /proc/self/mountinfo text. `controllers(mount)` returns the content of
 * a cgroup2 mount's cgroup.controllers (or undefined when unreadable); `cgroupsText` is /proc/cgroups.
 * Unparseable input gives undefined: a simulation then says it cannot create memory cgroups.
 */
export function findMemoryHierarchy(
  mountinfo: string,
  controllers: (mount: string) => string | undefined,
  cgroupsText?: string,
): MemoryHierarchy | undefined {
  let cgroups;
  try {
    cgroups = cgroupsText === undefined ? undefined : parseCgroups(cgroupsText);
  } catch {
    cgroups = undefined;
  }
  let h;
  try {
    h = memoryHierarchyOf(parseCgroupHierarchies({ mountinfo, ...(cgroups ? { cgroups } : {}), v2Controllers: controllers }));
  } catch {
    return undefined;
  }
  return h && { version: h.version, mount: h.mountPoint };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The simulations read synchronously (they run before and after an event loop exists). */
export function detectMemoryHierarchy(): MemoryHierarchy | undefined {
  const text = readOptional('/proc/self/mountinfo');
  if (text === undefined) return undefined;
  return findMemoryHierarchy(text, (m) => readOptional(join(m, 'cgroup.controllers')), readOptional('/proc/cgroups'));
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
  const file = join(cgroupPath, 'memory.stat');
  const text = readOptional(file);
  if (text === undefined) return undefined;
  try {
    return h.version === 1 ? parseMemoryStatV1(text, file).get('cache') : parseMemoryStatV2(text, file).get('file');
  } catch {
    return undefined;
  }
}
