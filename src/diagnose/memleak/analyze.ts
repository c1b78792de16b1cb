/**
 * The memleak analysis, pure: the instant check (counters against MemTotal, and their trend when there
 * is history), and the verdict that combines sustained growth with outstanding allocations found by
 * tracing. The shapes here are what `oscope.memleak/v1` carries (src/report/memleak.ts localizes).
 */
import type { Coverage, Method, RawFinding } from '../../contract/common.js';
import type { Callsite, GrowthRow, LeakType, Verdict } from '../../contract/memleak.js';
import type { Thresholds } from '../thresholds.js';
import { type SeriesFit, linearFit } from './growth.js';

export type { Coverage } from '../../contract/common.js';
export type { Callsite, Confidence, GrowthRow, Verdict, VerdictReason } from '../../contract/memleak.js';

export interface MemleakAnalysis {
  /** `check` for the instant check (`-c`). */
  type: LeakType | 'check';
  durationS: number;
  verdict: Verdict;
  growth: GrowthRow[];
  callsites: Callsite[];
  findings: RawFinding[];
  method: Method;
  coverage: Coverage[];
}

/** What the instant check needs: meminfo numbers and the biggest consumers of each kind. */
export interface CheckInput {
  memTotalBytes: number;
  slabUnreclaimableBytes: number;
  vmallocBytes: number;
  unaccountedBytes: number;
  /** Largest unreclaimable slab cache, when /proc/slabinfo was readable. */
  topSlab?: { name: string; bytes: number };
  topVmalloc?: { name: string; bytes: number };
  /** Earlier values (e.g. from the agent's history): time in seconds and the same three counters. */
  history?: { tS: number; slabUnreclaimableBytes: number; vmallocBytes: number; unaccountedBytes: number }[];
}

const pct = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0);
const round1 = (x: number): number => Math.round(x * 10) / 10;

export interface CheckResult {
  findings: RawFinding[];
  /** Kinds whose counters are over their threshold, biggest share first. */
  over: LeakType[];
  /** Per kind: bytes now and the trend in bytes/s over the history (null without history). */
  counters: Record<LeakType, { bytes: number; pct: number; bytesPerS: number | null }>;
}

/** The instant check: counters only, no tracing. Findings are `mem.kernel.leak-suspect`. */
export function instantCheck(input: CheckInput, th: Thresholds, nowS = 0): CheckResult {
  const total = input.memTotalBytes;
  const trend = (pick: (h: NonNullable<CheckInput['history']>[number]) => number, now: number): number | null => {
    const h = input.history ?? [];
    if (h.length < 2) return null;
    return linearFit([...h.map((x) => x.tS), nowS], [...h.map(pick), now]).slope;
  };
  const counters: CheckResult['counters'] = {
    slab: { bytes: input.slabUnreclaimableBytes, pct: round1(pct(input.slabUnreclaimableBytes, total)), bytesPerS: trend((x) => x.slabUnreclaimableBytes, input.slabUnreclaimableBytes) },
    vmalloc: { bytes: input.vmallocBytes, pct: round1(pct(input.vmallocBytes, total)), bytesPerS: trend((x) => x.vmallocBytes, input.vmallocBytes) },
    page: { bytes: input.unaccountedBytes, pct: round1(pct(input.unaccountedBytes, total)), bytesPerS: trend((x) => x.unaccountedBytes, input.unaccountedBytes) },
  };
  const limits: Record<LeakType, number> = {
    slab: th['memleak.checkSlabUnreclaimablePct'],
    vmalloc: th['memleak.checkVmallocPct'],
    page: th['memleak.checkUnaccountedPct'],
  };
  const over = (['slab', 'vmalloc', 'page'] as const).filter((k) => counters[k].pct > limits[k]).sort((a, b) => counters[b].pct - counters[a].pct);
  const findings: RawFinding[] = over.map((k) => {
    const top = k === 'slab' ? input.topSlab : k === 'vmalloc' ? input.topVmalloc : undefined;
    const f: RawFinding = {
      id: 'mem.kernel.leak-suspect',
      severity: 'warning',
      params: {
        kind: k === 'page' ? 'page' : k,
        suspectBytes: counters[k].bytes,
        suspectPct: counters[k].pct,
        suspect: top?.name ?? (k === 'page' ? 'alloc_pages() without a counter' : '-'),
        suspectTopBytes: top?.bytes ?? counters[k].bytes,
        type: k,
      },
      evidence: { counters, thresholdPct: limits[k] },
    };
    const rate = counters[k].bytesPerS;
    if (rate !== null && rate > 0) f.extraSuggestions = [{ key: 'memleak.suggest.trend', params: { rateBytes: Math.round(rate) } }];
    return f;
  });
  return { findings, over, counters };
}

