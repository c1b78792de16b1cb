/**
 * `memleak`, `runlatency` and `filecache` for the agent: the same documents as the CLI's `--json`, with
 * parameters bounded so a task cannot ask for more than a diagnosis should cost.
 */
import { z } from 'zod';
import { runFileCache } from '../../diagnose/filecache/run.js';
import { irqoffMethodFrom, kindThresholds, runLatency } from '../../diagnose/latency/run.js';
import { runCheck, runMemleak } from '../../diagnose/memleak/run.js';
import { createBpfTracer } from '../../diagnose/memleak/trace.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { FILECACHE_SCHEMA, fileCacheDocument } from '../../report/filecache.js';
import { LANGS } from '../../report/i18n/index.js';
import { MEMLEAK_SCHEMA, memleakDocument } from '../../report/memleak.js';
import { RUNLATENCY_SCHEMA, runlatencyDocument } from '../../report/runlatency.js';
import type { MemHistoryPoint } from '../local.js';
import type { DiagnosisEntry } from '../registry.js';

const MemleakParams = z
  .object({
    /**
     * The instant check (`oscope memleak -c`): counters only, with the trend over the agent's memory
     * history; `type`, `durationS` and `cache` are then ignored.
     */
    check: z.boolean().default(false),
    type: z.enum(['slab', 'page', 'vmalloc']).default('slab'),
    durationS: z.number().int().min(5).max(600).default(60),
    cache: z.string().regex(/^[\w.:-]{1,64}$/).optional(),
    lang: z.enum(LANGS).default('en'),
  })
  .strict();

/** The memleak entry; `history` gives the agent's memory history points to the instant check. */
export function memleakEntry(history?: () => MemHistoryPoint[]): DiagnosisEntry<z.infer<typeof MemleakParams>> {
  return { ...memleakDiagnosis, run: (host, p, onProgress) => runMemleakEntry(host, p, onProgress, history) };
}

async function runMemleakEntry(
  host: Parameters<DiagnosisEntry['run']>[0],
  p: z.infer<typeof MemleakParams>,
  onProgress: Parameters<DiagnosisEntry['run']>[2],
  history: (() => MemHistoryPoint[]) | undefined,
): Promise<ReturnType<typeof memleakDocument>> {
  const thresholds = resolveThresholds();
  if (p.check) {
    onProgress('check', 0, 1);
    const points = history?.() ?? [];
    const a = await runCheck(host, thresholds, points.length > 0 ? points : undefined);
    onProgress('check', 1, 1);
    return memleakDocument(a, p.lang);
  }
  const r = createBpfTracer(host, { sampleEvery: thresholds['memleak.sampleEvery'] });
  const a = await runMemleak(host, {
    type: p.type,
    durationS: p.durationS,
    sampleIntervalS: Math.min(5, Math.max(0.5, p.durationS / 30)),
    minAgeS: Math.min(30, Math.max(1, Math.round(p.durationS / 3))),
    thresholds,
    onTick: (done, total) => onProgress('watch', done, total),
    ...(p.cache !== undefined ? { cache: p.cache } : {}),
    ...('tracer' in r ? { tracer: r.tracer } : { noTracerReason: r.unavailable }),
  });
  return memleakDocument(a, p.lang);
}

export const memleakDiagnosis: DiagnosisEntry<z.infer<typeof MemleakParams>> = {
  name: 'memleak',
  description: 'kernel memory leak watch: growth of slab caches, vmalloc callers or pages, with allocation stacks',
  schema: MEMLEAK_SCHEMA,
  params: MemleakParams,
  timeoutMs: 11 * 60_000,
  run: (host, p, onProgress) => runMemleakEntry(host, p, onProgress, undefined),
};

const LatencyParams = z
  .object({
    durationS: z.number().int().min(1).max(600).default(10),
    lang: z.enum(LANGS).default('en'),
  })
  .strict();

export const runlatencyDiagnosis: DiagnosisEntry<z.infer<typeof LatencyParams>> = {
  name: 'runlatency',
  description: 'scheduling and interrupt latency: run-queue delay, long no-schedule, softirq, hardirq and irq-off',
  schema: RUNLATENCY_SCHEMA,
  params: LatencyParams,
  timeoutMs: 11 * 60_000,
  run: async (host, p, onProgress) => {
    const thresholds = resolveThresholds();
    onProgress('trace', 0, p.durationS);
    const a = await runLatency(host, { durationS: p.durationS, thresholds: kindThresholds(thresholds), samplePeriodMs: thresholds['lat.samplePeriodMs'], irqoffMethod: irqoffMethodFrom(thresholds) });
    return runlatencyDocument(a, p.lang);
  },
};

const FilecacheParams = z
  .object({
    top: z.number().int().min(1).max(1000).default(30),
    cgroup: z.string().max(4096).nullable().default(null),
    walk: z.boolean().default(true),
    lang: z.enum(LANGS).default('en'),
  })
  .strict();

export const filecacheDiagnosis: DiagnosisEntry<z.infer<typeof FilecacheParams>> = {
  name: 'filecache',
  description: 'which files hold the page cache, host-wide or in one cgroup/container',
  schema: FILECACHE_SCHEMA,
  params: FilecacheParams,
  timeoutMs: 10 * 60_000,
  run: async (host, p, onProgress) => {
    const st = host.live ? host.live.pageCacheProbe() : { available: false as const, reason: 'the page cache is measured on the live host only' };
    if (!st.available) throw new Error(st.reason);
    try {
      const a = await runFileCache(host, st.probe, {
        top: p.top,
        walk: p.walk,
        thresholds: resolveThresholds(),
        onProgress: (step: string, done: number, total: number) => onProgress(step, done, total),
        ...(p.cgroup !== null ? { scope: { kind: 'cgroup' as const, query: p.cgroup } } : {}),
      });
      return fileCacheDocument(a, p.lang);
    } finally {
      st.probe.close();
    }
  },
};
