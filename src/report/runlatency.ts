/**
 * `oscope.runlatency/v1`: scheduling and interrupt latency as one JSON document (schema below, checked
 * by tests) and its text rendering, built from a LatencyAnalysis (src/diagnose/latency/).
 */
import { RUNLATENCY_SCHEMA, type LatencyEvent, type RunlatencyDocument } from '../contract/runlatency.js';
import type { LatencyAnalysis } from '../diagnose/latency/types.js';
import { localizeFindings } from './finding.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { LatencyEventSchema, RUNLATENCY_SCHEMA, RunlatencyDocumentSchema, type RunlatencyDocument } from '../contract/runlatency.js';

export function runlatencyDocument(a: LatencyAnalysis, lang: Lang): RunlatencyDocument {
  return {
    schema: RUNLATENCY_SCHEMA,
    thresholds: a.thresholds,
    events: a.events,
    histograms: a.histograms,
    summary: a.summary,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

/** One line per event, as `-i` prints them while they happen. */
export function renderEventLine(e: LatencyEvent, s: Style): string {
  const time = e.at.slice(11, 23);
  const who = `${e.comm}${e.pid ? `[${e.pid}]` : ''}`;
  const by = e.culprit ? ` ← ${e.culprit.comm}${e.culprit.pid ? `[${e.culprit.pid}]` : ''}` : '';
  const top = e.stack.length > 0 ? s.dim(`  @ ${e.stack.slice(0, 3).join(' < ')}`) : '';
  return `${s.dim(time)} ${s.bold(e.kind.padEnd(8))} cpu${String(e.cpu).padEnd(3)} ${s.yellow(`${e.latencyMs.toFixed(2)} ms`.padStart(11))}  ${who}${by}${top}`;
}

function bar(n: number, max: number, width = 30): string {
  return max > 0 ? '█'.repeat(Math.max(n > 0 ? 1 : 0, Math.round((n / max) * width))) : '';
}

function bucketLabel(i: number): string {
  const lo = 2 ** i;
  const f = (us: number): string => (us >= 1000 ? `${Number((us / 1000).toPrecision(3))}ms` : `${us}us`);
  return `${i === 0 ? '0' : f(lo)} – ${f(lo * 2)}`;
}

export function renderRunlatencyText(doc: RunlatencyDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  out.push(s.bold(t(lang, 'lat.title', { durationS: Math.round(doc.summary.durationS), cpus: doc.summary.cpus })));
  const th = doc.thresholds;
  out.push(s.dim(`  ${t(lang, 'lat.thresholds')}: ${Object.entries(th).map(([k, v]) => `${k}=${v}ms`).join(', ')}`));
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));
  out.push(section(t(lang, 'lat.section.summary'), s));
  out.push(
    table(
      ['KIND', 'EVENTS', 'MAX', 'TOTAL', 'THRESHOLD'],
      (['irqoff', 'softirq', 'hardirq', 'nosched', 'runqueue'] as const).map((k) => {
        const x = doc.summary.byKind[k];
        return [k, String(x.count), `${x.maxMs.toFixed(2)} ms`, `${x.totalMs.toFixed(2)} ms`, th[k] > 0 ? `${th[k]} ms` : 'off'];
      }),
      s,
    ),
  );
  if (doc.summary.stealGaps > 0) out.push(s.dim(`  ${t(lang, 'lat.steal', { count: doc.summary.stealGaps })}`));
  if (doc.summary.timerGaps > 0) out.push(s.dim(`  ${t(lang, 'lat.timerGaps', { count: doc.summary.timerGaps })}`));
  if (doc.summary.lostEvents > 0) out.push(s.yellow(`  ${t(lang, 'lat.lost', { count: doc.summary.lostEvents })}`));
  out.push(section(t(lang, 'lat.section.events'), s));
  const worst = [...doc.events].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, 20);
  out.push(
    table(
      ['TIME', 'KIND', 'CPU', 'LATENCY', 'VICTIM', 'CULPRIT'],
      worst.map((e) => [e.at.slice(11, 23), e.kind, String(e.cpu), `${e.latencyMs.toFixed(2)} ms`, `${e.comm}${e.pid ? `[${e.pid}]` : ''}`, e.culprit ? `${e.culprit.comm}${e.culprit.pid ? `[${e.culprit.pid}]` : ''}` : '-']),
      s,
    ),
  );
  for (const e of worst.filter((x) => x.stack.length > 0).slice(0, 3)) {
    out.push(`  ${s.bold(`${e.kind} ${e.latencyMs.toFixed(2)} ms cpu${e.cpu} ${e.comm}`)}`);
    for (const f of e.stack.slice(0, 12)) out.push(s.dim(`      ${f}`));
  }
  out.push(section(t(lang, 'lat.section.hist'), s));
  const rq = doc.histograms.runqueue;
  out.push(
    table(
      ['CPU', 'COUNT', 'MEAN', 'P50', 'P99', 'MAX'],
      rq.perCpu.map((h) => [String(h.cpu), String(h.count), `${h.meanMs} ms`, `~${h.p50Ms} ms`, `~${h.p99Ms} ms`, `${h.maxMs} ms`]),
      s,
    ),
  );
  out.push('');
  out.push(
    table(
      ['CGROUP', 'COUNT', 'MEAN', 'P99', 'MAX'],
      rq.perCgroup.slice(0, 10).map((h) => [h.cgroup, String(h.count), `${h.meanMs} ms`, `~${h.p99Ms} ms`, `${h.maxMs} ms`]),
      s,
    ),
  );
  // The whole-host distribution, as runqlat draws it.
  const all: number[] = [];
  for (const h of rq.perCpu) h.buckets.forEach((n, i) => (all[i] = (all[i] ?? 0) + n));
  const max = Math.max(0, ...all.map((n) => n ?? 0));
  if (max > 0) {
    out.push('');
    all.forEach((n, i) => out.push(`  ${bucketLabel(i).padStart(17)} ${String(n ?? 0).padStart(8)} ${s.cyan(bar(n ?? 0, max))}`));
  }
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}
