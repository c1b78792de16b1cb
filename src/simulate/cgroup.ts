/**
 * Where memory cgroups can be created: the mount of the hierarchy that has the memory controller.
 *
 * A minimal private helper (src/kernel/cgroup/ was being written at the same time): cgroup v1 is the
 * `cgroup` mount whose super options list `memory`; cgroup v2 is a `cgroup2` mount whose
 * cgroup.controllers lists `memory` (a v2 mount without it, as in hybrid setups, is never chosen).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryHierarchy {
  version: 1 | 2;
  /** Mount point of the hierarchy's root as this process sees it. */
  mount: string;
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Picks the memory hierarchy from /proc/self/mountinfo text. `controllers(mount)` returns the content of
 * a cgroup2 mount's cgroup.controllers (or undefined when unreadable).
 */
export function findMemoryHierarchy(
  mountinfo: string,
  controllers: (mount: string) => string | undefined,
): MemoryHierarchy | undefined {
  let v2: MemoryHierarchy | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const mount = pre[4];
    const fstype = post[0];
    const superOpts = (post[2] ?? '').split(',');
    if (mount === undefined) continue;
    if (fstype === 'cgroup' && superOpts.includes('memory')) return { version: 1, mount: unescapeMountPath(mount) };
    if (fstype === 'cgroup2' && v2 === undefined) {
      const path = unescapeMountPath(mount);
      const c = controllers(path);
      if (c !== undefined && c.trim().split(/\s+/).includes('memory')) v2 = { version: 2, mount: path };
    }
  }
  return v2;
}

export function detectMemoryHierarchy(): MemoryHierarchy | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  return findMemoryHierarchy(text, (m) => {
    try {
      return readFileSync(join(m, 'cgroup.controllers'), 'utf8');
    } catch {
      return undefined;
    }
  });
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
