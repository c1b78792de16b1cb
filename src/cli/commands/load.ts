/**
 * `oscope load [-i SECONDS] [--cgroup PATH | --container ID | --pod NAME[/NS]] [--json]`: why is the
 * load average high? The load against the CPUs, the CPU split, who is runnable or in D state (sampled
 * with a BPF task iterator), D threads by kernel stack, forks, CPU throttling and run-queue balance.
 * Without root or BPF the /proc parts still run and `coverage` says what is missing.
 */
import { analyzeLoad } from '../../diagnose/load/analyze.js';
import { collectLoad, LoadScopeError } from '../../diagnose/load/collect.js';
import { LoadParamsSchema, type LoadParams } from '../../diagnose/load/params.js';
import { t } from '../../report/i18n/index.js';
import { loadDocument, renderLoadText } from '../../report/load.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { runInterval } from '../interval.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface LoadFlags {
  interval?: string;
  hz?: string;
  cgroup?: string;
  container?: string;
  pod?: string;
  top?: string;
  bpf?: boolean;
  threshold?: string[];
  config?: string;
}

const NUM = /^\d+(\.\d+)?$/;

/** Flags → params (one sentence and the usage exit code on bad input). */
export function loadParamsFrom(f: LoadFlags): LoadParams {
  const interval = f.interval ?? '5';
  if (!NUM.test(interval) || Number(interval) <= 0 || Number(interval) > 3600) throw new UserError(`-i takes a number of seconds above 0 (at most 3600), got "${interval}"`, EXIT.usage);
  const hz = f.hz ?? '10';
  if (!NUM.test(hz) || Number(hz) <= 0 || Number(hz) > 100) throw new UserError(`--hz takes a sampling rate above 0 and at most 100 per second, got "${hz}"`, EXIT.usage);
  const scopes = [f.cgroup, f.container, f.pod].filter((x) => x !== undefined).length;
  if (scopes > 1) throw new UserError('give at most one of --cgroup, --container and --pod', EXIT.usage);
  if (f.container !== undefined && f.container.length < 4) throw new UserError(`--container takes an id prefix of at least 4 characters or a name, got "${f.container}"`, EXIT.usage);
  if (f.pod !== undefined && !/^[^/\s]+(\/[^/\s]+)?$/.test(f.pod)) throw new UserError(`--pod takes NAME or NAME/NAMESPACE, got "${f.pod}"`, EXIT.usage);
  if (f.cgroup !== undefined && f.cgroup.trim() === '') throw new UserError('--cgroup takes a cgroup path', EXIT.usage);
  if (f.top !== undefined && !/^[1-9]\d*$/.test(f.top)) throw new UserError(`--top takes a positive integer, got "${f.top}"`, EXIT.usage);
  const r = LoadParamsSchema.safeParse({
    intervalS: Number(interval),
    sampleHz: Number(hz),
    ...(f.cgroup !== undefined ? { cgroup: f.cgroup } : {}),
    ...(f.container !== undefined ? { container: f.container } : {}),
    ...(f.pod !== undefined ? { pod: f.pod } : {}),
    ...(f.top !== undefined ? { top: Number(f.top) } : {}),
    bpf: f.bpf !== false,
  });
  if (!r.success) throw new UserError(`bad option: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return r.data;
}

export const registerLoad: RegisterCommand = (program, ctx) => {
  program
    .command('load')
    .description('why is the load average high: runnable and D threads, D stacks, forks, CPU throttling, run-queue balance')
    .option('-i, --interval <seconds>', 'sample over this many seconds', '5')
    .option('--hz <n>', 'task samples per second (at most 100)', '10')
    .option('--cgroup <path>', 'only this cgroup (cgroup v1 cpu path, or cgroup v2 path)')
    .option('--container <id>', 'only this container (id prefix or name) or systemd service')
    .option('--pod <name[/ns]>', 'only this Kubernetes pod (name[/namespace] or uid)')
    .option('--top <n>', 'rows per table', '20')
    .option('--no-bpf', 'do not use BPF (sample by walking /proc)')
    .option('--threshold <key=value>', 'override a threshold, e.g. load.forksPerS=50 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: LoadFlags) => {
      const c = ctx();
      const params = loadParamsFrom(flags);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      const host = await c.host();
      if (!host.live) throw new UserError('oscope load samples the live host over an interval: it cannot run on a bundle (--from)', EXIT.usage);
      if (!c.json && c.tty) c.err(t(c.lang, 'load.watching', { intervalS: String(params.intervalS) }));
      await runInterval('load', LoadScopeError, async (signal) => {
          const capture = await collectLoad(host, params, { signal });
          const doc = loadDocument(analyzeLoad(capture, th, params.top), c.lang);
          c.out(c.json ? JSON.stringify(doc, null, 2) : renderLoadText(doc, c.lang, styleFrom(c.color)));
      });
    });
};
