/**
 * `oscope runlatency`: what delays tasks on a CPU (irq-off, softirq, hardirq, long no-schedule in the
 * kernel, run-queue delay), who suffered and who caused it.
 *
 *   oscope runlatency -i 10 [--json]            one shot: events as they happen, then a summary
 *   oscope runlatency enable [kind=Nms ...]     a background monitor: in the running agent (asked over
 *                                               its local socket, src/agent/local.ts), else a detached
 *                                               process (state in a file)
 *   oscope runlatency report --out DIR          what the monitor has seen, as JSON and text
 *   oscope runlatency disable                   stops it (its BPF links and perf events go with it)
 *
 * A detached monitor started while no agent ran keeps being used by report/disable even when an agent
 * comes up later; enable refuses to start a second monitor.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type LocalAgent, LocalAgentError, connectLocalAgent } from '../../agent/local.js';
import type { IrqoffMethod } from '../../diagnose/latency/bpf.js';
import { RUNLATENCY_FLAGS, type RunlatencyParams, RunlatencyParamsSchema, latencyFilters } from '../../diagnose/latency/params.js';
import { LatencySession, LatencyUnavailableError, type LatencyFilters, irqoffMethodFrom, kindThresholds, runLatency } from '../../diagnose/latency/run.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { LATENCY_KINDS, type KindThresholds, type LatencyAnalysis, type LatencyKind } from '../../diagnose/latency/types.js';
import { HostError } from '../../host/host.js';
import { t } from '../../report/i18n/index.js';
import { renderEventLine, renderRunlatencyText, runlatencyDocument } from '../../report/runlatency.js';
import { plainStyle, styleFrom } from '../../report/text.js';
import { type ProcIdentity, isSameProcessAlive, killVerified, procIdentity } from '../../simulate/proc.js';
import { type CliContext, requireRoot } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams, num } from './params.js';

export interface LatencyFlags {
  interval?: string;
  pid?: string;
  cgroup?: string;
  container?: string;
  cpu?: string;
  threshold?: string[];
  config?: string;
}

export const MONITOR_STATE_SCHEMA = 'oscope.runlatency-monitor/v1';

export interface MonitorState {
  schema: typeof MONITOR_STATE_SCHEMA;
  owner: ProcIdentity;
  startedAt: string;
  thresholds: KindThresholds;
  filters: LatencyFilters;
  /** cpu-clock period (ms) and irqoff method (absent in states written before they existed: 1 ms, auto). */
  samplePeriodMs?: number;
  irqoffMethod?: IrqoffMethod;
  /** Where the monitor writes its analysis (every few seconds and on SIGUSR1). */
  snapshot: string;
}

export function monitorStateFile(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.OSCOPE_STATE_DIR && env.OSCOPE_STATE_DIR !== '' ? env.OSCOPE_STATE_DIR : '/run/oscope';
  return join(dir, 'runlatency-monitor.json');
}

function readMonitorState(file: string): MonitorState | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<MonitorState>;
    return v.schema === MONITOR_STATE_SCHEMA && v.owner && typeof v.snapshot === 'string' ? (v as MonitorState) : undefined;
  } catch {
    return undefined;
  }
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

const KIND_ALIASES: Record<string, LatencyKind> = { runq: 'runqueue', runqlat: 'runqueue', irq: 'hardirq', softirqs: 'softirq' };

/** "50ms", "500us", "0.05s", "50" (ms) → ms. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|us|µs|s)?$/.exec(v.trim());
  if (!m) throw new UserError(`a latency threshold takes a duration like 10ms, 500us or 0.1s, got "${v}"`, EXIT.usage);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'us' || m[2] === 'µs' ? n / 1000 : n;
}

/**
 * --threshold values as threshold overrides: `kind=Nms` (comma-separated lists allowed; kinds irqoff,
 * softirq, hardirq, nosched, runqueue) is `lat.<kind>Ms`; any other `key=value` (lat.runqueueMs=30) as
 * it is; over --config FILE.
 */
