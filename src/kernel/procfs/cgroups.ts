/**
 * /proc/cgroups — the cgroup controllers this kernel knows (kernel/cgroup/cgroup-v1.c,
 * proc_cgroupstats_show(); Documentation/admin-guide/cgroup-v1/cgroups.rst).
 *
 *   #subsys_name	hierarchy	num_cgroups	enabled
 *   memory	4	14	1
 * - hierarchy: the cgroup v1 hierarchy id the controller is mounted on; 0 when it is not on any v1
 *   hierarchy (on cgroup v2, or unused).
 * - num_cgroups: cgroups in the controller's hierarchy (root->nr_cgrps), which includes removed
 *   cgroups that are not freed yet ("dying"/zombie cgroups). Controllers on cgroup v2 (hierarchy 0) all
 *   show the v2 hierarchy's count, so the same number repeats. The counts change by themselves whenever
 *   anything on the host creates or removes cgroups.
 * - enabled: 1 unless disabled with cgroup_disable= on the kernel command line.
 * The set of controllers depends on the kernel config; absent names are simply not in the map.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const CGROUPS_PATH = '/proc/cgroups';

export interface CgroupController {
  subsys_name: string;
  hierarchy: number;
  num_cgroups: number;
  enabled: boolean;
}

export interface Cgroups {
  controllers: Map<string, CgroupController>;
}

export function parseCgroups(text: string, file = CGROUPS_PATH): Cgroups {
  const lines = text.split('\n');
  const head = (lines[0] ?? '').trim().split(/\s+/);
  if (head.join(' ') !== '#subsys_name hierarchy num_cgroups enabled') {
    throw new ParseError(file, 1, `unexpected header ${JSON.stringify(lines[0] ?? '')}`);
  }
  const controllers = new Map<string, CgroupController>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const f = line.trim().split(/\s+/);
    if (f.length !== 4 || !/^[a-z_0-9]+$/.test(f[0]!)) throw new ParseError(file, ln, `expected 4 fields, got ${JSON.stringify(line)}`);
    const enabled = parseIntField(f[3], file, ln, 'enabled');
    if (enabled !== 0 && enabled !== 1) throw new ParseError(file, ln, `enabled must be 0 or 1, got ${enabled}`);
    const c: CgroupController = {
      subsys_name: f[0]!,
      hierarchy: parseIntField(f[1], file, ln, 'hierarchy'),
      num_cgroups: parseIntField(f[2], file, ln, 'num_cgroups'),
      enabled: enabled === 1,
    };
    if (c.hierarchy < 0 || c.num_cgroups < 0) throw new ParseError(file, ln, 'negative count');
    controllers.set(c.subsys_name, c);
  }
  return { controllers };
}

export async function readCgroups(host: Host): Promise<Cgroups> {
  return parseCgroups(await host.readText(CGROUPS_PATH));
}
