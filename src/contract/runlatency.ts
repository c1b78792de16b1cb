/**
 * `oscope.runlatency/v1`: scheduling and interrupt latency (irq-off, softirq, hardirq, long no-schedule,
 * run-queue delay) with victim, culprit and stack. The diagnosis is src/diagnose/latency/.
 */
import { z } from 'zod';
import { CoverageSchema, FindingSchema, MethodSchema, ms } from './common.js';

export const RUNLATENCY_SCHEMA = 'oscope.runlatency/v1';

/** What delayed a task: see bpf/runlatency.bpf.c for how each is measured. */
export const LATENCY_KINDS = ['irqoff', 'softirq', 'hardirq', 'nosched', 'runqueue'] as const;
export const LatencyKindSchema = z.enum(LATENCY_KINDS);
export type LatencyKind = z.infer<typeof LatencyKindSchema>;

export const TaskRefSchema = z.object({ pid: z.number().int().nonnegative(), comm: z.string() }).strict();
export type TaskRef = z.infer<typeof TaskRefSchema>;

export const LatencyEventSchema = z
  .object({
    kind: LatencyKindSchema,
    cpu: z.number().int().nonnegative(),
    /** The task that suffered (for irqoff/softirq/hardirq: the task the CPU was running). */
    pid: z.number().int().nonnegative(),
    comm: z.string(),
    latencyMs: ms,
    /** ISO 8601 time the delay ended. */
    at: z.string().datetime(),
    /** Kernel stack, innermost first, symbolised ("func+0x1a"); [] when not recorded. */
    stack: z.array(z.string()),
    /** Who caused it: the task that held the CPU, the softirq vector, the IRQ handler; null when unknown. */
    culprit: TaskRefSchema.nullable(),
  })
  .strict();
export type LatencyEvent = z.infer<typeof LatencyEventSchema>;

/** Threshold per kind in ms; 0 turns a kind off. */
export const KindThresholdsSchema = z.object({ irqoff: ms, softirq: ms, hardirq: ms, nosched: ms, runqueue: ms }).strict();
export type KindThresholds = z.infer<typeof KindThresholdsSchema>;

const histogram = {
  count: z.number().int().nonnegative(),
  /** Counts per log2 µs bucket (bucket i: [2^i, 2^(i+1)) µs), trailing empty buckets dropped. */
  buckets: z.array(z.number().int().nonnegative()),
  meanMs: ms,
  p50Ms: ms,
  p99Ms: ms,
  maxMs: ms,
};
export const LatencyHistogramSchema = z.object(histogram).strict();
export type LatencyHistogram = z.infer<typeof LatencyHistogramSchema>;
export const CpuHistogramSchema = z.object({ cpu: z.number().int().nonnegative(), ...histogram }).strict();
export type CpuHistogram = z.infer<typeof CpuHistogramSchema>;
/**
 * `cgroup`: cgroup v2 path ('/' for the root); `controller:/path` when the run filtered on a cgroup v1
 * hierarchy; `id:<n>` when the cgroup is gone.
 */
export const CgroupHistogramSchema = z.object({ cgroup: z.string(), ...histogram }).strict();
export type CgroupHistogram = z.infer<typeof CgroupHistogramSchema>;

export const HistogramsSchema = z.object({ runqueue: z.object({ perCpu: z.array(CpuHistogramSchema), perCgroup: z.array(CgroupHistogramSchema) }).strict() }).strict();
export type Histograms = z.infer<typeof HistogramsSchema>;

export const KindSummarySchema = z.object({ count: z.number().int().nonnegative(), maxMs: ms, totalMs: ms }).strict();
export type KindSummary = z.infer<typeof KindSummarySchema>;

export const LatencySummarySchema = z
  .object({
    durationS: ms,
    cpus: z.number().int().nonnegative(),
    byKind: z.object({ irqoff: KindSummarySchema, softirq: KindSummarySchema, hardirq: KindSummarySchema, nosched: KindSummarySchema, runqueue: KindSummarySchema }).strict(),
    /** cpu-clock gaps explained by hypervisor steal time (not counted as irqoff). */
    stealGaps: z.number().int().nonnegative(),
    /** Late cpu-clock samples whose CPU switched tasks or took IRQs meanwhile (irqs were on; not counted as irqoff). */
    timerGaps: z.number().int().nonnegative(),
    /** Events the kernel could not hand over (ring buffer full). */
    lostEvents: z.number().int().nonnegative(),
  })
  .strict();
export type LatencySummary = z.infer<typeof LatencySummarySchema>;

export const RunlatencyDocumentSchema = z
  .object({
    schema: z.literal(RUNLATENCY_SCHEMA),
    thresholds: KindThresholdsSchema,
    events: z.array(LatencyEventSchema),
    histograms: HistogramsSchema,
    summary: LatencySummarySchema,
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type RunlatencyDocument = z.infer<typeof RunlatencyDocumentSchema>;
