/**
 * `oscope io`, the analysis: pure functions from an IoCapture (collect.ts) to the document's sections
 * and its RawFindings. No I/O.
 *
 * Disk figures follow iostat -x: over the interval Δ of /proc/diskstats,
 *   iops = Δ(reads + writes + discards + flushes) / t     readBytesPerS = Δsectors_read × 512 / t
 *   await = Δ(read + write + discard + flush ticks) / Δ(completed requests)
 *   %util = Δio_ticks / t                                 queueDepth (aqu-sz) = Δtime_in_queue / t
 */
import type { RawFinding, Severity } from '../../contract/common.js';
import type { IoCgroupTraffic, IoDTaskGroup, IoDisk, IoDiskLatency, IoFileTraffic, IoHang, IoProcessTraffic, IoSlowRequest, IoStage, IoStageName, IoWaitTask } from '../../contract/io.js';
import { IO_STAGES } from '../../contract/io.js';
import type { ContainerRef } from '../../contract/common.js';
import { histogramOf } from '../latency/analyze.js';
import type { Thresholds } from '../thresholds.js';
import type { CapturedProcess, CapturedTrace, IoCapture } from './capture.js';
import { cgroupWithin } from './scope.js';

type DiskStat = IoCapture['disksBefore'][number];
type BlockDevice = IoCapture['devices'][number];

const r2 = (n: number): number => Math.round(n * 100) / 100;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** The io.* thresholds. */
export function ioThresholds(t: Thresholds): Record<string, number> {
  return Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('io.')));
}

const completed = (d: DiskStat): number => d.reads + d.writes + (d.discards ?? 0) + (d.flushes ?? 0);
const ticks = (d: DiskStat): number => d.readTicksMs + d.writeTicksMs + (d.discardTicksMs ?? 0) + (d.flushTicksMs ?? 0);
/** Counters wrap (unsigned long on 32-bit kernels) or reset when a loop device is re-attached: a negative Δ counts as 0. */
const delta = (a: number, b: number): number => Math.max(0, b - a);

/** iostat -x over the interval, for the whole disks in `devices`. Disks that never did I/O are left out unless named. */
export function diskRates(before: readonly DiskStat[], after: readonly DiskStat[], devices: readonly BlockDevice[], intervalS: number, only?: string): IoDisk[] {
  const prev = new Map(before.map((d) => [d.name, d] as const));
  const dev = new Map(devices.map((d) => [d.name, d] as const));
  const out: IoDisk[] = [];
  const t = Math.max(intervalS, 1e-3);
  for (const a of after) {
    const info = dev.get(a.name);
    if (!info) continue;
    if (only !== undefined && a.name !== only) continue;
    const b = prev.get(a.name) ?? a;
    if (only === undefined && completed(a) === 0 && a.inFlight === 0) continue;
    const ios = delta(completed(b), completed(a));
    const inflight = info.inflight ? info.inflight.reads + info.inflight.writes : a.inFlight;
    out.push({
      name: a.name,
      majMin: `${a.major}:${a.minor}`,
      ...(info.model ? { model: info.model } : {}),
      scheduler: info.scheduler?.active ?? 'none',
      rotational: info.rotational ?? false,
      iops: r2(ios / t),
      readBytesPerS: Math.round((delta(b.sectorsRead, a.sectorsRead) * 512) / t),
      writeBytesPerS: Math.round((delta(b.sectorsWritten, a.sectorsWritten) * 512) / t),
      awaitMs: ios > 0 ? r3(delta(ticks(b), ticks(a)) / ios) : 0,
      utilPct: r2(Math.min(100, (delta(b.ioTicksMs, a.ioTicksMs) / (t * 1000)) * 100)),
      queueDepth: r2(delta(b.timeInQueueMs, a.timeInQueueMs) / (t * 1000)),
      inflight,
    });
  }
  return out.sort((x, y) => y.utilPct - x.utilPct || x.name.localeCompare(y.name));
}

/** A log2-µs histogram's summary (runlatency's histogramOf, the same log2 buckets and percentile rule). */
export function stageOf(slots: readonly number[], sumNs: number, maxNs: number): IoStage {
  const { buckets, ...h } = histogramOf(slots, sumNs, maxNs);
  return { ...h, histogram: buckets };
}

