/**
 * `oscope io`, the collection: every read, through the Host. The counters (/proc/diskstats, PSI io,
 * /proc/PID/io) are read twice, `intervalS` apart, with the BPF tracer (src/diagnose/io/bpf.ts) running
 * in between when the host is live and the kernel allows it; then the D-state tasks and their stacks.
 * The result is plain data (IoCapture) for the pure analysis (analyze.ts).
 */
import { identifyContainer } from '../../containers/identify.js';
import type { ContainerRef, Coverage } from '../../contract/common.js';
import { HostError, type Host } from '../../host/host.js';
import { type DiskStat, readDiskstats } from '../../kernel/procfs/diskstats.js';
import { type ProcCgroupEntry, readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { type ProcIo, readProcIo } from '../../kernel/procfs/pid/io.js';
import { readProcStat, readTaskStat } from '../../kernel/procfs/pid/stat.js';
import { readTaskStack } from '../../kernel/procfs/pid/stack.js';
import { type Psi, readPsi } from '../../kernel/procfs/psi.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import { type BlockDevice, listBlockDevices, readBlockDevice } from '../../kernel/sysfs/block.js';
import { abortableSleep } from '../../util/sleep.js';
import { type CgroupHierarchy, cgroup2Mount, cgroupV1Hierarchies, walkCgroup2 } from '../latency/run.js';
import type { Thresholds } from '../thresholds.js';
import { type IoTracer, type IoTracerOptions, type RawIoEvent, type RawIoHistogram, devFromMajMin, devName, opName, startIoTracer } from './bpf.js';
import type { IoParams } from './params.js';

export class IoScopeError extends Error {
  constructor(
    message: string,
    /** usage: a disk/cgroup/container that does not exist; unsupported: the kernel lacks something. */
    readonly kind: 'usage' | 'unsupported' = 'usage',
  ) {
    super(message);
    this.name = 'IoScopeError';
  }
}

export interface CapturedProcess {
  pid: number;
  comm: string;
  io: ProcIo;
  /** CLOCK_MONOTONIC ms when /proc/PID/io was read (live hosts), so each process's delta has its own span. */
  ioAtMs?: number;
  cgroup: string;
  container?: ContainerRef;
}

export interface CapturedSlow {
  at: string;
  disk: string;
  op: string;
  sector: number | null;
  sizeBytes: number;
  queueMs: number | null;
  schedMs: number;
  deviceMs: number;
  wakeMs: number | null;
  pid: number;
  tid: number;
  comm: string;
  cgroup: string;
  container?: ContainerRef;
}

export interface CapturedInflight {
  disk: string;
  ageS: number;
  sector: number | null;
  op: string;
  pid: number;
  comm: string;
}

export interface CapturedWait {
  pid: number;
  tid: number;
  comm: string;
  totalMs: number;
  count: number;
  maxMs: number;
  stack: string[];
  cgroup: string;
}

export interface CapturedDTask {
  pid: number;
  tid: number;
  comm: string;
  stack: string[];
}

export interface CapturedTrace {
  /** majMin → name resolution is done by analyze; histograms keyed by majMin ("0:0": no disk known). */
  histograms: Array<Omit<RawIoHistogram, 'dev'> & { disk: string }>;
  slow: CapturedSlow[];
  inflight: CapturedInflight[];
  waits: CapturedWait[];
  lostEvents: number;
}

export interface IoCapture {
  intervalS: number;
  /** The disk the run is about (kernel name), when --disk was given. */
  disk?: string;
  disksBefore: DiskStat[];
  disksAfter: DiskStat[];
  devices: BlockDevice[];
  psiBefore?: Psi;
  psiAfter?: Psi;
  processesBefore: CapturedProcess[];
  processesAfter: CapturedProcess[];
  dTasks: CapturedDTask[];
  trace?: CapturedTrace;
  method: Record<string, string>;
  coverage: Coverage[];
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** For tests: another tracer factory. */
  startTracer?: (o: IoTracerOptions) => { tracer: IoTracer } | { unavailable: string };
}

const monoNs = (): bigint => process.hrtime.bigint();

/** The hierarchy io is charged in: cgroup v1 blkio when it is mounted, else cgroup v2. */
async function ioHierarchy(host: Host): Promise<CgroupHierarchy | undefined> {
  const v1 = (await cgroupV1Hierarchies(host)).get('blkio');
  if (v1) return v1;
  const mount = await cgroup2Mount(host);
  return mount ? { version: 2, mount } : undefined;
}

/** The task's cgroup in that hierarchy (`/` when unknown). */
export function cgroupOf(entries: readonly ProcCgroupEntry[] | undefined, h: CgroupHierarchy | undefined): string {
  if (!entries) return '/';
  if (h?.version === 1) return entries.find((e) => e.controllers.includes('blkio'))?.path ?? '/';
  return entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0)?.path ?? '/';
}

