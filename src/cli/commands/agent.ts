/** `oscope agent`: the always-on collector, /metrics endpoint, alert rules and diagnosis runner. */
import { PROFILE_DEFAULT_HZ, PROFILE_MAX_AGENT_HZ } from '../../agent/profiler.js';
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { resolveRules } from '../../agent/alerts.js';
import { zodReason } from '../../agent/registry.js';
import { NodeLabelsSchema } from '../../contract/agent-wire.js';
import { LiveHost } from '../../host/live.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import type { RegisterCommand } from './index.js';

export const DEFAULT_AGENT_CONFIG = '/etc/oscope/agent.json';

interface AgentFlags {
  console?: string;
  token?: string;
  tokenFile?: string;
  interval: string;
  listen: string;
  metrics: boolean;
  config?: string;
  webhook?: string;
  exitWithParent?: boolean;
  stateDir: string;
  profileHz?: string;
  ioWake?: boolean;
  label: string[];
  health: boolean;
}

/** `--label k=v` (repeatable) over the config file's `labels`; checked like the console checks them. */
export function parseLabels(flags: string[], fromConfig: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...fromConfig };
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) throw new UserError(`--label takes KEY=VALUE (e.g. --label rack=r12), got "${f}"`, EXIT.usage);
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  const r = NodeLabelsSchema.safeParse(out);
  if (!r.success) throw new UserError(`labels: ${zodReason(r.error)}`, EXIT.usage);
  return r.data;
}

/** The default state directory: $OSCOPE_STATE_DIR, else /run/oscope. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OSCOPE_STATE_DIR && env.OSCOPE_STATE_DIR !== '' ? env.OSCOPE_STATE_DIR : '/run/oscope';
}

/** `15s`, `500ms`, `2m`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UserError(`${flag} takes a duration such as 15s, 500ms or 2m, got "${text}"`, EXIT.usage);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) throw new UserError(`${flag} must be positive`, EXIT.usage);
  return n;
}

/** `HOST:PORT` or `[v6]:PORT` → parts. */
export function parseListen(text: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UserError(`${flag} takes HOST:PORT (e.g. 127.0.0.1:9464), got "${text}"`, EXIT.usage);
  return { host: (m[1] ?? m[2])!, port };
}

const AgentConfigSchema = z
  .object({
    rules: z.array(z.unknown()).default([]),
    webhook: z.string().url().optional(),
    /** The node's labels, shown and filtered on in the console (`--label k=v` adds and overrides). */
    labels: z.record(z.string()).optional(),
  })
  .strict();

function readConfig(file: string | undefined): z.infer<typeof AgentConfigSchema> {
  let path = file;
  if (!path) {
    try {
      readFileSync(DEFAULT_AGENT_CONFIG);
      path = DEFAULT_AGENT_CONFIG;
    } catch {
      return { rules: [] };
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`cannot read agent config ${path}: ${(err as Error).message}`, EXIT.usage);
  }
  const r = AgentConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(`agent config ${path}: ${zodReason(r.error)}`, EXIT.usage);
  return r.data;
}

