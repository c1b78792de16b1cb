/**
 * What the agent collects every interval: only cheap reads (a few /proc files and the memory cgroup
 * tree's stat files; no per-process or per-page scans). One `Snapshot` feeds the Prometheus metrics,
 * the alert rules and the sample sent to the console.
 */
import type { Host } from '../host/host.js';
import { containerLookup, type ContainerLookup } from '../diagnose/memory/containers.js';
import type { ContainerRef } from '../diagnose/memory/types.js';
import { walkMemoryCgroups } from '../kernel/cgroup/walk.js';
import { computeZombies } from '../kernel/cgroup/zombie.js';
import { readMeminfo } from '../kernel/procfs/meminfo.js';
import { type PsiLine, type PsiResource, readPsi } from '../kernel/procfs/psi.js';
import { readVmallocinfo, vmallocTotalBytes } from '../kernel/procfs/vmallocinfo.js';
import { pageSize } from '../kernel/procfs/vmstat.js';
import { readUnaccountedInputs, unaccountedBytes } from '../diagnose/memory/unaccounted.js';
import type { KernelLogSource, LogAnomalies } from './kernel-log.js';
import type { RunqueueReading, RunqueueSource } from './runqueue.js';
import type { IoLatencyReading, IoLatencySource } from './iolat.js';
import type { NodeSampleData, SampleDisk, SampleNet } from '../contract/agent-wire.js';
import type { IoDisk } from '../contract/io.js';
import { diskRates } from '../diagnose/io/analyze.js';
import { type DiskStat, readDiskstats } from '../kernel/procfs/diskstats.js';
import { type BlockDevice, listBlockDevices, readBlockDevice } from '../kernel/sysfs/block.js';
import { type CgroupHierarchyInfo, cgroupDir, controllerHierarchy, readCgroupHierarchies } from '../kernel/cgroup/hierarchies.js';
import { cgroupIoTotals, readCgroupIo } from '../kernel/cgroup/io-stat.js';
import { containerLabel } from '../report/format.js';
import { readNetDev } from '../kernel/procfs/net/dev.js';
import { readNetstat, readSnmp } from '../kernel/procfs/net/snmp.js';
import { readSoftnetStat } from '../kernel/procfs/net/softnet.js';
import { parseSockstat } from '../kernel/procfs/sockstat.js';
import { type CpuTimes, cpuTotalTicks, readProcStatFile } from '../kernel/procfs/stat.js';
import { readLoadavg } from '../kernel/procfs/loadavg.js';

/** The counters behind net drops (Proto.Field of /proc/net/snmp and TcpExt.* of netstat): the reason label of oscope_net_drops_total. */
export const NET_DROP_COUNTERS = ['TcpExt.ListenDrops', 'TcpExt.TCPBacklogDrop', 'TcpExt.TCPRcvQDrop', 'TcpExt.PFMemallocDrop', 'TcpExt.TCPMinTTLDrop', 'TcpExt.TCPDeferAcceptDrop', 'TcpExt.TCPZeroWindowDrop', 'TcpExt.TCPOFODrop', 'Ip.InDiscards', 'Ip.OutDiscards', 'Udp.InErrors', 'Udp.RcvbufErrors', 'Udp.SndbufErrors'] as const;

/** The host namespace's network counters since boot (cheap: five /proc files). */
export interface NetSnapshot {
  /** NET_DROP_COUNTERS as read (absent ones left out). */
  drops: Record<string, number>;
  retransSegs: number;
  outSegs: number;
  listenOverflows: number;
  listenDrops: number;
  /** softnet_stat summed over the CPUs. */
  softnetDropped: number;
  softnetSqueezed: number;
  /** Per interface (lo excluded): errors and drops, rx and tx. */
  interfaces: { name: string; rxErrors: number; txErrors: number; rxDropped: number; txDropped: number }[];
  /** TCP buffer memory (sockstat TCP mem pages × page size), and sockets in use. */
  tcpMemBytes: number | null;
  tcpSockets: number | null;
}

