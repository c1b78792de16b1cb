/**
 * `oscope inspect`: kernel-log anomalies plus indicator, configuration and hardware checks.
 *
 * Log sources, best first (kernel messages are read from one of them, so nothing is counted twice):
 *   1. `--log FILE …` when given (then only those, and no host checks: the file may come from elsewhere);
 *   2. the systemd journal's kernel messages (`journalctl -k`, live hosts), which span boots;
 *   3. /dev/kmsg, the current boot's ring buffer (timestamps turned into wall-clock times);
 *   4. the first classic file present: /var/log/kern.log, /var/log/messages, /var/log/dmesg;
 * and always /var/log/mcelog when present (machine checks logged by mcelog are not in the kernel log).
 */
import type { Host } from '../../host/host.js';
import { HostError } from '../../host/host.js';
import { kmsgLines, readKmsg } from '../../kernel/log/kmsg.js';
import { readJournalKernel } from '../../kernel/log/journal.js';
import { CLASSIC_KERNEL_LOGS, MCELOG_PATH, fileYear, streamFileBytes } from '../../kernel/log/files.js';
import { bootWallMs } from '../../kernel/log/uptime.js';
import type { LogLine } from '../../kernel/log/line.js';
import { type Thresholds, resolveThresholds } from '../thresholds.js';
import { type CheckData, checkItem, collectCheckData, evaluateChecks } from './checks.js';
import type { RawFinding } from '../../contract/common.js';
import { type LogReport, LogScanner } from './engine.js';
import { inspectFindings } from './findings.js';
import { type InspectItem, foldReports, levelRank, sortItems } from './items.js';
import { type Level, type RuleSet, loadRules } from './rules.js';

import { type Boot, INSPECT_SCHEMA, type SourceInfo } from '../../contract/inspect.js';
import { collectBoots } from './boots.js';

export { INSPECT_SCHEMA, type SourceInfo, type SourceStatus } from '../../contract/inspect.js';


export interface InspectOptions {
  /** Only log reports at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** Inspect these files instead of the host's logs. */
  logFiles?: string[];
  /** Extra rule directories (users' own rules). */
  rulesDirs?: string[];
  /** The one threshold table (its inspect.* keys are read); defaults when absent. */
  thresholds?: Thresholds;
  /** Run the indicator/config/hardware checks (default: yes, unless logFiles are given). */
  checks?: boolean;
  /** Also read what previous boots left (journal, pstore, kdump) and why each ended (`--boots`). */
  boots?: boolean;
  /** journalctl stand-in for the boots (tests). */
  journal?: (args: string[]) => Promise<string | undefined>;
}

/** The language-neutral result with its findings; report/inspect.ts localizes them. */
export interface InspectResult {
  schema: typeof INSPECT_SCHEMA;
  host: { hostname: string; kernel: string; capturedAt: string };
  since: string | null;
  sources: SourceInfo[];
  items: InspectItem[];
  /** The findings of the items (./findings.ts), most severe first. */
  findings: RawFinding[];
  rules: string[];
  /** Previous boots (with `boots: true`). */
  boots?: Boot[];
}

/** A source could not be read because it is not there or not allowed: say so, do not fail. */
function unavailable(err: unknown): string {
  if (err instanceof HostError) return err.message;
  return (err as Error)?.message ?? String(err);
}

/** Feeds one log file into a scanner; returns bytes read. HostError when it cannot be read. */
export async function scanFile(host: Host, path: string, scanner: LogScanner): Promise<number> {
  return streamFileBytes(host, path, (chunk) => scanner.pushBytes(chunk));
}

function scannerFor(rules: RuleSet, opts: InspectOptions, reports: LogReport[], extra: { year?: number; bootWallMs?: number } = {}): LogScanner {
  return new LogScanner(rules, { sinceMs: opts.sinceMs, ...extra }, (r) => reports.push(r));
}

