/**
 * /proc/PID/cgroup — the cgroup of a process in each hierarchy (proc_cgroup_show() in kernel/cgroup).
 *
 * One line per hierarchy: `hierarchy-id:controller-list:path`.
 * - cgroup v1: `4:memory:/kubepods/burstable/pod.../abc`; named hierarchies list `name=systemd`;
 *   a hierarchy may carry several controllers (`3:cpu,cpuacct:/`).
 * - cgroup v2 (unified): `0::/system.slice/foo.service`. On a pure v2 host that is the only line.
 * The path is relative to the hierarchy's root as seen from the reader's cgroup namespace.
 * A path may end with " (deleted)" when the cgroup was removed while the process is in it (kept as is).
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Controllers of this hierarchy (`memory`, `cpu`, `name=systemd`); empty for v2. */
  controllers: string[];
  path: string;
}

export function procCgroupPath(pid: number): string {
  return `/proc/${pid}/cgroup`;
}

export function parseProcCgroup(text: string, file = '/proc/PID/cgroup'): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (a < 0 || b < 0) throw new ParseError(file, i + 1, `expected "id:controllers:path", got ${JSON.stringify(line)}`);
    const hierarchyId = parseIntField(line.slice(0, a), file, i + 1, 'hierarchy id');
    const ctl = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (!path.startsWith('/')) throw new ParseError(file, i + 1, `cgroup path must start with "/", got ${JSON.stringify(path)}`);
    out.push({ hierarchyId, controllers: ctl === '' ? [] : ctl.split(','), path });
  }
  if (out.length === 0) throw new ParseError(file, 1, 'no cgroup lines');
  return out;
}

/**
 * The path of the memory cgroup: the v1 line whose controllers include `memory`, else the v2 `0::` line.
 * On a hybrid host (v1 memory + v2 for other controllers) the v1 line wins, because that is where memory
 * is charged. `undefined` when neither exists.
 */
export function memoryCgroupPath(entries: readonly ProcCgroupEntry[]): string | undefined {
  const v1 = entries.find((e) => e.controllers.includes('memory'));
  if (v1) return v1.path;
  return entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0)?.path;
}

export async function readProcCgroup(host: Host, pid: number): Promise<ProcCgroupEntry[]> {
  const path = procCgroupPath(pid);
  return parseProcCgroup(await host.readText(path), path);
}
