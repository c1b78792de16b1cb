/**
 * Pure analysis of captured latency data: tracer records → report events, histograms, summary and
 * findings. No I/O: the run (run.ts) and the monitor (monitor.ts) capture, this decides.
 */
import type { RawFinding, Severity } from '../../contract/common.js';
import { type RawHistogram, type RawLatencyEvent, SOFTIRQ_NAMES } from './bpf.js';
import {
  type CgroupHistogram,
  type CoverageEntry,
  type CpuHistogram,
  type Histograms,
  type KindSummary,
  type KindThresholds,
  LATENCY_KINDS,
  type LatencyAnalysis,
  type LatencyEvent,
  type LatencyHistogram,
  type LatencyKind,
  type TaskRef,
} from './types.js';

const round2 = (n: number): number => Math.round(n * 100) / 100;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function softirqName(vec: number): string {
  return SOFTIRQ_NAMES[vec] ?? `vec${vec}`;
}

/**
 * One tracer record as a report event. `wallOffsetMs` = wall clock − CLOCK_MONOTONIC (ms); `stackOf`
 * symbolises a stack id ([] when unknown).
 */
export function toLatencyEvent(r: RawLatencyEvent, wallOffsetMs: number, stackOf: (id: number, scan?: readonly bigint[]) => string[]): LatencyEvent {
  const at = new Date(Number(r.tsNs / 1000n) / 1000 + wallOffsetMs).toISOString();
  const task: TaskRef = { pid: r.tgid, comm: r.comm };
  const culprit: TaskRef | null = r.culpritPid !== 0 ? { pid: r.culpritTgid, comm: r.culpritComm } : null;
  const base = { cpu: r.cpu, latencyMs: round2(r.latencyNs / 1e6), at, stack: r.stackId >= 0 || r.scan ? stackOf(r.stackId, r.scan) : [] };
  switch (r.kind) {
    case 'runqueue':
    case 'nosched':
    case 'irqoff':
      return { kind: r.kind, ...base, pid: task.pid, comm: task.comm, culprit };
    case 'softirqDelay':
      // The softirq waited to run: the victim is the vector's work, the culprit whoever held the CPU.
      return { kind: 'softirq', ...base, pid: 0, comm: `softirq:${softirqName(r.extra)}:delay`, culprit: culprit ?? task };
    case 'softirqRun':
      return { kind: 'softirq', ...base, pid: task.pid, comm: task.comm, culprit: { pid: 0, comm: `softirq:${softirqName(r.extra)}` } };
    case 'hardirq':
      return { kind: 'hardirq', ...base, pid: task.pid, comm: task.comm, culprit: { pid: 0, comm: `irq:${r.extra}${r.name ? `:${r.name}` : ''}` } };
  }
}

/**
 * A log2-µs histogram's summary. A percentile is the mean of its bucket, estimated from the exact sum
 * with every other bucket at its middle, when that estimate falls inside the bucket; else the bucket's
 * middle (±50 %). Always capped at the max. With one bucket (a steady latency) that is the exact mean,
 * where the middle alone could be a third off (20 ms lies in [16.4, 32.8) ms, middle 24.6).
 */
export function histogramOf(slots: readonly number[], sumNs: number, maxNs: number): LatencyHistogram {
  const count = slots.reduce((a, b) => a + b, 0);
  let last = slots.length - 1;
  while (last >= 0 && slots[last] === 0) last--;
  const midUs = (i: number): number => 2 ** i * 1.5;
  const atMiddlesUs = slots.reduce((a, n, i) => a + n * midUs(i), 0);
  const bucketUs = (i: number): number => {
    const n = slots[i]!;
    const mean = (sumNs / 1000 - (atMiddlesUs - n * midUs(i))) / n;
    const lo = i === 0 ? 0 : 2 ** i;
    return mean >= lo && mean < 2 ** (i + 1) ? mean : midUs(i);
  };
  const pct = (p: number): number => {
    if (count === 0) return 0;
    const want = Math.ceil(count * p);
    let acc = 0;
    for (let i = 0; i < slots.length; i++) {
      acc += slots[i]!;
      if (acc >= want) return Math.min(maxNs / 1e6, bucketUs(i) / 1000);
    }
    return maxNs / 1e6;
  };
  return {
    count,
    buckets: slots.slice(0, last + 1),
    meanMs: count ? round3(sumNs / count / 1e6) : 0,
    p50Ms: round3(pct(0.5)),
    p99Ms: round3(pct(0.99)),
    maxMs: round3(maxNs / 1e6),
  };
}