export function latencyOverrides(flags: { threshold?: string[]; config?: string }): Record<string, number> {
  const generic: string[] = [];
  const perKind: Record<string, number> = {};
  for (const item of (flags.threshold ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')) {
    const i = item.indexOf('=');
    const k = i > 0 ? item.slice(0, i) : '';
    const kind = (LATENCY_KINDS as readonly string[]).includes(k) ? (k as LatencyKind) : KIND_ALIASES[k];
    if (kind) perKind[`lat.${kind}Ms`] = parseDurationMs(item.slice(i + 1));
    else generic.push(item);
  }
  const th = thresholdsFrom({ ...flags, threshold: generic });
  try {
    irqoffMethodFrom(th);
  } catch (err) {
    throw new UserError((err as Error).message, EXIT.usage);
  }
  return { ...th, ...perKind };
}

/** What the tracer takes from the resolved thresholds. */
function tracerSettings(overrides: Record<string, number> | undefined): { kinds: KindThresholds; samplePeriodMs: number; irqoffMethod: IrqoffMethod } {
  const th = resolveThresholds(overrides);
  return { kinds: kindThresholds(th), samplePeriodMs: th['lat.samplePeriodMs'], irqoffMethod: irqoffMethodFrom(th) };
}

/** --threshold and --config as the tracer's per-kind thresholds, sampling period and irqoff method. */
export function latencyThresholds(flags: { threshold?: string[]; config?: string }): { kinds: KindThresholds; samplePeriodMs: number; irqoffMethod: IrqoffMethod } {
  return tracerSettings(latencyOverrides(flags));
}

/** The one-shot's flags as the diagnosis's parameters (src/diagnose/latency/params.ts), validated by its schema. */
export function runlatencyParams(flags: LatencyFlags): RunlatencyParams {
  const input: Record<string, unknown> = { durationS: num(flags.interval ?? '10'), thresholds: latencyOverrides(flags) };
  if (flags.pid !== undefined) input.pid = intArg(flags.pid);
  if (flags.cpu !== undefined) input.cpu = intArg(flags.cpu);
  if (flags.cgroup !== undefined) input.cgroup = flags.cgroup;
  if (flags.container !== undefined) input.container = flags.container;
  return cliParams(RunlatencyParamsSchema, input, RUNLATENCY_FLAGS, { durationS: flags.interval, pid: flags.pid, cpu: flags.cpu });
}

/** Digits only (no 1e3, no 0x10), else NaN for the schema to word. */
function intArg(v: string): number {
  return /^\d+$/.test(v) ? Number(v) : Number.NaN;
}

/** The filter flags (the monitor takes them too), validated by the one-shot's schema. */
function filtersFrom(f: LatencyFlags): LatencyFilters {
  const input: Record<string, unknown> = {};
  if (f.pid !== undefined) input.pid = intArg(f.pid);
  if (f.cpu !== undefined) input.cpu = intArg(f.cpu);
  if (f.cgroup !== undefined) input.cgroup = f.cgroup;
  if (f.container !== undefined) input.container = f.container;
  return latencyFilters(cliParams(RunlatencyParamsSchema, input, RUNLATENCY_FLAGS, { pid: f.pid, cpu: f.cpu }));
}

function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--pid <pid>', 'only this process (victim of runqueue/nosched events)')
    .option('--cgroup <path>', 'only tasks of this cgroup: a cgroup v2 path (under the cgroup2 mount), or cgroup v1 as controller:/path or a path under a v1 controller mount (/sys/fs/cgroup/memory/x)')
    .option('--container <id>', 'only tasks of this container (id prefix) or systemd service')
    .option('--cpu <n>', 'only this CPU')
    .option('--threshold <kind=Nms,...>', 'thresholds per kind (irqoff, softirq, hardirq, nosched, runqueue; 0 = off) or key=value (repeatable)', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)');
}

function mapError(err: unknown): never {
  if (err instanceof LatencyUnavailableError) throw new UserError(err.message, EXIT.unsupported);
  if (err instanceof HostError && err.denied) throw new UserError(`oscope runlatency needs root to read ${err.path}: run it with sudo`, EXIT.permission);
  throw err;
}

