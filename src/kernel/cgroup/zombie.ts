/**
 * Zombie (dying) memory cgroups: cgroups that were removed (rmdir) but that the kernel keeps alive because
 * something still references them — mostly page cache and slab objects charged to them. They are
 * invisible in cgroupfs, yet count against memory and slow down reclaim and stat flushing.
 *
 * HOW MANY
 * - v1: /proc/cgroups `num_cgroups` for memory counts every memory cgroup the kernel has, live and
 *   dying, root included; the live ones are the directories of the memory hierarchy. zombies =
 *   num_cgroups − live directories (clamped at 0). Both are read within one walk, but cgroups created
 *   or removed by others during the walk skew the difference by that many; the counter is read right
 *   after the walk to keep the window small. Only exact when the hierarchy is mounted from its root.
 * - v2: cgroup.stat of the root: nr_dying_subsys_memory when the kernel exports it (only css of the
 *   memory controller, exactly what we want), else nr_dying_descendants (dying cgroups of any kind —
 *   an upper bound). Per parent: a cgroup's own count minus its live children's counts gives the zombies
 *   whose nearest live ancestor is that cgroup (exact, counts are hierarchical).
 *
 * HOW MUCH, per live parent P (the nearest live ancestor of a zombie; its pages also show under P in
 * /proc/kpagecgroup):
 * - v1, from memory.stat (exact for user pages up to read skew): total_* counters of P sum P and all
 *   its descendants, dying ones included; the non-total counters are P's own. So
 *     zombieBytes(P) = (total_cache + total_rss)(P) − (cache + rss)(P) − Σ live children (total_cache + total_rss)
 *   v1 also gives usageResidualBytes(P) = usage_in_bytes(P) − (cache + rss)(P) − Σ live children usage_in_bytes:
 *   the same plus kernel memory charged at P itself (P's own slab/stacks and, since 5.9, slab objects
 *   reparented from dying children) — an upper bound, useful when zombies pin slab rather than pages.
 * - v2: memory.stat is hierarchical only; there are no "own" counters. By the no-internal-process rule a
 *   cgroup that passes memory to its children holds no processes, so its own charges are only pages
 *   charged before its processes moved out (rare). Hence
 *     zombieBytes(P) = memory.current(P) − Σ live children memory.current
 *   computed only where P has dying descendants of its own (per-parent count > 0), and it includes
 *   those rare own charges (approximation). Not computed for the v2 root (it has no memory.current and
 *   holds every uncharged page): its zombies are counted, their bytes reported as null.
 * THE zombie count of every command: `oscope mem` and the agent walk the hierarchy anyway and call
 * computeZombies(walk); `oscope inspect` calls countMemcgZombies(host), which walks and calls it too.
 * Hand-made counts (a v2 root's nr_dying_descendants, which counts dying cgroups of every controller)
 * disagree with this one, so there are none.
 *
 * All differences are clamped at 0: counters of different files are read at slightly different instants,
 * so a busy cgroup can make a difference dip below zero (or rise by a few pages) by read skew alone.
 */
import type { Host } from '../../host/host.js';
import { dyingMemoryCount } from './cgroup-stat.js';
import { discoverMemoryHierarchy } from './discover.js';
import { type MemoryCgroup, type MemoryCgroupWalk, walkMemoryCgroups } from './walk.js';

export interface ZombieParent {
  /** The live parent cgroup path. */
  path: string;
  ino: number;
  /** v2: dying memory cgroups whose nearest live ancestor is this one; undefined on v1 (not exported). */
  zombies?: number;
  /** Bytes the dead descendants still hold (see module comment); null when not computable (v2 root). */
  zombieBytes: number | null;
  /** v1: usage-based residual including kernel memory charged at this level (upper bound). */
  usageResidualBytes?: number;
}

export interface MemcgZombies {
  version: 1 | 2;
  /** Memory cgroups the kernel has (v1: /proc/cgroups; v2: live + dying), root included. */
  total: number | undefined;
  /** Live memory cgroups found in cgroupfs, root included. */
  visible: number;
  /** Dying memory cgroups; undefined when the count is not available. */
  zombies: number | undefined;
  /** Sum of byParent zombieBytes (nulls excluded). */
  zombieBytes: number;
  /** Parents with zombies or residual bytes, largest first. */
  byParent: ZombieParent[];
  /** How the figures were obtained, for the report's `method`. */
  method: 'v1-num_cgroups+memory.stat-total' | 'v2-nr_dying_subsys_memory' | 'v2-nr_dying_descendants';
}