function merge(into: { slots: number[]; sumNs: number; maxNs: number }, h: RawHistogram): void {
  for (let i = 0; i < h.slots.length; i++) into.slots[i] = (into.slots[i] ?? 0) + h.slots[i]!;
  into.sumNs += h.sumNs;
  into.maxNs = Math.max(into.maxNs, h.maxNs);
}

/** Wakeup-to-run histograms per CPU and per cgroup (named by `cgroupName`, else `id:<n>`). */
export function buildHistograms(raw: readonly RawHistogram[], cgroupName: (id: bigint) => string | undefined): Histograms {
  const byCpu = new Map<number, { slots: number[]; sumNs: number; maxNs: number }>();
  const byCg = new Map<bigint, { slots: number[]; sumNs: number; maxNs: number }>();
  for (const h of raw) {
    if (!byCpu.has(h.cpu)) byCpu.set(h.cpu, { slots: [], sumNs: 0, maxNs: 0 });
    merge(byCpu.get(h.cpu)!, h);
    if (!byCg.has(h.cgroupId)) byCg.set(h.cgroupId, { slots: [], sumNs: 0, maxNs: 0 });
    merge(byCg.get(h.cgroupId)!, h);
  }
  const perCpu: CpuHistogram[] = [...byCpu.entries()].sort((a, b) => a[0] - b[0]).map(([cpu, a]) => ({ cpu, ...histogramOf(a.slots, a.sumNs, a.maxNs) }));
  const perCgroup: CgroupHistogram[] = [...byCg.entries()]
    .map(([id, a]) => ({ cgroup: cgroupName(id) ?? `id:${id}`, ...histogramOf(a.slots, a.sumNs, a.maxNs) }))
    .sort((a, b) => b.maxMs - a.maxMs || b.count - a.count);
  return { runqueue: { perCpu, perCgroup } };
}

export interface CapturedLatency {
  durationS: number;
  cpus: number;
  thresholds: KindThresholds;
  events: LatencyEvent[];
  histograms: Histograms;
  stealGaps: number;
  timerGaps: number;
  lostEvents: number;
  method: Record<string, string>;
  coverage: CoverageEntry[];
}

const FINDING_ID: Record<LatencyKind, string> = {
  runqueue: 'lat.runqueue.high',
  irqoff: 'lat.irqoff',
  softirq: 'lat.softirq.slow',
  hardirq: 'lat.hardirq.slow',
  nosched: 'lat.nosched',
};

interface Tally {
  name: string;
  pid: number;
  count: number;
  totalMs: number;
  maxMs: number;
}

function tally(events: readonly LatencyEvent[], key: (e: LatencyEvent) => TaskRef | null): Tally[] {
  const m = new Map<string, Tally>();
  for (const e of events) {
    const t = key(e);
    if (!t) continue;
    const k = `${t.pid}/${t.comm}`;
    const x = m.get(k) ?? { name: t.comm, pid: t.pid, count: 0, totalMs: 0, maxMs: 0 };
    x.count++;
    x.totalMs += e.latencyMs;
    x.maxMs = Math.max(x.maxMs, e.latencyMs);
    m.set(k, x);
  }
  return [...m.values()].sort((a, b) => b.totalMs - a.totalMs);
}

/**
 * The first frame that is not the sampling/IRQ-return or irq-enable machinery: where the CPU was busy.
 * Scanned frames ("? name+0x..") count, without their mark.
 */
