/**
 * cgroup.stat — per-cgroup counts of descendants (cgroup v2 only; v1 hierarchies have no such file).
 *
 *   nr_descendants 12              live descendant cgroups, all depths
 *   nr_dying_descendants 3         removed (rmdir'ed) descendants the kernel still keeps alive
 *   nr_subsys_memory 12            (recent kernels) live descendants per controller (incl. the cgroup itself)
 *   nr_dying_subsys_memory 2       (recent kernels) dying css of a controller among the descendants
 *
 * A dying cgroup lingers while anything still references it; for memory that is mostly page cache and
 * slab objects charged to it. nr_dying_subsys_memory counts exactly those memory css (a cgroup without
 * the memory controller never holds memory), so it is preferred over nr_dying_descendants when present.
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';
import { parseFlatKeyed } from './memory-stat.js';

export interface CgroupStat {
  nrDescendants: number;
  nrDyingDescendants: number;
  /** nr_subsys_<controller>, when the kernel exports it (recent kernels). */
  nrSubsys: Map<string, number>;
  /** nr_dying_subsys_<controller>, when the kernel exports it (recent kernels). */
  nrDyingSubsys: Map<string, number>;
  fields: Map<string, number>;
}

export function parseCgroupStat(text: string, file = 'cgroup.stat'): CgroupStat {
  const fields = parseFlatKeyed(text, file);
  const get = (k: string): number => {
    const v = fields.get(k);
    if (v === undefined) throw new ParseError(file, 1, `${k} is missing`);
    return v;
  };
  const nrSubsys = new Map<string, number>();
  const nrDyingSubsys = new Map<string, number>();
  for (const [k, v] of fields) {
    if (k.startsWith('nr_dying_subsys_')) nrDyingSubsys.set(k.slice('nr_dying_subsys_'.length), v);
    else if (k.startsWith('nr_subsys_')) nrSubsys.set(k.slice('nr_subsys_'.length), v);
  }
  return { nrDescendants: get('nr_descendants'), nrDyingDescendants: get('nr_dying_descendants'), nrSubsys, nrDyingSubsys, fields };
}

/** Dying memory cgroups below a cgroup: nr_dying_subsys_memory when exported, else nr_dying_descendants. */
export function dyingMemoryCount(s: CgroupStat): number {
  return s.nrDyingSubsys.get('memory') ?? s.nrDyingDescendants;
}

export async function readCgroupStat(host: Host, dir: string): Promise<CgroupStat> {
  const file = `${dir}/cgroup.stat`;
  return parseCgroupStat(await host.readText(file), file);
}
