/**
 * The cgroup hierarchies of a host: which hierarchies exist (cgroup v1 per-controller or named ones, the
 * cgroup v2 unified one), which controllers each carries, where each is mounted, and where a process
 * sits in each (from /proc/PID/cgroup). The one place that knows this; memory discovery
 * (./discover.ts), the latency filters (src/diagnose/latency/) and the simulations (src/simulate/) all
 * ask here.
 *
 * Sources (Documentation/admin-guide/cgroup-v1/cgroups.rst, cgroup-v2.rst):
 * - mountinfo: a mount of type `cgroup` is a v1 hierarchy; its super options name its controllers
 *   (`rw,cpu,cpuacct`) and, for a named hierarchy, `name=systemd`, next to flags that are not
 *   controllers (`xattr`, `noprefix`, `release_agent=…`, `clone_children`, `cpuset_v2_mode`, …). A mount
 *   of type `cgroup2` is the unified hierarchy (there is only one, however often it is mounted).
 *   Bind mounts and container views mount a sub-tree: field 4 (`root`) says which; a mount of the
 *   hierarchy's root (`/`) is preferred so that paths read from /proc/PID/cgroup apply as they are.
 * - /proc/cgroups: every controller the kernel was built with, in subsystem-id order (for_each_subsys,
 *   so a controller's line index is its ssid, which BPF's task->cgroups->subsys[] is indexed by), with
 *   its v1 hierarchy id (0 when it is on v2 or unused), num_cgroups and whether it is enabled.
 * - the v2 root's cgroup.controllers: the controllers bound to v2 (empty on a hybrid host whose
 *   controllers all sit on v1, as on systemd's "hybrid" layout and this development VM).
 * - /proc/PID/cgroup: `id:controllers:path` per hierarchy (`0::/path` for v2).
 *
 * `parseCgroupHierarchies` is pure (texts in, layout out); `readCgroupHierarchies(host)` reads the files.
 */
import { join } from 'node:path';
import type { Host } from '../../host/host.js';
import { type Cgroups, parseCgroups } from '../procfs/cgroups.js';
import { type ProcCgroupEntry, readProcCgroup } from '../procfs/pid/cgroup.js';
import { type MountInfo, SELF_MOUNTINFO, parseMountinfo } from '../procfs/pid/mountinfo.js';

/** One mount of a hierarchy. */
export interface CgroupMountRef {
  mountPoint: string;
  /** The mount's root within the hierarchy (`/` unless only a sub-tree is mounted). */
  root: string;
}

export interface CgroupHierarchyInfo {
  version: 1 | 2;
  /**
   * The kernel's hierarchy id, as /proc/cgroups and /proc/PID/cgroup show it: 0 for v2; for v1 the id
   * of its controllers' /proc/cgroups rows (undefined for a named hierarchy without controllers, or
   * when /proc/cgroups was not readable).
   */
  id: number | undefined;
  /**
   * Controllers of this hierarchy: v1 from the mount's super options; v2 from the root's
   * cgroup.controllers (empty when it lists none or could not be read; see `controllersKnown`).
   */
  controllers: string[];
  /** v2: whether cgroup.controllers could be read. Always true for v1 (the mount says it). */
  controllersKnown: boolean;
  /** A v1 named hierarchy (`name=systemd` → `systemd`). */
  name?: string;
  /** The preferred mount: the hierarchy's root when mounted, else the first mount. */
  mountPoint: string;
  mountRoot: string;
  /** Every mount of this hierarchy, the preferred one first. */
  mounts: CgroupMountRef[];
}

/** A /proc/cgroups row with its subsystem id. */
export interface CgroupControllerInfo {
  name: string;
  /** Subsystem id: the row's index in /proc/cgroups. */
  ssid: number;
  /** v1 hierarchy id, 0 when on v2 or not mounted. */
  hierarchy: number;
  numCgroups: number;
  enabled: boolean;
}

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface CgroupLayout {
  /** v1 only, v2 only, both mounted (hybrid), or no cgroup file system mounted. */
  mode: CgroupMode;
  /** v1 hierarchies in mountinfo order, then v2 when mounted. */
  hierarchies: CgroupHierarchyInfo[];
  /** The unified (v2) hierarchy when it is mounted. */
  v2: CgroupHierarchyInfo | undefined;
  /** /proc/cgroups by controller name; empty when it was not readable. */
  controllers: Map<string, CgroupControllerInfo>;
}

/** cgroup v1 mount flags that are not controllers (cgroup1_parse_param() in kernel/cgroup/cgroup-v1.c). */
const V1_MOUNT_FLAGS = new Set(['rw', 'ro', 'none', 'all', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'xattr', 'favordynmods', 'nofavordynmods']);