const EMPTY_STAGE: IoStage = { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, histogram: [] };

export function latencyPerDisk(trace: CapturedTrace | undefined): IoDiskLatency[] {
  if (!trace) return [];
  const by = new Map<string, Map<IoStageName, { slots: number[]; sumNs: number; maxNs: number }>>();
  for (const h of trace.histograms) {
    if (h.disk === '') continue;
    let m = by.get(h.disk);
    if (!m) by.set(h.disk, (m = new Map()));
    const acc = m.get(h.stage) ?? { slots: [], sumNs: 0, maxNs: 0 };
    h.slots.forEach((n, i) => (acc.slots[i] = (acc.slots[i] ?? 0) + n));
    acc.sumNs += h.sumNs;
    acc.maxNs = Math.max(acc.maxNs, h.maxNs);
    m.set(h.stage, acc);
  }
  const out: IoDiskLatency[] = [];
  for (const [disk, m] of by) {
    const stages = Object.fromEntries(
      IO_STAGES.map((s) => {
        const a = m.get(s);
        return [s, a ? stageOf(a.slots.map((x) => x ?? 0), a.sumNs, a.maxNs) : EMPTY_STAGE];
      }),
    ) as IoDiskLatency['stages'];
    let dominant: IoStageName | null = null;
    for (const s of IO_STAGES) if (stages[s].count > 0 && stages[s].meanMs > 0 && (dominant === null || stages[s].meanMs > stages[dominant].meanMs)) dominant = s;
    out.push({ disk, stages, dominant });
  }
  return out.sort((a, b) => b.stages.device.count - a.stages.device.count || a.disk.localeCompare(b.disk));
}

