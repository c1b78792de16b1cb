/**
 * `oscope profile`, the analysis: captured stacks (collect.ts) → the top functions (self and total),
 * the stacks root first, the share per process and container, and the findings. Pure: no I/O.
 *
 *   self(f)  = samples whose innermost frame is f
 *   total(f) = samples with f anywhere in the stack (a recursive function counted once per sample)
 */
import type { RawFinding, Severity } from '../../contract/common.js';
import type { ProfileFunction, ProfileProcess, ProfileStack } from '../../contract/profile.js';
import type { Thresholds } from '../thresholds.js';
import type { ProfileCapture } from './collect.js';

const r2 = (n: number): number => Math.round(n * 100) / 100;

export interface ProfileAnalysis {
  mode: ProfileCapture['mode'];
  unit: 'samples' | 'us';
  event: string;
  intervalS: number;
  hz: number;
  samples: number;
  functions: ProfileFunction[];
  stacks: ProfileStack[];
  processes: ProfileProcess[];
  thresholds: Record<string, number>;
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: ProfileCapture['coverage'];
}

export function profileThresholds(t: Thresholds): Record<string, number> {
  return Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('profile.')));
}

export const isUnknown = (name: string): boolean => name.startsWith('[unknown');

/** Functions of a set of stacks (root first) with module names; the core of analyze and of diff. */
export function functionsOf(stacks: ReadonlyArray<{ frames: ReadonlyArray<{ name: string; module: string }>; count: number }>, samples: number): ProfileFunction[] {
  const fn = new Map<string, { name: string; module: string; self: number; total: number }>();
  for (const s of stacks) {
    const seen = new Set<string>();
    s.frames.forEach((f, i) => {
      const key = `${f.module}\0${f.name}`;
      let e = fn.get(key);
      if (!e) {
        e = { name: f.name, module: f.module, self: 0, total: 0 };
        fn.set(key, e);
      }
      if (i === s.frames.length - 1) e.self += s.count;
      if (!seen.has(key)) {
        seen.add(key);
        e.total += s.count;
      }
    });
  }
  const pct = (n: number): number => (samples > 0 ? Math.min(100, r2((n / samples) * 100)) : 0);
  return [...fn.values()]
    .map((e) => ({ name: e.name, module: e.module, selfSamples: e.self, selfPct: pct(e.self), totalPct: pct(e.total) }))
    .sort((a, b) => b.selfSamples - a.selfSamples || b.totalPct - a.totalPct || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function analyzeProfile(c: ProfileCapture, t: Thresholds, top = 200): ProfileAnalysis {
  const samples = c.stacks.reduce((a, s) => a + s.count, 0);
  const allFunctions = functionsOf(c.stacks, samples);

  // Stacks: the same frames from several processes are one stack.
  const byFrames = new Map<string, ProfileStack>();
  for (const s of c.stacks) {
    const frames = s.frames.map((f) => f.name);
    const key = frames.join('\n');
    const e = byFrames.get(key);
    if (e) e.count += s.count;
    else byFrames.set(key, { frames, count: s.count });
  }
  const stacks = [...byFrames.values()].sort((a, b) => b.count - a.count || (a.frames.join(';') < b.frames.join(';') ? -1 : 1));

  const procs = new Map<number, ProfileProcess>();
  for (const s of c.stacks) {
    const p = procs.get(s.pid);
    if (p) p.samples += s.count;
    else procs.set(s.pid, { pid: s.pid, comm: s.comm, samples: s.count, ...(s.container ? { container: s.container } : {}) });
  }
  const processes = [...procs.values()].sort((a, b) => b.samples - a.samples || a.pid - b.pid);

  const findings: RawFinding[] = [];
  const unit = c.mode === 'cpu' ? 'samples' : 'us';
  if (samples < t['profile.minSamples']) {
    findings.push({ id: 'profile.samples.few', severity: 'info', params: { samples, minSamples: t['profile.minSamples'], intervalS: r2(c.intervalS), hz: c.hz, mode: c.mode }, evidence: {} });
  }
  const enough = samples >= t['profile.minSamples'];
  const known = allFunctions.filter((f) => !isUnknown(f.name));
  if (enough && c.mode === 'cpu') {
    const hot = known[0];
    if (hot && hot.selfPct >= t['profile.hotFunctionPct']) {
      const owner = topProcessOf(c, hot.name, hot.module);
      const severity: Severity = hot.selfPct >= 50 ? 'warning' : 'info';
      findings.push({
        id: 'profile.function.hot',
        severity,
        params: { function: hot.name, module: hot.module, selfPct: hot.selfPct, totalPct: hot.totalPct, thresholdPct: t['profile.hotFunctionPct'], samples, comm: owner?.comm ?? '-', pid: owner?.pid ?? 0 },
        evidence: { top: allFunctions.slice(0, 5) },
      });
    }
    const kernel = c.stacks.reduce((a, s) => a + (s.frames[s.frames.length - 1]?.kernel ? s.count : 0), 0);
    const kernelPct = r2((kernel / samples) * 100);
    if (kernelPct >= t['profile.kernelPct']) {
      const topK = allFunctions.find((f) => c.stacks.some((s) => s.frames[s.frames.length - 1]?.kernel && s.frames[s.frames.length - 1]?.name === f.name));
      findings.push({
        id: 'profile.kernel.high',
        severity: 'info',
        params: { kernelPct, thresholdPct: t['profile.kernelPct'], function: topK?.name ?? '-', functionPct: topK?.selfPct ?? 0 },
        evidence: { top: allFunctions.filter((f) => f.module === 'kernel').slice(0, 5) },
      });
    }
  }
  if (enough && c.mode === 'off-cpu') {
    const topStack = stacks[0];
    if (topStack) {
      const innermost = [...topStack.frames].reverse().find((f) => !/^(schedule|__schedule|__traceiter|finish_task_switch)/.test(f)) ?? topStack.frames[topStack.frames.length - 1]!;
      const userFn = topStack.frames.find((f) => !isUnknown(f)) ?? '-';
      findings.push({
        id: 'profile.offcpu.blocked',
        severity: 'info',
        params: { function: innermost, caller: userFn, blockedMs: Math.round(topStack.count / 1000), sharePct: r2((topStack.count / samples) * 100), totalMs: Math.round(samples / 1000) },
        evidence: { stack: topStack.frames },
      });
    }
  }
  if (enough) {
    const unknown = c.stacks.reduce((a, s) => a + (s.frames.some((f) => isUnknown(f.name)) ? s.count : 0), 0);
    const unknownPct = r2((unknown / samples) * 100);
    if (unknownPct >= t['profile.unknownPct']) {
      const reasons = new Map<string, number>();
      for (const s of c.stacks) for (const f of new Set(s.frames.filter((x) => isUnknown(x.name)).map((x) => x.name))) reasons.set(f, (reasons.get(f) ?? 0) + s.count);
      const [reason] = [...reasons.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['[unknown]'];
      findings.push({ id: 'profile.symbols.missing', severity: 'info', params: { unknownPct, thresholdPct: t['profile.unknownPct'], reason }, evidence: { reasons: Object.fromEntries(reasons) } });
    }
  }
  return {
    mode: c.mode,
    unit,
    event: c.event,
    intervalS: r2(c.intervalS),
    hz: c.hz,
    samples,
    functions: allFunctions.slice(0, top),
    stacks,
    processes,
    thresholds: profileThresholds(t),
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}

function topProcessOf(c: ProfileCapture, name: string, module: string): { pid: number; comm: string } | undefined {
  const per = new Map<number, { pid: number; comm: string; n: number }>();
  for (const s of c.stacks) {
    const f = s.frames[s.frames.length - 1];
    if (!f || f.name !== name || f.module !== module) continue;
    const e = per.get(s.pid) ?? { pid: s.pid, comm: s.comm, n: 0 };
    e.n += s.count;
    per.set(s.pid, e);
  }
  return [...per.values()].sort((a, b) => b.n - a.n)[0];
}
