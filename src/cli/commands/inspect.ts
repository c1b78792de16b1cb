/**
 * `oscope inspect [--since 24h] [--log FILE ...] [--follow] [--json]`: what is wrong with this host, the
 * way an experienced kernel SRE would look: kernel-log anomalies (oops, lockups, hung tasks, RCU stalls,
 * OOM kills with their root cause, hardware and filesystem errors, …) and risky indicators and settings.
 */
import type { Command } from 'commander';
import type { Host } from '../../host/host.js';
import { HostError } from '../../host/host.js';
import { LiveHost } from '../../host/live.js';
import { kmsgLines, openKmsgFollow, parseKmsg, readKmsgLive } from '../../kernel/log/kmsg.js';
import { bootWallMs } from '../../kernel/log/uptime.js';
import { INSPECT_FLAGS, type InspectParams, InspectParamsSchema, inspectChecks } from '../../diagnose/inspect/params.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { LogScanner, type LogReport } from '../../diagnose/inspect/engine.js';
import { type InspectItem, foldReports } from '../../diagnose/inspect/items.js';
import { type InspectResult, runInspect } from '../../diagnose/inspect/inspect.js';
import { type RuleSet, loadRules } from '../../diagnose/inspect/rules.js';
import { type InspectJson, inspectDocument } from '../../report/inspect.js';
import { type Lang, t } from '../../report/i18n/index.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams } from './params.js';

// The document builder lives in src/report/inspect.ts (shared with the agent); re-exported for callers.
export { InspectJsonSchema, SourceInfoSchema, type InspectJson } from '../../report/inspect.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `24h`, `30m`, `7d`, `90s`, `2w`, or an ISO 8601 time → ms since the epoch. UserError otherwise. */
export function parseSince(text: string, nowMs = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (m) return nowMs - Number(m[1]) * UNITS[m[2]!]!;
  if (/^\d{4}-\d\d-\d\d/.test(text.trim())) {
    const t0 = Date.parse(text.trim());
    if (Number.isFinite(t0)) return t0;
  }
  throw new UserError(`--since "${text}" is not a duration (24h, 30m, 7d) or an ISO 8601 time`, EXIT.usage);
}

/** A --log file that cannot be read, as one sentence. */
function logFileError(file: string, err: HostError): UserError {
  if (err.notFound) return new UserError(`cannot read --log ${file}: no such file`, EXIT.usage);
  if (err.denied) return new UserError(`cannot read --log ${file}: permission denied`, EXIT.permission);
  if (err.code === 'EISDIR') return new UserError(`cannot read --log ${file}: it is a directory`, EXIT.usage);
  return new UserError(`cannot read --log ${file}: ${err.code}`, EXIT.failure);
}

/** Fails early, with one sentence, on a --log file that is missing or not a file. */
async function checkLogFile(host: Host, file: string): Promise<void> {
  try {
    const st = await host.stat(file);
    if (st.isDirectory) throw new UserError(`cannot read --log ${file}: it is a directory`, EXIT.usage);
  } catch (err) {
    if (err instanceof HostError) throw logFileError(file, err);
    throw err;
  }
}

export interface InspectCliOptions {
  since?: string;
  log?: string[];
  follow?: boolean;
  rules?: string[];
  threshold?: string[];
  config?: string;
  checks?: boolean;
  boots?: boolean;
}

/** The flags as the diagnosis's parameters (src/diagnose/inspect/params.ts), validated by its schema. */
export function inspectParams(opts: InspectCliOptions, nowMs = Date.now()): InspectParams {
  const input: Record<string, unknown> = { thresholds: thresholdsFrom(opts) };
  if (opts.since !== undefined) input.sinceH = (nowMs - parseSince(opts.since, nowMs)) / 3_600_000;
  // --no-checks only says no; without it the checks run unless --log names files.
  if (opts.checks === false) input.checks = false;
  if (opts.log) input.logFiles = opts.log;
  if (opts.rules) input.rulesDirs = opts.rules;
  return cliParams(InspectParamsSchema, input, INSPECT_FLAGS, { sinceH: opts.since });
}

export function levelLabel(c: CliContext, level: InspectItem['level'], lang: Lang): string {
  const label = t(lang, `inspect.level.${level}`).padEnd(8);
  switch (level) {
    case 'fatal':
      return c.color.bold(c.color.red(label));
    case 'critical':
      return c.color.red(label);
    case 'error':
      return c.color.magenta(label);
    case 'warning':
      return c.color.yellow(label);
    default:
      return c.color.cyan(label);
  }
}