function render(c: CliContext, a: LatencyAnalysis): string {
  const doc = runlatencyDocument(a, c.lang);
  return c.json ? JSON.stringify(doc, null, 2) : renderRunlatencyText(doc, c.lang, styleFrom(c.color));
}

async function oneShot(c: CliContext, flags: LatencyFlags): Promise<void> {
  const p = runlatencyParams(flags);
  const durationS = p.durationS;
  const { kinds, samplePeriodMs, irqoffMethod } = tracerSettings(p.thresholds);
  requireRoot('oscope runlatency');
  const host = await c.host();
  if (!host.live) throw new UserError('oscope runlatency traces the live kernel: it cannot run on a bundle (--from)', EXIT.usage);
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const style = styleFrom(c.color);
  if (!c.json && c.tty) c.err(t(c.lang, 'lat.watching', { durationS: String(durationS) }));
  try {
    const a = await runLatency(host, {
      durationS,
      thresholds: kinds,
      samplePeriodMs,
      irqoffMethod,
      filters: latencyFilters(p),
      signal: ac.signal,
      // Events as they happen: on stdout in text mode, on stderr (a TTY only) with --json.
      onEvent: (e) => {
        if (!c.json) c.out(renderEventLine(e, style));
        else if (process.stderr.isTTY) c.err(renderEventLine(e, plainStyle));
      },
    });
    if (!c.json) c.out('');
    c.out(render(c, a));
  } catch (err) {
    mapError(err);
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}

/** The detached monitor's body (hidden subcommand): trace until SIGTERM, snapshot every 2 s and on SIGUSR1. */
async function monitorMain(c: CliContext, stateFile: string): Promise<void> {
  const st = readMonitorState(stateFile);
  if (!st) throw new UserError(`no runlatency monitor state in ${stateFile}`, EXIT.usage);
  const host = await c.host();
  let session: LatencySession;
  try {
    session = await LatencySession.start(host, {
      thresholds: st.thresholds,
      samplePeriodMs: st.samplePeriodMs ?? 1,
      ...(st.irqoffMethod ? { irqoffMethod: st.irqoffMethod } : {}),
      filters: st.filters,
      maxEvents: 5000,
    });
  } catch (err) {
    writeAtomic(st.snapshot, JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    throw err;
  }
  let busy = false;
  const snap = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      writeAtomic(st.snapshot, JSON.stringify(await session.snapshot()));
    } finally {
      busy = false;
    }
  };
  await snap();
  const timer = setInterval(() => void snap(), 2000);
  process.on('SIGUSR1', () => void snap());
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', () => resolveStop());
    process.once('SIGINT', () => resolveStop());
  });
  clearInterval(timer);
  session.close();
}

/** The agent's answer as a UserError (its sentence); anything else as it is. */
function agentError(err: unknown): never {
  if (err instanceof LocalAgentError) throw new UserError(`the agent says: ${err.message}`, err.status >= 500 ? EXIT.failure : EXIT.usage);
  if (err instanceof Error) throw new UserError(`the agent did not answer: ${err.message}`, EXIT.failure);
  throw err;
}

