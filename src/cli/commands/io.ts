/**
 * `oscope io [-i SECONDS] [--disk DEV] [--pid PID | --cgroup PATH | --container ID] [--threshold k=v]
 * [--json]`: why is I/O slow, and who does all this I/O. Disks as iostat -x shows them, latency by
 * stage (BPF), traffic per process and cgroup, hung requests and D-state tasks, iowait per task.
 * Without root or BPF the /proc and /sys parts still run and `coverage` says what is missing.
 */
import { collectIo, IoScopeError } from '../../diagnose/io/collect.js';
import { analyzeIo } from '../../diagnose/io/analyze.js';
import { IoParamsSchema, type IoParams } from '../../diagnose/io/params.js';
import { HostError } from '../../host/host.js';
import { ParseError } from '../../kernel/errors.js';
import { t } from '../../report/i18n/index.js';
import { ioDocument, renderIoText } from '../../report/io.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface IoFlags {
  interval?: string;
  disk?: string;
  pid?: string;
  cgroup?: string;
  container?: string;
  pod?: string;
  top?: string;
  bpf?: boolean;
  threshold?: string[];
  config?: string;
}

/** Flags → params (one sentence and the usage exit code on bad input). */
export function ioParamsFrom(f: IoFlags): IoParams {
  const interval = f.interval ?? '5';
  if (!/^\d+(\.\d+)?$/.test(interval) || Number(interval) <= 0 || Number(interval) > 3600) throw new UserError(`-i takes a number of seconds above 0 (at most 3600), got "${interval}"`, EXIT.usage);
  const scopes = [f.pid, f.cgroup, f.container, f.pod].filter((x) => x !== undefined).length;
  if (scopes > 1) throw new UserError('give at most one of --pid, --cgroup, --container and --pod', EXIT.usage);
  if (f.pod !== undefined) throw new UserError('--pod is not supported by oscope io yet: use --cgroup with the pod\'s cgroup path', EXIT.usage);
  if (f.pid !== undefined && !/^[1-9]\d*$/.test(f.pid)) throw new UserError(`--pid takes a process id, got "${f.pid}"`, EXIT.usage);
  if (f.top !== undefined && !/^[1-9]\d*$/.test(f.top)) throw new UserError(`--top takes a positive integer, got "${f.top}"`, EXIT.usage);
  const r = IoParamsSchema.safeParse({
    intervalS: Number(interval),
    ...(f.disk !== undefined ? { disk: f.disk } : {}),
    ...(f.pid !== undefined ? { pid: Number(f.pid) } : {}),
    ...(f.cgroup !== undefined ? { cgroup: f.cgroup } : {}),
    ...(f.container !== undefined ? { container: f.container } : {}),
    ...(f.top !== undefined ? { top: Number(f.top) } : {}),
    bpf: f.bpf !== false,
  });
  if (!r.success) throw new UserError(`bad option: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return r.data;
}

export const registerIo: RegisterCommand = (program, ctx) => {
  program
    .command('io')
    .description('why is I/O slow, and who does all this I/O: disks, latency by stage, traffic, hangs, iowait')
    .option('-i, --interval <seconds>', 'measure over this many seconds', '5')
    .option('--disk <dev>', 'only this disk (vda, /dev/vda or major:minor)')
    .option('--pid <pid>', 'only this process')
    .option('--cgroup <path>', 'only this cgroup (cgroup v1 blkio path, or cgroup v2 path)')
    .option('--container <id>', 'only this container (id prefix) or systemd service')
    .option('--pod <name[/ns]>', 'only this pod (not supported yet)')
    .option('--top <n>', 'rows per table', '20')
    .option('--no-bpf', 'do not trace (disks, traffic and hangs from /proc and /sys only)')
    .option('--threshold <key=value>', 'override a threshold, e.g. io.slowMs=50,io.hangS=5 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: IoFlags) => {
      const c = ctx();
      const params = ioParamsFrom(flags);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      const host = await c.host();
      if (!host.live && params.intervalS > 0 && c.from) throw new UserError('oscope io measures the live host over an interval: it cannot run on a bundle (--from)', EXIT.usage);
      const ac = new AbortController();
      const onSig = (): void => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      if (!c.json && c.tty) c.err(t(c.lang, 'io.watching', { intervalS: String(params.intervalS) }));
      try {
        const capture = await collectIo(host, params, th, { signal: ac.signal });
        const doc = ioDocument(analyzeIo(capture, th, params.top), c.lang);
        c.out(c.json ? JSON.stringify(doc, null, 2) : renderIoText(doc, c.lang, styleFrom(c.color)));
      } catch (err) {
        if (err instanceof IoScopeError) throw new UserError(err.message, err.kind === 'usage' ? EXIT.usage : EXIT.unsupported);
        if (err instanceof HostError && err.denied) throw new UserError(`oscope io needs root to read ${err.path}: run it with sudo`, EXIT.permission);
        if (err instanceof HostError && err.notFound) throw new UserError(`${err.path} is missing: this kernel does not provide it`, EXIT.unsupported);
        if (err instanceof ParseError) throw new UserError(err.message, EXIT.failure);
        throw err;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
    });
};
