/**
 * The simulation framework: a Scenario creates kernel objects on purpose (size, rate, duration), records
 * each one in a state file before creating it, and is cleaned up on normal exit, on error, on
 * SIGINT/SIGTERM, or later by `oscope simulate cleanup` from the state file.
 *
 * For other code: `runScenario(name, opts)` creates a scenario and returns what it created (the caller
 * owns it until `cleanupRun(runId)`); the CLI uses `runForeground` and `startDetached`.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../report/format.js';
import { type ProcIdentity, isSameProcessAlive, killVerified, procIdentity } from './proc.js';
import {
  type CleanupProblem,
  type Resource,
  type RunState,
  SIM_PREFIX,
  STATE_SCHEMA,
  cleanupState,
  listStates,
  readState,
  removeStateFile,
  stateDir,
  stateFile,
  writeState,
} from './state.js';
import { parseCount, parseSeconds, parseSize } from './units.js';
import { Worker, findPython } from './worker.js';
import { abortableSleep } from '../util/sleep.js';

export { SIM_PREFIX } from './state.js';
export type { Resource, RunState } from './state.js';

export const SUMMARY_SCHEMA = 'oscope.simulate/v1';

/** Safety cap: a run may pin at most this fraction of MemAvailable, or FORCE_FRACTION with --force. */
export const DEFAULT_FRACTION = 0.5;
export const FORCE_FRACTION = 0.8;

export type OptionType = 'size' | 'count' | 'seconds';

export interface OptionSpec {
  /** Key in the options record, camelCase (`fileSize`). */
  key: string;
  /** Commander flag (`--file-size <size>`). */
  flag: string;
  type: OptionType;
  description: string;
  default: number;
}

export type ScenarioOptions = Record<string, number>;

/** What a scenario reports having created. */
export interface ScenarioResult {
  /** How many objects (files, segments, cgroups, lookups, bytes written...). */
  count: number;
  /** What `count` counts ("files", "segments", ...). */
  unit: string;
  /** Memory the objects hold (or are estimated to hold), in bytes. */
  bytes: number;
  details?: Record<string, number | string | boolean>;
}

export interface Progress {
  count: number;
  unit: string;
  bytes: number;
}

export interface ScenarioContext {
  readonly runId: string;
  readonly opts: ScenarioOptions;
  /** Aborted on Ctrl-C/SIGTERM or when the duration ends during creation. */
  readonly signal: AbortSignal;
  /** `oscope-sim-<runId>` or `oscope-sim-<runId>-<suffix>`. */
  name(suffix?: string | number): string;
  /** Appends the resource to the state file (call BEFORE creating it) and returns it for later updates. */
  track<R extends Resource>(r: R): R;
  /** Rewrites the state file after a tracked resource was updated in place (id, bytes, ...). */
  save(): void;
  /** Starts the python3 helper and records its pid + start time before it does anything. */
  worker(role: string): Worker;
  progress(p: Progress): void;
  /** Sleeps so that `done` items take `done / rate` seconds since the first call (rate 0: no wait). */
  pace(done: number, rate: number): Promise<void>;
}