export function containerOf(cgroupPath: string): ContainerRef | undefined {
  const c = identifyContainer(cgroupPath);
  if (!c || c.runtime === 'unknown') return undefined;
  return { runtime: c.runtime, id: c.containerId, ...(c.serviceName ? { name: c.serviceName } : {}), ...(c.podUid ? { podUid: c.podUid } : {}) };
}

interface Scope {
  pid?: number;
  /** A cgroup path in the io hierarchy: processes in it or below. */
  cgroup?: string;
  container?: string;
}

function inScope(p: { pid: number; cgroup: string; container?: ContainerRef }, s: Scope): boolean {
  if (s.pid !== undefined && p.pid !== s.pid) return false;
  if (s.cgroup !== undefined && s.cgroup !== '/' && p.cgroup !== s.cgroup && !p.cgroup.startsWith(`${s.cgroup}/`)) return false;
  if (s.container !== undefined && !(p.container && (p.container.id.startsWith(s.container) || p.container.name === s.container))) return false;
  return true;
}

async function readProcesses(host: Host, h: CgroupHierarchy | undefined, scope: Scope, selfPid: number | undefined): Promise<{ rows: CapturedProcess[]; denied: number }> {
  const rows: CapturedProcess[] = [];
  let denied = 0;
  const pids = (await host.readDir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of pids) {
    if (pid === selfPid) continue;
    try {
      const st = await readProcStat(host, pid);
      let cg: ProcCgroupEntry[] | undefined;
      try {
        cg = await readProcCgroup(host, pid);
      } catch {
        cg = undefined;
      }
      const cgroup = cgroupOf(cg, h);
      const container = containerOf(cgroup);
      const row = { pid, comm: st.comm, cgroup, ...(container ? { container } : {}) };
      if (!inScope(row, scope)) continue;
      const io = await readProcIo(host, pid);
      rows.push({ ...row, io, ioAtMs: Number(monoNs()) / 1e6 });
    } catch (err) {
      if (err instanceof HostError && err.denied) denied++;
      else if (!(err instanceof HostError)) throw err;
      // gone meanwhile: skip
    }
  }
  return { rows, denied };
}