export async function readNetSnapshot(host: Host): Promise<NetSnapshot> {
  const [snmp, netstat, softnet, dev, ss, ps] = await Promise.all([readSnmp(host), readNetstat(host), readSoftnetStat(host), readNetDev(host), host.tryReadText('/proc/net/sockstat'), pageSize(host)]);
  const all = new Map([...snmp, ...netstat]);
  const drops: Record<string, number> = {};
  for (const k of NET_DROP_COUNTERS) {
    const v = all.get(k);
    if (v !== undefined) drops[k] = v;
  }
  const sock = ss !== undefined ? parseSockstat(ss, '/proc/net/sockstat') : undefined;
  const mem = sock?.get('TCP', 'mem');
  return {
    drops,
    retransSegs: snmp.get('Tcp.RetransSegs') ?? 0,
    outSegs: snmp.get('Tcp.OutSegs') ?? 0,
    listenOverflows: netstat.get('TcpExt.ListenOverflows') ?? 0,
    listenDrops: netstat.get('TcpExt.ListenDrops') ?? 0,
    softnetDropped: softnet.reduce((a, c) => a + c.dropped, 0),
    softnetSqueezed: softnet.reduce((a, c) => a + c.timeSqueeze, 0),
    interfaces: dev.filter((d) => d.name !== 'lo').map((d) => ({ name: d.name, rxErrors: d.rxErrors, txErrors: d.txErrors, rxDropped: d.rxDropped, txDropped: d.txDropped })),
    tcpMemBytes: mem !== undefined ? mem * ps : null,
    tcpSockets: sock?.get('TCP', 'inuse') ?? null,
  };
}

export interface MemorySnapshot {
  totalBytes: number;
  availableBytes: number;
  freeBytes: number;
  /** Where the used memory is, from /proc/meminfo (component → bytes). */
  components: Record<MemoryComponent, number>;
}

export const MEMORY_COMPONENTS = ['anon', 'file', 'shmem', 'slab_reclaimable', 'slab_unreclaimable', 'kernel_stack', 'page_tables', 'vmalloc', 'percpu', 'hugetlb'] as const;
export type MemoryComponent = (typeof MEMORY_COMPONENTS)[number];

export interface CgroupSnapshot {
  path: string;
  depth: number;
  container?: ContainerRef;
  usageBytes: number;
  workingsetBytes: number;
  limitBytes: number | null;
  fileBytes: number;
  shmemBytes: number;
  /** Bytes read and written by the cgroup and its descendants since it was created (blkio v1 / io.stat v2); absent when unreadable. */
  io?: { readBytes: number; writeBytes: number; readIos: number; writeIos: number };
  /** CPU time used by the cgroup and its descendants since it was created, µs (cpuacct v1 / cpu.stat v2); absent when unreadable. */
  cpuUsageUs?: number;
}

/**
 * One whole disk: `oscope io`'s disk row over the last interval (iostat -x, the same arithmetic:
 * src/diagnose/io/analyze.ts diskRates) plus the cumulative counters behind it.
 */
export interface DiskSnapshot extends IoDisk {
  /** Seconds since the previous reading; 0 on the first one (the rates are then 0). */
  intervalS: number;
  readBytesTotal: number;
  writtenBytesTotal: number;
  ios: { read: number; write: number; discard: number; flush: number };
  /** io_ticks: time the disk had requests in flight, ms since boot. */
  ioTimeMs: number;
  /**
   * Requests in flight and no request completed for this long (s, from one reading to the next: a lower
   * bound to the interval); 0 when nothing is in flight or something completed since the last reading.
   */
  stalledS: number;
}

/**
 * Load and the CPU time split over the interval since the previous reading (/proc/loadavg, /proc/stat;
 * the same arithmetic as `oscope load`'s cpu block). The split is null on the first reading.
 */