export function slowRequests(trace: CapturedTrace | undefined, top: number): IoSlowRequest[] {
  if (!trace) return [];
  return trace.slow
    .map((e) => ({
      at: e.at,
      disk: e.disk,
      op: e.op,
      sector: e.sector,
      sizeBytes: e.sizeBytes,
      totalMs: r3((e.queueMs ?? 0) + e.schedMs + e.deviceMs),
      queueMs: e.queueMs ?? 0,
      schedMs: e.schedMs,
      deviceMs: e.deviceMs,
      wakeMs: e.wakeMs,
      pid: e.pid,
      tid: e.tid,
      comm: e.comm,
      cgroup: e.cgroup,
      ...(e.container ? { container: e.container } : {}),
      file: e.file ?? null,
    }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
}

/**
 * Bytes per process over the interval; a process born during the interval counts from zero, one that
 * exited is lost. When both reads carry their time (live hosts), a delta is scaled from its own span to
 * `intervalS`: on a busy host one scan of /proc can lag the other by a large part of a second, which
 * would otherwise show as traffic that was not there. dirtiedBytes: the page cache the process dirtied
 * as the tracer saw it (null without it).
 */
export function processTraffic(before: readonly CapturedProcess[], after: readonly CapturedProcess[], trace?: CapturedTrace, intervalS?: number): IoProcessTraffic[] {
  const prev = new Map(before.map((p) => [p.pid, p] as const));
  const dirtied = trace?.dirtiers ? new Map(trace.dirtiers.map((d) => [d.pid, d.dirtiedBytes] as const)) : undefined;
  const out: IoProcessTraffic[] = [];
  for (const a of after) {
    const b0 = prev.get(a.pid);
    const b = b0 && b0.comm === a.comm ? b0 : undefined;
    const spanMs = b?.ioAtMs !== undefined && a.ioAtMs !== undefined ? a.ioAtMs - b.ioAtMs : undefined;
    const scale = intervalS !== undefined && spanMs !== undefined && spanMs > 0 ? (intervalS * 1000) / spanMs : 1;
    const readBytes = Math.round(delta(b?.io.readBytes ?? 0, a.io.readBytes) * scale);
    const wa = a.io.writeBytes - a.io.cancelledWriteBytes;
    const wb = b ? b.io.writeBytes - b.io.cancelledWriteBytes : 0;
    const writeBytes = Math.round(delta(wb, wa) * scale);
    const d = dirtied ? (dirtied.get(a.pid) ?? 0) : null;
    if (readBytes === 0 && writeBytes === 0 && !d) continue;
    out.push({ pid: a.pid, comm: a.comm, readBytes, writeBytes, dirtiedBytes: d, cgroup: a.cgroup, ...(a.container ? { container: a.container } : {}) });
  }
  return out.sort((x, y) => y.readBytes + y.writeBytes - (x.readBytes + x.writeBytes) || x.pid - y.pid);
}

/**
 * Traffic per cgroup, each row the cgroup and its descendants (the kernel's counters are hierarchical,
 * and the sums are taken the same way). Reads come from the cgroup's own counters (io.stat, blkio)
 * where it has them; writes too when the hierarchy charges writeback to the dirtier (cgroup v2 with
 * the memory controller), else the sum of its processes' write_bytes (the dirtier's). On cgroup v1,
 * counters that did not move while the cgroup's processes did I/O are taken as not kept (blk-throttle
 * keeps them only for cgroups with a limit) and the sums stand in. The root is left out (the disks are
 * the host's total).
 */
export function cgroupTraffic(procs: readonly IoProcessTraffic[], c?: Pick<IoCapture, 'cgroupIo' | 'hierarchy'>): IoCgroupTraffic[] {
  const paths = new Set<string>();
  const containers = new Map<string, ContainerRef>();
  for (const p of procs) {
    paths.add(p.cgroup);
    if (p.container) containers.set(p.cgroup, p.container);
  }
  const own = new Map((c?.cgroupIo ?? []).map((x) => [x.path, x] as const));
  for (const x of own.values()) {
    paths.add(x.path);
    if (x.container) containers.set(x.path, x.container);
  }
  paths.delete('/');
  const out: IoCgroupTraffic[] = [];
  for (const path of paths) {
    let readBytes = 0;
    let writeBytes = 0;
    for (const p of procs) {
      if (!cgroupWithin(p.cgroup, path)) continue;
      readBytes += p.readBytes;
      writeBytes += p.writeBytes;
    }
    const k = own.get(path);
    if (k) {
      const kr = delta(k.before.readBytes, k.after.readBytes);
      const kw = delta(k.before.writeBytes, k.after.writeBytes);
      const kept = c?.hierarchy?.version === 2 || kr + kw > 0 || readBytes + writeBytes === 0;
      if (kept) {
        readBytes = kr;
        if (c?.hierarchy?.writebackToDirtier) writeBytes = kw;
      }
    }
    if (readBytes === 0 && writeBytes === 0) continue;
    const container = containers.get(path);
    out.push({ path, readBytes, writeBytes, ...(container ? { container } : {}) });
  }
  return out.sort((x, y) => y.readBytes + y.writeBytes - (x.readBytes + x.writeBytes) || x.path.localeCompare(y.path));
}

/**
 * Traffic per file: bytes read from disk into its page cache and bytes of it dirtied (what will be
 * written back; the dirtier's, as for processes), with the processes that dirtied it, most first.
 * A file nobody could name is "dev:ino (unresolved)".
 */
export function fileTraffic(trace: CapturedTrace | undefined): IoFileTraffic[] {
  if (!trace?.files) return [];
  return trace.files
    .filter((f) => f.readBytes + f.dirtiedBytes > 0)
    .map((f) => ({
      path: f.path ?? `${f.device}:${f.ino} (unresolved)`,
      readBytes: f.readBytes,
      writeBytes: f.dirtiedBytes,
      writers: f.tasks
        .filter((t) => t.dirtiedBytes > 0)
        .sort((a, b) => b.dirtiedBytes - a.dirtiedBytes || a.pid - b.pid)
        .map((t) => ({ pid: t.pid, comm: t.comm })),
    }))
    .sort((a, b) => b.readBytes + b.writeBytes - (a.readBytes + a.writeBytes) || a.path.localeCompare(b.path));
}

/** Requests older than hangS that the tracer saw issued, and disks with requests in flight and no completion all interval. */
export function findHangs(c: IoCapture, hangS: number): IoHang[] {
  const out: IoHang[] = [];
  for (const r of c.trace?.inflight ?? []) {
    if (r.ageS < hangS) continue;
    out.push({ disk: r.disk, kind: 'request', ageS: r2(r.ageS), count: 1, sector: r.sector, op: r.op, pid: r.pid || null, comm: r.comm || null });
  }
  const withRequest = new Set(out.map((h) => h.disk));
  const prev = new Map(c.disksBefore.map((d) => [d.name, d] as const));
  const whole = new Set(c.devices.map((d) => d.name));
  if (c.intervalS >= hangS) {
    for (const a of c.disksAfter) {
      const b = prev.get(a.name);
      if (!b || !whole.has(a.name) || withRequest.has(a.name)) continue;
      if (a.inFlight > 0 && b.inFlight > 0 && completed(a) === completed(b)) {
        out.push({ disk: a.name, kind: 'disk', ageS: r2(c.intervalS), count: a.inFlight, sector: null, op: null, pid: null, comm: null });
      }
    }
  }
  return out.sort((x, y) => y.ageS - x.ageS);
}

export function groupDTasks(c: IoCapture): IoDTaskGroup[] {
  const by = new Map<string, IoDTaskGroup>();
  for (const t of c.dTasks) {
    const k = t.stack.join('\n');
    const g = by.get(k) ?? { stack: t.stack, tasks: [] };
    g.tasks.push({ pid: t.pid, tid: t.tid, comm: t.comm });
    by.set(k, g);
  }
  return [...by.values()].sort((a, b) => b.tasks.length - a.tasks.length);
}

export function iowaitTasks(trace: CapturedTrace | undefined, intervalS: number, top: number): IoWaitTask[] {
  if (!trace) return [];
  return trace.waits
    .map((w) => ({
      pid: w.pid,
      tid: w.tid,
      comm: w.comm,
      iowaitMs: r2(w.totalMs),
      iowaitPct: r2(Math.min(100, (w.totalMs / (intervalS * 1000)) * 100)),
      count: w.count,
      maxMs: r2(w.maxMs),
      stack: w.stack,
      cgroup: w.cgroup,
    }))
    .sort((a, b) => b.iowaitMs - a.iowaitMs)
    .slice(0, top);
}

/** The first frame that is not the sleeping machinery: where the task waits. */
export function waitFrame(stack: readonly string[]): string {
  const skip = /^(__schedule|schedule|io_schedule|bit_wait_io|__wait_on_bit|out_of_line_wait_on_bit|folio_wait_bit|__folio_lock|wait_for_completion|blk_io_schedule|__blk_mq_get_tag|blk_mq_get_tag|rwsem_down|schedule_timeout|io_schedule_timeout|__wait_|wait_on_page_bit|folio_wait|submit_bio_wait|__submit_bio_wait)/;
  for (const f of stack) if (!skip.test(f)) return f.split('+')[0]!;
  return stack[0]?.split('+')[0] ?? '-';
}

export interface IoAnalysis {
  intervalS: number;
  thresholds: Record<string, number>;
  disks: IoDisk[];
  psi: { someAvg10: number; fullAvg10: number; someMs: number; fullMs: number } | null;
  latency: { perDisk: IoDiskLatency[]; slow: IoSlowRequest[]; lostEvents: number };
  traffic: { processes: IoProcessTraffic[]; cgroups: IoCgroupTraffic[]; files: IoFileTraffic[] };
  hangs: IoHang[];
  dTasks: IoDTaskGroup[];
  iowait: { tasks: IoWaitTask[] };
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: IoCapture['coverage'];
}

function latencyFindings(perDisk: readonly IoDiskLatency[], slow: readonly IoSlowRequest[], t: Thresholds): RawFinding[] {
  const out: RawFinding[] = [];
  for (const d of perDisk) {
    const s = d.stages;
    const requests = s.device.count;
    const meanMs = r3(s.queue.meanMs + s.sched.meanMs + s.device.meanMs);
    const worst = slow.find((x) => x.disk === d.disk);
    const who = worst ? { comm: worst.comm, pid: worst.pid } : { comm: '-', pid: 0 };
    if (requests >= t['io.minRequests'] && meanMs >= t['io.latencyMs']) {
      const osMs = r3(s.queue.meanMs + s.sched.meanMs);
      const device = s.device.meanMs >= osMs;
      const severity: Severity = meanMs >= 5 * t['io.latencyMs'] ? 'critical' : 'warning';
      const sharePct = meanMs > 0 ? r2(((device ? s.device.meanMs : osMs) / meanMs) * 100) : 0;
      out.push({
        id: device ? 'io.latency.device' : 'io.latency.queue',
        severity,
        params: {
          disk: d.disk,
          requests,
          meanMs,
          thresholdMs: t['io.latencyMs'],
          deviceMs: s.device.meanMs,
          deviceP50Ms: s.device.p50Ms,
          deviceP99Ms: s.device.p99Ms,
          queueMs: s.queue.meanMs,
          schedMs: s.sched.meanMs,
          queueP50Ms: s.queue.p50Ms,
          sharePct,
          comm: who.comm,
          pid: who.pid,
        },
        evidence: { disk: d.disk, stages: d.stages, slowest: slow.filter((x) => x.disk === d.disk).slice(0, 5) },
      });
    }
    if (s.wake.count >= Math.max(5, Math.ceil(t['io.minRequests'] / 4)) && s.wake.meanMs >= t['io.wakeMs']) {
      out.push({
        id: 'io.latency.wake',
        severity: s.wake.meanMs >= 5 * t['io.wakeMs'] ? 'critical' : 'warning',
        params: { disk: d.disk, wakeups: s.wake.count, wakeMs: s.wake.meanMs, wakeP99Ms: s.wake.p99Ms, thresholdMs: t['io.wakeMs'], deviceMs: s.device.meanMs },
        evidence: { disk: d.disk, wake: s.wake },
      });
    }
  }
  return out;
}

function trafficFinding(procs: readonly IoProcessTraffic[], cgroups: readonly IoCgroupTraffic[], intervalS: number, t: Thresholds): RawFinding | undefined {
  const total = procs.reduce((a, p) => a + p.readBytes + p.writeBytes, 0);
  const perS = total / Math.max(intervalS, 1e-3);
  if (total === 0 || perS < t['io.dominantMinBytesPerS']) return undefined;
  const p = procs[0]!;
  const pShare = ((p.readBytes + p.writeBytes) / total) * 100;
  const base = { totalBytes: total, totalBytesPerS: Math.round(perS), thresholdPct: t['io.dominantPct'] };
  if (pShare >= t['io.dominantPct']) {
    return {
      id: 'io.traffic.dominant',
      severity: 'warning',
      params: { ...base, kind: 'process', who: `${p.comm} [${p.pid}]`, comm: p.comm, pid: p.pid, cgroup: p.cgroup, sharePct: r2(pShare), readBytes: p.readBytes, writeBytes: p.writeBytes },
      evidence: { top: procs.slice(0, 5) },
    };
  }
  const c = cgroups.find((x) => x.path !== '/');
  if (c) {
    const cShare = ((c.readBytes + c.writeBytes) / total) * 100;
    if (cShare >= t['io.dominantPct']) {
      return {
        id: 'io.traffic.dominant',
        severity: 'warning',
        params: { ...base, kind: 'cgroup', who: c.path, comm: '-', pid: 0, cgroup: c.path, sharePct: r2(cShare), readBytes: c.readBytes, writeBytes: c.writeBytes },
        evidence: { top: cgroups.slice(0, 5), processes: procs.filter((x) => x.cgroup === c.path).slice(0, 5) },
      };
    }
  }
  return undefined;
}

export function analyzeIo(c: IoCapture, t: Thresholds, top = 20): IoAnalysis {
  const disks = diskRates(c.disksBefore, c.disksAfter, c.devices, c.intervalS, c.disk);
  const perDisk = latencyPerDisk(c.trace);
  const slow = slowRequests(c.trace, top);
  const processesAll = processTraffic(c.processesBefore, c.processesAfter, c.trace, c.intervalS);
  const cgroupsAll = cgroupTraffic(processesAll, c);
  const files = fileTraffic(c.trace);
  const hangs = findHangs(c, t['io.hangS']);
  const dTasks = groupDTasks(c);
  const waits = iowaitTasks(c.trace, c.intervalS, top);
  let psi: IoAnalysis['psi'] = null;
  if (c.psiAfter) {
    psi = {
      someAvg10: c.psiAfter.some?.avg10 ?? 0,
      fullAvg10: c.psiAfter.full?.avg10 ?? 0,
      someMs: r2(Math.max(0, (c.psiAfter.some?.totalMs ?? 0) - (c.psiBefore?.some?.totalMs ?? 0))),
      fullMs: r2(Math.max(0, (c.psiAfter.full?.totalMs ?? 0) - (c.psiBefore?.full?.totalMs ?? 0))),
    };
  }
  const findings: RawFinding[] = [];
  findings.push(...latencyFindings(perDisk, slow, t));
  const tf = trafficFinding(processesAll, cgroupsAll, c.intervalS, t);
  if (tf) findings.push(tf);
  // io.hang: one finding per disk, the oldest request first.
  const hangDisks = new Map<string, IoHang[]>();
  for (const h of hangs) hangDisks.set(h.disk, [...(hangDisks.get(h.disk) ?? []), h]);
  const ioStuck = dTasks.filter((g) => g.stack.some((f) => /io_schedule|blk_|bio_|folio_wait|wait_on_page/.test(f)));
  for (const [disk, hs] of hangDisks) {
    const h = hs[0]!;
    const g = ioStuck[0];
    findings.push({
      id: 'io.hang',
      severity: 'critical',
      params: {
        disk,
        ageS: h.ageS,
        requests: hs.reduce((a, x) => a + x.count, 0),
        thresholdS: t['io.hangS'],
        sector: h.sector ?? 0,
        comm: h.comm ?? '-',
        pid: h.pid ?? 0,
        dTasks: ioStuck.reduce((a, x) => a + x.tasks.length, 0),
        frame: g ? waitFrame(g.stack) : '-',
      },
      evidence: { hangs: hs, dTasks: ioStuck.slice(0, 5) },
    });
  }
  for (const d of disks) {
    if (d.utilPct >= t['io.utilPct'] && d.iops > 0) {
      findings.push({
        id: 'io.util.saturated',
        severity: 'warning',
        params: { disk: d.name, utilPct: d.utilPct, thresholdPct: t['io.utilPct'], queueDepth: d.queueDepth, awaitMs: d.awaitMs, iops: d.iops, readBytesPerS: d.readBytesPerS, writeBytesPerS: d.writeBytesPerS, rotational: d.rotational ? 'rotational' : 'solid-state' },
        evidence: { disk: d },
      });
    }
  }
  const w = waits[0];
  if ((w && w.iowaitPct >= t['io.iowaitPct']) || (psi && psi.someAvg10 >= t['io.iowaitPct'])) {
    findings.push({
      id: 'io.iowait.high',
      severity: psi && psi.fullAvg10 >= t['io.iowaitPct'] ? 'critical' : 'warning',
      params: {
        comm: w?.comm ?? '-',
        pid: w?.pid ?? 0,
        iowaitPct: w?.iowaitPct ?? 0,
        iowaitMs: w?.iowaitMs ?? 0,
        psiSomePct: psi?.someAvg10 ?? 0,
        psiFullPct: psi?.fullAvg10 ?? 0,
        thresholdPct: t['io.iowaitPct'],
        frame: w ? waitFrame(w.stack) : '-',
      },
      evidence: { tasks: waits.slice(0, 5), psi },
    });
  }
  return {
    intervalS: r2(c.intervalS),
    thresholds: ioThresholds(t),
    disks,
    psi,
    latency: { perDisk, slow, lostEvents: c.trace?.lostEvents ?? 0 },
    traffic: { processes: processesAll.slice(0, top), cgroups: cgroupsAll.slice(0, top), files: files.slice(0, top) },
    hangs,
    dTasks,
    iowait: { tasks: waits },
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}
