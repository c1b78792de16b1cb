/**
 * `oscope net [-i SECONDS] [--pid PID | --cgroup PATH | --container ID | --pod NAME[/NS]] [--port N]
 * [--netns all|PATH] [--json]`: is the network dropping or delaying my traffic, where, and why.
 * Counters per network namespace, drops by reason and location (BPF), TCP retransmits and resets per
 * flow, socket queues and memory. Without BPF (--no-bpf, or a kernel without BTF) the counter and
 * socket parts still run and `coverage` says what is missing.
 *
 * Bad input is one sentence and an exit code (src/cli/errors.ts): a bad flag (a port outside 1-65535,
 * -i 0, two scopes), a pid, cgroup, container or pod with no process, a --netns path that does not exist
 * or is not a network namespace → 2 (usage); not root without --no-bpf → 3 (permission). A kernel
 * without BTF is not an error: stderr says so in one sentence and the run goes on without BPF.
 */
import { collectNet, NET_NO_BTF, NetScopeError } from '../../diagnose/net/collect.js';
import { analyzeNet } from '../../diagnose/net/analyze.js';
import { NetParamsSchema, type NetParams } from '../../diagnose/net/params.js';
import type { Host } from '../../host/host.js';
import { t } from '../../report/i18n/index.js';
import { netDocument, renderNetText } from '../../report/net.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { runInterval } from '../interval.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface NetFlags {
  interval?: string;
  pid?: string;
  cgroup?: string;
  container?: string;
  pod?: string;
  port?: string;
  netns?: string;
  top?: string;
  bpf?: boolean;
  threshold?: string[];
  config?: string;
}

/** Flags → params (one sentence and the usage exit code on bad input). */
export function netParamsFrom(f: NetFlags): NetParams {
  const interval = f.interval ?? '5';
  if (!/^\d+(\.\d+)?$/.test(interval) || Number(interval) <= 0 || Number(interval) > 3600) throw new UserError(`-i takes a number of seconds above 0 (at most 3600), got "${interval}"`, EXIT.usage);
  const scopes = [f.pid, f.cgroup, f.container, f.pod].filter((x) => x !== undefined).length;
  if (scopes > 1) throw new UserError('give at most one of --pid, --cgroup, --container and --pod', EXIT.usage);
  if (f.pid !== undefined && !/^[1-9]\d*$/.test(f.pid)) throw new UserError(`--pid takes a process id, got "${f.pid}"`, EXIT.usage);
  if (f.port !== undefined && (!/^\d+$/.test(f.port) || Number(f.port) < 1 || Number(f.port) > 65535)) throw new UserError(`--port takes a port number from 1 to 65535, got "${f.port}"`, EXIT.usage);
  if (f.top !== undefined && !/^[1-9]\d*$/.test(f.top)) throw new UserError(`--top takes a positive integer, got "${f.top}"`, EXIT.usage);
  if (f.container !== undefined && f.container.length < 4) throw new UserError(`--container takes an id prefix of at least 4 characters or a service name, got "${f.container}"`, EXIT.usage);
  if (f.netns !== undefined && f.netns !== 'all' && !f.netns.startsWith('/')) throw new UserError(`--netns takes "all" or the path of a network namespace file (/proc/PID/ns/net, /run/netns/NAME), got "${f.netns}"`, EXIT.usage);
  const r = NetParamsSchema.safeParse({
    intervalS: Number(interval),
    ...(f.pid !== undefined ? { pid: Number(f.pid) } : {}),
    ...(f.cgroup !== undefined ? { cgroup: f.cgroup } : {}),
    ...(f.container !== undefined ? { container: f.container } : {}),
    ...(f.pod !== undefined ? { pod: f.pod } : {}),
    ...(f.port !== undefined ? { port: Number(f.port) } : {}),
    ...(f.netns !== undefined ? { netns: f.netns } : {}),
    ...(f.top !== undefined ? { top: Number(f.top) } : {}),
    bpf: f.bpf !== false,
  });
  if (!r.success) throw new UserError(`bad option: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, EXIT.usage);
  return r.data;
}

/** Why the tracer cannot run on this live host, in one sentence (no BTF), or undefined. */
export async function netBpfBlocker(host: Host): Promise<string | undefined> {
  return (await host.exists('/sys/kernel/btf/vmlinux')) ? undefined : `${NET_NO_BTF} (--no-bpf silences this)`;
}

export const registerNet: RegisterCommand = (program, ctx) => {
  program
    .command('net')
    .description('is the network dropping or delaying my traffic, where, and why: counters, drops by reason, retransmits, sockets')
    .option('-i, --interval <seconds>', 'measure over this many seconds', '5')
    .option('--pid <pid>', 'only this process (its namespace and sockets)')
    .option('--cgroup <path>', 'only the processes of this cgroup')
    .option('--container <id>', 'only this container (id prefix) or systemd service')
    .option('--pod <name[/ns]>', 'only this pod (name/namespace or pod UID)')
    .option('--port <n>', 'only packets, flows and sockets with this port on either end')
    .option('--netns <all|path>', 'all namespaces a process holds (default), or one namespace file (/proc/PID/ns/net, /run/netns/NAME)', 'all')
    .option('--top <n>', 'rows per table', '20')
    .option('--no-bpf', 'do not trace (counters and sockets from /proc only)')
    .option('--threshold <key=value>', 'override a threshold, e.g. net.dropPerS=10 (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: NetFlags) => {
      const c = ctx();
      const params = netParamsFrom(flags);
      const th = thresholdsFrom({ ...flags, threshold: (flags.threshold ?? []).flatMap((x) => x.split(',')).filter((x) => x.trim() !== '') });
      const host = await c.host();
      if (!host.live && c.from) throw new UserError('oscope net measures the live host over an interval: it cannot run on a bundle (--from)', EXIT.usage);
      // Tracing needs root (exit 3, as for io); --no-bpf runs the counters and sockets as any user.
      if (params.bpf && host.info().uid !== 0) {
        throw new UserError('oscope net needs root to trace drops, retransmits and latency: run it with sudo (or with --no-bpf for the counters and the sockets this user can see)', EXIT.permission);
      }
      // No BTF is not an error: one sentence on stderr, and the counters and sockets run without BPF.
      if (params.bpf) {
        const why = await netBpfBlocker(host);
        if (why) {
          c.err(`oscope: ${why}`);
          params.bpf = false;
        }
      }
      if (!c.json && c.tty) c.err(t(c.lang, 'net.watching', { intervalS: String(params.intervalS) }));
      await runInterval('net', NetScopeError, async (signal) => {
          const capture = await collectNet(host, params, th, { signal });
          const doc = netDocument(analyzeNet(capture, th, params.top), c.lang);
          c.out(c.json ? JSON.stringify(doc, null, 2) : renderNetText(doc, c.lang, styleFrom(c.color)));
      });
    });
};
