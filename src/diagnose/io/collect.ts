/**
 * `oscope io`, the collection: every read, through the Host. The counters (/proc/diskstats, PSI io,
 * /proc/PID/io) are read twice, `intervalS` apart, with the BPF tracer (src/diagnose/io/bpf.ts) running
 * in between when the host is live and the kernel allows it; then the D-state tasks and their stacks.
 * The result is plain data (IoCapture) for the pure analysis (analyze.ts).
 */
import { identifyContainer } from '../../containers/identify.js';
import type { ContainerRef, Coverage } from '../../contract/common.js';
import { HostError, type Host } from '../../host/host.js';
import { readDiskstats } from '../../kernel/procfs/diskstats.js';
import { type ProcCgroupEntry, readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { readProcIo } from '../../kernel/procfs/pid/io.js';
import { readProcStat, readTaskStat } from '../../kernel/procfs/pid/stat.js';
import { readTaskStack } from '../../kernel/procfs/pid/stack.js';
import { type Psi, readPsi } from '../../kernel/procfs/psi.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import { type BlockDevice, listBlockDevices, readBlockDevice } from '../../kernel/sysfs/block.js';
import { readCgroupIo } from '../../kernel/cgroup/io-stat.js';
import { ParseError } from '../../kernel/errors.js';
import { abortableSleep } from '../../util/sleep.js';
import { containerLookup } from '../memory/containers.js';
import { type CgroupHierarchy, cgroup2Mount, cgroupV1Hierarchies, walkCgroup2 } from '../latency/run.js';
import type { Thresholds } from '../thresholds.js';
import { type IoTracer, type IoTracerOptions, type RawFileId, type RawIoEvent, devFromMajMin, devName, opName, startIoTracer } from './bpf.js';
import { IO_CAPTURE_SCHEMA, type CapturedCgroupIo, type CapturedDTask, type CapturedDirtier, type CapturedFile, type CapturedInflight, type CapturedProcess, type CapturedSlow, type CapturedTrace, type CapturedWait, type IoCapture } from './capture.js';
import { fileKey, resolveFilePaths } from './files.js';
import { type IoParams, oneIoScope } from './params.js';
import { type IoScope, inScope } from './scope.js';

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

export type { CapturedDTask, CapturedFile, CapturedInflight, CapturedProcess, CapturedSlow, CapturedTrace, CapturedWait, IoCapture } from './capture.js';

export interface CollectOptions {
  signal?: AbortSignal;
  /** For tests: another tracer factory. */
  startTracer?: (o: IoTracerOptions) => { tracer: IoTracer } | { unavailable: string };
  /** Called when the interval starts: the tracer is attached and the first counters are read (tests start their I/O here). */
  onIntervalStart?: () => void;
  /** Resolve file paths with the BPF inode walk when fds and maps leave some unnamed (default true). */
  inodeWalk?: boolean;
}

const monoNs = (): bigint => process.hrtime.bigint();

/** The hierarchy io is charged in: cgroup v2 where the io controller is enabled, else v1 blkio, else a bare v2. */
async function ioHierarchy(host: Host): Promise<(CgroupHierarchy & { writebackToDirtier: boolean }) | undefined> {
  const mount = await cgroup2Mount(host);
  const v2controllers = mount ? ((await host.tryReadText(`${mount}/cgroup.controllers`)) ?? '').split(/\s+/) : [];
  if (mount && v2controllers.includes('io')) return { version: 2, mount, writebackToDirtier: v2controllers.includes('memory') };
  const v1 = (await cgroupV1Hierarchies(host)).get('blkio');
  if (v1) return { ...v1, writebackToDirtier: false };
  return mount ? { version: 2, mount, writebackToDirtier: false } : undefined;
}

/** The task's cgroup in that hierarchy (`/` when unknown). */
export function cgroupOf(entries: readonly ProcCgroupEntry[] | undefined, h: CgroupHierarchy | undefined): string {
  if (!entries) return '/';
  if (h?.version === 1) return entries.find((e) => e.controllers.includes('blkio'))?.path ?? '/';
  return entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0)?.path ?? '/';
}