/** Reads the log sources and returns the reports found, with what each source gave. */
export async function scanLogSources(host: Host, rules: RuleSet, opts: InspectOptions): Promise<{ reports: LogReport[]; sources: SourceInfo[] }> {
  const sources: SourceInfo[] = [];
  const all: LogReport[] = [];
  const runFile = async (path: string, kind: SourceInfo['kind']): Promise<void> => {
    const reports: LogReport[] = [];
    const s = scannerFor(rules, opts, reports, { year: await fileYear(host, path) });
    const bytes = await scanFile(host, path, s);
    s.finish();
    for (const r of reports) r.source = path;
    all.push(...reports);
    sources.push({ name: path, kind, status: 'used', bytes, reports: reports.length });
  };
  if (opts.logFiles && opts.logFiles.length > 0) {
    for (const f of opts.logFiles) await runFile(f, 'file');
    return { reports: all, sources };
  }
  let haveKernelLog = false;
  if (host.live) {
    const lines = await readJournalKernel({ sinceMs: opts.sinceMs });
    if (lines) {
      feedLines(lines, rules, opts, all, sources, { name: 'journalctl -k', kind: 'journal' });
      haveKernelLog = true;
    } else sources.push({ name: 'journalctl -k', kind: 'journal', status: 'unavailable', reason: 'no kernel messages in the journal' });
  }
  if (!haveKernelLog) {
    try {
      const records = await readKmsg(host);
      const boot = await bootWallMs(host);
      feedLines(kmsgLines(records, boot), rules, opts, all, sources, { name: '/dev/kmsg', kind: 'kmsg' });
      haveKernelLog = true;
    } catch (err) {
      sources.push({ name: '/dev/kmsg', kind: 'kmsg', status: 'unavailable', reason: unavailable(err) });
    }
  } else sources.push({ name: '/dev/kmsg', kind: 'kmsg', status: 'skipped', reason: 'the journal has the kernel messages' });
  for (const f of CLASSIC_KERNEL_LOGS) {
    if (haveKernelLog) {
      if (await host.exists(f)) sources.push({ name: f, kind: 'file', status: 'skipped', reason: 'kernel messages already read' });
      continue;
    }
    if (!(await host.exists(f))) continue;
    try {
      await runFile(f, 'file');
      haveKernelLog = true;
    } catch (err) {
      sources.push({ name: f, kind: 'file', status: 'error', reason: unavailable(err) });
    }
  }
  if (await host.exists(MCELOG_PATH)) {
    try {
      await runFile(MCELOG_PATH, 'mcelog');
    } catch (err) {
      sources.push({ name: MCELOG_PATH, kind: 'mcelog', status: 'error', reason: unavailable(err) });
    }
  }
  return { reports: all, sources };
}

function feedLines(lines: LogLine[], rules: RuleSet, opts: InspectOptions, all: LogReport[], sources: SourceInfo[], src: { name: string; kind: SourceInfo['kind'] }): void {
  const reports: LogReport[] = [];
  const s = scannerFor(rules, opts, reports);
  for (const l of lines) s.push(l);
  s.finish();
  for (const r of reports) r.source = src.name;
  all.push(...reports);
  sources.push({ name: src.name, kind: src.kind, status: 'used', lines: lines.length, reports: reports.length });
}

/** Pure: reports and check data → sorted items. */
export function analyze(reports: LogReport[], checks: CheckData | undefined, rules: RuleSet, thresholds: Thresholds): InspectItem[] {
  const sorted = [...reports].sort((a, b) => a.seq - b.seq);
  const { items, order } = foldReports(sorted, rules);
  let n = order.size;
  if (checks) {
    for (const r of evaluateChecks(checks, thresholds)) {
      const it = checkItem(r);
      items.push(it);
      order.set(it.id, n++);
    }
  }
  return sortItems(items, order);
}

export async function runInspect(host: Host, opts: InspectOptions = {}): Promise<InspectResult> {
  const rules = loadRules(opts.rulesDirs ?? []);
  const thresholds = opts.thresholds ?? resolveThresholds();
  const { reports, sources } = await scanLogSources(host, rules, opts);
  const runChecks = opts.checks ?? !(opts.logFiles && opts.logFiles.length > 0);
  const data = runChecks ? await collectCheckData(host) : undefined;
  const info = host.info();
  const items = analyze(reports, data, rules, thresholds);
  return {
    schema: INSPECT_SCHEMA,
    host: { hostname: info.hostname, kernel: info.kernel, capturedAt: info.capturedAt },
    since: opts.sinceMs !== undefined ? new Date(opts.sinceMs).toISOString() : null,
    sources,
    items,
    findings: inspectFindings(items),
    rules: rules.files,
    ...(opts.boots ? { boots: await collectBoots(host, rules, opts.journal ? { journal: opts.journal } : {}) } : {}),
  };
}

export function worstLevel(items: InspectItem[]): Level | undefined {
  let best: Level | undefined;
  for (const it of items) if (best === undefined || levelRank(it.level) < levelRank(best)) best = it.level;
  return best;
}
