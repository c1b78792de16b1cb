/**
 * The data of `oscope runlatency`: latency events as the tracer reports them (language-neutral), the
 * per-kind thresholds, and the analysis the report is built from.
 */
import type { RawFinding } from '../../report/finding.js';

/** What delayed a task: see bpf/runlatency.bpf.c for how each is measured. */
export const LATENCY_KINDS = ['irqoff', 'softirq', 'hardirq', 'nosched', 'runqueue'] as const;
export type LatencyKind = (typeof LATENCY_KINDS)[number];

export interface TaskRef {
  pid: number;
  comm: string;
}

export interface LatencyEvent {
  kind: LatencyKind;
  cpu: number;
  /** The task that suffered (for irqoff/softirq/hardirq: the task the CPU was running). */
  pid: number;
  comm: string;
  latencyMs: number;
  /** ISO 8601 time the delay ended. */
  at: string;
  /** Kernel stack, innermost first, symbolised ("func+0x1a"); [] when not recorded. */
  stack: string[];
  /** Who caused it: the task that held the CPU, the softirq vector, the IRQ handler; null when unknown. */
  culprit: TaskRef | null;
}

/** Threshold per kind in ms; 0 turns a kind off. */
export type KindThresholds = Record<LatencyKind, number>;

/** One log2 histogram of wakeup-to-run latency. Bucket i counts latencies in [2^i, 2^(i+1)) µs. */
export interface LatencyHistogram {
  count: number;
  /** Counts per log2 µs bucket, trailing empty buckets dropped. */
  buckets: number[];
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CpuHistogram extends LatencyHistogram {
  cpu: number;
}

export interface CgroupHistogram extends LatencyHistogram {
  /**
   * cgroup v2 path ('/' for the root); `controller:/path` when the run filtered on a cgroup v1
   * hierarchy (ids then come from that hierarchy); `id:<n>` when the cgroup is gone.
   */
  cgroup: string;
}

export interface Histograms {
  runqueue: { perCpu: CpuHistogram[]; perCgroup: CgroupHistogram[] };
}

export interface KindSummary {
  count: number;
  maxMs: number;
  totalMs: number;
}

export interface LatencySummary {
  durationS: number;
  cpus: number;
  byKind: Record<LatencyKind, KindSummary>;
  /** cpu-clock gaps explained by hypervisor steal time (not counted as irqoff). */
  stealGaps: number;
  /** Late cpu-clock samples whose CPU switched tasks or took IRQs meanwhile (irqs were on; not counted as irqoff). */
  timerGaps: number;
  /** Events the kernel could not hand over (ring buffer full). */
  lostEvents: number;
}

export interface CoverageEntry {
  section: string;
  status: 'complete' | 'partial' | 'unavailable';
  reason?: string;
}

export interface LatencyAnalysis {
  thresholds: KindThresholds;
  events: LatencyEvent[];
  histograms: Histograms;
  summary: LatencySummary;
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: CoverageEntry[];
}
