/**
 * `memleak`, `runlatency` and `filecache` for the agent: the same documents as the CLI's `--json`, with
 * the diagnoses' own parameter schemas (src/diagnose/<area>/params.ts) and, where a task must cost less
 * than a command a person runs, an explicit cap (the constants below; tested in test/agent/params.test.ts).
 */
import { z } from 'zod';
import { FilecacheParamsObject, ONE_SCOPE, fileCacheOptions, oneScope } from '../../diagnose/filecache/params.js';
import { runFileCache } from '../../diagnose/filecache/run.js';
import { RunlatencyParamsSchema, latencyFilters } from '../../diagnose/latency/params.js';
import { irqoffMethodFrom, kindThresholds, runLatency } from '../../diagnose/latency/run.js';
import { MIN_AGE_BELOW_DURATION, MemleakParamsObject, memleakSettings, minAgeBelowDuration } from '../../diagnose/memleak/params.js';
import { runCheck, runMemleak } from '../../diagnose/memleak/run.js';
import { createBpfTracer } from '../../diagnose/memleak/trace.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { FILECACHE_SCHEMA, fileCacheDocument } from '../../report/filecache.js';
import { LANGS } from '../../report/i18n/index.js';
import { MEMLEAK_SCHEMA, memleakDocument } from '../../report/memleak.js';
import { RUNLATENCY_SCHEMA, runlatencyDocument } from '../../report/runlatency.js';
import type { MemHistoryPoint } from '../local.js';
import { type DiagnosisEntry, agentMax } from '../registry.js';

/** The agent's cap on a memleak watch (the CLI allows a day): the console times a task out after 11 min. */
export const AGENT_MEMLEAK_MAX_DURATION_S = 600;
/** The agent's cap on a runlatency trace (the CLI allows a day): same reason. */
export const AGENT_RUNLATENCY_MAX_DURATION_S = 600;
/** The agent's cap on filecache rows (the CLI allows 100000): a task's document is stored by the console. */
export const AGENT_FILECACHE_MAX_TOP = 1000;

const lang = z.enum(LANGS).default('en');

export const MemleakParams = MemleakParamsObject.extend({ lang })
  .strict()
  .refine(minAgeBelowDuration, MIN_AGE_BELOW_DURATION)
  .superRefine(agentMax('durationS', AGENT_MEMLEAK_MAX_DURATION_S, 's of watch on the agent', (p) => p.check));
export type AgentMemleakParams = z.infer<typeof MemleakParams>;

/** The memleak entry; `history` gives the agent's memory history points to the instant check. */
export function memleakEntry(history?: () => MemHistoryPoint[]): DiagnosisEntry<AgentMemleakParams> {
  return { ...memleakDiagnosis, run: (host, p, onProgress) => runMemleakEntry(host, p, onProgress, history) };
}

async function runMemleakEntry(
  host: Parameters<DiagnosisEntry['run']>[0],
  p: AgentMemleakParams,
  onProgress: Parameters<DiagnosisEntry['run']>[2],
  history: (() => MemHistoryPoint[]) | undefined,
): Promise<ReturnType<typeof memleakDocument>> {
  const thresholds = resolveThresholds(p.thresholds);
  if (p.check) {
    onProgress('check', 0, 1);
    const points = history?.() ?? [];
    const a = await runCheck(host, thresholds, points.length > 0 ? points : undefined);
    onProgress('check', 1, 1);
    return memleakDocument(a, p.lang);
  }
  const s = memleakSettings(p);
  const r = s.trace ? createBpfTracer(host, { sampleEvery: thresholds['memleak.sampleEvery'], budgetPerS: s.traceBudgetPerS, maxLive: s.maxLive }) : { unavailable: 'disabled with trace: false' };
  const a = await runMemleak(host, {
    type: p.type,
    durationS: p.durationS,
    sampleIntervalS: s.sampleIntervalS,
    minAgeS: s.minAgeS,
    thresholds,
    onTick: (done, total) => onProgress('watch', done, total),
    ...(p.cache !== undefined ? { cache: p.cache } : {}),
    ...('tracer' in r ? { tracer: r.tracer } : { noTracerReason: r.unavailable }),
  });
  return memleakDocument(a, p.lang);
}

export const memleakDiagnosis: DiagnosisEntry<AgentMemleakParams> = {
  name: 'memleak',
  description: 'kernel memory leak watch: growth of slab caches, vmalloc callers or pages, with allocation stacks',
  schema: MEMLEAK_SCHEMA,
  params: MemleakParams,
  timeoutMs: 11 * 60_000,
  run: (host, p, onProgress) => runMemleakEntry(host, p, onProgress, undefined),
};

export const LatencyParams = RunlatencyParamsSchema.extend({ lang })
  .strict()
  .superRefine(agentMax('durationS', AGENT_RUNLATENCY_MAX_DURATION_S, 's of tracing on the agent'));
export type AgentLatencyParams = z.infer<typeof LatencyParams>;

export const runlatencyDiagnosis: DiagnosisEntry<AgentLatencyParams> = {
  name: 'runlatency',
  description: 'scheduling and interrupt latency: run-queue delay, long no-schedule, softirq, hardirq and irq-off',
  schema: RUNLATENCY_SCHEMA,
  params: LatencyParams,
  timeoutMs: 11 * 60_000,
  run: async (host, p, onProgress) => {
    const thresholds = resolveThresholds(p.thresholds);
    onProgress('trace', 0, p.durationS);
    const a = await runLatency(host, {
      durationS: p.durationS,
      thresholds: kindThresholds(thresholds),
      samplePeriodMs: thresholds['lat.samplePeriodMs'],
      irqoffMethod: irqoffMethodFrom(thresholds),
      filters: latencyFilters(p),
    });
    return runlatencyDocument(a, p.lang);
  },
};

/**
 * The file-cache parameters without paths of the node's file system (`roots`, `exclude`): a console user
 * chooses what to measure, not which directories of the node to walk.
 */
export const FilecacheParams = FilecacheParamsObject.omit({ roots: true, exclude: true })
  .extend({ lang })
  .strict()
  .refine(oneScope, ONE_SCOPE)
  .superRefine(agentMax('top', AGENT_FILECACHE_MAX_TOP, 'rows on the agent'));
export type AgentFilecacheParams = z.infer<typeof FilecacheParams>;

export const filecacheDiagnosis: DiagnosisEntry<AgentFilecacheParams> = {
  name: 'filecache',
  description: 'which files hold the page cache, host-wide or in one cgroup/container',
  schema: FILECACHE_SCHEMA,
  params: FilecacheParams,
  timeoutMs: 10 * 60_000,
  run: async (host, p, onProgress) => {
    const st = host.live ? host.live.pageCacheProbe(p.mincore ? { method: 'mincore' } : {}) : { available: false as const, reason: 'the page cache is measured on the live host only' };
    if (!st.available) throw new Error(st.reason);
    try {
      const a = await runFileCache(host, st.probe, { ...fileCacheOptions(p), thresholds: resolveThresholds(), onProgress: (step: string, done: number, total: number) => onProgress(step, done, total) });
      return fileCacheDocument(a, p.lang);
    } finally {
      st.probe.close();
    }
  },
};