export function topFrame(stack: readonly string[]): string {
  const skip = /^(bpf_|__bpf|perf_|__perf|hrtimer|__hrtimer|__sysvec|sysvec_|asm_sysvec|irq_exit|__irq_exit|handle_softirqs|__do_softirq|do_softirq|tick_|update_process_times|sched_tick|cpu_clock_event|__raw_spin_unlock_irqrestore|_raw_spin_unlock_irqrestore|_raw_spin_unlock_irq|(__raw_callee_save_)?(native|pvm|xen|pv|arch_local)_irq_(enable|restore)|__raw_callee_save_|__pv_queued_spin_unlock|.*_save_fl\b)/;
  const name = (f: string): string => f.replace(/^\? /, '').split('+')[0]!;
  for (const f of stack) if (!skip.test(f.replace(/^\? /, ''))) return name(f);
  return stack[0] ? name(stack[0]) : '-';
}

function findingFor(kind: LatencyKind, events: LatencyEvent[], thresholdMs: number): RawFinding {
  const worst = events.reduce((a, b) => (b.latencyMs > a.latencyMs ? b : a));
  const victims = tally(events, (e) => ({ pid: e.pid, comm: e.comm }));
  const culprits = tally(events, (e) => e.culprit);
  const maxMs = worst.latencyMs;
  const severity: Severity = maxMs >= Math.max(5 * thresholdMs, 100) ? 'critical' : 'warning';
  const v = victims[0]!;
  const c = culprits[0];
  const cpus = [...new Set(events.map((e) => e.cpu))].sort((a, b) => a - b);
  return {
    id: FINDING_ID[kind],
    severity,
    params: {
      count: events.length,
      maxMs,
      thresholdMs,
      totalMs: round2(events.reduce((a, e) => a + e.latencyMs, 0)),
      victim: v.name,
      victimPid: v.pid,
      culprit: c ? c.name : '?',
      culpritPid: c ? c.pid : 0,
      cpus: cpus.join(','),
      frame: topFrame(worst.stack),
    },
    evidence: {
      worst,
      victims: victims.slice(0, 5),
      culprits: culprits.slice(0, 5),
    },
  };
}

/**
 * `lat.summary` (info), always: what the window covered, so a clean run still says what it measured —
 * wakeups that waited for a CPU, run-queue p99 and worst across CPUs (the worst CPU's), events over
 * their thresholds.
 */
export function summaryFinding(durationS: number, cpus: number, h: Histograms, byKind: Record<LatencyKind, KindSummary>): RawFinding {
  const perCpu = h.runqueue.perCpu;
  const worstP99 = perCpu.reduce<CpuHistogram | undefined>((a, x) => (a === undefined || x.p99Ms > a.p99Ms ? x : a), undefined);
  const events = LATENCY_KINDS.reduce((n, k) => n + byKind[k].count, 0);
  return {
    id: 'lat.summary',
    severity: 'info',
    params: {
      durationS: Math.round(durationS * 10) / 10,
      cpus,
      wakeups: perCpu.reduce((n, x) => n + x.count, 0),
      p99Ms: round3(Math.max(0, ...perCpu.map((x) => x.p99Ms))),
      maxMs: round3(Math.max(0, ...perCpu.map((x) => x.maxMs))),
      events,
      worstCpu: worstP99?.cpu ?? 0,
    },
    evidence: { byKind: Object.fromEntries(LATENCY_KINDS.map((k) => [k, byKind[k].count])), perCpu: perCpu.map((x) => ({ cpu: x.cpu, count: x.count, p99Ms: x.p99Ms, maxMs: x.maxMs })) },
  };
}

export function analyzeLatency(c: CapturedLatency): LatencyAnalysis {
  const byKind = {} as Record<LatencyKind, KindSummary>;
  const findings: RawFinding[] = [];
  for (const k of LATENCY_KINDS) {
    const ev = c.events.filter((e) => e.kind === k);
    byKind[k] = { count: ev.length, maxMs: round2(Math.max(0, ...ev.map((e) => e.latencyMs))), totalMs: round2(ev.reduce((a, e) => a + e.latencyMs, 0)) };
    if (ev.length > 0 && c.thresholds[k] > 0) findings.push(findingFor(k, ev, c.thresholds[k]));
  }
  findings.push(summaryFinding(c.durationS, c.cpus, c.histograms, byKind));
  return {
    thresholds: c.thresholds,
    events: c.events,
    histograms: c.histograms,
    summary: { durationS: round2(c.durationS), cpus: c.cpus, byKind, stealGaps: c.stealGaps, timerGaps: c.timerGaps, lostEvents: c.lostEvents },
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}