export interface Scenario {
  name: string;
  area: 'memory' | 'latency' | 'io' | 'load' | 'cpu' | 'net';
  description: string;
  /** Scenario options, including its own defaults for size and rate; duration is added by the framework. */
  options: OptionSpec[];
  /** The option the safety cap is about, as a user types it (`--size`, `--count`). */
  sizeFlag: string;
  /** Memory the run would pin with these options, checked against MemAvailable. */
  memoryBytes(opts: ScenarioOptions): number;
  /**
   * Why the scenario cannot run with these options or on this host (one sentence), or undefined. A
   * sentence about an option starts with the flag (`--port must be …`) and is a usage error (exit 2);
   * any other (a missing tool or kernel feature) exits 4.
   */
  check?(opts: ScenarioOptions): string | undefined;
  start(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export type SimulateErrorKind = 'usage' | 'permission' | 'unsupported' | 'failure' | 'interrupted';

/** An error the user can act on; `message` is one sentence. */
export class SimulateError extends Error {
  constructor(
    message: string,
    readonly kind: SimulateErrorKind = 'failure',
  ) {
    super(message);
    this.name = 'SimulateError';
  }
}

/** The JSON summary of a run (`--json`), also what runScenario returns. */
export interface RunResult {
  schema: typeof SUMMARY_SCHEMA;
  runId: string;
  scenario: string;
  area: string;
  stateFile: string;
  detached: boolean;
  options: ScenarioOptions;
  created: ScenarioResult;
  resources: Resource[];
  startedAt: string;
  elapsedMs: number;
}

export const DURATION_OPTION: OptionSpec = {
  key: 'duration',
  flag: '--duration <seconds>',
  type: 'seconds',
  description: 'how long to hold what was created; 0 = until Ctrl-C (or, with --detach, until `oscope simulate cleanup`)',
  default: 0,
};

const registry = new Map<string, Scenario>();

export function registerScenario(s: Scenario): void {
  registry.set(s.name, s);
}

export function listScenarios(): Scenario[] {
  return [...registry.values()];
}

export function getScenario(name: string): Scenario {
  const s = registry.get(name);
  if (!s) {
    throw new SimulateError(
      `unknown scenario "${name}" (one of: ${[...registry.keys()].join(', ')})`,
      'usage',
    );
  }
  return s;
}

export type OptionInput = Record<string, number | string | boolean | undefined>;

/** Resolves user input (numbers or strings like "16KiB") against the scenario's specs, with defaults. */
export function resolveOptions(s: Scenario, input: OptionInput): ScenarioOptions {
  const out: ScenarioOptions = {};
  for (const spec of [...s.options, DURATION_OPTION]) {
    const v = input[spec.key];
    if (v === undefined || typeof v === 'boolean') {
      out[spec.key] = spec.default;
      continue;
    }
    let n: number;
    try {
      n = typeof v === 'number' ? v : spec.type === 'size' ? parseSize(v) : spec.type === 'seconds' ? parseSeconds(v) : parseCount(v);
    } catch (err) {
      throw new SimulateError(`${spec.flag.split(' ')[0]}: ${(err as Error).message}`, 'usage');
    }
    if (!Number.isFinite(n) || n < 0) throw new SimulateError(`${spec.flag.split(' ')[0]} must be a non-negative number`, 'usage');
    out[spec.key] = n;
  }
  return out;
}

export function memAvailableBytes(): number {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(text);
  if (!m) throw new SimulateError('/proc/meminfo has no MemAvailable line, so the safety cap cannot be checked', 'unsupported');
  return Number(m[1]) * 1024;
}

/** Throws the one-sentence refusal when the run would pin more than the allowed fraction of MemAvailable. */
export function checkSafetyCap(s: Scenario, opts: ScenarioOptions, availableBytes: number, force: boolean): void {
  const want = s.memoryBytes(opts);
  const fraction = force ? FORCE_FRACTION : DEFAULT_FRACTION;
  const cap = Math.floor(availableBytes * fraction);
  if (want <= cap) return;
  const pct = `${Math.round(fraction * 100)} %`;
  const hint = force
    ? `that is the most --force allows, so choose a smaller ${s.sizeFlag}`
    : `choose a smaller ${s.sizeFlag}, or add --force to allow up to ${Math.round(FORCE_FRACTION * 100)} %`;
  throw new SimulateError(
    `${s.name} would use ${formatBytes(want)}, more than ${formatBytes(cap)} (${pct} of MemAvailable, ${formatBytes(availableBytes)}): ${hint}.`,
    'usage',
  );
}

export function newRunId(scenario: string): string {
  return `${scenario}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function requireRootForSim(): void {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new SimulateError('oscope simulate needs root: run it with sudo', 'permission');
  }
}

export interface StartOptions {
  signal?: AbortSignal;
  runId?: string;
  detached?: boolean;
  force?: boolean;
  onProgress?: (p: Progress) => void;
  /** Defaults to $OSCOPE_STATE_DIR or /run/oscope/simulate. */
  stateDir?: string;
}

interface Started {
  result: RunResult;
  state: RunState;
  dir: string;
}

/**
 * Creates the scenario's resources and returns what was created. On any error or abort it removes
 * everything it recorded (and the state file) before rethrowing.
 */
async function startRun(name: string, input: OptionInput, so: StartOptions): Promise<Started> {
  const scenario = getScenario(name);
  const opts = resolveOptions(scenario, input);
  requireRootForSim();
  checkSafetyCap(scenario, opts, memAvailableBytes(), so.force === true);
  const why = scenario.check?.(opts);
  // An option out of range ("--port must be …") is the user's (usage, exit 2); anything else is what
  // this host lacks (a tool, a kernel feature: exit 4).
  if (why) throw new SimulateError(why, why.startsWith('--') ? 'usage' : 'unsupported');

  const dir = so.stateDir ?? stateDir();
  const runId = so.runId ?? newRunId(name);
  const owner = procIdentity(process.pid);
  if (!owner) throw new SimulateError('cannot read /proc/self/stat', 'unsupported');
  const startedAt = new Date();
  const state: RunState = {
    schema: STATE_SCHEMA,
    runId,
    scenario: name,
    options: opts,
    owner,
    detached: so.detached === true,
    createdAt: startedAt.toISOString(),
    status: 'starting',
    resources: [],
  };
  try {
    writeState(state, dir);
  } catch (err) {
    throw new SimulateError(`cannot write the state file ${stateFile(runId, dir)}: ${(err as Error).message}`, 'failure');
  }

  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort();
  if (so.signal?.aborted) ac.abort();
  so.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const workers: Worker[] = [];
  let paceStart: number | undefined;
  const ctx: ScenarioContext = {
    runId,
    opts,
    signal: ac.signal,
    name: (suffix) => `${SIM_PREFIX}${runId}${suffix === undefined ? '' : `-${suffix}`}`,
    track: (r) => {
      if (ac.signal.aborted) throw new SimulateError('interrupted', 'interrupted');
      state.resources.push(r);
      writeState(state, dir);
      return r;
    },
    save: () => writeState(state, dir),
    worker: (role) => {
      const python = findPython();
      if (!python) throw new SimulateError('this scenario needs python3, which is not installed', 'unsupported');
      const w = Worker.spawn(python);
      workers.push(w);
      const id = procIdentity(w.pid);
      if (!id) throw new SimulateError(`the python3 helper (${python}) exited at once`, 'failure');
      ctx.track({ kind: 'process', pid: id.pid, startTime: id.startTime, role });
      return w;
    },
    progress: (p) => so.onProgress?.(p),
    pace: async (done, rate) => {
      if (rate <= 0) return;
      paceStart ??= Date.now();
      const wait = paceStart + (done / rate) * 1000 - Date.now();
      if (wait > 0) await abortableSleep(wait, ac.signal);
    },
  };
  try {
    const created = await scenario.start(ctx);
    if (ac.signal.aborted) throw new SimulateError('interrupted', 'interrupted');
    state.status = 'running';
    writeState(state, dir);
    // Workers that are parked keep running on their own; let Node exit without waiting for them.
    for (const w of workers) w.detachHandles();
    return {
      state,
      dir,
      result: {
        schema: SUMMARY_SCHEMA,
        runId,
        scenario: name,
        area: scenario.area,
        stateFile: stateFile(runId, dir),
        detached: state.detached,
        options: opts,
        created,
        resources: state.resources,
        startedAt: startedAt.toISOString(),
        elapsedMs: Date.now() - startedAt.getTime(),
      },
    };
  } catch (err) {
    for (const w of workers) w.kill();
    state.status = 'cleaning';
    writeState(state, dir);
    const problems = await cleanupState(state);
    if (problems.length === 0) removeStateFile(runId, dir);
    if (ac.signal.aborted) throw new SimulateError('interrupted', 'interrupted');
    if (err instanceof SimulateError) throw err;
    throw new SimulateError(`${name} failed: ${(err as Error).message}`, 'failure');
  } finally {
    so.signal?.removeEventListener('abort', onOuterAbort);
  }
}

export { abortableSleep };

/**
 * Creates a scenario and returns what it created, leaving it in place: the caller owns the run and must
 * call `cleanupRun(result.runId)` (in a `finally`). Options take numbers or strings ("64MiB").
 */
export async function runScenario(name: string, opts: OptionInput = {}, so: Omit<StartOptions, 'detached'> = {}): Promise<RunResult> {
  const { result } = await startRun(name, opts, so);
  return result;
}

/**
 * Runs `body` with a freshly created scenario and always removes it afterwards, also when `body` throws.
 * Cleanup problems are thrown (after body's own error, if any, which wins).
 */
export async function withScenario<T>(name: string, opts: OptionInput, body: (run: RunResult) => Promise<T> | T): Promise<T> {
  const run = await runScenario(name, opts);
  let value: T;
  try {
    value = await body(run);
  } catch (err) {
    await cleanupRun(run.runId).catch(() => undefined);
    throw err;
  }
  const rep = await cleanupRun(run.runId);
  if (rep.problems.length > 0) {
    throw new SimulateError(`cleanup of ${run.runId} left ${rep.problems.map((p) => p.error).join('; ')}`);
  }
  return value;
}

export interface CleanupReport {
  runId: string;
  scenario: string;
  /** Resources the state listed (each removed or already gone, unless in problems). */
  resources: number;
  problems: CleanupProblem[];
  /** What happened to a run that was still running: stopped by its own cleanup, or killed. */
  owner: 'self' | 'gone' | 'stopped' | 'killed';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Removes what the run recorded. A run whose owner process still runs (a detached run, or a foreground
 * one in another terminal) is asked to stop with SIGTERM (it cleans up itself); if it does not within
 * 10 s, it is killed and its resources are removed from the state file.
 */
export async function cleanupRun(runId: string, dir = stateDir()): Promise<CleanupReport> {
  const state = readState(runId, dir);
  if (!state) throw new SimulateError(`no simulation run "${runId}" (no state file in ${dir})`, 'usage');
  let owner: CleanupReport['owner'] = 'gone';
  const o: ProcIdentity = state.owner;
  if (o.pid === process.pid) owner = 'self';
  else if (isSameProcessAlive(o)) {
    await killVerified(o, 'SIGTERM', 0);
    const until = Date.now() + 10_000;
    while (Date.now() < until && isSameProcessAlive(o)) await sleep(50);
    if (isSameProcessAlive(o)) {
      await killVerified(o, 'SIGKILL', 5000);
      owner = 'killed';
    } else owner = 'stopped';
    if (readState(runId, dir) === undefined) {
      return { runId, scenario: state.scenario, resources: state.resources.length, problems: [], owner };
    }
  }
  // The owner is gone (or is us): take the latest state it wrote and remove everything in it.
  const latest = readState(runId, dir) ?? state;
  latest.status = 'cleaning';
  const problems = await cleanupState(latest);
  if (problems.length === 0) removeStateFile(runId, dir);
  return { runId, scenario: latest.scenario, resources: latest.resources.length, problems, owner };
}

export interface RunListing {
  state: RunState;
  ownerAlive: boolean;
}

export function listRuns(dir = stateDir()): RunListing[] {
  return listStates(dir).map((state) => ({
    state,
    ownerAlive: state.owner.pid === process.pid ? true : isSameProcessAlive(state.owner),
  }));
}

/**
 * `oscope simulate cleanup`: every crashed run (owner gone) and every detached run; with `all`, also
 * foreground runs still running elsewhere. Returns one report per run handled, and the ids skipped.
 */
export async function cleanupRuns(all: boolean, dir = stateDir()): Promise<{ cleaned: CleanupReport[]; skipped: string[] }> {
  const cleaned: CleanupReport[] = [];
  const skipped: string[] = [];
  for (const { state, ownerAlive } of listRuns(dir)) {
    if (state.owner.pid === process.pid || (ownerAlive && !state.detached && !all)) {
      skipped.push(state.runId);
      continue;
    }
    cleaned.push(await cleanupRun(state.runId, dir));
  }
  return { cleaned, skipped };
}

export interface ForegroundOptions extends StartOptions {
  /** Seconds to hold after creation; 0 = until SIGINT/SIGTERM. */
  durationS: number;
  onStarted?: (r: RunResult) => void;
  onCleanup?: () => void;
}

export interface ForegroundOutcome {
  result?: RunResult;
  interrupted: boolean;
  problems: CleanupProblem[];
}

/**
 * Runs a scenario in this process: create, hold for the duration (counted once everything is created;
 * 0 = until SIGINT/SIGTERM/SIGHUP), clean up. A signal during creation stops it and cleans up.
 */
export async function runForeground(name: string, input: OptionInput, fo: ForegroundOptions): Promise<ForegroundOutcome> {
  const ac = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let timer: NodeJS.Timeout | undefined;
  try {
    let started: Started;
    try {
      started = await startRun(name, input, { ...fo, signal: ac.signal });
    } catch (err) {
      if (err instanceof SimulateError && err.kind === 'interrupted') return { interrupted: true, problems: [] };
      throw err;
    }
    fo.onStarted?.(started.result);
    // Hold until the duration ends or a signal arrives (the interval keeps Node's event loop alive).
    const keepAlive = setInterval(() => undefined, 1 << 30);
    if (fo.durationS > 0) timer = setTimeout(() => ac.abort(), fo.durationS * 1000);
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted) resolve();
      else ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(keepAlive);
    fo.onCleanup?.();
    started.state.status = 'cleaning';
    writeState(started.state, started.dir);
    const problems = await cleanupState(started.state);
    if (problems.length === 0) removeStateFile(started.state.runId, started.dir);
    return { result: started.result, interrupted, problems };
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** The compiled runner entry that a detached run executes. */
function runnerPath(): string {
  return fileURLToPath(new URL('./runner.js', import.meta.url));
}

export interface RunnerRequest {
  scenario: string;
  input: OptionInput;
  runId: string;
  durationS: number;
  force: boolean;
  stateDir: string;
}

export interface RunnerMessage {
  ok: boolean;
  result?: RunResult;
  error?: string;
  kind?: SimulateErrorKind;
}

/**
 * Starts the scenario in a detached background process (its own session) and returns once everything
 * is created. The run then lasts for the duration, or until `oscope simulate cleanup`.
 */
export async function startDetached(name: string, input: OptionInput, so: { force?: boolean; durationS: number; stateDir?: string }): Promise<RunResult> {
  const scenario = getScenario(name);
  const opts = resolveOptions(scenario, input);
  requireRootForSim();
  checkSafetyCap(scenario, opts, memAvailableBytes(), so.force === true);
  const req: RunnerRequest = {
    scenario: name,
    input,
    runId: newRunId(name),
    durationS: so.durationS,
    force: so.force === true,
    stateDir: so.stateDir ?? stateDir(),
  };
  const child = spawn(process.execPath, [runnerPath(), JSON.stringify(req)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const pipe = child.stdio[3];
  let text = '';
  if (pipe && 'on' in pipe) {
    (pipe as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      text += d.toString('utf8');
    });
  }
  const exitedEarly = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pipeClosed = new Promise<void>((resolve) => {
    if (pipe && 'on' in pipe) (pipe as NodeJS.ReadableStream).on('end', () => resolve());
    else resolve();
  });
  await Promise.race([pipeClosed, exitedEarly]);
  child.unref();
  (pipe as unknown as { destroy?: () => void } | null)?.destroy?.();
  let msg: RunnerMessage | undefined;
  try {
    msg = JSON.parse(text.trim().split('\n').pop() ?? '') as RunnerMessage;
  } catch {
    msg = undefined;
  }
  if (msg?.ok === true && msg.result) return msg.result;
  // It failed or died before reporting: make sure nothing stays behind.
  if (readState(req.runId, req.stateDir)) await cleanupRun(req.runId, req.stateDir).catch(() => undefined);
  throw new SimulateError(msg?.error ?? 'the detached run exited before it had created anything', msg?.kind ?? 'failure');
}