async function enable(c: CliContext, kindsArgs: string[], flags: LatencyFlags): Promise<void> {
  const file = monitorStateFile();
  const old = readMonitorState(file);
  if (old && isSameProcessAlive(old.owner)) throw new UserError(`a runlatency monitor already runs (pid ${old.owner.pid}): \`oscope runlatency disable\` first`, EXIT.usage);
  const { kinds, samplePeriodMs, irqoffMethod } = latencyThresholds({ ...flags, threshold: [...(flags.threshold ?? []), ...kindsArgs] });
  const filters = filtersFrom(flags);
  const agent = await connectLocalAgent();
  if (agent) {
    let st;
    try {
      st = await agent.runlatencyEnable({ thresholds: kinds, filters, irqoffMethod });
    } catch (err) {
      agentError(err);
    }
    if (c.json) c.out(JSON.stringify({ schema: MONITOR_STATE_SCHEMA, running: st.running, where: 'agent', pid: st.pid, socket: agent.socket, thresholds: st.thresholds ?? kinds }));
    else c.out(t(c.lang, 'lat.monitor.startedAgent', { pid: String(st.pid), socket: agent.socket }));
    return;
  }
  requireRoot('oscope runlatency enable');
  const snapshot = join(dirname(file), 'runlatency-snapshot.json');
  try {
    unlinkSync(snapshot);
  } catch {
    /* none */
  }
  const script = resolve(process.argv[1] ?? 'bin/oscope');
  const child = spawn(process.execPath, [script, 'runlatency', '__monitor', file], { detached: true, stdio: 'ignore' });
  const owner = child.pid !== undefined ? procIdentity(child.pid) : undefined;
  if (!owner) throw new UserError('the runlatency monitor exited at once', EXIT.failure);
  writeAtomic(file, `${JSON.stringify({ schema: MONITOR_STATE_SCHEMA, owner, startedAt: new Date().toISOString(), thresholds: kinds, filters, samplePeriodMs, irqoffMethod, snapshot } satisfies MonitorState, null, 1)}\n`);
  child.unref();
  // Wait until it attached (first snapshot) or failed.
  const until = Date.now() + 15000;
  while (Date.now() < until) {
    const text = tryRead(snapshot);
    if (text) {
      const v = JSON.parse(text) as { error?: string };
      if (v.error) {
        await killVerified(owner, 'SIGKILL', 2000);
        unlinkQuiet(file);
        throw new UserError(v.error, EXIT.unsupported);
      }
      break;
    }
    if (!isSameProcessAlive(owner)) {
      unlinkQuiet(file);
      throw new UserError('the runlatency monitor exited before it attached (run `oscope runlatency -i 1` to see why)', EXIT.failure);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (c.json) c.out(JSON.stringify({ schema: MONITOR_STATE_SCHEMA, running: true, where: 'process', pid: owner.pid, stateFile: file, thresholds: kinds }));
  else c.out(t(c.lang, 'lat.monitor.started', { pid: String(owner.pid), file }));
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* gone */
  }
}

/** The detached monitor when one runs. */
function detachedMonitor(): MonitorState | undefined {
  const st = readMonitorState(monitorStateFile());
  return st && isSameProcessAlive(st.owner) ? st : undefined;
}

/** The agent when one answers and hosts a running monitor. */
async function agentMonitor(): Promise<{ agent: LocalAgent; pid: number } | undefined> {
  const agent = await connectLocalAgent();
  if (!agent) return undefined;
  try {
    const st = await agent.runlatencyStatus();
    return st.running ? { agent, pid: st.pid } : undefined;
  } catch (err) {
    return agentError(err);
  }
}

const NO_MONITOR = 'no runlatency monitor is running: start one with `oscope runlatency enable`';

/** A fresh analysis from the detached monitor (asks it for a snapshot, waits up to 5 s). */
async function detachedReport(st: MonitorState): Promise<LatencyAnalysis> {
  const before = statMtime(st.snapshot);
  process.kill(st.owner.pid, 'SIGUSR1');
  const until = Date.now() + 5000;
  while (Date.now() < until && statMtime(st.snapshot) === before) await new Promise((r) => setTimeout(r, 50));
  const text = tryRead(st.snapshot);
  if (!text) throw new UserError(`the monitor has written no snapshot yet (${st.snapshot})`, EXIT.failure);
  return JSON.parse(text) as LatencyAnalysis;
}

async function report(c: CliContext, out: string | undefined): Promise<void> {
  const st = detachedMonitor();
  let a: LatencyAnalysis;
  let where: 'agent' | 'process';
  let pid: number;
  if (st) {
    a = await detachedReport(st);
    where = 'process';
    pid = st.owner.pid;
  } else {
    const am = await agentMonitor();
    if (!am) throw new UserError(NO_MONITOR, EXIT.usage);
    try {
      a = await am.agent.runlatencyReport();
    } catch (err) {
      agentError(err);
    }
    where = 'agent';
    pid = am.pid;
  }
  const from = t(c.lang, where === 'agent' ? 'lat.monitor.from.agent' : 'lat.monitor.from.process', { pid: String(pid) });
  const doc = runlatencyDocument(a, c.lang);
  if (out === undefined) {
    if (!c.json) c.err(from);
    c.out(render(c, a));
    return;
  }
  mkdirSync(out, { recursive: true });
  const json = join(out, 'runlatency.json');
  const txt = join(out, 'runlatency.txt');
  writeFileSync(json, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(txt, `${from}\n\n${renderRunlatencyText(doc, c.lang, plainStyle)}\n`);
  c.out(c.json ? JSON.stringify({ json, text: txt, where, pid }) : `${t(c.lang, 'lat.monitor.written', { json, text: txt })} (${from})`);
}

function statMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

async function disable(c: CliContext): Promise<void> {
  const file = monitorStateFile();
  const st = readMonitorState(file);
  if (st && isSameProcessAlive(st.owner)) {
    if ((await killVerified(st.owner, 'SIGTERM', 5000)) === 'alive') await killVerified(st.owner, 'SIGKILL', 5000);
    unlinkQuiet(file);
    unlinkQuiet(st.snapshot);
    c.out(c.json ? JSON.stringify({ running: false, where: 'process', stopped: st.owner.pid }) : t(c.lang, 'lat.monitor.stopped', { pid: String(st.owner.pid) }));
    return;
  }
  unlinkQuiet(file);
  const am = await agentMonitor();
  if (am) {
    let r;
    try {
      r = await am.agent.runlatencyDisable();
    } catch (err) {
      agentError(err);
    }
    c.out(c.json ? JSON.stringify({ running: r.running, where: 'agent', stopped: am.pid }) : t(c.lang, 'lat.monitor.stoppedAgent', { pid: String(am.pid) }));
    return;
  }
  c.out(c.json ? JSON.stringify({ running: false }) : t(c.lang, 'lat.monitor.none'));
}

export const registerRunlatency: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  const cmd = addFilterOptions(
    program
      .command('runlatency')
      .description('scheduling and interrupt latency: irq-off, softirq, hardirq, no-schedule in the kernel, run-queue delay; victim, culprit, stack')
      .option('-i, --interval <seconds>', 'trace this long, printing events as they happen, then a summary', '10'),
  ).action(async (flags: LatencyFlags) => oneShot(ctx(), flags));
  cmd.addHelpText(
    'after',
    `
How irq-off is measured (--threshold lat.irqoffNmi=N):
  1  the hardware NMI watchdog (a cycles perf event per CPU, x86-64) where the CPU has a PMU,
     else late cpu-clock samples (default; method/coverage say which and why)
  0  always late cpu-clock samples
  2  only the NMI watchdog (irq-off is off, with the reason, without a PMU)
Sampling period of both watchdogs: --threshold lat.samplePeriodMs=1 (\`oscope doctor\` shows what this host has).`,
  );
  addFilterOptions(cmd.command('enable').description('start a background monitor (in the running agent, else a detached process); thresholds as kind=Nms').argument('[thresholds...]')).action(
    // The parent command defines the same filter options and takes them wherever they are written
    // (`runlatency enable --cpu 1`): merge both.
    async (args: string[], _flags: LatencyFlags, command: Command) => enable(ctx(), args, command.optsWithGlobals<LatencyFlags>()),
  );
  cmd
    .command('report')
    .description("write what the monitor has seen: runlatency.json and runlatency.txt in DIR (or print it)")
    .option('--out <dir>', 'directory to write into')
    .action(async (flags: { out?: string }) => report(ctx(), flags.out));
  cmd
    .command('disable')
    .description('stop the monitor; everything it attached goes with it')
    .action(async () => disable(ctx()));
  cmd
    .command('__monitor', { hidden: true })
    .argument('<stateFile>')
    .action(async (file: string) => monitorMain(ctx(), file));
};
