/**
 * `oscope memleak`, orchestrated: the instant check, then the growth watch (a sample every
 * `sampleIntervalS` for `durationS`), optional outstanding-allocation tracing through a `LeakTracer`
 * (BPF; see trace.ts), and the verdict. All I/O goes through the Host; the analysis is in analyze.ts
 * and growth.ts.
 */
import type { Host } from '../../host/host.js';
import { HostError } from '../../host/host.js';
import { readMeminfo } from '../../kernel/procfs/meminfo.js';
import { readSlabinfo } from '../../kernel/procfs/slabinfo.js';
import { readVmallocinfo, vmallocByCaller, vmallocTotalBytes } from '../../kernel/procfs/vmallocinfo.js';
import { pageSize } from '../../kernel/procfs/vmstat.js';
import type { Thresholds } from '../thresholds.js';
import { type Callsite, type CheckInput, type CheckResult, type Coverage, type MemleakAnalysis, checkVerdict, decideVerdict, instantCheck, withVerdictFinding } from './analyze.js';
import { type GrowthSample, pickSuspect, rankGrowth } from './growth.js';
import { readUnaccountedInputs } from '../memory/unaccounted.js';
import { type LeakType, type SlabFacts, readSlabFacts, sampleBytes, unaccountedBytes } from './sample.js';
import { abortableSleep } from '../../util/sleep.js';

/** What tracing is asked to follow: the kind, and (once known) the suspect cache/caller. */
export interface TraceTarget {
  type: LeakType;
  /** Slab cache name (slab), vmalloc caller function (vmalloc); undefined = everything of the kind. */
  name?: string;
  /** Object size of the suspect slab cache (kmalloc-N caches are matched by size). */
  objSizeBytes?: number;
}

/** One tracing session: started on a target, stopped at the end of the window. */
export interface LeakTracer {
  /** Starts tracing; throws with one sentence when it cannot (the run then goes on without it). */
  start(target: TraceTarget): Promise<void>;
  /** Stops allocations (frees keep being traced until `finish`). */
  stopAllocations(): void;
  /** Stops everything and returns live allocations older than minAgeS, grouped by stack. */
  finish(minAgeS: number): Promise<{ callsites: Callsite[]; method: string; coverage: Coverage[] }>;
  /** Releases everything (idempotent; also after an error). */
  close(): void;
}

