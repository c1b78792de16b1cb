/**
 * Findings: the unit of diagnosis everywhere (CLI, agent alerts, console).
 *
 * A diagnosis (src/diagnose/) produces language-neutral `RawFinding`s: a stable id, a severity, the
 * numbers that matter (`params`) and the evidence rows. This module turns them into the `Finding`
 * contract with title, conclusion and suggestions from the message catalogs (en, zh-CN).
 */
import { z } from 'zod';
import { type Lang, formatMessage, messages } from './i18n/index.js';

export const SeveritySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

export const FindingSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/),
  severity: SeveritySchema,
  title: z.string().min(1),
  conclusion: z.string().min(1),
  suggestions: z.array(z.string()),
  evidence: z.record(z.unknown()),
});
export type Finding = z.infer<typeof FindingSchema>;

export type ParamValue = string | number;

export interface RawFinding {
  id: string;
  severity: Severity;
  /** Values for the catalog templates. Names ending in Bytes are rendered as sizes, Pct as percents. */
  params: Record<string, ParamValue>;
  evidence: Record<string, unknown>;
  /** Extra suggestions with their own params (e.g. one per culprit), appended after the catalog's. */
  extraSuggestions?: { key: string; params: Record<string, ParamValue> }[];
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function compareSeverity(a: { severity: Severity }, b: { severity: Severity }): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
}

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
