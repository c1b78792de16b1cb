/**
 * The `oscope.health/v1` document: the analysis of src/diagnose/health/score.ts with each reason's
 * `detail` worded from the catalogs (`health.signal.<signal>`), checked against its zod schema; and its
 * text rendering. The CLI (`oscope health`), the agent's `health` diagnosis and its samples use it.
 */
import { HEALTH_SCHEMA, HealthDocumentSchema, type HealthDocument, type HealthReason, type HealthSummary } from '../contract/health.js';
import type { HostRef } from '../contract/common.js';
import type { HealthAnalysis, RawHealthReason } from '../diagnose/health/score.js';
import { type Lang, t } from './i18n/index.js';
import type { Style } from './text.js';

export { HEALTH_SCHEMA, HealthDocumentSchema } from '../contract/health.js';

export function reasonDetail(r: RawHealthReason, lang: Lang): string {
  const key = r.signal.startsWith('log-') ? 'health.signal.log' : `health.signal.${r.signal}`;
  return t(lang, key, r.params);
}

function localize(r: RawHealthReason, lang: Lang): HealthReason {
  const { params: _p, ...rest } = r;
  return { ...rest, detail: reasonDetail(r, lang) };
}

/** The compact form the agent sends in each sample (English details: the console shows them as sent). */
export function healthSummary(a: HealthAnalysis, lang: Lang = 'en', maxReasons = 8): HealthSummary {
  return { score: a.score, level: a.level, subscores: a.subscores, reasons: a.reasons.slice(0, maxReasons).map((r) => localize(r, lang)) };
}

export function healthDocument(a: HealthAnalysis, host: HostRef, source: HealthDocument['source'], lang: Lang): HealthDocument {
  const parsed = HealthDocumentSchema.parse({
    schema: HEALTH_SCHEMA,
    host,
    source,
    score: a.score,
    level: a.level,
    subscores: a.subscores,
    reasons: a.reasons.map((r) => localize(r, lang)),
    missing: a.missing,
    containers: a.containers.map((c) => ({ ...c, reasons: c.reasons.map((r) => localize(r, lang)) })),
    weights: a.weights,
  });
  // The schema name first, as in every document.
  const { schema, host: h, source: src, ...rest } = parsed;
  return { schema, host: h, source: src, ...rest };
}

export function renderHealthText(doc: HealthDocument, lang: Lang, s: Style): string {
  const color = (level: string, text: string): string => (level === 'healthy' ? s.green(text) : level === 'at-risk' ? s.cyan(text) : level === 'warning' ? s.yellow(text) : s.red(text));
  const out: string[] = [];
  const level = t(lang, `health.level.${doc.level}`);
  out.push(s.bold(t(lang, 'health.heading', { hostname: doc.host.hostname, kernel: doc.host.kernel, score: doc.score, level: color(doc.level, level) })));
  out.push(t(lang, 'health.subscores', doc.subscores));
  out.push(s.dim(t(lang, `health.source.${doc.source}`)));
  out.push('');
  if (doc.reasons.length === 0) out.push(s.green(t(lang, 'health.noReasons')));
  else {
    out.push(t(lang, 'health.reasons'));
    for (const r of doc.reasons) {
      const run = r.suggestedDiagnosis ? s.dim(`  (${t(lang, 'health.run', { diagnosis: r.suggestedDiagnosis })})`) : '';
      out.push(`  −${String(Math.round(r.penalty)).padStart(2)} ${r.subscore.padEnd(10)} ${r.detail}${run}`);
    }
  }
  const bad = doc.containers.filter((c) => c.level !== 'healthy');
  if (bad.length > 0) {
    out.push('', t(lang, 'health.containers'));
    for (const c of bad.slice(0, 20)) out.push(`  ${color(c.level, String(c.score).padStart(3))} ${c.container ?? c.path}: ${c.reasons.map((r) => r.detail).join('; ')}`);
  }
  if (doc.missing.length > 0) out.push('', s.dim(t(lang, 'health.missing', { signals: doc.missing.join(', ') })));
  return out.join('\n');
}