export interface CpuSnapshot {
  load1: number;
  load5: number;
  load15: number;
  /** Online CPUs (cpuN lines of /proc/stat). */
  cpus: number;
  split: { userPct: number; sysPct: number; irqPct: number; softirqPct: number; iowaitPct: number; stealPct: number } | null;
}

/** Percentages of the ticks between two readings of the aggregate cpu line (one decimal). */
export function cpuSplit(a: CpuTimes, b: CpuTimes): NonNullable<CpuSnapshot['split']> | null {
  const total = cpuTotalTicks(b) - cpuTotalTicks(a);
  if (total <= 0) return null;
  const pct = (x: number, y: number): number => Math.round((Math.max(0, y - x) / total) * 1000) / 10;
  return {
    userPct: pct(a.user + a.nice, b.user + b.nice),
    sysPct: pct(a.system, b.system),
    irqPct: pct(a.irq, b.irq),
    softirqPct: pct(a.softirq, b.softirq),
    iowaitPct: pct(a.iowait, b.iowait),
    stealPct: pct(a.steal, b.steal),
  };
}

export interface PsiSnapshot {
  resource: PsiResource;
  some?: PsiLine;
  full?: PsiLine;
}

export interface Snapshot {
  ts: number;
  memory: MemorySnapshot;
  /** Memory cgroups worth a series: depth ≤ maxDepth, or a container at any depth. Root excluded. */
  cgroups: CgroupSnapshot[];
  zombies?: { count?: number; bytes: number };
  psi: PsiSnapshot[];
  /**
   * The three counters of memleak's instant check, computed the way collectCheckInput does:
   * SUnreclaim, vmalloc (VmallocUsed, or the sum of /proc/vmallocinfo where the kernel prints 0 there)
   * and memory no meminfo counter explains (per-CPU free pages from /proc/zoneinfo subtracted).
   */
  leak?: LeakCounters;
  /** Run-queue latency this interval; null when the source is unavailable (no BPF), absent in old tests. */
  runqueue?: RunqueueReading | null;
  /** Kernel-log anomalies this interval; null when the kernel log cannot be followed. */
  logAnomalies?: LogAnomalies | null;
  /** Whole disks (from /proc/diskstats and /sys/block); absent in old tests. */
  disks?: DiskSnapshot[];
  /** Block I/O latency per disk and stage (BPF); null when the source is unavailable. */
  ioLatency?: IoLatencyReading | null;
  /** The host namespace's network counters; absent when unreadable (and in old tests). */
  net?: NetSnapshot;
  /** Load average and the CPU time split; absent when unreadable (and in old tests). */
  cpu?: CpuSnapshot;
  /** Sources that failed this time (name → reason); the rest of the snapshot is still good. */
  errors: Record<string, string>;
  durationMs: number;
}

export interface LeakCounters {
  slabUnreclaimableBytes: number;
  vmallocBytes: number;
  unaccountedBytes: number;
}

export interface CollectOptions {
  /** Cgroups deeper than this get a series only when they are containers (default 2). */
  cgroupMaxDepth?: number;
  /** The run-queue latency histogram source (BPF); undefined = none. */
  runqueue?: RunqueueSource;
  /** The kernel-log follower; undefined = none. */
  kernelLog?: KernelLogSource;
  /** The block I/O latency histogram source (BPF); undefined = none. */
  ioLatency?: IoLatencySource;
}

const completedOf = (d: DiskStat): number => d.reads + d.writes + (d.discards ?? 0) + (d.flushes ?? 0);