/** The catalog key of an item's suggestion, with fallbacks (kasan-use-after-free-read → kasan → generic). */
export function suggestionText(item: InspectItem, lang: Lang): string {
  const oom = item.details.oom as { cause?: string } | undefined;
  const keys: string[] = [];
  if (oom?.cause) keys.push(`inspect.suggest.oom.${oom.cause}`);
  let k = item.suggestion;
  for (;;) {
    keys.push(k);
    const i = k.lastIndexOf('-');
    if (i <= 'inspect.suggest.'.length) break;
    k = k.slice(0, i);
  }
  keys.push('inspect.suggest.generic');
  for (const key of keys) {
    const s = t(lang, key, (item.details.params as Record<string, string | number>) ?? {});
    if (s !== key) return s;
  }
  return '';
}

const MAX_STACK = 16;

/** One item as text: level, class, title, count and times, evidence, call trace, suggestion. */
export function renderItem(c: CliContext, it: InspectItem, lang: Lang): string {
  const out: string[] = [];
  const count = it.count > 1 ? c.color.bold(` ×${it.count}`) : '';
  out.push(`${levelLabel(c, it.level, lang)} ${c.color.dim(t(lang, `inspect.class.${it.class}`).padEnd(9))} ${c.color.bold(it.title)}${count}`);
  const meta: string[] = [it.kind];
  const when = (at: string | null, up: number | null): string | undefined =>
    at ?? (up !== null ? t(lang, 'inspect.uptime', { seconds: up.toFixed(1) }) : undefined);
  const first = when(it.firstAt, it.firstUptimeS);
  const last = when(it.lastAt, it.lastUptimeS);
  if (first) meta.push(`${t(lang, 'inspect.first')} ${first}`);
  if (last && it.count > 1) meta.push(`${t(lang, 'inspect.last')} ${last}`);
  if (it.container) meta.push(`${t(lang, 'inspect.container')} ${it.container}`);
  const oom = it.details.oom as { cause?: string } | undefined;
  if (oom?.cause) meta.push(`${t(lang, 'inspect.oomCause')} ${oom.cause}`);
  out.push(`         ${c.color.dim(meta.join(' · '))}`);
  if (it.evidence.length) {
    out.push(`         ${t(lang, 'inspect.evidence')}:`);
    for (const e of it.evidence) out.push(`           ${e}`);
  }
  if (it.stack.length) {
    out.push(`         ${t(lang, 'inspect.stack')}:`);
    for (const f of it.stack.slice(0, MAX_STACK)) out.push(`           ${c.color.dim(f)}`);
    if (it.stack.length > MAX_STACK) out.push(`           ${c.color.dim(t(lang, 'inspect.more', { count: it.stack.length - MAX_STACK }))}`);
  }
  const s = suggestionText(it, lang);
  if (s) out.push(`         ${c.color.green(`${t(lang, 'inspect.suggestion')}:`)} ${s}`);
  return out.join('\n');
}

