/**
 * `oscope profile [-i SECONDS] [--pid PID | --cgroup PATH | --container ID] [--hz 49] [--off-cpu]
 * [--format text|folded|pprof|speedscope|svg] [-o FILE] [--json]`: where the CPU time goes (or, with
 * --off-cpu, where tasks block), by function and stack, per process and container; and
 * `oscope profile diff A.json B.json`: what got hotter between two `--json` profiles.
 *
 * Exit codes (src/cli/errors.ts): 2 bad flags, a pid/cgroup/container that does not exist, an -o that
 * cannot be written, a rate of 0 or above the limit; 3 not root; 4 the kernel or build lacks BPF
 * perf_event/sched_switch support; 5 anything else. A pid that ends during the profile is not an error:
 * what was gathered is reported and `coverage` says when it ended.
 */
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { ProfileDocumentSchema, type ProfileDocument } from '../../contract/profile.js';
import { analyzeProfile } from '../../diagnose/profile/analyze.js';
import { ProfileScopeError, collectProfile } from '../../diagnose/profile/collect.js';
import { diffProfiles } from '../../diagnose/profile/diff.js';
import { PROFILE_MAX_HZ, ProfileParamsSchema, type ProfileParams } from '../../diagnose/profile/params.js';
import { HostError } from '../../host/host.js';
import { t } from '../../report/i18n/index.js';
import { profileDiffDocument, profileDocument, renderProfileDiffText, renderProfileText } from '../../report/profile.js';
import { PROFILE_FORMATS, type ProfileFormat, toFlameGraphSvg, toFolded, toPprof, toSpeedscope } from '../../report/profile-formats.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface ProfileFlags {
  interval?: string;
  pid?: string;
  cgroup?: string;
  container?: string;
  hz?: string;
  offCpu?: boolean;
  format?: string;
  output?: string;
  top?: string;
  threshold?: string[];
  config?: string;
}