export interface CgroupHierarchyInput {
  /** /proc/self/mountinfo text, or its parsed mounts. */
  mountinfo: string | readonly MountInfo[];
  /** /proc/cgroups text (or parsed), when readable. */
  cgroups?: string | Cgroups;
  /** Content of `<mount>/cgroup.controllers` of a cgroup2 mount, undefined when unreadable. */
  v2Controllers?: (mountPoint: string) => string | undefined;
  /** Names the mountinfo text in parse errors. */
  mountinfoFile?: string;
}

const byRootFirst = (a: CgroupMountRef, b: CgroupMountRef): number => (a.root === '/' ? 0 : 1) - (b.root === '/' ? 0 : 1);

function controllerTable(cg: Cgroups | undefined): Map<string, CgroupControllerInfo> {
  const out = new Map<string, CgroupControllerInfo>();
  if (!cg) return out;
  let ssid = 0;
  for (const c of cg.controllers.values()) {
    out.set(c.subsys_name, { name: c.subsys_name, ssid: ssid++, hierarchy: c.hierarchy, numCgroups: c.num_cgroups, enabled: c.enabled });
  }
  return out;
}

/** Pure: the layout from mountinfo, /proc/cgroups and the v2 root's cgroup.controllers. */
export function parseCgroupHierarchies(input: CgroupHierarchyInput): CgroupLayout {
  const mounts = typeof input.mountinfo === 'string' ? parseMountinfo(input.mountinfo, input.mountinfoFile) : input.mountinfo;
  const controllers = controllerTable(typeof input.cgroups === 'string' ? parseCgroups(input.cgroups) : input.cgroups);
  // v1: one hierarchy per set of controllers (a controller is bound to one hierarchy at most) or name.
  const v1 = new Map<string, CgroupHierarchyInfo>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const name = m.superOptions.get('name') || undefined;
    const ctl = [...m.superOptions.entries()]
      .filter(([k, v]) => v === '' && !V1_MOUNT_FLAGS.has(k) && (controllers.size === 0 || controllers.has(k)))
      .map(([k]) => k)
      .sort();
    const key = `${ctl.join(',')}|${name ?? ''}`;
    const ref = { mountPoint: m.mountPoint, root: m.root };
    const h = v1.get(key);
    if (h) {
      h.mounts.push(ref);
      continue;
    }
    const ids = ctl.map((c) => controllers.get(c)?.hierarchy).filter((x): x is number => x !== undefined && x > 0);
    v1.set(key, { version: 1, id: ids[0], controllers: ctl, controllersKnown: true, ...(name ? { name } : {}), mountPoint: m.mountPoint, mountRoot: m.root, mounts: [ref] });
  }
  const hierarchies = [...v1.values()];
  for (const h of hierarchies) {
    h.mounts.sort(byRootFirst);
    h.mountPoint = h.mounts[0]!.mountPoint;
    h.mountRoot = h.mounts[0]!.root;
  }
  const v2Mounts = mounts.filter((m) => m.fsType === 'cgroup2').map((m) => ({ mountPoint: m.mountPoint, root: m.root })).sort(byRootFirst);
  let v2: CgroupHierarchyInfo | undefined;
  if (v2Mounts.length > 0) {
    // The controllers as the preferred mount that can be read lists them.
    let text: string | undefined;
    for (const m of v2Mounts) {
      text = input.v2Controllers?.(m.mountPoint);
      if (text !== undefined) break;
    }
    v2 = {
      version: 2,
      id: 0,
      controllers: text === undefined ? [] : text.split(/\s+/).filter((c) => c !== ''),
      controllersKnown: text !== undefined,
      mountPoint: v2Mounts[0]!.mountPoint,
      mountRoot: v2Mounts[0]!.root,
      mounts: v2Mounts,
    };
    hierarchies.push(v2);
  }
  const hasV1 = v1.size > 0;
  const mode: CgroupMode = hasV1 && v2 ? 'hybrid' : hasV1 ? 'v1' : v2 ? 'v2' : 'none';
  return { mode, hierarchies, v2, controllers };
}

/**
 * The hierarchy a controller is charged in: the v1 hierarchy that mounts it (unless /proc/cgroups says
 * it is bound to none, id 0), else v2 when its cgroup.controllers lists it. Undefined when the
 * controller is disabled (cgroup_disable=) or mounted nowhere.
 */
export function controllerHierarchy(layout: CgroupLayout, controller: string): CgroupHierarchyInfo | undefined {
  const row = layout.controllers.get(controller);
  if (row && !row.enabled) return undefined;
  const v1 = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller));
  if (v1 && (!row || row.hierarchy !== 0)) return v1;
  if (layout.v2?.controllers.includes(controller)) return layout.v2;
  return undefined;
}