export class Collector {
  private lookup: ContainerLookup | undefined;
  private lookupKey = '';
  private prevDisks: { ts: number; stats: DiskStat[] } | undefined;
  /** Per disk: completed requests at the last reading and when that count last changed (ms). */
  private readonly progress = new Map<string, { completed: number; sinceMs: number }>();
  private wholeDisks: { key: string; names: Set<string> } | undefined;
  private ioHierarchy: CgroupHierarchyInfo | null | undefined;
  private prevCpu: CpuTimes | undefined;
  private cpuHierarchy: { h: CgroupHierarchyInfo; acct?: CgroupHierarchyInfo } | null | undefined;

  constructor(
    private readonly host: Host,
    private readonly opts: CollectOptions = {},
  ) {}

  async collect(): Promise<Snapshot> {
    const t0 = performance.now();
    const ts = Date.now();
    const errors: Record<string, string> = {};
    const fail = (src: string) => (err: unknown) => {
      errors[src] = (err as Error).message;
      return undefined;
    };

    const mi = await readMeminfo(this.host);
    const b = (k: string): number => mi.bytesOr0(k);
    const total = b('MemTotal');
    // Derived figures come from the Meminfo getters, the definitions `oscope mem` uses too.
    const memory: MemorySnapshot = {
      totalBytes: total,
      availableBytes: mi.availableBytes(),
      freeBytes: b('MemFree'),
      components: {
        anon: b('AnonPages'),
        file: mi.fileCacheBytes(),
        shmem: b('Shmem'),
        slab_reclaimable: mi.slabReclaimableBytes(),
        slab_unreclaimable: mi.slabUnreclaimableBytes(),
        kernel_stack: b('KernelStack'),
        page_tables: mi.pageTablesBytes(),
        vmalloc: b('VmallocUsed'),
        percpu: b('Percpu'),
        hugetlb: mi.hugetlbBytes(),
      },
    };

    let leak: LeakCounters | undefined;
    try {
      let vmalloc = b('VmallocUsed');
      if (vmalloc === 0) {
        // Kernels before 4.? print 0 in VmallocUsed: sum the areas, as memleak's check does.
        const [info, ps] = await Promise.all([readVmallocinfo(this.host), pageSize(this.host)]);
        vmalloc = vmallocTotalBytes(info, ps);
      }
      // The same inputs and formula as `oscope mem` and `memleak -c` (src/diagnose/memory/unaccounted.ts).
      leak = { slabUnreclaimableBytes: b('SUnreclaim'), vmallocBytes: vmalloc, unaccountedBytes: unaccountedBytes(mi, await readUnaccountedInputs(this.host)) };
    } catch (err) {
      fail('leak')(err);
    }

    let runqueue: RunqueueReading | null = null;
    if (this.opts.runqueue) {
      try {
        runqueue = this.opts.runqueue.read();
      } catch (err) {
        fail('runqueue')(err);
      }
    }
    let logAnomalies: LogAnomalies | null = null;
    if (this.opts.kernelLog) {
      try {
        logAnomalies = this.opts.kernelLog.take();
      } catch (err) {
        fail('kernel_log')(err);
      }
    }

    let disks: DiskSnapshot[] | undefined;
    const stats = await readDiskstats(this.host).catch(fail('diskstats'));
    if (stats) disks = await this.disks(ts, stats).catch(fail('disks'));
    let ioLatency: IoLatencyReading | null = null;
    if (this.opts.ioLatency) {
      try {
        ioLatency = this.opts.ioLatency.read(new Map((stats ?? []).map((d) => [`${d.major}:${d.minor}`, d.name])));
      } catch (err) {
        fail('io_latency')(err);
      }
    }

    const net = await readNetSnapshot(this.host).catch(fail('net'));
    const cpu = await this.cpu().catch(fail('cpu'));

    const psi: PsiSnapshot[] = [];
    for (const r of ['memory', 'cpu', 'io'] as const) {
      const p = await readPsi(this.host, r).catch(fail(`psi.${r}`));
      if (p) psi.push({ resource: r, ...p });
    }

    const cgroups: CgroupSnapshot[] = [];
    let zombies: Snapshot['zombies'];
    const walk = await walkMemoryCgroups(this.host).catch(fail('cgroups'));
    if (walk) {
      const key = walk.cgroups.map((c) => c.path).join('\n');
      if (!this.lookup || key !== this.lookupKey) {
        this.lookup = await containerLookup(this.host, walk.cgroups.map((c) => c.path)).catch(() => undefined);
        this.lookupKey = key;
      }
      const maxDepth = this.opts.cgroupMaxDepth ?? 2;
      for (const c of walk.cgroups) {
        if (c.depth === 0) continue;
        const container = this.lookup?.(c.path);
        if (c.depth > maxDepth && !container) continue;
        cgroups.push({
          path: c.path,
          depth: c.depth,
          container,
          usageBytes: c.memory.usageBytes,
          workingsetBytes: c.memory.workingsetBytes,
          limitBytes: c.memory.limitBytes !== null && c.memory.limitBytes < total ? c.memory.limitBytes : null,
          fileBytes: c.memory.fileBytes,
          shmemBytes: c.memory.shmemBytes,
        });
      }
      await this.cgroupIo(cgroups).catch(fail('cgroup_io'));
      await this.cgroupCpu(cgroups).catch(fail('cgroup_cpu'));
      try {
        const z = computeZombies(walk);
        zombies = { count: z.zombies, bytes: z.zombieBytes };
      } catch (err) {
        fail('zombies')(err);
      }
    }
    return { ts, memory, cgroups, zombies, psi, leak, runqueue, logAnomalies, disks, ioLatency, ...(net ? { net } : {}), ...(cpu ? { cpu } : {}), errors, durationMs: performance.now() - t0 };
  }

