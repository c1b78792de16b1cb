/**
 * `oscope io [-i SECONDS] [--disk DEV] [--pid PID | --cgroup PATH | --container ID | --pod NAME[/NS]]
 * [--threshold k=v] [--json]`: why is I/O slow, and who does all this I/O. Disks as iostat -x shows
 * them, latency by stage (BPF), traffic per process, cgroup and file, hung requests and D-state tasks,
 * iowait per task. `--from BUNDLE` analyses the io capture `oscope capture` recorded.
 *
 * Bad input is one sentence and an exit code (src/cli/errors.ts): a bad flag, an unknown disk, a cgroup,
 * container or pod that is not there → 2 (usage); not root (without --no-bpf) → 3 (permission); a
 * bundle without an io capture → 2. A kernel without BTF is not an error: the /proc and /sys parts
 * run, stderr says so in one sentence, and `coverage` lists what is missing.
 */
import { collectIo, IoScopeError } from '../../diagnose/io/collect.js';
import { analyzeIo } from '../../diagnose/io/analyze.js';
import { IoParamsSchema, type IoParams } from '../../diagnose/io/params.js';
import { readCapture, recordCapture } from '../../host/bundle.js';
import type { Host } from '../../host/host.js';
import { IoCaptureSchema } from '../../diagnose/io/capture.js';
import { resolveThresholds, type Thresholds } from '../../diagnose/thresholds.js';
import { t } from '../../report/i18n/index.js';
import { ioDocument, renderIoText } from '../../report/io.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { runInterval } from '../interval.js';
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
  if (f.pid !== undefined && !/^[1-9]\d*$/.test(f.pid)) throw new UserError(`--pid takes a process id, got "${f.pid}"`, EXIT.usage);
  if (f.top !== undefined && !/^[1-9]\d*$/.test(f.top)) throw new UserError(`--top takes a positive integer, got "${f.top}"`, EXIT.usage);
  const r = IoParamsSchema.safeParse({
    intervalS: Number(interval),
    ...(f.disk !== undefined ? { disk: f.disk } : {}),
    ...(f.pid !== undefined ? { pid: Number(f.pid) } : {}),
    ...(f.cgroup !== undefined ? { cgroup: f.cgroup } : {}),
    ...(f.container !== undefined ? { container: f.container } : {}),
    ...(f.pod !== undefined ? { pod: f.pod } : {}),
    ...(f.top !== undefined ? { top: Number(f.top) } : {}),
    bpf: f.bpf !== false,
  });
  if (!r.success) throw new UserError(`bad option: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return r.data;
}

/** Why the tracer cannot run on this live host, in one sentence (no BTF), or undefined. */
export async function ioBpfBlocker(host: Host): Promise<string | undefined> {
  if (!(await host.exists('/sys/kernel/btf/vmlinux'))) {
    return 'this kernel has no BTF (/sys/kernel/btf/vmlinux), so request latency, iowait and per-file traffic are not traced; disks, processes and cgroups are measured without it (--no-bpf silences this)';
  }
  return undefined;
}

/** Interval used by `oscope capture` for its io capture (short: capture is a snapshot). */
export const CAPTURE_IO_INTERVAL_S = 2;

/**
 * `oscope capture`'s io step: measures for a short interval on the live host and keeps the capture in
 * the bundle being recorded. Returns why nothing was recorded, or undefined.
 */
export async function captureIo(host: Host, o: { intervalS?: number; thresholds?: Thresholds; measureOn?: Host } = {}): Promise<string | undefined> {
  // Measured on `measureOn` (the live host under the RecordingHost): the bundle keeps the io capture
  // itself, not the thousands of /proc files read to make it.
  const live = o.measureOn ?? host;
  if (!live.live) return 'not a live host';
  try {
    const th = o.thresholds ?? resolveThresholds();
    const bpf = live.info().uid === 0 && (await ioBpfBlocker(live)) === undefined;
    const params = IoParamsSchema.parse({ intervalS: o.intervalS ?? CAPTURE_IO_INTERVAL_S, bpf });
    recordCapture(host, 'io', await collectIo(live, params, th, { inodeWalk: true }));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
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
    .option('--pod <name[/ns]>', 'only this Kubernetes pod (name[/namespace] or uid)')
    .option('--top <n>', 'rows per table', '20')
    .option('--no-bpf', 'do not trace (disks, traffic and hangs from /proc and /sys only)')
    .option('--threshold <key=value>', 'override a threshold, e.g. io.slowMs=50,io.hangS=5 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: IoFlags) => {
      const c = ctx();
      const params = ioParamsFrom(flags);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      const host = await c.host();
      if (!host.live) {
        // A bundle: analyse the io capture `oscope capture` recorded there.
        const raw = await readCapture(host, 'io');
        if (raw === undefined) throw new UserError(`bundle ${c.from ?? ''} has no io capture (an older oscope made it, or io could not be measured there); capture again with \`oscope capture -o FILE\` on the host`, EXIT.usage);
        const parsed = IoCaptureSchema.safeParse(raw);
        if (!parsed.success) throw new UserError(`bundle ${c.from ?? ''}: its io capture is not ${IoCaptureSchema.shape.schema.value} (${parsed.error.issues[0]?.message ?? 'invalid'})`, EXIT.usage);
        const scoped = [flags.pid, flags.cgroup, flags.container, flags.pod, flags.disk, flags.interval !== '5' ? flags.interval : undefined].some((x) => x !== undefined);
        if (scoped) c.err('oscope: -i, --disk, --pid, --cgroup, --container and --pod choose what the live host measures; the bundle\'s capture is analysed as it was recorded');
        const doc = ioDocument(analyzeIo(parsed.data, th, params.top), c.lang);
        c.out(c.json ? JSON.stringify(doc, null, 2) : renderIoText(doc, c.lang, styleFrom(c.color)));
        return;
      }
      if (params.bpf && host.info().uid !== 0) {
        throw new UserError('oscope io needs root to trace the block layer and read every process\'s I/O counters: run it with sudo (or with --no-bpf for the disks and your own processes)', EXIT.permission);
      }
      if (params.bpf) {
        const why = await ioBpfBlocker(host);
        if (why) {
          c.err(`oscope: ${why}`);
          params.bpf = false;
        }
      }
      if (!c.json && c.tty) c.err(t(c.lang, 'io.watching', { intervalS: String(params.intervalS) }));
      await runInterval('io', IoScopeError, async (signal) => {
          const capture = await collectIo(host, params, th, { signal });
          const doc = ioDocument(analyzeIo(capture, th, params.top), c.lang);
          c.out(c.json ? JSON.stringify(doc, null, 2) : renderIoText(doc, c.lang, styleFrom(c.color)));
      });
    });
};