export const registerAgent: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('agent')
    .description('always-on agent: Prometheus /metrics, alert rules, diagnoses on request from a console')
    .option('--console <url>', 'console to report to, e.g. http://console:8420')
    .option('--token <token>', 'agent token from the console (also: OSCOPE_AGENT_TOKEN)')
    .option('--token-file <file>', 'read the agent token from this file')
    .option('--interval <duration>', 'collection interval', '15s')
    .option('--listen <host:port>', 'address of the /metrics endpoint', '127.0.0.1:9464')
    .option('--no-metrics', 'do not serve /metrics')
    .option('--label <key=value>', 'a label of this node in the console (repeatable), e.g. --label rack=r12 --label env=prod', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--config <file>', `JSON with {"rules": [...], "webhook": "https://...", "labels": {"env": "prod"}} (default ${DEFAULT_AGENT_CONFIG} when present)`)
    .option('--webhook <url>', 'POST alert events to this URL too')
    .option('--profile-hz <rate>', `continuous profiling: on-CPU stacks at this rate (e.g. ${PROFILE_DEFAULT_HZ}; at most ${PROFILE_MAX_AGENT_HZ}), one window a minute, sent with the samples (default off)`)
    .option('--io-wake', "the I/O latency histogram's wake stage too (completion → the issuer running: a sched_switch program on every context switch; default off, `oscope io` measures it on demand)")
    .option('--no-health', 'do not compute the health score each tick (the console then shows no score for this node)')
    .option('--state-dir <dir>', 'outbox file and local control socket (agent.sock) directory ($OSCOPE_STATE_DIR)', defaultStateDir())
    .addOption(new Option('--exit-with-parent', 'exit when the parent process dies (used by `oscope console --local-agent`)').hideHelp())
    .action(async (flags: AgentFlags, cmd: Command) => {
      const c = ctx();
      const intervalMs = parseDuration(flags.interval, '--interval');
      if (intervalMs < 1000) throw new UserError('--interval must be at least 1s', EXIT.usage);
      const listen = flags.metrics ? parseListen(flags.listen) : undefined;
      const profileHz = flags.profileHz === undefined ? undefined : Number(flags.profileHz);
      if (profileHz !== undefined && (!/^\d+$/.test(flags.profileHz!) || profileHz < 1 || profileHz > PROFILE_MAX_AGENT_HZ)) throw new UserError(`--profile-hz takes a rate from 1 to ${PROFILE_MAX_AGENT_HZ} samples per second, got "${flags.profileHz}"`, EXIT.usage);
      let token = flags.token ?? process.env.OSCOPE_AGENT_TOKEN;
      if (flags.tokenFile) {
        try {
          token = readFileSync(flags.tokenFile, 'utf8').trim();
        } catch (err) {
          throw new UserError(`cannot read --token-file ${flags.tokenFile}: ${(err as Error).message}`, EXIT.usage);
        }
      }
      if (flags.console) {
        try {
          const u = new URL(flags.console);
          if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
        } catch {
          throw new UserError(`--console takes an http(s) URL, got "${flags.console}"`, EXIT.usage);
        }
        if (!token) throw new UserError('--console needs a token: --token, --token-file or OSCOPE_AGENT_TOKEN', EXIT.usage);
      }
      const cfg = readConfig(flags.config);
      const labels = parseLabels(flags.label ?? [], cfg.labels);
      let rules;
      try {
        rules = resolveRules(cfg.rules);
      } catch (err) {
        throw new UserError(`agent config: bad rule: ${err instanceof z.ZodError ? zodReason(err) : (err as Error).message}`, EXIT.usage);
      }
      // Loaded here, not at the top: they pull in every diagnosis, and every other command starts faster without them.
      const [{ startAgent }, { defaultRegistry }, { MemHistory }, { AgentInUseError }] = await Promise.all([import('../../agent/agent.js'), import('../../agent/diagnoses/index.js'), import('../../agent/history.js'), import('../../agent/local-server.js')]);
      const history = new MemHistory({ stepS: Math.max(60, intervalMs / 1000) });
      const registry = defaultRegistry({ history: () => history.points() });
      for (const r of rules) {
        if (r.autoDiagnose) {
          const v = registry.validate(r.autoDiagnose.diagnosis, r.autoDiagnose.params);
          if (!v.ok) throw new UserError(`agent config: rule ${r.id}: ${v.reason}`, EXIT.usage);
        }
      }
      const start = (stateDir: string | undefined): ReturnType<typeof startAgent> =>
        startAgent({
          host: new LiveHost(),
          registry,
          intervalMs,
          listen,
          console: flags.console && token ? { url: flags.console, token } : undefined,
          rules,
          webhook: flags.webhook ?? cfg.webhook,
          stateDir,
          history,
          ...(profileHz !== undefined ? { profileHz } : {}),
          ...(flags.ioWake ? { ioWake: true } : {}),
          labels,
          ...(flags.health ? {} : { health: false }),
        });
      const stateDirError = (err: unknown): string | undefined => {
        if (err instanceof AgentInUseError) return err.message;
        const code = (err as { code?: string }).code;
        const path = (err as { path?: unknown; address?: unknown }).path ?? (err as { address?: unknown }).address;
        if ((code === 'EACCES' || code === 'EPERM' || code === 'EROFS') && typeof path === 'string' && path.startsWith(flags.stateDir)) {
          return `cannot use --state-dir ${flags.stateDir}: ${code} (run as root, or choose another directory)`;
        }
        return undefined;
      };
      let agent;
      try {
        try {
          agent = await start(flags.stateDir);
        } catch (err) {
          // The default state directory is taken by another agent (e.g. the systemd one, next to a
          // console's local agent) or not writable (not root): run without the control socket and with
          // the outbox in memory rather than not at all. An explicit --state-dir must work.
          const why = stateDirError(err);
          if (why === undefined || cmd.getOptionValueSource('stateDir') !== 'default') throw err;
          c.err(`oscope agent: ${why}; running without the control socket, outbox in memory`);
          agent = await start(undefined);
        }
      } catch (err) {
        const why = stateDirError(err);
        if (why !== undefined) throw new UserError(why, err instanceof AgentInUseError ? EXIT.usage : EXIT.permission);
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${flags.listen}: ${code}`, EXIT.usage);
        throw err;
      }
      if (agent.address) c.err(`oscope agent: metrics on http://${agent.address.host}:${agent.address.port}/metrics, every ${intervalMs / 1000} s`);
      if (agent.local) c.err(`oscope agent: control socket ${agent.local.socket}`);
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        process.once('SIGTERM', done);
        process.once('SIGINT', done);
        if (flags.exitWithParent) {
          const parent = process.ppid;
          const t = setInterval(() => {
            if (process.ppid !== parent) {
              clearInterval(t);
              resolve();
            }
          }, 1000);
          t.unref();
        }
      });
      await agent.stop();
      process.exit(0);
    });
};