/** The v1 hierarchies by controller (only controllers /proc/cgroups knows, so each has its ssid). */
export function v1ControllerHierarchies(layout: CgroupLayout): Map<string, { hierarchy: CgroupHierarchyInfo; controller: CgroupControllerInfo }> {
  const out = new Map<string, { hierarchy: CgroupHierarchyInfo; controller: CgroupControllerInfo }>();
  for (const h of layout.hierarchies) {
    if (h.version !== 1) continue;
    for (const c of h.controllers) {
      const info = layout.controllers.get(c);
      if (info && !out.has(c)) out.set(c, { hierarchy: h, controller: info });
    }
  }
  return out;
}

/** Where a process sits in one hierarchy. */
export interface ProcessCgroup {
  /** The hierarchy of the /proc/PID/cgroup line; undefined when it is not mounted here. */
  hierarchy: CgroupHierarchyInfo | undefined;
  /** The line's hierarchy id (0 for v2) and controllers (`name=systemd` kept as the kernel writes it). */
  hierarchyId: number;
  controllers: string[];
  /** The path as /proc/PID/cgroup gives it (relative to the hierarchy root, in the reader's cgroup namespace). */
  path: string;
  /** The cgroup's directory through a mount of the hierarchy; undefined when no mount shows that path. */
  dir: string | undefined;
}

/** The directory of `path` (relative to the hierarchy root) through one of the hierarchy's mounts. */
export function cgroupDir(h: CgroupHierarchyInfo, path: string): string | undefined {
  const p = path.replace(/ \(deleted\)$/, '');
  for (const m of h.mounts) {
    if (m.root === '/') return p === '/' ? m.mountPoint : join(m.mountPoint, p);
    if (p === m.root) return m.mountPoint;
    if (p.startsWith(`${m.root}/`)) return join(m.mountPoint, p.slice(m.root.length));
  }
  return undefined;
}

/** Pure: /proc/PID/cgroup lines matched to the layout's hierarchies. */
export function processCgroups(layout: CgroupLayout, entries: readonly ProcCgroupEntry[]): ProcessCgroup[] {
  return entries.map((e) => {
    let h: CgroupHierarchyInfo | undefined;
    if (e.hierarchyId === 0 && e.controllers.length === 0) h = layout.v2;
    else {
      const name = e.controllers.find((c) => c.startsWith('name='))?.slice(5);
      const ctl = e.controllers.filter((c) => !c.startsWith('name=')).sort().join(',');
      h = layout.hierarchies.find((x) => x.version === 1 && ((x.id !== undefined && x.id === e.hierarchyId) || (x.controllers.join(',') === ctl && (x.name ?? undefined) === name)));
    }
    return { hierarchy: h, hierarchyId: e.hierarchyId, controllers: e.controllers, path: e.path, dir: h ? cgroupDir(h, e.path) : undefined };
  });
}

/** Where a process is charged for one controller (memory, cpu, …): its line in that controller's hierarchy. */
export function processControllerCgroup(layout: CgroupLayout, entries: readonly ProcCgroupEntry[], controller: string): ProcessCgroup | undefined {
  const h = controllerHierarchy(layout, controller);
  if (!h) return undefined;
  return processCgroups(layout, entries).find((p) => p.hierarchy === h);
}

/** Reads mountinfo (/proc/self, else /proc/1), /proc/cgroups and each cgroup2 mount's cgroup.controllers. */
export async function readCgroupHierarchies(host: Host): Promise<CgroupLayout> {
  let file = SELF_MOUNTINFO;
  let text = await host.tryReadText(file);
  if (text === undefined) {
    file = '/proc/1/mountinfo';
    text = await host.readText(file);
  }
  const mounts = parseMountinfo(text, file);
  const cgroups = await host.tryReadText('/proc/cgroups');
  const v2 = new Map<string, string | undefined>();
  for (const m of mounts) if (m.fsType === 'cgroup2') v2.set(m.mountPoint, await host.tryReadText(`${m.mountPoint}/cgroup.controllers`));
  return parseCgroupHierarchies({ mountinfo: mounts, ...(cgroups !== undefined ? { cgroups } : {}), v2Controllers: (m) => v2.get(m) });
}

/** A process's cgroups in every hierarchy of the host. */
export async function readProcessCgroups(host: Host, pid: number, layout?: CgroupLayout): Promise<ProcessCgroup[]> {
  const l = layout ?? (await readCgroupHierarchies(host));
  return processCgroups(l, await readProcCgroup(host, pid));
}