export function renderText(c: CliContext, r: InspectResult): string {
  const lang = c.lang;
  const out: string[] = [];
  out.push(c.color.bold(t(lang, 'inspect.heading', r.host)));
  const src = r.sources.map((s) => {
    const n = s.lines !== undefined ? `, ${s.lines} lines` : s.bytes !== undefined ? `, ${s.bytes} bytes` : '';
    const why = s.reason ? `: ${s.reason}` : '';
    return `${s.name} (${t(lang, `inspect.source.${s.status}`)}${n}${why})`;
  });
  out.push(`${t(lang, 'inspect.sources')}: ${src.join('; ') || '-'}`);
  out.push('');
  if (r.boots) {
    out.push(c.color.bold(t(lang, 'inspect.boots', { count: r.boots.length })));
    for (const b of r.boots) {
      const cause = t(lang, `inspect.boot.${b.cause}`);
      const bad = b.cause !== 'clean-shutdown' && b.cause !== 'running';
      out.push(`  ${b.endedAt ?? '?'}  ${bad ? c.color.red(cause) : c.color.green(cause)}${b.title ? `: ${c.color.bold(b.title)}` : ''}  ${c.color.dim(`${b.source} ${b.id}`)}`);
      for (const f of (b.stack ?? []).slice(0, 6)) out.push(`      ${c.color.dim(f)}`);
    }
    out.push('');
  }
  if (r.items.length === 0) {
    out.push(c.color.green(t(lang, 'inspect.noItems')));
    return out.join('\n');
  }
  out.push(t(lang, 'inspect.items', { count: r.items.length }));
  out.push('');
  for (const it of r.items) {
    out.push(renderItem(c, it, lang));
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The JSON document (see src/report/inspect.ts). */
export function toJson(r: InspectResult, lang: Lang): InspectJson {
  return inspectDocument(r, lang);
}

async function follow(c: CliContext, rules: RuleSet, host: Host): Promise<void> {
  if (!host.live) throw new UserError('--follow watches this host: it cannot be combined with --from', EXIT.usage);
  let fd: number;
  try {
    fd = openKmsgFollow(true);
  } catch (err) {
    if (err instanceof HostError && err.denied) throw new UserError('--follow reads /dev/kmsg, which needs root here: run it with sudo', EXIT.permission);
    throw err;
  }
  const boot = await bootWallMs(host);
  const emit = (rep: LogReport): void => {
    const { items } = foldReports([rep], rules, { source: '/dev/kmsg' });
    for (const it of items) {
      if (c.json) c.out(JSON.stringify({ schema: 'oscope.inspect.event/v1', item: it }));
      else c.out(`${renderItem(c, it, c.lang)}\n`);
    }
  };
  const scanner = new LogScanner(rules, {}, emit);
  if (!c.json) c.err(t(c.lang, 'inspect.follow.watching', { source: '/dev/kmsg' }));
  let idle = 0;
  await new Promise<void>(() => {
    setInterval(() => {
      const text = readKmsgLive(fd);
      if (text === '') {
        // Quiet for a while: a report still open is complete as far as we can tell.
        if (++idle === 4) scanner.flush();
        return;
      }
      idle = 0;
      for (const l of kmsgLines(parseKmsg(text), boot)) scanner.push(l);
    }, 500);
  });
}

export const registerInspect: RegisterCommand = (program: Command, ctx) => {
  program
    .command('inspect')
    .description('inspect this host like a kernel SRE: kernel-log anomalies (oops, lockups, hung tasks, RCU stalls, OOM kills with root cause, hardware/filesystem/I/O errors) and risky indicators and settings, most severe first')
    .option('--since <when>', 'only log reports since this long ago (24h, 30m, 7d) or since an ISO 8601 time')
    .option('--log <file...>', 'inspect these kernel log files (console logs, dmesg, kern.log) instead of this host')
    .option('--follow', 'watch the kernel log (/dev/kmsg) and print anomalies as they come')
    .option('--rules <dir...>', 'also load the rule files (*.json) in these directories')
    .option('--threshold <key=value...>', 'override a threshold, e.g. inspect.diskUsedPct=85 (the inspect.* keys of src/diagnose/thresholds.ts)')
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .option('--no-checks', 'skip the indicator, configuration and hardware checks')
    .option('--boots', 'also read what previous boots left (journal, /sys/fs/pstore, /var/crash/*/vmcore-dmesg.txt) and why each ended')
    .action(async (opts: InspectCliOptions) => {
      const c = ctx();
      const nowMs = Date.now();
      const p = inspectParams(opts, nowMs);
      const thresholds = resolveThresholds(p.thresholds);
      let rules: RuleSet;
      try {
        rules = loadRules(opts.rules ?? []);
      } catch (err) {
        throw new UserError(`bad rule file: ${(err as Error).message}`, EXIT.usage);
      }
      const sinceMs = p.sinceH !== undefined ? Math.round(nowMs - p.sinceH * 3_600_000) : undefined;
      if (opts.follow) {
        if (opts.log) throw new UserError('--follow watches the kernel log: it cannot be combined with --log', EXIT.usage);
        await follow(c, rules, await c.host());
        return;
      }
      let host: Host;
      if (opts.log && opts.log.length > 0) {
        // --log names files on this machine, whatever --from says.
        host = c.from ? new LiveHost() : await c.host();
        for (const f of opts.log) await checkLogFile(host, f);
      } else host = await c.host();
      let result: InspectResult;
      try {
        result = await runInspect(host, {
          sinceMs,
          logFiles: p.logFiles,
          rulesDirs: p.rulesDirs,
          thresholds,
          checks: inspectChecks(p),
          boots: opts.boots === true,
        });
      } catch (err) {
        if (err instanceof HostError && opts.log?.includes(err.path)) throw logFileError(err.path, err);
        throw err;
      }
      if (c.json) c.out(JSON.stringify(toJson(result, c.lang), null, 2));
      else c.out(renderText(c, result));
    });
};