/** The container of a cgroup path from the path alone (the collection names them with the runtimes' state, containerLookup). */
export function containerOf(cgroupPath: string): ContainerRef | undefined {
  const c = identifyContainer(cgroupPath);
  if (!c || c.runtime === 'unknown') return undefined;
  return { runtime: c.runtime, id: c.containerId, ...(c.serviceName ? { name: c.serviceName } : {}), ...(c.podUid ? { podUid: c.podUid } : {}) };
}

interface ProcRow {
  pid: number;
  comm: string;
  cgroup: string;
}

/** Every process's comm and io cgroup (pid → row). */
async function readProcessCgroups(host: Host, h: CgroupHierarchy | undefined, selfPid: number | undefined): Promise<ProcRow[]> {
  const rows: ProcRow[] = [];
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
      rows.push({ pid, comm: st.comm, cgroup: cgroupOf(cg, h) });
    } catch (err) {
      if (!(err instanceof HostError)) throw err;
    }
  }
  return rows;
}

async function readProcessIo(host: Host, rows: readonly (ProcRow & { container?: ContainerRef })[]): Promise<{ rows: CapturedProcess[]; denied: number }> {
  const out: CapturedProcess[] = [];
  let denied = 0;
  for (const r of rows) {
    try {
      const io = await readProcIo(host, r.pid);
      out.push({ pid: r.pid, comm: r.comm, cgroup: r.cgroup, ...(r.container ? { container: r.container } : {}), io, ioAtMs: Number(monoNs()) / 1e6 });
    } catch (err) {
      if (err instanceof HostError && err.denied) denied++;
      else if (!(err instanceof HostError)) throw err;
    }
  }
  return { rows: out, denied };
}

