/**
 * The agent's continuous run-queue latency histogram: one histogram-only runlatency session kept open for the agent's life (BPF links and maps are fd-scoped: a SIGKILL detaches them),
 * its per-CPU wakeup-to-run histograms read every interval and turned into per-interval deltas.
 *
 * The kernel side keeps log2-µs slots per (cgroup, CPU), cumulative since attach. Here they are summed
 * per CPU, the previous reading is subtracted, and the delta is regrouped into fixed buckets:
 * - the console sample gets every power of two from 4 µs to ~4.2 s (`SAMPLE_LE_MS`) plus +Inf;
 * - Prometheus gets every fourth power (16 µs … ~4.2 s, `PROM_LE_S`) to keep the series count down.
 * Percentiles are the middle of their log2 bucket (±50 %), as in `oscope runlatency`.
 */
import type { Host } from '../host/host.js';
import { histogramOf } from '../diagnose/latency/analyze.js';
import type { RawHistogram } from '../diagnose/latency/bpf.js';
import { LatencySession } from '../diagnose/latency/run.js';
import { resolveThresholds } from '../diagnose/thresholds.js';

/** Upper bounds (ms) of the sample's buckets: 2^k µs for k = 2..22, then Infinity. */
export const SAMPLE_LE_MS: readonly number[] = [...Array.from({ length: 21 }, (_, i) => 2 ** (i + 2) / 1000), Infinity];
/** Upper bounds (s) of the Prometheus buckets: 2^k µs for k = 4, 6, …, 22 (+Inf is implicit). */
export const PROM_LE_S: readonly number[] = Array.from({ length: 10 }, (_, i) => 2 ** (4 + 2 * i) / 1e6);