/** Flags → params (one sentence and the usage exit code on bad input). */
export function profileParamsFrom(f: ProfileFlags): ProfileParams {
  const interval = f.interval ?? '10';
  if (!/^\d+(\.\d+)?$/.test(interval) || Number(interval) <= 0 || Number(interval) > 3600) throw new UserError(`-i takes a number of seconds above 0 (at most 3600), got "${interval}"`, EXIT.usage);
  const scopes = [f.pid, f.cgroup, f.container].filter((x) => x !== undefined).length;
  if (scopes > 1) throw new UserError('give at most one of --pid, --cgroup and --container', EXIT.usage);
  if (f.pid !== undefined && !/^[1-9]\d*$/.test(f.pid)) throw new UserError(`--pid takes a process id, got "${f.pid}"`, EXIT.usage);
  const hz = f.hz ?? '49';
  if (!/^\d+$/.test(hz) || Number(hz) < 1 || Number(hz) > PROFILE_MAX_HZ) throw new UserError(`--hz takes a rate from 1 to ${PROFILE_MAX_HZ} samples per second, got "${hz}"`, EXIT.usage);
  if (f.top !== undefined && !/^[1-9]\d*$/.test(f.top)) throw new UserError(`--top takes a positive integer, got "${f.top}"`, EXIT.usage);
  if (f.container !== undefined && f.container.length < 4) throw new UserError(`--container takes an id prefix of at least 4 characters or a service name, got "${f.container}"`, EXIT.usage);
  const r = ProfileParamsSchema.safeParse({
    intervalS: Number(interval),
    ...(f.pid !== undefined ? { pid: Number(f.pid) } : {}),
    ...(f.cgroup !== undefined ? { cgroup: f.cgroup } : {}),
    ...(f.container !== undefined ? { container: f.container } : {}),
    hz: Number(hz),
    offCpu: f.offCpu === true,
    ...(f.top !== undefined ? { top: Number(f.top) } : {}),
  });
  if (!r.success) throw new UserError(`bad option: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return r.data;
}

export function formatFrom(f: string | undefined, json: boolean): ProfileFormat | 'json' {
  if (f === undefined) return json ? 'json' : 'text';
  if (!(PROFILE_FORMATS as readonly string[]).includes(f)) throw new UserError(`--format takes one of ${PROFILE_FORMATS.join(', ')}, got "${f}"`, EXIT.usage);
  return f as ProfileFormat;
}

/** Opens -o for writing before the profile runs, so a bad path fails at once and not after the interval. */
export function openOutput(path: string): { fd: number; created: boolean } {
  const existed = existsSync(path);
  try {
    return { fd: openSync(path, 'w', 0o644), created: !existed };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code === 'EROFS' ? 'the file system is read-only' : code;
    throw new UserError(`cannot write -o ${path}: ${why}`, EXIT.usage);
  }
}

export function renderFormat(doc: ProfileDocument, format: ProfileFormat | 'json', text: () => string): string | Buffer {
  switch (format) {
    case 'json':
      return JSON.stringify(doc, null, 2) + '\n';
    case 'text':
      return text() + '\n';
    case 'folded':
      return toFolded(doc);
    case 'pprof':
      return toPprof(doc);
    case 'speedscope':
      return JSON.stringify(toSpeedscope(doc)) + '\n';
    case 'svg':
      return toFlameGraphSvg(doc);
  }
}

function readProfileJson(path: string): ProfileDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UserError(code ? `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code}` : `${path} is not JSON (give the output of oscope profile --json)`, EXIT.usage);
  }
  const r = ProfileDocumentSchema.safeParse(raw);
  if (!r.success) throw new UserError(`${path} is not an oscope.profile/v1 document (give the output of oscope profile --json)`, EXIT.usage);
  return r.data;
}

export const registerProfile: RegisterCommand = (program, ctx) => {
  const cmd = program
    .command('profile')
    .description('where the CPU time goes (or, with --off-cpu, where tasks block): top functions, stacks, flame graphs')
    .option('-i, --interval <seconds>', 'profile for this many seconds', '10')
    .option('--pid <pid>', 'only this process')
    .option('--cgroup <path>', 'only this cgroup (a path, cpu:/path for one v1 hierarchy, or under /sys/fs/cgroup)')
    .option('--container <id>', 'only this container (id prefix) or systemd service')
    .option('--hz <rate>', `samples per second per CPU (1 to ${PROFILE_MAX_HZ})`, '49')
    .option('--off-cpu', 'where tasks block instead: time off the CPU by stack (sched_switch)')
    .option('--format <format>', `output format: ${PROFILE_FORMATS.join(', ')}`)
    .option('-o, --output <file>', 'write the output (the --format, else the text or JSON) to this file')
    .option('--top <n>', 'functions kept in the document', '200')
    .option('--threshold <key=value>', 'override a threshold, e.g. profile.hotFunctionPct=30 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: ProfileFlags) => {
      const c = ctx();
      const params = profileParamsFrom(flags);
      const format = formatFrom(flags.format, c.json);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      if (format === 'pprof' && flags.output === undefined && process.stdout.isTTY) throw new UserError('pprof output is binary: give -o FILE (or redirect stdout)', EXIT.usage);
      if (c.from) throw new UserError('oscope profile samples the live host: it cannot run on a bundle (--from)', EXIT.usage);
      if (typeof process.geteuid === 'function' && process.geteuid() !== 0) throw new UserError('oscope profile needs root (it loads BPF programs on perf events): run it with sudo', EXIT.permission);
      const out = flags.output !== undefined ? openOutput(flags.output) : undefined;
      let ok = false;
      const ac = new AbortController();
      const onSig = (): void => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      try {
        const host = await c.host();
        if (!c.json && c.tty) c.err(t(c.lang, 'profile.watching', { intervalS: String(params.intervalS) }));
        const capture = await collectProfile(host, params, { signal: ac.signal });
        const doc = profileDocument(analyzeProfile(capture, th, params.top), c.lang);
        const text = (): string => renderProfileText(doc, c.lang, styleFrom(c.color));
        const body = renderFormat(doc, format, text);
        if (out) {
          writeSync(out.fd, typeof body === 'string' ? Buffer.from(body) : body);
          c.out(c.json ? JSON.stringify(doc, null, 2) : format === 'text' ? t(c.lang, 'profile.written', { path: flags.output!, format }) : `${text()}\n${t(c.lang, 'profile.written', { path: flags.output!, format })}`);
        } else if (typeof body === 'string') {
          process.stdout.write(body);
        } else {
          process.stdout.write(body);
        }
        ok = true;
      } catch (err) {
        if (err instanceof ProfileScopeError) throw new UserError(err.message, err.kind === 'usage' ? EXIT.usage : EXIT.unsupported);
        if (err instanceof HostError && err.denied) throw new UserError(`oscope profile needs root to read ${err.path}: run it with sudo`, EXIT.permission);
        throw err;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
        if (out) {
          closeSync(out.fd);
          if (!ok && out.created) {
            try {
              unlinkSync(flags.output!);
            } catch {
              /* already gone */
            }
          }
        }
      }
    });

  cmd
    .command('diff <before> <after>')
    .description('what got hotter between two profiles (the --json output of oscope profile)')
    .option('--top <n>', 'rows per table', '20')
    .option('--threshold <key=value>', 'override a threshold, e.g. profile.diffPoints=2 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}}')
    .action((before: string, after: string, flags: { top?: string; threshold?: string[]; config?: string }) => {
      const c = ctx();
      if (flags.top !== undefined && !/^[1-9]\d*$/.test(flags.top)) throw new UserError(`--top takes a positive integer, got "${flags.top}"`, EXIT.usage);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      const a = readProfileJson(before);
      const b = readProfileJson(after);
      if (a.mode !== b.mode) throw new UserError(`cannot compare a ${a.mode} profile (${before}) with a ${b.mode} profile (${after})`, EXIT.usage);
      const doc = profileDiffDocument(diffProfiles(a, b, th), c.lang);
      c.out(c.json ? JSON.stringify(doc, null, 2) : renderProfileDiffText(doc, c.lang, styleFrom(c.color), Number(flags.top ?? 20)));
    });
};