/** Tasks (threads) in D state, with their kernel stacks. */
async function readDTasks(host: Host, want: (pid: number) => boolean): Promise<{ tasks: CapturedDTask[]; stacksDenied: boolean }> {
  const out: CapturedDTask[] = [];
  let stacksDenied = false;
  const pids = (await host.readDir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of pids) {
    if (!want(pid)) continue;
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
  rel = rel.replace(/\/+$/, '') || '/';
  try {
    const st = await host.stat(`${h.mount}${rel === '/' ? '' : rel}`);
    if (!st.isDirectory) throw new Error('not a directory');
  } catch {
    throw new IoScopeError(`no cgroup ${rel} under ${h.mount}`);
  }
  return rel;
}

/** A cgroup's bytes read and written (summed over the devices, or the one disk) from its own counters. */
async function cgroupBytes(host: Host, h: CgroupHierarchy, path: string, disk: string | undefined): Promise<{ source: string; readBytes: number; writeBytes: number } | undefined> {
  const dir = path === '/' ? h.mount : `${h.mount}${path}`;
  let io;
  try {
    io = await readCgroupIo(host, dir, h.version);
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
  if (!io) return undefined;
  let readBytes = 0;
  let writeBytes = 0;
  for (const d of io.devices) {
    if (disk !== undefined && d.device !== disk) continue;
    readBytes += d.readBytes;
    writeBytes += d.writeBytes;
  }
  return { source: io.source, readBytes, writeBytes };
}

export async function collectIo(host: Host, params: IoParams, thresholds: Thresholds, o: CollectOptions = {}): Promise<IoCapture> {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {
    disks: 'two reads of /proc/diskstats and /sys/block/*/{queue/scheduler,queue/rotational,device/model,inflight}, intervalS apart (iostat -x arithmetic)',
    traffic:
      "/proc/PID/io read_bytes and write_bytes − cancelled_write_bytes, two reads apart (the counters iotop and pidstat -d show): write_bytes is charged when a task dirties a page and for its direct writes, so writeback counts for the dirtier, not for the kworker or jbd2 thread that flushes it. A kernel thread still has writes of its own: pages it dirtied itself (dirtiedBytes; file system metadata shows in the files table as the disk's /dev/NAME) and direct I/O it issues for others (a loop device's worker writing to its backing file) — writeBytes well above dirtiedBytes. A process's counters include its children reaped during the interval (the kernel adds them at wait()); the tracer's dirtiedBytes are the task's own",
    hangs: 'requests the tracer saw issued and not completed, and disks with requests in flight but no completion during the interval (/proc/diskstats); D-state threads from /proc/PID/task/TID/stat with /proc/PID/task/TID/stack',
  };
  if (!oneIoScope(params)) throw new IoScopeError('give at most one of --pid, --cgroup, --container and --pod');
  const h = await ioHierarchy(host);
  const scope: IoScope = {};
  if (params.pid !== undefined) {
    if (!(await host.exists(`/proc/${params.pid}/stat`))) throw new IoScopeError(`no process ${params.pid}`);
    scope.pid = params.pid;
  }
  if (params.cgroup !== undefined) scope.cgroup = await resolveCgroup(host, params.cgroup, h);
  if (params.container !== undefined) scope.container = params.container;
  if (params.pod !== undefined) scope.pod = params.pod;

  const disksAtStart = await readDiskstats(host);
  let disk: string | undefined;
  let diskMajMin: string | undefined;
  let dev: number | undefined;
  if (params.disk !== undefined) {
    const want = params.disk.replace(/^\/dev\//, '');
    const d = disksAtStart.find((x) => x.name === want || `${x.major}:${x.minor}` === want);
    if (!d) throw new IoScopeError(`no disk ${params.disk} in /proc/diskstats`);
    disk = d.name;
    diskMajMin = `${d.major}:${d.minor}`;
    dev = devFromMajMin(diskMajMin);
  }
  const selfPid = host.live?.selfPid;
  // A container or pod that does not exist is refused before the tracer loads.
  if (scope.container !== undefined || scope.pod !== undefined) {
    const procs0 = await readProcessCgroups(host, h, selfPid);
    const lookup0 = await containerLookup(host, new Set(procs0.map((p) => p.cgroup)));
    const any = procs0.some((r) => {
      const c = lookup0(r.cgroup);
      return inScope(c ? { ...r, container: c } : r, scope);
    });
    if (!any && scope.container !== undefined) throw new IoScopeError(`no running container matches "${scope.container}"`);
    if (!any && scope.pod !== undefined) throw new IoScopeError(`no pod named "${scope.pod}" has a running container here`);
  }

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
    const procsBefore = await readProcessCgroups(host, h, selfPid);
    let lookup = await containerLookup(host, new Set(procsBefore.map((p) => p.cgroup)));
    const named = <T extends ProcRow>(r: T): T & { container?: ContainerRef } => {
      const c = lookup(r.cgroup);
      return c ? { ...r, container: c } : r;
    };
    const scopedBefore = procsBefore.map(named).filter((p) => inScope(p, scope));
    if (scope.container !== undefined && scopedBefore.length === 0) throw new IoScopeError(`no running container matches "${scope.container}"`);
    if (scope.pod !== undefined && scopedBefore.length === 0) throw new IoScopeError(`no pod named "${scope.pod}" has a running container here`);
    const before = await readProcessIo(host, scopedBefore);

    // The cgroups whose own counters are read: those of the processes in scope, and the scope's.
    const cgroupsToRead = new Set(scopedBefore.map((p) => p.cgroup));
    if (scope.cgroup !== undefined) cgroupsToRead.add(scope.cgroup);
    cgroupsToRead.delete('/');
    const cgBefore = new Map<string, { source: string; readBytes: number; writeBytes: number }>();
    if (h) {
      for (const p of [...cgroupsToRead].slice(0, 2000)) {
        const b = await cgroupBytes(host, h, p, diskMajMin);
        if (b) cgBefore.set(p, b);
      }
    }
    // /proc/kallsyms takes a second or more to read and parse on a busy host: done during the interval.
    const symsSoon: Promise<KallsymsTable | undefined> | undefined = tracer ? readKallsyms(host).catch(() => undefined) : undefined;
    o.onIntervalStart?.();
    const readMs = Number(monoNs() - t0) / 1e6;
    // The after reads take about as long as these did: sleep the rest of the interval.
    await abortableSleep(Math.max(0, params.intervalS * 1000 - readMs), o.signal).catch(() => undefined);
    const endNs = monoNs();
    const intervalS = Number(endNs - t0) / 1e9;
    const disksAfter = await readDiskstats(host);
    const psiAfter = await tryPsi(host);
    // The BPF aggregates first (the interval ends here), then the slower reads.
    const raw = tracer
      ? {
          histograms: tracer.histograms(),
          inflight: tracer.inflight(),
          waits: tracer.waits(),
          files: tracer.files(),
          fileTasks: tracer.fileTasks(),
          tasks: tracer.tasks(),
          lost: tracer.lostEvents(),
          dropped: tracer.filesDropped(),
          now: endNs,
          events: events.filter((e) => e.tsNs <= endNs),
        }
      : undefined;
    const procsAfter = await readProcessCgroups(host, h, selfPid);
    lookup = await containerLookup(host, new Set([...procsBefore, ...procsAfter].map((p) => p.cgroup)));
    const scopedAfter = procsAfter.map(named).filter((p) => inScope(p, scope));
    const after = await readProcessIo(host, scopedAfter);
    const cgroupIo: CapturedCgroupIo[] = [];
    if (h) {
      for (const [p, b] of cgBefore) {
        const a = await cgroupBytes(host, h, p, diskMajMin);
        if (!a) continue;
        const c = lookup(p);
        cgroupIo.push({ path: p, source: a.source, before: { readBytes: b.readBytes, writeBytes: b.writeBytes }, after: { readBytes: a.readBytes, writeBytes: a.writeBytes }, ...(c ? { container: c } : {}) });
      }
    }
    const names = new Map<string, string>();
    for (const name of await listBlockDevices(host).catch(() => [])) names.set(name, name);
    const devices: BlockDevice[] = [];
    for (const d of disksAfter) {
      if (!names.has(d.name)) continue; // a partition
      if (disk !== undefined && d.name !== disk) continue;
      devices.push(await readBlockDevice(host, d.name));
    }
    const scopedPids = new Set(scopedAfter.map((p) => p.pid));
    const scoped = scope.pid !== undefined || scope.cgroup !== undefined || scope.container !== undefined || scope.pod !== undefined;
    const dt = await readDTasks(host, (pid) => !scoped || scopedPids.has(pid));
    if (dt.stacksDenied) coverage.push({ section: 'hangs', status: 'partial', reason: 'cannot read /proc/PID/stack (needs root): D-state tasks without stacks' });
    let trace: CapturedTrace | undefined;
    if (tracer && raw) {
      const now = raw.now;
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

      // Files: the processes in scope only (the tracer filters by pid itself; cgroup, container and pod here).
      const taskCgroup = new Map(raw.tasks.map((t) => [t.tgid, cgName(t.cgroupId)] as const));
      const taskInScope = (pid: number): boolean => {
        if (!scoped) return true;
        const cg = taskCgroup.get(pid) ?? scopedAfter.find((p) => p.pid === pid)?.cgroup;
        if (cg === undefined) return false;
        const c = lookup(cg);
        return inScope({ pid, cgroup: cg, ...(c ? { container: c } : {}) }, scope);
      };
      const byFile = new Map<string, CapturedFile>();
      const idOf = (f: RawFileId): { key: string; device: string } => {
        const device = devName(f.dev);
        return { key: fileKey(device, f.ino), device };
      };
      for (const f of raw.files) {
        if (scoped) continue; // rebuilt from the tasks in scope below
        const { key, device } = idOf(f.file);
        byFile.set(key, { device, kind: f.file.kind, ino: f.file.ino, path: null, readBytes: f.readBytes, dirtiedBytes: f.dirtiedBytes, tasks: [] });
      }
      for (const t of raw.fileTasks) {
        if (!taskInScope(t.tgid)) continue;
        const { key, device } = idOf(t.file);
        let row = byFile.get(key);
        if (!row) {
          if (!scoped) continue;
          byFile.set(key, (row = { device, kind: t.file.kind, ino: t.file.ino, path: null, readBytes: 0, dirtiedBytes: 0, tasks: [] }));
        }
        if (scoped) {
          row.readBytes += t.readBytes;
          row.dirtiedBytes += t.dirtiedBytes;
        }
        row.tasks.push({ pid: t.tgid, comm: t.comm, readBytes: t.readBytes, dirtiedBytes: t.dirtiedBytes });
      }
      // The busiest files are named (path resolution costs a walk of /proc).
      const busiest = [...byFile.values()].sort((a, b) => b.readBytes + b.dirtiedBytes - (a.readBytes + a.dirtiedBytes)).slice(0, Math.max(params.top * 5, 100));
      const slowFiles = raw.events.flatMap((e) => (e.file ? [e.file] : []));
      const wanted = new Set<string>();
      for (const f of busiest) if (f.kind === 'inode') wanted.add(fileKey(f.device, f.ino));
      for (const f of slowFiles) if (f.kind === 'inode') wanted.add(idOf(f).key);
      const firstPids = [...new Set(busiest.flatMap((f) => f.tasks.map((t) => t.pid)))];
      // The inode walk (about a second on a busy host) only for files that can make the table.
      const walkFor = new Set(busiest.slice(0, params.top).flatMap((f) => (f.kind === 'inode' ? [fileKey(f.device, f.ino)] : [])));
      const res = await resolveFilePaths(host, wanted, firstPids, { walk: o.inodeWalk !== false, walkOnlyFor: walkFor });
      const pathOf = (kind: 'inode' | 'bdev', device: string, ino: number): string | null =>
        kind === 'bdev' ? `/dev/${diskOf.get(device) ?? device}` : (res.paths.get(fileKey(device, ino)) ?? null);
      for (const f of busiest) f.path = pathOf(f.kind, f.device, f.ino);
      const unresolved = busiest.filter((f) => f.path === null).length;
      if (unresolved > 0) {
        coverage.push({
          section: 'traffic.files',
          status: 'partial',
          reason: `${unresolved} of ${busiest.length} files could not be named (no process has them open or mapped${res.walkUnavailable ? `, and the inode walk did not run: ${res.walkUnavailable}` : ', and the kernel holds no dentry for them'}): listed as dev:ino (unresolved)`,
        });
      }
      if (raw.dropped > 0) coverage.push({ section: 'traffic.files', status: 'partial', reason: `${raw.dropped} updates found the per-file maps full (16384 files, 16384 file×process rows): those files are missing` });

      const slow: CapturedSlow[] = raw.events.map((e) => {
        const cgroup = cgName(e.cgroupId);
        const container = lookup(cgroup);
        const file = e.file ? (pathOf(e.file.kind, devName(e.file.dev), e.file.ino) ?? `${devName(e.file.dev)}:${e.file.ino} (unresolved)`) : null;
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
          file,
        };
      });
      const inflight: CapturedInflight[] = raw.inflight
        .filter((r) => r.issueNs <= now)
        .map((r) => ({ disk: nameOf(r.dev), ageS: Number(now - r.issueNs) / 1e9, sector: r.sector, op: opName(r.op), pid: r.tgid, comm: r.comm }));
      const waits: CapturedWait[] = raw.waits.map((w) => ({
        pid: w.tgid,
        tid: w.tid,
        comm: w.comm,
        totalMs: w.totalNs / 1e6,
        count: w.count,
        maxMs: w.maxNs / 1e6,
        stack: w.maxStackId >= 0 ? stackOf(w.maxStackId) : [],
        cgroup: cgName(w.cgroupId),
      }));
      const histograms = raw.histograms.map(({ dev: d, ...rest }) => ({ ...rest, disk: d === 0 ? '' : nameOf(d) }));
      const dirtiers: CapturedDirtier[] | null = tracer.dirtyTraced
        ? raw.tasks.filter((t) => taskInScope(t.tgid)).map((t) => ({ pid: t.tgid, comm: t.comm, dirtiedBytes: t.dirtiedBytes, readBytes: t.readBytes, cgroup: cgName(t.cgroupId) }))
        : null;
      trace = { histograms, slow, inflight, waits, lostEvents: raw.lost, files: busiest, dirtiers, filesDropped: raw.dropped };
      Object.assign(method, tracer.method);
      coverage.push(...tracer.coverage);
      if (dev !== undefined) coverage.push({ section: 'traffic.files', status: 'partial', reason: `--disk: reads are those sent to ${disk}, dirtied pages those of file systems on it (a block device's own cache only for the whole disk, not its partitions)` });
    } else {
      coverage.push({ section: 'iowait', status: 'unavailable', reason: 'needs the BPF tracer (sched_switch with in_iowait)' });
      coverage.push({ section: 'traffic.files', status: 'unavailable', reason: 'per-file traffic needs the BPF tracer (block_bio_queue and writeback_dirty_folio tracepoints)' });
    }
    if (h) {
      const src = cgroupIo[0]?.source ?? (h.version === 2 ? 'io.stat' : 'blkio.throttle.io_service_bytes_recursive');
      method.cgroups = h.writebackToDirtier
        ? `the kernel's own counters (${src}, this cgroup and its descendants), two reads apart; cgroup v2 with the memory controller charges writeback to the dirtier's cgroup`
        : `reads from the kernel's own counters (${src}, this cgroup and its descendants), two reads apart; writes are the sums of the cgroup's processes' write_bytes (the dirtier's), because ${h.version === 1 ? 'cgroup v1 blkio' : 'cgroup v2 without the memory controller'} charges buffered writeback to the flusher's cgroup`;
    }
    if (!h) coverage.push({ section: 'traffic.cgroups', status: 'partial', reason: 'no cgroup hierarchy with io accounting: cgroups are the sums of their processes' });
    else if (cgroupIo.length < cgBefore.size || cgBefore.size < cgroupsToRead.size) {
      coverage.push({ section: 'traffic.cgroups', status: 'partial', reason: `${cgroupsToRead.size - cgroupIo.length} of ${cgroupsToRead.size} cgroups have no readable I/O counters (${h.version === 2 ? 'io controller not enabled for them' : 'no blkio counter file'}): those are the sums of their processes` });
    }
    if (h?.version === 1) {
      coverage.push({ section: 'traffic.cgroups', status: 'partial', reason: 'cgroup v1 blkio.throttle counters move only in cgroups with a throttle limit on recent kernels (5.x+): cgroups whose counters stayed at 0 while their processes did I/O are the sums of their processes' });
    }
    if (before.denied > 0) {
      const why = host.info().uid === 0 ? 'permission denied even to root' : 'needs root';
      coverage.push({ section: 'traffic', status: 'partial', reason: `${before.denied} processes' /proc/PID/io could not be read (${why})` });
    }
    if (!psiAfter) coverage.push({ section: 'psi', status: 'unavailable', reason: 'no /proc/pressure/io (kernel < 4.20, CONFIG_PSI off or psi=0)' });
    return {
      schema: IO_CAPTURE_SCHEMA,
      intervalS,
      ...(disk !== undefined ? { disk } : {}),
      disksBefore,
      disksAfter,
      devices: devices.map((d) => ({ name: d.name, ...(d.scheduler ? { scheduler: d.scheduler } : {}), ...(d.rotational !== undefined ? { rotational: d.rotational } : {}), ...(d.model ? { model: d.model } : {}), ...(d.inflight ? { inflight: d.inflight } : {}) })),
      ...(psiBefore ? { psiBefore } : {}),
      ...(psiAfter ? { psiAfter } : {}),
      processesBefore: before.rows,
      processesAfter: after.rows,
      hierarchy: h ? { version: h.version, mount: h.mount, writebackToDirtier: h.writebackToDirtier } : null,
      cgroupIo: h ? cgroupIo : null,
      dTasks: dt.tasks,
      ...(trace ? { trace } : {}),
      method,
      coverage,
    };
  } finally {
    tracer?.close();
  }
}