/** Tasks (threads) in D state, with their kernel stacks. */
async function readDTasks(host: Host, scope: Scope, h: CgroupHierarchy | undefined): Promise<{ tasks: CapturedDTask[]; stacksDenied: boolean }> {
  const out: CapturedDTask[] = [];
  let stacksDenied = false;
  const pids = (await host.readDir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of pids) {
    if (scope.pid !== undefined && pid !== scope.pid) continue;
    let tids: number[];
    try {
      tids = (await host.readDir(`/proc/${pid}/task`)).filter((n) => /^\d+$/.test(n)).map(Number);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const st = await readTaskStat(host, pid, tid);
        if (st.state !== 'D') continue;
        if (scope.cgroup !== undefined || scope.container !== undefined) {
          const cgroup = cgroupOf(await readProcCgroup(host, pid).catch(() => undefined), h);
          const container = containerOf(cgroup);
          if (!inScope({ pid, cgroup, ...(container ? { container } : {}) }, scope)) continue;
        }
        let stack: string[] = [];
        try {
          stack = await readTaskStack(host, pid, tid);
        } catch (err) {
          if (err instanceof HostError && err.denied) stacksDenied = true;
        }
        out.push({ pid, tid, comm: st.comm, stack });
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return { tasks: out, stacksDenied };
}

async function tryPsi(host: Host): Promise<Psi | undefined> {
  try {
    return await readPsi(host, 'io');
  } catch (err) {
    if (err instanceof HostError) return undefined;
    throw err;
  }
}

/** Resolves --cgroup to a path in the io hierarchy (v1 `blkio:/x`, an absolute path under a mount, or a v2 path). */
async function resolveCgroup(host: Host, want: string, h: CgroupHierarchy | undefined): Promise<string> {
  if (!h) throw new IoScopeError('--cgroup needs a cgroup hierarchy with the io controller (cgroup v1 blkio or cgroup v2): none is mounted', 'unsupported');
  let rel = want.replace(/^(blkio|io):/, '');
  if (rel.startsWith(`${h.mount}/`) || rel === h.mount) rel = rel.slice(h.mount.length) || '/';
  if (!rel.startsWith('/')) rel = `/${rel}`;
  try {
    const st = await host.stat(`${h.mount}${rel === '/' ? '' : rel}`);
    if (!st.isDirectory) throw new Error('not a directory');
  } catch {
    throw new IoScopeError(`no cgroup ${rel} under ${h.mount}`);
  }
  return rel;
}

export async function collectIo(host: Host, params: IoParams, thresholds: Thresholds, o: CollectOptions = {}): Promise<IoCapture> {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {
    disks: 'two reads of /proc/diskstats and /sys/block/*/{queue/scheduler,queue/rotational,device/model,inflight}, intervalS apart (iostat -x arithmetic)',
    traffic: '/proc/PID/io read_bytes and write_bytes − cancelled_write_bytes, two reads apart (write_bytes is charged when a task dirties a page, so writeback counts for the dirtier); cgroups are the sums of their processes',
    hangs: 'requests the tracer saw issued and not completed, and disks with requests in flight but no completion during the interval (/proc/diskstats); D-state threads from /proc/PID/task/TID/stat with /proc/PID/task/TID/stack',
  };
  const h = await ioHierarchy(host);
  const scope: Scope = {};
  if (params.pid !== undefined) {
    if (!(await host.exists(`/proc/${params.pid}/stat`))) throw new IoScopeError(`no process ${params.pid}`);
    scope.pid = params.pid;
  }
  if (params.cgroup !== undefined) scope.cgroup = await resolveCgroup(host, params.cgroup, h);
  if (params.container !== undefined) scope.container = params.container;

  const disksAtStart = await readDiskstats(host);
  let disk: string | undefined;
  let dev: number | undefined;
  if (params.disk !== undefined) {
    const want = params.disk.replace(/^\/dev\//, '');
    const d = disksAtStart.find((x) => x.name === want || `${x.major}:${x.minor}` === want);
    if (!d) throw new IoScopeError(`no disk ${params.disk} in /proc/diskstats`);
    disk = d.name;
    dev = devFromMajMin(`${d.major}:${d.minor}`);
  }
  const selfPid = host.live?.selfPid;
  if (scope.container !== undefined && (await readProcesses(host, h, scope, selfPid)).rows.length === 0) throw new IoScopeError(`no process of container ${scope.container}`);

  let tracer: IoTracer | undefined;
  const events: RawIoEvent[] = [];
  if (!params.bpf) coverage.push({ section: 'latency', status: 'unavailable', reason: 'BPF turned off (--no-bpf)' });
  else if (!host.live) coverage.push({ section: 'latency', status: 'unavailable', reason: 'not a live host (a bundle): request latency needs tracing' });
  else {
    const start = o.startTracer ?? startIoTracer;
    const r = start({
      slowMs: thresholds['io.slowMs'],
      ...(dev !== undefined ? { dev } : {}),
      ...(scope.pid !== undefined ? { pid: scope.pid } : {}),
      ...(h?.version === 1 && h.ssid !== undefined ? { cgroupSsid: h.ssid } : {}),
      onEvent: (e) => {
        if (events.length < 100_000) events.push(e);
      },
    });
    if ('unavailable' in r) coverage.push({ section: 'latency', status: 'unavailable', reason: r.unavailable });
    else tracer = r.tracer;
  }
  // The first reads of the counters come after the tracer is attached (loading it takes a while), and
  // the interval is counted from them: bytes and rates cover exactly the interval they are divided by.
  const t0 = monoNs();
  const wallOffsetMs = Date.now() - Number(t0) / 1e6;
  try {
    const disksBefore = await readDiskstats(host);
    const psiBefore = await tryPsi(host);
    const before = await readProcesses(host, h, scope, selfPid);
    // /proc/kallsyms takes a second or more to read and parse on a busy host: done during the interval.
    const symsSoon: Promise<KallsymsTable | undefined> | undefined = tracer ? readKallsyms(host).catch(() => undefined) : undefined;
    const readMs = Number(monoNs() - t0) / 1e6;
    // The after reads take about as long as these did: sleep the rest of the interval.
    await abortableSleep(Math.max(0, params.intervalS * 1000 - readMs), o.signal).catch(() => undefined);
    const endNs = monoNs();
    const intervalS = Number(endNs - t0) / 1e9;
    // The tracer's tables as they are at the end of the interval (what follows can take a second or two).
    const atEnd = tracer ? { histograms: tracer.histograms(), inflight: tracer.inflight(), waits: tracer.waits(), lostEvents: tracer.lostEvents(), events: events.filter((e) => e.tsNs <= endNs) } : undefined;
    const disksAfter = await readDiskstats(host);
    const psiAfter = await tryPsi(host);
    const after = await readProcesses(host, h, scope, selfPid);
    const names = new Map<string, string>();
    for (const name of await listBlockDevices(host).catch(() => [])) names.set(name, name);
    const devices: BlockDevice[] = [];
    for (const d of disksAfter) {
      if (!names.has(d.name)) continue; // a partition
      if (disk !== undefined && d.name !== disk) continue;
      devices.push(await readBlockDevice(host, d.name));
    }
    const dt = await readDTasks(host, scope, h);
    if (dt.stacksDenied) coverage.push({ section: 'hangs', status: 'partial', reason: 'cannot read /proc/PID/stack (needs root): D-state tasks without stacks' });
    let trace: CapturedTrace | undefined;
    if (tracer && atEnd) {
      const now = endNs;
      const diskOf = new Map<string, string>(disksAfter.map((d) => [`${d.major}:${d.minor}`, d.name]));
      const nameOf = (devT: number): string => diskOf.get(devName(devT)) ?? devName(devT);
      const syms = await symsSoon;
      const stackOf = (id: number): string[] => {
        const addrs = tracer.stack(id);
        const frames = syms ? syms.symbolize(addrs).map((f) => f.text) : addrs.map((a) => `0x${a.toString(16)}`);
        // The stack is taken inside the sched_switch program: drop the BPF and trace-run frames.
        let i = 0;
        while (i < frames.length && /^(bpf_|__bpf)/.test(frames[i]!)) i++;
        return frames.slice(i);
      };
      let cgNames = new Map<bigint, string>();
      if (h) cgNames = new Map([...(await walkCgroup2(host, h.mount))].map(([p, id]) => [id, p]));
      const cgName = (id: bigint): string => cgNames.get(id) ?? (id === 0n ? '/' : `id:${id}`);
      const ms = (v: number): number => Math.round(v / 1e3) / 1e3;
      const slow: CapturedSlow[] = atEnd.events.map((e) => {
        const cgroup = cgName(e.cgroupId);
        const container = containerOf(cgroup);
        return {
          at: new Date(Number(e.tsNs / 1000n) / 1000 + wallOffsetMs).toISOString(),
          disk: nameOf(e.dev),
          op: opName(e.op),
          sector: e.sector,
          sizeBytes: e.bytes,
          queueMs: e.queueNs === null ? null : ms(e.queueNs),
          schedMs: ms(e.schedNs),
          deviceMs: ms(e.deviceNs),
          wakeMs: e.wakeNs === null ? null : ms(e.wakeNs),
          pid: e.tgid,
          tid: e.pid,
          comm: e.comm,
          cgroup,
          ...(container ? { container } : {}),
        };
      });
      const inflight: CapturedInflight[] = atEnd.inflight
        .filter((r) => r.issueNs <= now)
        .map((r) => ({ disk: nameOf(r.dev), ageS: Number(now - r.issueNs) / 1e9, sector: r.sector, op: opName(r.op), pid: r.tgid, comm: r.comm }));
      const waits: CapturedWait[] = atEnd.waits.map((w) => ({
        pid: w.tgid,
        tid: w.tid,
        comm: w.comm,
        totalMs: w.totalNs / 1e6,
        count: w.count,
        maxMs: w.maxNs / 1e6,
        stack: w.maxStackId >= 0 ? stackOf(w.maxStackId) : [],
        cgroup: cgName(w.cgroupId),
      }));
      const histograms = atEnd.histograms.map(({ dev: d, ...rest }) => ({ ...rest, disk: d === 0 ? '' : nameOf(d) }));
      trace = { histograms, slow, inflight, waits, lostEvents: atEnd.lostEvents };
      Object.assign(method, tracer.method);
      coverage.push(...tracer.coverage);
    } else {
      coverage.push({ section: 'iowait', status: 'unavailable', reason: 'needs the BPF tracer (sched_switch with in_iowait)' });
    }
    coverage.push({ section: 'traffic.files', status: 'unavailable', reason: 'per-file traffic (filemap/writeback tracepoints) is not implemented yet' });
    coverage.push({ section: 'traffic.cgroups', status: 'partial', reason: 'sums of the processes that were alive at both reads (cgroup io.stat/blkio counters are not read yet)' });
    if (before.denied > 0) coverage.push({ section: 'traffic', status: 'partial', reason: `${before.denied} processes' /proc/PID/io could not be read (needs root)` });
    if (!psiAfter) coverage.push({ section: 'psi', status: 'unavailable', reason: 'no /proc/pressure/io (kernel < 4.20, CONFIG_PSI off or psi=0)' });
    return {
      intervalS,
      ...(disk !== undefined ? { disk } : {}),
      disksBefore,
      disksAfter,
      devices,
      ...(psiBefore ? { psiBefore } : {}),
      ...(psiAfter ? { psiAfter } : {}),
      processesBefore: before.rows,
      processesAfter: after.rows,
      dTasks: dt.tasks,
      ...(trace ? { trace } : {}),
      method,
      coverage,
    };
  } finally {
    tracer?.close();
  }
}
