/**
 * `oscope.profile/v1`: the document builder (a ProfileAnalysis with its findings localized), its text
 * rendering (top functions, processes, the hottest stacks), and the same for `oscope profile diff`.
 * The other formats (folded, pprof, speedscope, svg) are in ./profile-formats.ts.
 */
import type { RawFinding } from '../contract/common.js';
import { PROFILE_DIFF_SCHEMA, PROFILE_SCHEMA, type ProfileDiffDocument, type ProfileDocument } from '../contract/profile.js';
import type { ProfileAnalysis } from '../diagnose/profile/analyze.js';
import type { ProfileDiffAnalysis } from '../diagnose/profile/diff.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatDurationMs } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { PROFILE_SCHEMA, ProfileDocumentSchema, type ProfileDocument } from '../contract/profile.js';

export function profileDocument(a: ProfileAnalysis, lang: Lang): ProfileDocument {
  return {
    schema: PROFILE_SCHEMA,
    mode: a.mode,
    unit: a.unit,
    event: a.event,
    intervalS: a.intervalS,
    hz: a.hz,
    samples: a.samples,
    functions: a.functions,
    stacks: a.stacks,
    processes: a.processes,
    thresholds: a.thresholds,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

export function profileDiffDocument(d: ProfileDiffAnalysis, lang: Lang): ProfileDiffDocument {
  return { ...d.doc, schema: PROFILE_DIFF_SCHEMA, findings: localizeFindings(d.findings as RawFinding[], lang) };
}

const amount = (doc: Pick<ProfileDocument, 'unit'>, n: number): string => (doc.unit === 'us' ? formatDurationMs(n / 1000) : String(n));

export function renderProfileText(doc: ProfileDocument, lang: Lang, s: Style, top = 25): string {
  const out: string[] = [];
  const titleKey = doc.mode === 'off-cpu' ? 'profile.title.offcpu' : 'profile.title';
  out.push(s.bold(t(lang, titleKey, { intervalS: doc.intervalS, hz: doc.hz, event: doc.event, samples: doc.mode === 'off-cpu' ? formatDurationMs(doc.samples / 1000) : String(doc.samples) })));
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));
  out.push(section(t(lang, 'profile.section.functions'), s));
  out.push(
    table(
      ['SELF%', 'TOTAL%', doc.unit === 'us' ? 'SELF' : 'SAMPLES', 'FUNCTION', 'MODULE'],
      doc.functions.slice(0, top).map((f) => [f.selfPct.toFixed(2), f.totalPct.toFixed(2), amount(doc, f.selfSamples), f.name, f.module]),
      s,
    ),
  );
  out.push(section(t(lang, 'profile.section.processes'), s));
  out.push(
    table(
      ['PID', 'COMM', doc.unit === 'us' ? 'BLOCKED' : 'SAMPLES', '%', 'CONTAINER'],
      doc.processes.slice(0, 15).map((p) => [String(p.pid), p.comm, amount(doc, p.samples), doc.samples > 0 ? ((p.samples / doc.samples) * 100).toFixed(2) : '0', p.container ? containerLabel(p.container) : '-']),
      s,
    ),
  );
  out.push(section(t(lang, 'profile.section.stacks'), s));
  for (const st of doc.stacks.slice(0, 5)) {
    out.push(`  ${s.bold(`${amount(doc, st.count)} (${doc.samples > 0 ? ((st.count / doc.samples) * 100).toFixed(2) : '0'}%)`)}`);
    const frames = [...st.frames].reverse();
    for (const f of frames.slice(0, 16)) out.push(s.dim(`      ${f}`));
    if (frames.length > 16) out.push(s.dim(`      … ${frames.length - 16}`));
  }
  out.push(s.dim(`  ${t(lang, 'profile.formats')}`));
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}

const signed = (n: number): string => `${n > 0 ? '+' : ''}${n.toFixed(2)}`;

export function renderProfileDiffText(doc: ProfileDiffDocument, lang: Lang, s: Style, top = 20): string {
  const out: string[] = [];
  out.push(s.bold(t(lang, 'profile.diff.title', { beforeSamples: doc.before.samples, afterSamples: doc.after.samples, beforeS: doc.before.intervalS, afterS: doc.after.intervalS })));
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));
  out.push(section(t(lang, 'profile.diff.section.hotter'), s));
  const row = (f: ProfileDiffDocument['functions'][number]): string[] => [signed(f.deltaSelfPct), f.beforeSelfPct.toFixed(2), f.afterSelfPct.toFixed(2), signed(f.deltaTotalPct), f.name, f.module];
  const head = ['ΔSELF', 'BEFORE%', 'AFTER%', 'ΔTOTAL', 'FUNCTION', 'MODULE'];
  out.push(table(head, doc.functions.filter((f) => f.deltaSelfPct > 0).slice(0, top).map(row), s));
  out.push(section(t(lang, 'profile.diff.section.cooler'), s));
  out.push(table(head, doc.functions.filter((f) => f.deltaSelfPct < 0).sort((a, b) => a.deltaSelfPct - b.deltaSelfPct).slice(0, top).map(row), s));
  return out.join('\n');
}