  private async cpu(): Promise<CpuSnapshot> {
    const [st, la] = await Promise.all([readProcStatFile(this.host), readLoadavg(this.host)]);
    const split = this.prevCpu ? cpuSplit(this.prevCpu, st.total) : null;
    this.prevCpu = st.total;
    return { load1: la.load1, load5: la.load5, load15: la.load15, cpus: Math.max(1, st.perCpu.size), split };
  }

  /** Whole disks over the interval since the previous reading (the first reading has rates of 0). */
  private async disks(ts: number, stats: DiskStat[]): Promise<DiskSnapshot[]> {
    const key = stats.map((d) => d.name).join(' ');
    if (!this.wholeDisks || this.wholeDisks.key !== key) this.wholeDisks = { key, names: new Set(await listBlockDevices(this.host)) };
    const whole = stats.filter((d) => this.wholeDisks!.names.has(d.name));
    const devices: BlockDevice[] = [];
    // Only disks that did I/O (diskRates leaves out the others): a host with 200 idle loop devices reads no more.
    for (const d of whole) if (completedOf(d) > 0 || d.inFlight > 0) devices.push(await readBlockDevice(this.host, d.name));
    const prev = this.prevDisks;
    const intervalS = prev ? Math.max(1e-3, (ts - prev.ts) / 1000) : 0;
    const rows = diskRates(prev?.stats ?? whole, whole, devices, intervalS || 1);
    this.prevDisks = { ts, stats: whole };
    const byName = new Map(whole.map((d) => [d.name, d]));
    const out: DiskSnapshot[] = [];
    for (const r of rows) {
      const d = byName.get(r.name)!;
      const done = completedOf(d);
      const p = this.progress.get(r.name);
      const sinceMs = !p || p.completed !== done || d.inFlight === 0 ? ts : p.sinceMs;
      this.progress.set(r.name, { completed: done, sinceMs });
      out.push({
        ...r,
        intervalS: Math.round(intervalS * 1000) / 1000,
        readBytesTotal: d.sectorsRead * 512,
        writtenBytesTotal: d.sectorsWritten * 512,
        ios: { read: d.reads, write: d.writes, discard: d.discards ?? 0, flush: d.flushes ?? 0 },
        ioTimeMs: d.ioTicksMs,
        stalledS: r.inflight > 0 || d.inFlight > 0 ? Math.round(ts - sinceMs) / 1000 : 0,
      });
    }
    for (const name of [...this.progress.keys()]) if (!byName.has(name)) this.progress.delete(name);
    return out;
  }

