/**
 * Findings: the unit of diagnosis everywhere (CLI, agent alerts, console).
 *
 * A diagnosis (src/diagnose/) produces language-neutral `RawFinding`s (src/contract/common.ts): a stable
 * id, a severity, the numbers that matter (`params`) and the evidence rows. This module turns them into
 * the `Finding` contract with title, conclusion and suggestions from the message catalogs (en, zh-CN).
 */
import { type Finding, type RawFinding, compareSeverity } from '../contract/common.js';
import { type Lang, formatMessage, messages } from './i18n/index.js';

export { FindingSchema, SeveritySchema, compareSeverity, severityRank, type Finding, type ParamValue, type RawFinding, type Severity } from '../contract/common.js';

export function localizeFinding(raw: RawFinding, lang: Lang): Finding {
  const catalog = messages(lang);
  const entry = catalog.findings[raw.id];
  if (!entry) throw new Error(`no message catalog entry for finding ${raw.id} (${lang})`);
  const suggestions = entry.suggestions.map((s) => formatMessage(s, raw.params, lang));
  for (const extra of raw.extraSuggestions ?? []) {
    const tmpl = catalog.text[extra.key];
    if (tmpl) suggestions.push(formatMessage(tmpl, extra.params, lang));
  }
  return {
    id: raw.id,
    severity: raw.severity,
    title: formatMessage(entry.title, raw.params, lang),
    conclusion: formatMessage(entry.conclusion, raw.params, lang),
    suggestions,
    evidence: raw.evidence,
  };
}

export function localizeFindings(raws: RawFinding[], lang: Lang): Finding[] {
  return [...raws].sort(compareSeverity).map((r) => localizeFinding(r, lang));
}
