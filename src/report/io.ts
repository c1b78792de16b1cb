/**
 * `oscope.io/v1`: the document builder (an IoAnalysis with its findings localized) and its text
 * rendering. Built from src/diagnose/io/.
 */
import { IO_SCHEMA, IO_STAGES, type IoDocument } from '../contract/io.js';
import type { IoAnalysis } from '../diagnose/io/analyze.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatBytes, formatDurationMs } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { IO_SCHEMA, IoDocumentSchema, type IoDocument } from '../contract/io.js';

export function ioDocument(a: IoAnalysis, lang: Lang): IoDocument {
  return {
    schema: IO_SCHEMA,
    intervalS: a.intervalS,
    thresholds: a.thresholds,
    disks: a.disks,
    psi: a.psi,
    latency: a.latency,
    traffic: a.traffic,
    hangs: a.hangs,
    dTasks: a.dTasks,
    iowait: a.iowait,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

const msText = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)} ms`);

export function renderIoText(doc: IoDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  out.push(s.bold(t(lang, 'io.title', { intervalS: doc.intervalS })));
  if (doc.psi) out.push(s.dim(`  ${t(lang, 'io.psi', { someAvg10: doc.psi.someAvg10.toFixed(2), fullAvg10: doc.psi.fullAvg10.toFixed(2), someMs: doc.psi.someMs })}`));
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));

  out.push(section(t(lang, 'io.section.disks'), s));
  out.push(
    table(
      ['DISK', 'MAJ:MIN', 'SCHED', 'ROT', 'IOPS', 'READ/s', 'WRITE/s', 'AWAIT', 'AQU-SZ', '%UTIL', 'INFLIGHT', 'MODEL'],
      doc.disks.map((d) => [d.name, d.majMin, d.scheduler, d.rotational ? 'yes' : 'no', d.iops.toFixed(1), formatBytes(d.readBytesPerS), formatBytes(d.writeBytesPerS), `${d.awaitMs.toFixed(2)} ms`, d.queueDepth.toFixed(2), d.utilPct.toFixed(1), String(d.inflight), d.model ?? '-']),
      s,
    ),
  );

  out.push(section(t(lang, 'io.section.latency'), s));
  const rows: string[][] = [];
  for (const d of doc.latency.perDisk) {
    for (const st of IO_STAGES) {
      const x = d.stages[st];
      rows.push([st === 'queue' ? d.disk : '', st, String(x.count), `${x.meanMs.toFixed(3)} ms`, `~${x.p50Ms} ms`, `~${x.p99Ms} ms`, `${x.maxMs} ms`, d.dominant === st ? '◀' : '']);
    }
  }
  out.push(table(['DISK', 'STAGE', 'COUNT', 'MEAN', 'P50', 'P99', 'MAX', ''], rows, s));
  for (const d of doc.latency.perDisk) {
    if (d.dominant && d.stages.device.count > 0) out.push(s.dim(`  ${t(lang, `io.verdict.${d.dominant}`, { disk: d.disk })}`));
  }
  if (doc.latency.lostEvents > 0) out.push(s.yellow(`  ${t(lang, 'io.lost', { count: doc.latency.lostEvents })}`));

  out.push(section(t(lang, 'io.section.slow'), s));
  out.push(
    table(
      ['TIME', 'DISK', 'OP', 'SECTOR', 'SIZE', 'TOTAL', 'QUEUE', 'SCHED', 'DEVICE', 'WAKE', 'TASK', 'CGROUP', 'FILE'],
      doc.latency.slow.map((e) => [e.at.slice(11, 23), e.disk, e.op, e.sector === null ? '-' : String(e.sector), formatBytes(e.sizeBytes), msText(e.totalMs), msText(e.queueMs), msText(e.schedMs), msText(e.deviceMs), msText(e.wakeMs), `${e.comm}[${e.pid}]`, e.container ? containerLabel(e.container) : e.cgroup, e.file ?? '-']),
      s,
    ),
  );

  out.push(section(t(lang, 'io.section.processes'), s));
  out.push(
    table(
      ['PID', 'COMM', 'READ', 'WRITE', 'DIRTIED', 'CGROUP'],
      doc.traffic.processes.map((p) => [String(p.pid), p.comm, formatBytes(p.readBytes), formatBytes(p.writeBytes), p.dirtiedBytes === null ? '-' : formatBytes(p.dirtiedBytes), p.container ? containerLabel(p.container) : p.cgroup]),
      s,
    ),
  );
  out.push(section(t(lang, 'io.section.files'), s));
  out.push(
    table(
      ['FILE', 'READ', 'WRITE', 'WRITERS'],
      doc.traffic.files.map((f) => [f.path, formatBytes(f.readBytes), formatBytes(f.writeBytes), f.writers.slice(0, 4).map((w) => `${w.comm}[${w.pid}]`).join(' ') + (f.writers.length > 4 ? ` +${f.writers.length - 4}` : '') || '-']),
      s,
    ),
  );
  if (doc.traffic.files.length > 0) out.push(s.dim(`  ${t(lang, 'io.files.note')}`));
  out.push(section(t(lang, 'io.section.cgroups'), s));
  out.push(table(['CGROUP', 'READ', 'WRITE'], doc.traffic.cgroups.map((c) => [c.container ? `${c.path} (${containerLabel(c.container)})` : c.path, formatBytes(c.readBytes), formatBytes(c.writeBytes)]), s));

  out.push(section(t(lang, 'io.section.hangs'), s));
  out.push(table(['DISK', 'KIND', 'AGE', 'COUNT', 'SECTOR', 'OP', 'TASK'], doc.hangs.map((h) => [h.disk, h.kind, `${h.ageS.toFixed(2)} s`, String(h.count), h.sector === null ? '-' : String(h.sector), h.op ?? '-', h.comm ? `${h.comm}[${h.pid ?? 0}]` : '-']), s));
  if (doc.dTasks.length > 0) {
    out.push(section(t(lang, 'io.section.dtasks'), s));
    for (const g of doc.dTasks.slice(0, 5)) {
      out.push(`  ${s.bold(g.tasks.slice(0, 6).map((x) => `${x.comm}[${x.tid}]`).join(' '))}${g.tasks.length > 6 ? ` +${g.tasks.length - 6}` : ''}`);
      for (const f of g.stack.slice(0, 10)) out.push(s.dim(`      ${f}`));
    }
  }

  out.push(section(t(lang, 'io.section.iowait'), s));
  out.push(
    table(
      ['PID', 'TID', 'COMM', 'IOWAIT', '%', 'SLEEPS', 'MAX', 'WAITS IN'],
      doc.iowait.tasks.slice(0, 15).map((w) => [String(w.pid), String(w.tid), w.comm, formatDurationMs(w.iowaitMs), w.iowaitPct.toFixed(1), String(w.count), formatDurationMs(w.maxMs), w.stack.slice(0, 3).join(' < ') || '-']),
      s,
    ),
  );
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}
