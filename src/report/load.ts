/**
 * `oscope.load/v1`: the document builder (a LoadAnalysis with its findings localized) and its text
 * rendering. Built from src/diagnose/load/.
 */
import { LOAD_SCHEMA, type LoadDocument } from '../contract/load.js';
import type { LoadAnalysis } from '../diagnose/load/analyze.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatDurationMs } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { LOAD_SCHEMA, LoadDocumentSchema, type LoadDocument } from '../contract/load.js';

export function loadDocument(a: LoadAnalysis, lang: Lang): LoadDocument {
  return {
    schema: LOAD_SCHEMA,
    intervalS: a.intervalS,
    samples: a.samples,
    thresholds: a.thresholds,
    scope: a.scope,
    loadavg: a.loadavg,
    cpu: a.cpu,
    meanRunnable: a.meanRunnable,
    meanUninterruptible: a.meanUninterruptible,
    tasks: a.tasks,
    dStacks: a.dStacks,
    forks: a.forks,
    throttled: a.throttled,
    cpus: a.cpus,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

const pct = (v: number): string => `${v.toFixed(1)}`;

export function renderLoadText(doc: LoadDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  out.push(s.bold(t(lang, 'load.title', { intervalS: doc.intervalS, samples: doc.samples })));
  const la = doc.loadavg;
  out.push(`  ${t(lang, 'load.loadavg', { load1: la.load1.toFixed(2), load5: la.load5.toFixed(2), load15: la.load15.toFixed(2), cpus: la.cpus, trend: la.trend, meanRunnable: doc.meanRunnable.toFixed(2), meanUninterruptible: doc.meanUninterruptible.toFixed(2) })}`);
  out.push(`  ${t(lang, 'load.cpu', doc.cpu)}`);
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));

  out.push(section(t(lang, 'load.section.tasks'), s));
  out.push(
    table(
      ['PID', 'COMM', 'THREADS', 'RUNNABLE%', 'D%', 'PINNED', 'CGROUP'],
      doc.tasks.map((x) => [String(x.pid), x.comm, String(x.threads), pct(x.runnablePct), pct(x.uninterruptiblePct), x.pinned ? 'yes' : '', x.container ? containerLabel(x.container) : x.cgroup]),
      s,
    ),
  );

  out.push(section(t(lang, 'load.section.dstacks'), s));
  for (const g of doc.dStacks.slice(0, 8)) {
    const owner = g.mutexOwner ? `, lock owner ${g.mutexOwner.comm}[${g.mutexOwner.pid}]` : '';
    out.push(`  ${s.bold(`${g.tasks} × ${g.waitIn}`)}  max ${formatDurationMs(g.maxWaitMs)} (${g.waitSource})${owner}  ${g.comms.slice(0, 4).join(' ')} [${g.pids.slice(0, 8).join(' ')}${g.pids.length > 8 ? ' …' : ''}]`);
    for (const f of g.stack.slice(0, 10)) out.push(s.dim(`      ${f}`));
  }

  out.push(section(t(lang, 'load.section.forks', { perS: doc.forks.perS, execPerS: doc.forks.execPerS ?? '-' }), s));
  out.push(
    table(
      ['PID', 'COMM', 'FORKS', 'FORKS/s', 'EXECS', 'EXECS/s', 'CGROUP'],
      doc.forks.topParents.slice(0, 10).map((p) => [String(p.pid), p.comm, String(p.forks), p.forksPerS.toFixed(1), String(p.execs), p.execsPerS.toFixed(1), p.container ? containerLabel(p.container) : p.cgroup]),
      s,
    ),
  );

  out.push(section(t(lang, 'load.section.throttled'), s));
  out.push(
    table(
      ['CGROUP', 'QUOTA', 'USED', 'PERIODS', 'THROTTLED', '%', 'HELD BACK', 'NR_THROTTLED'],
      doc.throttled.map((g) => [g.container ? `${g.cgroup} (${containerLabel(g.container)})` : g.cgroup, g.quotaCpus === null ? '-' : `${g.quotaCpus} CPU`, g.usageCpus === null ? '-' : `${g.usageCpus} CPU`, String(g.periods), String(g.throttledPeriods), pct(g.throttledPct), formatDurationMs(g.throttledMs), String(g.nrThrottled)]),
      s,
    ),
  );

  out.push(section(t(lang, 'load.section.cpus'), s));
  out.push(
    table(
      ['CPU', 'BUSY%', 'RUNNABLE', 'MAX', 'PINNED TASKS'],
      doc.cpus.map((c) => [String(c.cpu), pct(c.busyPct), c.meanRunnable.toFixed(2), String(c.maxRunnable), c.pinnedTasks.slice(0, 4).map((p) => `${p.comm}[${p.tid}]`).join(' ') || '-']),
      s,
    ),
  );
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}