export interface VerdictInput {
  type: LeakType;
  durationS: number;
  memTotalBytes: number;
  availableBytes: number;
  ranked: SeriesFit[];
  suspect: SeriesFit | undefined;
  /** Aliases of the suspect (merged slab caches), for the finding. */
  suspectAliases?: string[];
  /** Outstanding allocations older than --min-age, when tracing ran; undefined when it did not. */
  callsites?: Callsite[];
  minAgeS: number;
  /** The instant check at the start of the run (its findings are kept when no growth is seen). */
  check: CheckResult;
}

/** Growth + tracing → verdict and findings. */
export function decideVerdict(v: VerdictInput, th: Thresholds): { verdict: Verdict; findings: RawFinding[] } {
  const s = v.suspect;
  const findings: RawFinding[] = [];
  const traced = v.callsites !== undefined;
  const old = (v.callsites ?? []).filter((c) => c.count > 0);
  const oldBytes = old.reduce((a, c) => a + c.outstandingBytes, 0);
  if (!s || !s.sustained) {
    // No sustained growth: keep what the counters say, but this run saw no leak.
    findings.push(...v.check.findings);
    const top = v.ranked[0];
    const verdict: Verdict = {
      leaking: false,
      kind: null,
      confidence: v.check.over.length > 0 ? 'low' : 'none',
      reason: {
        key: s && !s.sustained ? 'memleak.reason.named-flat' : 'memleak.reason.no-growth',
        params: { durationS: Math.round(v.durationS), name: s?.name ?? top?.name ?? '-', rateBytes: Math.max(0, Math.round(s?.bytesPerS ?? top?.bytesPerS ?? 0)), type: v.type },
      },
    };
    return { verdict, findings };
  }
  const rate = Math.round(s.bytesPerS);
  const growthBytes = Math.max(0, s.endBytes - s.startBytes);
  const hoursLeft = rate > 0 ? v.availableBytes / rate / 3600 : Infinity;
  const confirmed = traced && oldBytes > 0;
  const top = old[0];
  const aliases = (v.suspectAliases ?? []).filter((a) => a !== s.name);
  const name = aliases.length > 0 ? `${s.name} (${aliases.join(', ')})` : s.name;
  const evidence = {
    suspect: { ...s, aliases },
    ranked: v.ranked.slice(0, 5),
    callsites: old.slice(0, 5),
    minAgeS: v.minAgeS,
    thresholds: {
      minRateBytesPerS: th['memleak.minRateBytesPerS'],
      minGrowthBytes: th['memleak.minGrowthBytes'],
      minMonotonicPct: th['memleak.minMonotonicPct'],
      minFitPct: th['memleak.minFitPct'],
    },
  };
  if (confirmed) {
    findings.push({
      id: 'mem.kernel.leak',
      severity: hoursLeft < 24 ? 'critical' : 'warning',
      params: {
        kind: v.type,
        name,
        rateBytes: rate,
        growthBytes,
        durationS: Math.round(v.durationS),
        symbol: top?.symbol ?? '-',
        outstandingBytes: oldBytes,
        count: old.reduce((a, c) => a + c.count, 0),
        minAgeS: v.minAgeS,
        hoursLeft: Number.isFinite(hoursLeft) ? Math.round(hoursLeft * 10) / 10 : 0,
        type: v.type,
      },
      evidence,
    });
  } else {
    const kindTotal = v.check.counters[v.type].bytes;
    findings.push({
      id: 'mem.kernel.leak-suspect',
      severity: 'warning',
      params: {
        kind: v.type,
        suspectBytes: kindTotal,
        suspectPct: round1(pct(kindTotal, v.memTotalBytes)),
        suspect: name,
        suspectTopBytes: s.endBytes,
        type: v.type,
      },
      evidence,
      extraSuggestions: [{ key: 'memleak.suggest.growth', params: { name, rateBytes: rate, growthBytes, durationS: Math.round(v.durationS) } }],
    });
  }
  const verdict: Verdict = {
    leaking: true,
    kind: v.type,
    confidence: confirmed ? 'high' : traced ? 'medium' : 'medium',
    reason: {
      key: confirmed ? 'memleak.reason.confirmed' : traced ? 'memleak.reason.growth-untraced' : 'memleak.reason.growth',
      params: { name, rateBytes: rate, growthBytes, durationS: Math.round(v.durationS), outstandingBytes: oldBytes, symbol: top?.symbol ?? '-', minAgeS: v.minAgeS, fitPct: Math.round(s.fit * 100), monotonicPct: Math.round(s.monotonic * 100) },
    },
  };
  return { verdict, findings };
}

