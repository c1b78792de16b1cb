/**
 * `oscope load`, the collection: every read, through the Host. /proc/loadavg and /proc/stat and the
 * cgroups' cpu.stat are read at both ends of the interval; in between, the runnable and D threads are
 * sampled `sampleHz` times a second, with the BPF task iterator (src/diagnose/load/bpf.ts) where the
 * kernel allows, else by walking /proc/PID/task/TID/stat (coverage says so). The result is plain data
 * (LoadCapture) for the pure analysis (analyze.ts).
 */
import { identifyPod } from '../../containers/identify.js';
import { resolveContainerNames } from '../../containers/runtime.js';
import type { ContainerRef, Coverage } from '../../contract/common.js';
import { HostError, type Host } from '../../host/host.js';
import { type CgroupCpu, readCgroupCpu } from '../../kernel/cgroup/cpu-stat.js';
import { type Loadavg, readLoadavg } from '../../kernel/procfs/loadavg.js';
import { type ProcCgroupEntry, readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { readTaskStat } from '../../kernel/procfs/pid/stat.js';
import { readTaskStack } from '../../kernel/procfs/pid/stack.js';
import { type ProcStatFile, readProcStatFile } from '../../kernel/procfs/stat.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import { abortableSleep } from '../../util/sleep.js';
import { containerOf } from '../io/collect.js';
import { type CgroupHierarchy, cgroup2Mount, cgroupV1Hierarchies, walkCgroup2 } from '../latency/run.js';
import { LOAD_F, type LoadSampler, type LoadSamplerOptions, type RawLoadTask, startLoadSampler } from './bpf.js';
import type { LoadParams } from './params.js';

export class LoadScopeError extends Error {
  constructor(
    message: string,
    /** usage: a cgroup/container/pod that does not exist; unsupported: the kernel lacks something. */
    readonly kind: 'usage' | 'unsupported' = 'usage',
  ) {
    super(message);
    this.name = 'LoadScopeError';
  }
}

export type WaitSource = 'switch' | 'estimate' | 'observed';

export interface CapturedTask {
  /** Process (tgid) and thread. */
  pid: number;
  tid: number;
  comm: string;
  state: 'R' | 'D';
  cpu: number;
  /** CPUs it may run on (nr_cpus_allowed); the host's count when unknown. */
  allowed: number;
  cgroup: string;
  container?: ContainerRef;
  /** D: how long it had been blocked at this sample, ms (null: unknown). */
  waitMs: number | null;
  waitSource: WaitSource | null;
  /** nvcsw + nivcsw (null when unknown): unchanged between samples = blocked all along. */
  switches: number | null;
  /** D: kernel stack, innermost first. */
  stack: string[];
  owner?: { pid: number; comm: string; lock: 'mutex' | 'rwsem' };
}

export interface CapturedSample {
  /** ms since the first sample. */
  atMs: number;
  tasks: CapturedTask[];
}

export interface CapturedCgroupCpu {
  path: string;
  container?: ContainerRef;
  before: CgroupCpu;
  after: CgroupCpu;
}

export interface CapturedForkParent {
  pid: number;
  comm: string;
  forks: number;
  execs: number;
  cgroup: string;
  container?: ContainerRef;
}

export interface LoadCapture {
  intervalS: number;
  cpus: number;
  /** `cgroup:/x`, `container:ID`, `pod:NAME/NS`, or null for the host. */
  scope: string | null;
  loadavgBefore: Loadavg;
  loadavgAfter: Loadavg;
  statBefore: ProcStatFile;
  statAfter: ProcStatFile;
  samples: CapturedSample[];
  /** BPF: new processes and execs seen, and the parents (null without BPF). */
  forks: { forks: number; execs: number; parents: CapturedForkParent[] } | null;
  cgroupVersion: 1 | 2 | null;
  cgroups: CapturedCgroupCpu[];
  method: Record<string, string>;
  coverage: Coverage[];
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** For tests: another sampler factory. */
  startSampler?: (o: LoadSamplerOptions) => { sampler: LoadSampler } | { unavailable: string };
}

/** The hierarchy CPU bandwidth lives in: cgroup v1 `cpu` when mounted, else cgroup v2. */
async function cpuHierarchy(host: Host): Promise<CgroupHierarchy | undefined> {
  const v1 = (await cgroupV1Hierarchies(host)).get('cpu');
  if (v1) return v1;
  const mount = await cgroup2Mount(host);
  return mount ? { version: 2, mount } : undefined;
}

/** The task's cgroup in that hierarchy (`/` when unknown). */
export function cpuCgroupOf(entries: readonly ProcCgroupEntry[] | undefined, h: CgroupHierarchy | undefined): string {
  if (!entries) return '/';
  if (h?.version === 1) return entries.find((e) => e.controllers.includes('cpu'))?.path ?? '/';
  return entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0)?.path ?? '/';
}