  /** Adds each kept cgroup's CPU usage, read from the cpu (+ cpuacct) v1 hierarchy or v2 at the same path. */
  private async cgroupCpu(cgroups: CgroupSnapshot[]): Promise<void> {
    if (this.cpuHierarchy === undefined) {
      const layout = await readCgroupHierarchies(this.host);
      const h = controllerHierarchy(layout, 'cpu') ?? controllerHierarchy(layout, 'cpuacct');
      this.cpuHierarchy = h ? { h, acct: h.version === 1 ? controllerHierarchy(layout, 'cpuacct') : undefined } : null;
    }
    const ch = this.cpuHierarchy;
    if (!ch) return;
    for (const c of cgroups) {
      const dir = cgroupDir(ch.h, c.path);
      if (!dir) continue;
      try {
        if (ch.h.version === 2) {
          const m = /^usage_usec (\d+)$/m.exec((await this.host.tryReadText(`${dir}/cpu.stat`)) ?? '');
          if (m) c.cpuUsageUs = Number(m[1]);
        } else {
          const acct = ch.acct ? cgroupDir(ch.acct, c.path) : dir;
          const u = (await this.host.tryReadText(`${acct ?? dir}/cpuacct.usage`))?.trim();
          if (u && /^\d+$/.test(u)) c.cpuUsageUs = Math.round(Number(u) / 1000);
        }
      } catch {
        /* not in this hierarchy, or removed meanwhile */
      }
    }
  }

  /** Adds each kept cgroup's I/O counters, read from the blkio (v1) or io (v2) hierarchy at the same path. */
  private async cgroupIo(cgroups: CgroupSnapshot[]): Promise<void> {
    if (this.ioHierarchy === undefined) {
      const layout = await readCgroupHierarchies(this.host);
      this.ioHierarchy = controllerHierarchy(layout, 'blkio') ?? controllerHierarchy(layout, 'io') ?? null;
    }
    const h = this.ioHierarchy;
    if (!h) return;
    for (const c of cgroups) {
      const dir = cgroupDir(h, c.path);
      if (!dir) continue;
      try {
        const io = await readCgroupIo(this.host, dir, h.version);
        if (io) c.io = cgroupIoTotals(io.devices);
      } catch {
        /* not in this hierarchy (v1 trees differ per controller), or removed meanwhile */
      }
    }
  }
}

/** The disks of a sample: the busiest `top` by utilisation, then throughput (none on the first reading). */
export function sampleDisks(s: Snapshot, top = 16): SampleDisk[] {
  const lat = new Map((s.ioLatency?.interval ?? []).map((d) => [d.disk, d]));
  return (s.disks ?? [])
    .filter((d) => d.intervalS > 0)
    .sort((a, b) => b.utilPct - a.utilPct || b.readBytesPerS + b.writeBytesPerS - (a.readBytesPerS + a.writeBytesPerS) || a.name.localeCompare(b.name))
    .slice(0, top)
    .map((d) => {
      const l = lat.get(d.name);
      return {
        name: d.name,
        iops: d.iops,
        readBytesPerS: d.readBytesPerS,
        writeBytesPerS: d.writeBytesPerS,
        awaitMs: d.awaitMs,
        utilPct: d.utilPct,
        inflight: d.inflight,
        latency: l ? Object.fromEntries(Object.entries(l.stages).map(([k, v]) => [k, { count: v.count, meanMs: v.meanMs, p50Ms: v.p50Ms, p99Ms: v.p99Ms, maxMs: v.maxMs }])) : null,
      };
    });
}