/** What goes into the console sample (`runqueueLatency`): this interval only. */
export interface RunqueueLatencySample {
  /** Bucket upper bounds in ms; the last is Infinity (JSON writes it as null). */
  leMs: number[];
  /** Wakeups per bucket (not cumulative). */
  counts: number[];
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** One CPU's cumulative counters since the session started. */
export interface CpuCumulative {
  cpu: number;
  /** Per log2-µs slot (slot i = [2^i, 2^(i+1)) µs). */
  slots: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}

export interface RunqueueReading {
  /** Cumulative per CPU (for the Prometheus histogram). */
  perCpu: CpuCumulative[];
  /** This interval, all CPUs together. */
  interval: RunqueueLatencySample;
}

/** Sums the kernel's (cgroup, CPU) histograms per CPU (for tracers that keep them per cgroup). Pure. */
export function sumPerCpu(raw: readonly RawHistogram[]): CpuCumulative[] {
  const by = new Map<number, CpuCumulative>();
  for (const h of raw) {
    let c = by.get(h.cpu);
    if (!c) {
      c = { cpu: h.cpu, slots: [], count: 0, sumNs: 0, maxNs: 0 };
      by.set(h.cpu, c);
    }
    for (let i = 0; i < h.slots.length; i++) c.slots[i] = (c.slots[i] ?? 0) + h.slots[i]!;
    c.count += h.count;
    c.sumNs += h.sumNs;
    c.maxNs = Math.max(c.maxNs, h.maxNs);
  }
  return [...by.values()].sort((a, b) => a.cpu - b.cpu);
}

/** Index in `bounds` (ascending upper bounds, same unit as `upper`) of the first bound ≥ upper; bounds.length for +Inf. */
function bucketIndex(bounds: readonly number[], upper: number): number {
  for (let i = 0; i < bounds.length; i++) if (upper <= bounds[i]! * (1 + 1e-9)) return i;
  return bounds.length;
}

/** Log2-µs slots regrouped into buckets with the given finite upper bounds in µs (+ one overflow bucket). */
export function regroup(slots: readonly number[], boundsUs: readonly number[]): number[] {
  const out = new Array<number>(boundsUs.length + 1).fill(0);
  for (let i = 0; i < slots.length; i++) {
    const n = slots[i]!;
    if (n > 0) out[bucketIndex(boundsUs, 2 ** (i + 1))]! += n;
  }
  return out;
}

/**
 * The interval between two cumulative readings (all CPUs): bucket counts, percentiles and the largest
 * latency. A CPU missing before counts from zero; counters that went backwards (map entries lost)
 * count as zero. The interval's max is exact when the cumulative max grew, otherwise the top of the
 * highest non-empty bucket (capped at the cumulative max).
 */
export function intervalOf(prev: readonly CpuCumulative[], cur: readonly CpuCumulative[]): RunqueueLatencySample {
  const before = new Map(prev.map((c) => [c.cpu, c]));
  const slots: number[] = [];
  let maxNs = 0;
  let grewMaxNs = 0;
  for (const c of cur) {
    const p = before.get(c.cpu);
    for (let i = 0; i < c.slots.length; i++) slots[i] = (slots[i] ?? 0) + Math.max(0, c.slots[i]! - (p?.slots[i] ?? 0));
    maxNs = Math.max(maxNs, c.maxNs);
    if (c.maxNs > (p?.maxNs ?? 0)) grewMaxNs = Math.max(grewMaxNs, c.maxNs);
  }
  const count = slots.reduce((a, b) => a + (b ?? 0), 0);
  const boundsUs = SAMPLE_LE_MS.slice(0, -1).map((ms) => ms * 1000);
  const counts = regroup(slots, boundsUs);
  if (count === 0) return { leMs: [...SAMPLE_LE_MS], counts, count: 0, p50Ms: null, p99Ms: null, maxMs: null };
  let top = slots.length - 1;
  while (top > 0 && !slots[top]) top--;
  const estMaxNs = grewMaxNs > 0 ? grewMaxNs : Math.min(2 ** (top + 1) * 1000, maxNs || Infinity);
  const h = histogramOf(
    slots.map((x) => x ?? 0),
    0,
    estMaxNs,
  );
  return { leMs: [...SAMPLE_LE_MS], counts, count, p50Ms: h.p50Ms, p99Ms: h.p99Ms, maxMs: Math.round(estMaxNs / 1000) / 1000 };
}

/** What the source needs from a tracer: the cumulative per-CPU histograms and a way to let go. */
export interface HistogramTracer {
  perCpu(): CpuCumulative[];
  close(): void;
}

export type StartRunqueueTracer = (host: Host) => Promise<HistogramTracer>;

/**
 * The default: a histogram-only LatencySession (no events, no kallsyms, no steal sampler, one
 * histogram per CPU). Throws with one sentence when unavailable (no root, no BTF, no built object).
 */
export const startLatencySessionTracer: StartRunqueueTracer = async (host) => {
  const s = await LatencySession.start(host, {
    thresholds: { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 0 },
    samplePeriodMs: resolveThresholds()['lat.samplePeriodMs'],
    histogramsOnly: true,
  });
  return { perCpu: () => s.runqueueHistogram(), close: () => s.close() };
};

export class RunqueueSource {
  private prev: CpuCumulative[] = [];

  private constructor(private readonly tracer: HistogramTracer) {}

  /** Starts the tracer: `{source}` or `{unavailable: sentence}` (no root, no BTF, no built object…). */
  static async start(host: Host, start: StartRunqueueTracer = startLatencySessionTracer): Promise<{ source: RunqueueSource } | { unavailable: string }> {
    try {
      const tracer = await start(host);
      const src = new RunqueueSource(tracer);
      // The baseline: the first interval counts from the start of the agent.
      src.prev = tracer.perCpu();
      return { source: src };
    } catch (err) {
      return { unavailable: (err as Error).message || String(err) };
    }
  }

  /** Reads the histograms now: cumulative per CPU and this interval's delta. */
  read(): RunqueueReading {
    const cur = this.tracer.perCpu();
    const interval = intervalOf(this.prev, cur);
    this.prev = cur;
    return { perCpu: cur, interval };
  }

  close(): void {
    this.tracer.close();
  }
}