const pos = (n: number): number => (n > 0 ? n : 0);

function v1(walk: MemoryCgroupWalk): MemcgZombies {
  const byPath = new Map(walk.cgroups.map((c) => [c.path, c]));
  const hier = (c: MemoryCgroup): number => c.memory.anonBytes + c.memory.fileBytes;
  const byParent: ZombieParent[] = [];
  for (const c of walk.cgroups) {
    const own = (c.memory.own?.anonBytes ?? 0) + (c.memory.own?.fileBytes ?? 0);
    const kids = c.children.map((p) => byPath.get(p)).filter((k): k is MemoryCgroup => k !== undefined);
    const zombieBytes = pos(hier(c) - own - kids.reduce((s, k) => s + hier(k), 0));
    const usageResidualBytes = pos(c.memory.usageBytes - own - kids.reduce((s, k) => s + k.memory.usageBytes, 0));
    if (zombieBytes > 0) byParent.push({ path: c.path, ino: c.ino, zombieBytes, usageResidualBytes });
  }
  byParent.sort((a, b) => (b.zombieBytes ?? 0) - (a.zombieBytes ?? 0));
  const total = walk.numCgroupsAfter ?? walk.hierarchy.numCgroups;
  const visible = walk.cgroups.length;
  return {
    version: 1,
    total,
    visible,
    zombies: total === undefined ? undefined : pos(total - visible),
    zombieBytes: byParent.reduce((s, p) => s + (p.zombieBytes ?? 0), 0),
    byParent,
    method: 'v1-num_cgroups+memory.stat-total',
  };
}

function v2(walk: MemoryCgroupWalk): MemcgZombies {
  const byPath = new Map(walk.cgroups.map((c) => [c.path, c]));
  const byParent: ZombieParent[] = [];
  let exact = true;
  for (const c of walk.cgroups) {
    if (!c.cgroupStat) continue;
    if (!c.cgroupStat.nrDyingSubsys.has('memory')) exact = false;
    const kids = c.children.map((p) => byPath.get(p)).filter((k): k is MemoryCgroup => k !== undefined);
    const direct = pos(dyingMemoryCount(c.cgroupStat) - kids.reduce((s, k) => s + (k.cgroupStat ? dyingMemoryCount(k.cgroupStat) : 0), 0));
    if (direct === 0) continue;
    const zombieBytes = c.memory.usageEstimated ? null : pos(c.memory.usageBytes - kids.reduce((s, k) => s + k.memory.usageBytes, 0));
    byParent.push({ path: c.path, ino: c.ino, zombies: direct, zombieBytes });
  }
  byParent.sort((a, b) => (b.zombieBytes ?? -1) - (a.zombieBytes ?? -1) || (b.zombies ?? 0) - (a.zombies ?? 0));
  // The top of the walk (the root, or the top-level cgroups when the root has no memory files).
  const tops = walk.cgroups.filter((c) => c.depth === Math.min(...walk.cgroups.map((x) => x.depth)));
  const zombies = tops.every((t) => t.cgroupStat) ? tops.reduce((s, t) => s + dyingMemoryCount(t.cgroupStat!), 0) : undefined;
  const visible = walk.cgroups.length;
  return {
    version: 2,
    total: zombies === undefined ? undefined : visible + zombies,
    visible,
    zombies,
    zombieBytes: byParent.reduce((s, p) => s + (p.zombieBytes ?? 0), 0),
    byParent,
    method: exact ? 'v2-nr_dying_subsys_memory' : 'v2-nr_dying_descendants',
  };
}

/** Pure: zombie counts and bytes from a walk (see the module comment for the method). */
export function computeZombies(walk: MemoryCgroupWalk): MemcgZombies {
  return walk.hierarchy.version === 1 ? v1(walk) : v2(walk);
}

/**
 * Walks the memory hierarchy and counts its zombies: for callers that do not walk it themselves
 * (inspect). Undefined when no memory hierarchy is mounted. Throws HostError like walkMemoryCgroups.
 */
export async function countMemcgZombies(host: Host): Promise<MemcgZombies | undefined> {
  const hierarchy = await discoverMemoryHierarchy(host);
  if (!hierarchy) return undefined;
  return computeZombies(await walkMemoryCgroups(host, { hierarchy }));
}