/**
 * The host namespace's network over the interval between two snapshots (what the node page charts):
 * undefined without both readings. A counter that went backwards (a reset, a namespace re-created)
 * counts 0 rather than a negative rate.
 */
export function sampleNet(prev: NetSnapshot | undefined, cur: NetSnapshot | undefined, intervalS: number): SampleNet | undefined {
  if (!prev || !cur || !(intervalS > 0)) return undefined;
  const d = (a: number, b: number): number => Math.max(0, b - a);
  const dropsByCounter: Record<string, number> = {};
  for (const [k, v] of Object.entries(cur.drops)) {
    const x = d(prev.drops[k] ?? v, v);
    if (x > 0) dropsByCounter[k] = x;
  }
  const backlog = d(prev.softnetDropped, cur.softnetDropped);
  if (backlog > 0) dropsByCounter['softnet.backlog'] = backlog;
  const before = new Map(prev.interfaces.map((i) => [i.name, i]));
  // Per interface, so an interface that came or went does not count its whole history.
  const ifDelta = (f: (i: NetSnapshot['interfaces'][number]) => number): number =>
    cur.interfaces.reduce((a, i) => {
      const p = before.get(i.name);
      return a + (p ? d(f(p), f(i)) : 0);
    }, 0);
  return {
    intervalS,
    drops: Object.values(dropsByCounter).reduce((a, v) => a + v, 0),
    dropsByCounter,
    retransSegs: d(prev.retransSegs, cur.retransSegs),
    outSegs: d(prev.outSegs, cur.outSegs),
    listenOverflows: d(prev.listenOverflows, cur.listenOverflows),
    softnetSqueezed: d(prev.softnetSqueezed, cur.softnetSqueezed),
    ifErrors: ifDelta((i) => i.rxErrors + i.txErrors),
    ifDropped: ifDelta((i) => i.rxDropped + i.txDropped),
    tcpMemBytes: cur.tcpMemBytes,
    tcpSockets: cur.tcpSockets,
  };
}

/**
 * The compact sample sent to the console's metrics history (a few hundred bytes plus the top cgroups).
 * `prev` (the previous snapshot) gives the interval's network deltas.
 */
export function sampleOf(s: Snapshot, topCgroups = 20, prev?: Snapshot): NodeSampleData {
  const net = prev ? sampleNet(prev.net, s.net, (s.ts - prev.ts) / 1000) : undefined;
  const top = [...s.cgroups].sort((a, b) => b.usageBytes - a.usageBytes).slice(0, topCgroups);
  const psiMem = s.psi.find((p) => p.resource === 'memory');
  return {
    memTotalBytes: s.memory.totalBytes,
    memAvailableBytes: s.memory.availableBytes,
    memFreeBytes: s.memory.freeBytes,
    components: s.memory.components,
    zombieCgroups: s.zombies?.count ?? null,
    zombieBytes: s.zombies?.bytes ?? null,
    psiMemorySomeAvg10: psiMem?.some?.avg10 ?? null,
    psiMemoryFullAvg10: psiMem?.full?.avg10 ?? null,
    runqueueLatency: s.runqueue ? s.runqueue.interval : null,
    logAnomalies: s.logAnomalies ? { total: s.logAnomalies.total, byRule: byRule(s.logAnomalies) } : null,
    ...(s.disks ? { disks: sampleDisks(s) } : {}),
    ...(net ? { net } : {}),
    cgroups: top.map((c) => ({
      path: c.path,
      container: c.container ? containerLabel(c.container) : null,
      usageBytes: c.usageBytes,
      workingsetBytes: c.workingsetBytes,
      limitBytes: c.limitBytes,
    })),
  };
}

/** Reports per inspect kind (levels merged), for the console sample. */
export function byRule(a: LogAnomalies): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of a.counts) out[c.rule] = (out[c.rule] ?? 0) + c.count;
  return out;
}
