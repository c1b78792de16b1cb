/**
 * `oscope.memleak/v1`: the kernel memory leak check as one JSON document (schema below, checked by
 * tests) and its text rendering. Built from a MemleakAnalysis (src/diagnose/memleak/) plus the language.
 */
import { MEMLEAK_SCHEMA, type MemleakDocument } from '../contract/memleak.js';
import type { MemleakAnalysis } from '../diagnose/memleak/analyze.js';
import { localizeFindings } from './finding.js';
import { formatBytes, formatCount } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { MEMLEAK_SCHEMA, MemleakDocumentSchema, type MemleakDocument } from '../contract/memleak.js';

export function memleakDocument(a: MemleakAnalysis, lang: Lang): MemleakDocument {
  const reason = t(lang, a.verdict.reason.key, a.verdict.reason.params);
  // The verdict finding's conclusion is the verdict's reason, worded with its own params.
  const findings = localizeFindings(a.findings, lang).map((f) => (f.id.startsWith('memleak.verdict.') ? { ...f, conclusion: reason } : f));
  return {
    schema: MEMLEAK_SCHEMA,
    type: a.type,
    durationS: Math.round(a.durationS * 10) / 10,
    verdict: {
      leaking: a.verdict.leaking,
      kind: a.verdict.kind,
      confidence: a.verdict.confidence,
      reason,
    },
    growth: a.growth.map((g) => ({ name: g.name, startBytes: g.startBytes, endBytes: g.endBytes, bytesPerS: Math.round(g.bytesPerS) })),
    callsites: a.callsites.map((c) => ({ symbol: c.symbol, stack: c.stack, outstandingBytes: c.outstandingBytes, count: c.count, oldestAgeS: c.oldestAgeS })),
    findings,
    method: a.method,
    coverage: a.coverage,
  };
}

const rate = (n: number): string => `${n < 0 ? '-' : ''}${formatBytes(Math.abs(n))}/s`;

export function renderMemleakText(doc: MemleakDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  out.push(s.bold(doc.type === 'check' ? t(lang, 'memleak.title.check') : t(lang, 'memleak.title', { type: doc.type, durationS: Math.round(doc.durationS) })));
  const v = doc.verdict;
  const head = v.leaking
    ? s.bold(s.red(t(lang, 'memleak.verdict.leaking', { kind: v.kind ?? '-', confidence: v.confidence })))
    : v.kind !== null
      ? s.yellow(t(lang, 'memleak.verdict.suspect', { kind: v.kind, confidence: v.confidence }))
      : s.green(t(lang, 'memleak.verdict.ok', { confidence: v.confidence }));
  out.push(`${s.bold(t(lang, 'memleak.verdict'))}: ${head}`);
  out.push(`  ${v.reason}`);
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));
  if (doc.type !== 'check') {
    out.push(section(t(lang, 'memleak.section.growth'), s));
    out.push(
      table(
        ['NAME', 'START', 'END', 'GROWTH', 'RATE'],
        doc.growth.slice(0, 15).map((g) => [g.name, formatBytes(g.startBytes), formatBytes(g.endBytes), formatBytes(Math.max(0, g.endBytes - g.startBytes)), rate(g.bytesPerS)]),
        s,
      ),
    );
    out.push(section(t(lang, 'memleak.section.callsites'), s));
    if (doc.callsites.length === 0) out.push(s.dim('  (none)'));
    for (const c of doc.callsites.slice(0, 10)) {
      out.push(`  ${s.bold(c.symbol)}  ${formatBytes(c.outstandingBytes)} in ${formatCount(c.count)} allocations, oldest ${c.oldestAgeS.toFixed(0)} s`);
      for (const f of c.stack.slice(0, 12)) out.push(s.dim(`      ${f}`));
    }
  }
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}