const within = (path: string, root: string): boolean => root === '/' || path === root || path.startsWith(`${root}/`);

/** Resolves --cgroup to a path in the cpu hierarchy (`cpu:/x`, an absolute path under its mount, or a relative path). */
async function resolveCgroup(host: Host, want: string, h: CgroupHierarchy | undefined): Promise<string> {
  if (!h) throw new LoadScopeError('--cgroup needs a cgroup hierarchy with the cpu controller (cgroup v1 cpu or cgroup v2): none is mounted', 'unsupported');
  let rel = want.replace(/^(cpu|cpu,cpuacct):/, '');
  if (rel.startsWith(`${h.mount}/`) || rel === h.mount) rel = rel.slice(h.mount.length) || '/';
  if (!rel.startsWith('/')) rel = `/${rel}`;
  rel = rel.replace(/\/+$/, '') || '/';
  try {
    const st = await host.stat(`${h.mount}${rel === '/' ? '' : rel}`);
    if (!st.isDirectory) throw new Error('not a directory');
  } catch {
    throw new LoadScopeError(`no cgroup ${rel} under ${h.mount}`);
  }
  return rel;
}

interface Scope {
  label: string | null;
  cgroup?: string;
  container?: string;
  pod?: { name: string; ns?: string };
  /** pod: the cgroup paths of the pods that match (resolved once). */
  podCgroups?: Set<string>;
}

function inScope(t: { cgroup: string; container?: ContainerRef }, s: Scope): boolean {
  if (s.cgroup !== undefined) return within(t.cgroup, s.cgroup);
  if (s.container !== undefined) return !!t.container && (t.container.id.startsWith(s.container) || t.container.name === s.container);
  if (s.podCgroups !== undefined) return [...s.podCgroups].some((p) => within(t.cgroup, p));
  return true;
}

/** Maps a kernel stack of addresses to symbol text (`func+0x12/0x40`), through one kallsyms read. */
function symbolizer(syms: KallsymsTable | undefined): (addrs: readonly bigint[]) => string[] {
  const cache = new Map<bigint, string>();
  return (addrs) =>
    addrs.map((a) => {
      let s = cache.get(a);
      if (s === undefined) {
        s = syms ? syms.symbolize([a])[0]!.text : `0x${a.toString(16)}`;
        cache.set(a, s);
      }
      return s;
    });
}