/** The instant check's verdict (for `-c`): counters only, never "leaking" on their own. */
export function checkVerdict(c: CheckResult): Verdict {
  const k = c.over[0];
  if (k === undefined) return { leaking: false, kind: null, confidence: 'none', reason: { key: 'memleak.reason.check-ok', params: {} } };
  return {
    leaking: false,
    kind: k,
    confidence: 'low',
    reason: { key: 'memleak.reason.check-high', params: { type: k, counterBytes: c.counters[k].bytes, counterPct: c.counters[k].pct } },
  };
}

/**
 * The verdict as a finding, so every face shows it the same way (the console used to invent one):
 * `memleak.verdict.leaking` (warning; critical at high confidence) when the run says "leaking" and no
 * other finding above info says so already, else `memleak.verdict.clean` (info) when it is not leaking.
 * Params are the verdict reason's (report/memleak.ts words the conclusion with the reason itself) plus
 * the kind, type, confidence and, for the command to run next, `cache` (the suspect's own name).
 */
export function verdictFinding(a: { type: LeakType | 'check'; durationS: number; verdict: Verdict; findings: readonly RawFinding[] }, suspect?: string): RawFinding | undefined {
  const v = a.verdict;
  if (v.leaking && a.findings.some((f) => f.severity !== 'info')) return undefined;
  const kind = v.kind ?? (a.type === 'check' ? 'slab' : a.type);
  const params = { ...v.reason.params, kind, type: a.type, confidence: v.confidence, durationS: Math.round(a.durationS), cache: suspect ?? (typeof v.reason.params.name === 'string' ? v.reason.params.name : '-') };
  const evidence = { reason: v.reason.key, confidence: v.confidence, kind: v.kind };
  if (v.leaking) {
    return {
      id: 'memleak.verdict.leaking',
      severity: v.confidence === 'high' ? 'critical' : 'warning',
      params,
      evidence,
      extraSuggestions: [{ key: `memleak.suggest.verdict.${kind}`, params }],
    };
  }
  const next = a.type === 'check' ? (v.kind !== null ? 'memleak.suggest.verdict.check-high' : 'memleak.suggest.verdict.check') : 'memleak.suggest.verdict.longer';
  return { id: 'memleak.verdict.clean', severity: 'info', params, evidence, extraSuggestions: [{ key: next, params: { ...params, longerS: Math.max(300, Math.round(a.durationS) * 5) } }] };
}

/** The analysis with its verdict finding appended (see verdictFinding). */
export function withVerdictFinding<A extends { type: LeakType | 'check'; durationS: number; verdict: Verdict; findings: RawFinding[] }>(a: A, suspect?: string): A {
  const f = verdictFinding(a, suspect);
  return f ? { ...a, findings: [...a.findings, f] } : a;
}