export interface MemleakOptions {
  type: LeakType;
  durationS: number;
  sampleIntervalS: number;
  cache?: string;
  minAgeS: number;
  thresholds: Thresholds;
  tracer?: LeakTracer;
  /** Why there is no tracer (for coverage), when `tracer` is undefined. */
  noTracerReason?: string;
  signal?: AbortSignal;
  /** Called after each sample: seconds elapsed, seconds in all. */
  onTick?: (elapsedS: number, totalS: number) => void;
  /** Injected clock and sleep (tests). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = abortableSleep;

function denied(err: unknown): boolean {
  return err instanceof HostError && (err.denied || err.notFound);
}

/** Reads what the instant check needs; files it cannot read are reported in coverage. */
export async function collectCheckInput(host: Host, coverage: Coverage[]): Promise<CheckInput & { availableBytes: number }> {
  // The same inputs `oscope mem` reads, so that both give the same unaccounted figure.
  const [m, extra] = await Promise.all([readMeminfo(host), readUnaccountedInputs(host)]);
  const input: CheckInput & { availableBytes: number } = {
    memTotalBytes: m.bytes('MemTotal') ?? 0,
    availableBytes: m.availableBytes(),
    slabUnreclaimableBytes: m.bytesOr0('SUnreclaim'),
    vmallocBytes: m.bytesOr0('VmallocUsed'),
    unaccountedBytes: unaccountedBytes(m, extra.pcpFreeBytes, extra),
  };
  try {
    const info = await readSlabinfo(host);
    const facts = await readSlabFacts(host, info.caches.map((c) => c.name));
    const top = info.caches.filter((c) => !facts.reclaimable.has(c.name)).sort((a, b) => b.bytes - a.bytes)[0];
    if (top) input.topSlab = { name: top.name, bytes: top.bytes };
  } catch (err) {
    if (!denied(err)) throw err;
    coverage.push({ section: 'slabinfo', status: 'unavailable', reason: (err as Error).message });
  }
  try {
    const [info, ps] = await Promise.all([readVmallocinfo(host), pageSize(host)]);
    const top = vmallocByCaller(info, ps)[0];
    if (top) input.topVmalloc = { name: top.caller, bytes: top.bytes };
    // 5.x+ VmallocUsed is the same number; older kernels print 0 there, so prefer the areas' sum.
    input.vmallocBytes = Math.max(input.vmallocBytes, vmallocTotalBytes(info, ps));
  } catch (err) {
    if (!denied(err)) throw err;
    coverage.push({ section: 'vmallocinfo', status: 'unavailable', reason: (err as Error).message });
  }
  return input;
}

/** How long a span of seconds reads: "45 s", "12 min", "3.5 h", "2.0 d". */
function span(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/**
 * `oscope memleak -c`. `history` (the agent's counters, oldest first or not) gives the trend of each
 * counter; without it `trendUnavailable` says why (e.g. no agent runs here), in coverage.
 */
export async function runCheck(host: Host, th: Thresholds, history?: CheckInput['history'], trendUnavailable?: string): Promise<MemleakAnalysis & { check: CheckResult }> {
  const coverage: Coverage[] = [];
  const input = await collectCheckInput(host, coverage);
  const nowS = Date.now() / 1000;
  const method: Record<string, string> = { check: 'meminfo + slabinfo + vmallocinfo counters against MemTotal' };
  const points = (history ?? []).filter(
    (h) => Number.isFinite(h.tS) && h.tS < nowS && [h.slabUnreclaimableBytes, h.vmallocBytes, h.unaccountedBytes].every((x) => Number.isFinite(x) && x >= 0),
  );
  if (history === undefined) {
    coverage.push({ section: 'trend', status: 'unavailable', reason: trendUnavailable ?? "the trend needs the agent's history (run `oscope agent` on this host)" });
  } else if (points.length < 2) {
    coverage.push({ section: 'trend', status: 'unavailable', reason: `the agent has ${points.length} usable history point${points.length === 1 ? '' : 's'} so far; the trend needs at least 2` });
  } else {
    input.history = points;
    const oldest = Math.min(...points.map((p) => p.tS));
    const over = span(nowS - oldest);
    method.trend = `least-squares slope of each counter over the agent's history: ${points.length} points and now, over ${over}`;
    coverage.push({ section: 'trend', status: 'complete', reason: `computed from ${points.length} points of the agent's history over ${over}` });
  }
  const check = instantCheck(input, th, nowS);
  if (method.trend !== undefined) {
    const perHour = (x: number | null): string => (x === null ? '?' : `${x >= 0 ? '+' : '-'}${(Math.abs(x * 3600) / 1024 ** 2).toFixed(1)} MiB/h`);
    const c = check.counters;
    method.trend += `: unreclaimable slab ${perHour(c.slab.bytesPerS)}, vmalloc ${perHour(c.vmalloc.bytesPerS)}, unaccounted pages ${perHour(c.page.bytesPerS)}`;
  }
  coverage.push({ section: 'tracing', status: 'unavailable', reason: 'the instant check reads counters only' });
  return withVerdictFinding({
    type: 'check',
    durationS: 0,
    verdict: checkVerdict(check),
    growth: [],
    callsites: [],
    findings: check.findings,
    method,
    coverage,
    check,
  });
}

const METHOD: Record<LeakType, string> = {
  slab: '/proc/slabinfo per cache (SLUB aliases from /sys/kernel/slab)',
  vmalloc: '/proc/vmallocinfo per caller',
  page: '/proc/meminfo: unaccounted kernel pages, page tables, kernel stacks, per-CPU',
};

/** The growth watch (+ tracing when a tracer is given) and the verdict. */
export async function runMemleak(host: Host, o: MemleakOptions): Promise<MemleakAnalysis> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const th = o.thresholds;
  const coverage: Coverage[] = [];
  const checkInput = await collectCheckInput(host, coverage);
  const check = instantCheck(checkInput, th, now() / 1000);
  let facts: SlabFacts = { aliases: new Map(), reclaimable: new Set() };

  let t0 = now();
  const samples: GrowthSample[] = [];
  const take = async (): Promise<void> => {
    const bytes = await sampleBytes(host, o.type);
    samples.push({ tMs: now() - t0, bytes });
  };
  await take();
  if (o.type === 'slab') facts = await readSlabFacts(host, samples[0]!.bytes.keys());
  const cacheName = o.cache;
  if (cacheName !== undefined && !samples[0]!.bytes.has(cacheName)) {
    // A merged cache: the user named an alias; follow its slabinfo name.
    const root = [...facts.aliases].find(([, names]) => names.includes(cacheName))?.[0];
    if (root === undefined) throw new Error(`no ${o.type === 'slab' ? 'slab cache' : o.type === 'vmalloc' ? 'vmalloc caller' : 'page counter'} named "${cacheName}" (see ${o.type === 'slab' ? '/proc/slabinfo' : o.type === 'vmalloc' ? '/proc/vmallocinfo' : 'the growth table'})`);
    o = { ...o, cache: root };
  }
  const exclude = (n: string): boolean => o.type === 'slab' && facts.reclaimable.has(n) && n !== o.cache;
  const durationMs = o.durationS * 1000;
  const stepMs = Math.max(100, o.sampleIntervalS * 1000);
  // Tracing: with --cache from the start; else once a suspect stands out (after a third of the window).
  let tracing = false;
  let traceStopped = false;
  const traceNote: Coverage[] = [];
  const startTrace = async (name: string | undefined): Promise<void> => {
    if (!o.tracer || tracing) return;
    const target: TraceTarget = { type: o.type };
    if (name !== undefined) target.name = name;
    if (o.type === 'slab' && name !== undefined) {
      const c = (await readSlabinfo(host)).caches.find((x) => x.name === name);
      if (c) target.objSizeBytes = c.objsize;
    }
    try {
      await o.tracer.start(target);
      tracing = true;
    } catch (err) {
      traceNote.push({ section: 'tracing', status: 'unavailable', reason: (err as Error).message });
      o = { ...o, tracer: undefined };
    }
  };
  if (o.cache !== undefined || o.type !== 'slab') {
    // Tracing from the start: its own maps and programs must not look like growth, so the watch
    // starts again once they are loaded.
    await startTrace(o.cache);
    samples.length = 0;
    t0 = now();
    await take();
  }
  try {
    for (;;) {
      const elapsed = now() - t0;
      o.onTick?.(Math.min(o.durationS, elapsed / 1000), o.durationS);
      if (elapsed >= durationMs || o.signal?.aborted) break;
      await sleep(Math.min(stepMs, durationMs - elapsed), o.signal);
      await take();
      const el = now() - t0;
      if (o.tracer && !tracing && el >= durationMs / 3) {
        const s = pickSuspect(rankGrowth(samples, th, exclude), o.cache);
        if (s) await startTrace(s.name);
      }
      if (tracing && !traceStopped && el >= durationMs - o.minAgeS * 1000) {
        o.tracer?.stopAllocations();
        traceStopped = true;
      }
    }
    const durationS = (samples[samples.length - 1]!.tMs - samples[0]!.tMs) / 1000;
    const ranked = rankGrowth(samples, th, exclude);
    const suspect = pickSuspect(ranked, o.cache);
    let callsites: Callsite[] | undefined;
    const method: Record<string, string> = { check: 'meminfo + slabinfo + vmallocinfo counters', growth: `${METHOD[o.type]}, ${samples.length} samples, linear fit` };
    if (tracing && o.tracer) {
      const r = await o.tracer.finish(o.minAgeS);
      callsites = r.callsites;
      method.tracing = r.method;
      coverage.push(...r.coverage);
    } else if (traceNote.length > 0) {
      coverage.push(...traceNote);
    } else {
      coverage.push({
        section: 'tracing',
        status: 'unavailable',
        reason: o.tracer ? 'no cache or caller grew steadily enough to trace' : (o.noTracerReason ?? 'tracing was not requested'),
      });
    }
    if (o.signal?.aborted) coverage.push({ section: 'growth', status: 'partial', reason: `interrupted after ${durationS.toFixed(0)} s` });
    const input = {
      type: o.type,
      durationS,
      memTotalBytes: checkInput.memTotalBytes,
      availableBytes: checkInput.availableBytes,
      ranked,
      suspect,
      minAgeS: o.minAgeS,
      check,
      ...(suspect && facts.aliases.has(suspect.name) ? { suspectAliases: facts.aliases.get(suspect.name)! } : {}),
      ...(callsites ? { callsites } : {}),
    };
    const { verdict, findings } = decideVerdict(input, th);
    const growth = ranked
      .filter((f) => f.sustained || f.name === o.cache || f.bytesPerS > 0)
      .slice(0, 20)
      .map((f) => ({ name: f.name, startBytes: f.startBytes, endBytes: f.endBytes, bytesPerS: Math.round(f.bytesPerS) }));
    return withVerdictFinding({ type: o.type, durationS, verdict, growth, callsites: callsites ?? [], findings, method, coverage }, suspect?.name);
  } finally {
    o.tracer?.close();
  }
}