/** The /proc fallback: one walk of /proc/PID/task/TID/stat (R and D threads), D stacks from /proc/PID/task/TID/stack. */
async function procSample(host: Host, selfPid: number | undefined, cpus: number, cgOf: (pid: number) => Promise<string>, stacksDenied: { v: boolean }): Promise<Omit<CapturedTask, 'container'>[]> {
  const out: Omit<CapturedTask, 'container'>[] = [];
  const pids = (await host.readDir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of pids) {
    if (pid === selfPid) continue;
    let tids: number[];
    try {
      tids = (await host.readDir(`/proc/${pid}/task`)).filter((n) => /^\d+$/.test(n)).map(Number);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const st = await readTaskStat(host, pid, tid);
        if (st.state !== 'R' && st.state !== 'D') continue;
        let stack: string[] = [];
        if (st.state === 'D') {
          try {
            stack = await readTaskStack(host, pid, tid);
          } catch (err) {
            if (err instanceof HostError && err.denied) stacksDenied.v = true;
          }
        }
        out.push({ pid, tid, comm: st.comm, state: st.state, cpu: st.processor ?? 0, allowed: cpus, cgroup: await cgOf(pid), waitMs: null, waitSource: null, switches: null, stack });
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return out;
}

async function onlineCpus(host: Host, stat: ProcStatFile): Promise<number> {
  const text = await host.tryReadText('/sys/devices/system/cpu/online');
  if (text !== undefined) {
    let n = 0;
    for (const r of text.trim().split(',')) {
      const [a, b] = r.split('-').map(Number);
      if (Number.isInteger(a)) n += (Number.isInteger(b) ? b! : a!) - a! + 1;
    }
    if (n > 0) return n;
  }
  return Math.max(1, stat.perCpu.size);
}

async function readCgroupCpus(host: Host, h: CgroupHierarchy, paths: readonly string[], cpuacct: string | undefined): Promise<Map<string, CgroupCpu>> {
  const out = new Map<string, CgroupCpu>();
  for (const p of paths) {
    const dir = p === '/' ? h.mount : `${h.mount}${p}`;
    try {
      out.set(p, await readCgroupCpu(host, dir, h.version, cpuacct === undefined ? undefined : p === '/' ? cpuacct : `${cpuacct}${p}`));
    } catch {
      /* gone meanwhile, or no cpu.stat (v2 without the cpu controller there) */
    }
  }
  return out;
}

export async function collectLoad(host: Host, params: LoadParams, o: CollectOptions = {}): Promise<LoadCapture> {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {
    loadavg: '/proc/loadavg at the end (load1 vs load15 gives the trend), online CPUs from /sys/devices/system/cpu/online',
    cpu: 'two reads of /proc/stat, intervalS apart: the cpu and cpuN lines (USER_HZ ticks); forks per second from the processes counter',
    throttled: 'cpu.stat of every cgroup in the cpu hierarchy at both ends (v1 nr_periods/nr_throttled/throttled_time with cpu.cfs_quota_us and cpuacct.usage, v2 nr_periods/nr_throttled/throttled_usec/usage_usec with cpu.max)',
  };
  const h = await cpuHierarchy(host);
  const scope: Scope = { label: null };
  if (params.cgroup !== undefined) {
    scope.cgroup = await resolveCgroup(host, params.cgroup, h);
    scope.label = `cgroup:${scope.cgroup}`;
  } else if (params.container !== undefined) {
    scope.container = params.container;
    scope.label = `container:${params.container}`;
  } else if (params.pod !== undefined) {
    const [name, ns] = params.pod.split('/', 2);
    scope.pod = { name: name!, ...(ns ? { ns } : {}) };
    scope.label = `pod:${params.pod}`;
  }

  let cgroupIds = new Map<bigint, string>();
  let cgroupPaths: string[] = [];
  if (h) {
    const walked = await walkCgroup2(host, h.mount);
    cgroupIds = new Map([...walked].map(([p, id]) => [id, p]));
    cgroupPaths = [...walked.keys()];
  }
  // Pods: the pod cgroups whose uid, or whose containers' names, match.
  if (scope.pod) {
    const pods = new Map<string, string>(); // pod cgroup path → uid
    for (const p of cgroupPaths) {
      const pod = identifyPod(p);
      if (pod && pod.cgroupPath === p) pods.set(p, pod.podUid);
    }
    const match = new Set<string>();
    const ids = new Map<string, string>(); // container id → pod cgroup
    for (const p of cgroupPaths) {
      const c = containerOf(p);
      const pod = identifyPod(p);
      if (c && pod) ids.set(c.id, pod.cgroupPath);
    }
    const names = await resolveContainerNames(host, ids.keys()).catch(() => new Map());
    for (const [id, podPath] of ids) {
      const n = names.get(id);
      if (n?.podName === scope.pod.name && (scope.pod.ns === undefined || n.podNamespace === scope.pod.ns)) match.add(podPath);
    }
    for (const [p, uid] of pods) if (uid === scope.pod.name || uid.replace(/-/g, '_') === scope.pod.name) match.add(p);
    if (match.size === 0) throw new LoadScopeError(`no pod named "${params.pod}" has a running container here`);
    scope.podCgroups = match;
  }

  // A container that runs nothing here: say so now, not after the interval.
  if (scope.container !== undefined && !cgroupPaths.some((p) => inScope({ cgroup: p, ...(containerOf(p) ? { container: containerOf(p)! } : {}) }, scope))) {
    throw new LoadScopeError(`no running container matches "${scope.container}"`);
  }
  const statBefore = await readProcStatFile(host);
  const loadavgBefore = await readLoadavg(host);
  const cpus = await onlineCpus(host, statBefore);
  const selfPid = host.live?.selfPid;
  const cpuacct = h?.version === 1 ? (await cgroupV1Hierarchies(host)).get('cpuacct')?.mount : undefined;
  const cgBefore = h ? await readCgroupCpus(host, h, cgroupPaths.filter((p) => p !== '/'), cpuacct) : new Map<string, CgroupCpu>();

  let sampler: LoadSampler | undefined;
  if (!params.bpf) coverage.push({ section: 'tasks', status: 'partial', reason: 'BPF turned off (--no-bpf): threads sampled by walking /proc (slower, and no wait times, lock owners or fork parents)' });
  else if (!host.live) throw new LoadScopeError('oscope load samples the live host over an interval: it cannot run on a bundle', 'usage');
  else {
    const start = o.startSampler ?? startLoadSampler;
    const r = start({ selfPid: selfPid ?? 0, ...(h?.version === 1 && h.ssid !== undefined ? { cgroupSsid: h.ssid } : {}) });
    if ('unavailable' in r) coverage.push({ section: 'tasks', status: 'partial', reason: `${r.unavailable}: threads sampled by walking /proc instead (slower, and no wait times, lock owners or fork parents)` });
    else sampler = r.sampler;
  }
  if (!host.live) throw new LoadScopeError('oscope load samples the live host over an interval: it cannot run on a bundle', 'usage');

  // D stacks as addresses while sampling; symbolized once at the end (kallsyms is read only when there are any).
  const rawStacks = new Map<CapturedTask, bigint[]>();
  const procCg = new Map<number, string>();
  const cgOfPid = async (pid: number): Promise<string> => {
    let c = procCg.get(pid);
    if (c === undefined) {
      c = cpuCgroupOf(await readProcCgroup(host, pid).catch(() => undefined), h);
      procCg.set(pid, c);
    }
    return c;
  };
  const stacksDenied = { v: false };
  const containers = new Map<string, ContainerRef | undefined>();
  const containerOfPath = (p: string): ContainerRef | undefined => {
    if (!containers.has(p)) containers.set(p, containerOf(p));
    return containers.get(p);
  };
  const fromRaw = (r: RawLoadTask): Omit<CapturedTask, 'container'> & { raw?: bigint[] } => {
    const waitSource: WaitSource | null = r.state !== 'D' ? null : r.flags & LOAD_F.waitSwitch ? 'switch' : r.flags & LOAD_F.waitEstimate ? 'estimate' : null;
    const lock = r.flags & LOAD_F.ownerMutex ? 'mutex' : r.flags & LOAD_F.ownerRwsem ? 'rwsem' : undefined;
    return {
      pid: r.tgid,
      tid: r.pid,
      comm: r.comm,
      state: r.state,
      cpu: r.cpu,
      allowed: r.allowed || cpus,
      cgroup: cgroupIds.get(r.cgroupId) ?? (r.cgroupId <= 1n ? '/' : `id:${r.cgroupId}`),
      waitMs: waitSource ? r.waitNs / 1e6 : null,
      waitSource,
      switches: r.switches,
      stack: [],
      ...(r.state === 'D' && r.stack.length > 0 ? { raw: r.stack } : {}),
      ...(lock && r.ownerPid > 0 ? { owner: { pid: r.ownerPid, comm: r.ownerComm, lock } } : {}),
    };
  };

  const samples: CapturedSample[] = [];
  const periodMs = 1000 / params.sampleHz;
  // Fork counts since the programs were attached: the interval's are the difference from here.
  const forks0 = new Map((sampler?.forkParents() ?? []).map((p) => [p.tgid, p] as const));
  const totals0 = sampler?.totals() ?? { forks: 0, execs: 0 };
  const t0 = performance.now();
  const endMs = params.intervalS * 1000;
  try {
    for (let i = 0; ; i++) {
      if (o.signal?.aborted) break;
      const atMs = performance.now() - t0;
      const raw = sampler ? (await sampler.sample()).map(fromRaw) : await procSample(host, selfPid, cpus, cgOfPid, stacksDenied);
      const tasks: CapturedTask[] = [];
      for (const { raw: addrs, ...t } of raw as Array<Omit<CapturedTask, 'container'> & { raw?: bigint[] }>) {
        const container = containerOfPath(t.cgroup);
        const task: CapturedTask = { ...t, ...(container ? { container } : {}) };
        if (!inScope(task, scope)) continue;
        tasks.push(task);
        if (addrs) rawStacks.set(task, addrs);
      }
      samples.push({ atMs, tasks });
      const next = (i + 1) * periodMs;
      // A slow sample (the /proc walk on a big host) must not stretch the interval: stop at its end.
      if (next >= endMs || performance.now() - t0 >= endMs) break;
      const wait = next - (performance.now() - t0);
      if (wait > 0) await abortableSleep(wait, o.signal).catch(() => undefined);
    }
    if (rawStacks.size > 0) {
      let syms: KallsymsTable | undefined;
      try {
        syms = await readKallsyms(host);
      } catch {
        coverage.push({ section: 'dStacks', status: 'partial', reason: 'cannot read /proc/kallsyms: stacks are addresses' });
      }
      const sym = symbolizer(syms);
      for (const [task, addrs] of rawStacks) task.stack = sym(addrs);
    }
    const rest = endMs - (performance.now() - t0);
    if (rest > 0 && !o.signal?.aborted) await abortableSleep(rest, o.signal).catch(() => undefined);
    const intervalS = (performance.now() - t0) / 1000;
    const statAfter = await readProcStatFile(host);
    const loadavgAfter = await readLoadavg(host);
    const cgAfter = h ? await readCgroupCpus(host, h, [...cgBefore.keys()], cpuacct) : new Map<string, CgroupCpu>();
    const cgroups: CapturedCgroupCpu[] = [];
    for (const [path, after] of cgAfter) {
      const before = cgBefore.get(path)!;
      if (scope.cgroup !== undefined && !within(path, scope.cgroup)) continue;
      const container = containerOfPath(path);
      if ((scope.container !== undefined || scope.podCgroups !== undefined) && !inScope({ cgroup: path, ...(container ? { container } : {}) }, scope)) continue;
      cgroups.push({ path, ...(container ? { container } : {}), before, after });
    }
    let forks: LoadCapture['forks'] = null;
    if (sampler) {
      const parents: CapturedForkParent[] = [];
      for (const p of sampler.forkParents()) {
        const p0 = forks0.get(p.tgid);
        if (p0 && p0.comm === p.comm) {
          p.forks = Math.max(0, p.forks - p0.forks);
          p.execs = Math.max(0, p.execs - p0.execs);
        }
        const cgroup = cgroupIds.get(p.cgroupId) ?? (p.cgroupId <= 1n ? '/' : `id:${p.cgroupId}`);
        const container = containerOfPath(cgroup);
        const row = { pid: p.tgid, comm: p.comm, forks: p.forks, execs: p.execs, cgroup, ...(container ? { container } : {}) };
        if (inScope(row, scope)) parents.push(row);
      }
      const totals = sampler.totals();
      forks = { forks: Math.max(0, totals.forks - totals0.forks), execs: Math.max(0, totals.execs - totals0.execs), parents };
      Object.assign(method, sampler.method);
      coverage.push(...sampler.coverage);
    } else {
      method.tasks = 'a walk of /proc/PID/task/TID/stat per sample (state R or D, field 39 for the CPU); D stacks from /proc/PID/task/TID/stack';
      coverage.push({ section: 'forks.topParents', status: 'unavailable', reason: 'the parents that fork need the BPF sched_process_fork tracepoint' });
      coverage.push({ section: 'dStacks', status: 'partial', reason: 'without BPF the wait of a D thread is only the time oscope saw it blocked, and lock owners are unknown' });
    }
    if (stacksDenied.v) coverage.push({ section: 'dStacks', status: 'partial', reason: 'cannot read /proc/PID/stack (needs root): D threads without stacks' });
    if (!h) coverage.push({ section: 'throttled', status: 'unavailable', reason: 'no cgroup hierarchy with the cpu controller is mounted' });
    if (scope.label !== null) coverage.push({ section: 'loadavg', status: 'partial', reason: 'the load average and the CPU split are the whole host\'s; tasks, D stacks, forks and throttling are the scope\'s' });
    return {
      intervalS,
      cpus,
      scope: scope.label,
      loadavgBefore,
      loadavgAfter,
      statBefore,
      statAfter,
      samples,
      forks,
      cgroupVersion: h?.version ?? null,
      cgroups,
      method,
      coverage,
    };
  } finally {
    sampler?.close();
  }
}
