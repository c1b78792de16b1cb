/**
 * Text rendering shared by every report: tables (aligned columns, CJK-width aware, via cli-table3),
 * section headings, findings with severity colours, and the method/coverage footer.
 */
import Table from 'cli-table3';
import type { Finding } from './finding.js';
import { type Lang, t } from './i18n/index.js';

/** Colour functions; identity functions when colour is off (pipes, --json, NO_COLOR). */
export interface Style {
  bold: (s: string) => string;
  dim: (s: string) => string;
  red: (s: string) => string;
  yellow: (s: string) => string;
  cyan: (s: string) => string;
  green: (s: string) => string;
}

export const plainStyle: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s, green: (s) => s };

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '  ',
};

export function table(head: string[], rows: string[][], s: Style): string {
  if (rows.length === 0) return s.dim('  (none)');
  const tb = new Table({
    head: head.map((h) => s.bold(h)),
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    wordWrap: false,
  });
  for (const r of rows) tb.push(r);
  return tb
    .toString()
    .split('\n')
    .map((l) => `  ${l.trimEnd()}`)
    .join('\n');
}

export function section(title: string, s: Style): string {
  return `\n${s.bold(s.cyan(`▌ ${title}`))}`;
}

export function severityLabel(sev: Finding['severity'], lang: Lang, s: Style): string {
  const label = t(lang, `severity.${sev}`).toUpperCase();
  if (sev === 'critical') return s.bold(s.red(label));
  if (sev === 'warning') return s.bold(s.yellow(label));
  return s.cyan(label);
}

export function renderFindings(findings: Finding[], lang: Lang, s: Style): string {
  const out: string[] = [s.bold(t(lang, 'report.findings'))];
  if (findings.length === 0) {
    out.push(`  ${s.green(t(lang, 'report.noFindings'))}`);
    return out.join('\n');
  }
  for (const f of findings) {
    out.push(`  ${severityLabel(f.severity, lang, s)} ${s.bold(f.title)} ${s.dim(`[${f.id}]`)}`);
    out.push(`    ${f.conclusion}`);
    for (const sug of f.suggestions) out.push(`    ${s.dim('→')} ${sug}`);
  }
  return out.join('\n');
}

export function renderCoverage(method: Record<string, string>, coverage: { section: string; status: string; reason?: string }[], lang: Lang, s: Style): string {
  const out = [section(`${t(lang, 'report.method')} / ${t(lang, 'report.coverage')}`, s)];
  out.push(s.dim(`  ${Object.entries(method).map(([k, v]) => `${k}: ${v}`).join('; ')}`));
  for (const c of coverage.filter((x) => x.status !== 'complete')) {
    out.push(s.dim(`  ${c.section}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`));
  }
  return out.join('\n');
}

/** Adapts picocolors' Colors to Style. */
export function styleFrom(c: { bold: (s: string) => string; dim: (s: string) => string; red: (s: string) => string; yellow: (s: string) => string; cyan: (s: string) => string; green: (s: string) => string }): Style {
  return { bold: c.bold, dim: c.dim, red: c.red, yellow: c.yellow, cyan: c.cyan, green: c.green };
}
