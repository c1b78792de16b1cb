/**
 * `oscope agent`: collects every interval, serves /metrics, evaluates alert rules, and (with a console)
 * sends samples and alert events and runs the diagnoses the console asks for. Everything runs in this
 * one process: no child processes and no global kernel switches. The BPF programs it attaches (the
 * run-queue histogram, the runlatency monitor) are links held by file descriptors, nothing is pinned,
 * and /dev/kmsg is one more fd: a SIGKILL at any moment leaves nothing behind. A task names a
 * registered diagnosis and parameters that are validated again here; there is no way to make the
 * agent run a command.
 *
 * With a state directory (`--state-dir`, default $OSCOPE_STATE_DIR or /run/oscope) the agent also keeps
 * its console outbox on disk there (`outbox.db`) and answers the local control socket (`agent.sock`,
 * see ./local.ts).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Host } from '../host/host.js';
import type { HealthAnalysis } from '../diagnose/health/score.js';
import { healthSummary } from '../report/health.js';
import { VERSION } from '../version.js';
import { AlertEvaluator, DISK_RULE_KINDS, type FiredEvent, type Rule } from './alerts.js';
import { ConsoleClient } from './client.js';
import { Collector, type Snapshot, sampleOf } from './collect.js';
import { AgentHealth } from './health.js';
import { agentBoots } from './boots.js';
import type { BootReport } from '../contract/agent-wire.js';
import { MemHistory } from './history.js';
import { KernelLogSource, type KmsgReader } from './kernel-log.js';
import { LocalServer } from './local-server.js';
import { AgentMetrics } from './metrics.js';
import type { DiagnosisRegistry } from './registry.js';
import { RunqueueSource, type StartRunqueueTracer } from './runqueue.js';
import { ContinuousProfiler, type ContinuousProfilerOptions, TriggeredProfiler } from './profiler.js';
import { IoLatencySource, type StartIolatTracer, startIolatBpf } from './iolat.js';

/** An optional collector and whether it works here. */
export interface CoverageNote {
  source: 'runqueue' | 'kernel_log' | 'io_latency' | 'profile';
  status: 'up' | 'unavailable' | 'off';
  reason?: string;
}

export interface AgentOptions {
  host: Host;
  registry: DiagnosisRegistry;
  intervalMs: number;
  /** HOST:PORT for /metrics; undefined = no HTTP server. */
  listen?: { host: string; port: number };
  console?: { url: string; token: string };
  rules: Rule[];
  webhook?: string;
  /** How often to ask the console for a task (default 3 s). */
  pollMs?: number;
  cgroupMaxDepth?: number;
  log?: (line: string) => void;
  /**
   * The state directory: the outbox file and the local control socket live there (created 0700 when
   * missing). Undefined = outbox in memory, no socket.
   */
  stateDir?: string;
  /** The memory history ring (shared with the registry's memleak check); default: a new one. */
  history?: MemHistory;
  /** Run-queue latency histogram: false = off; a function = another tracer (tests). Default: BPF. */
  runqueue?: false | StartRunqueueTracer;
  /** Block I/O latency histogram per disk and stage: false = off; a function = another tracer (tests). Default: BPF (bpf/iolat.bpf.c). */
  ioLatency?: false | StartIolatTracer;
  /**
   * The always-on histogram's wake stage (completion → the issuer running again), default off: it needs a
   * sched_switch program that runs on every context switch of the host (bench/io.ts measures its cost);
   * `oscope io` measures the wake stage on demand.
   */
  ioWake?: boolean;
  /** Kernel-log anomalies: false = off; a reader = another kmsg source (tests). Default: /dev/kmsg. */
  kernelLog?: false | KmsgReader;
  /** How often the kernel log is read, ms (default 2000). */
  kernelLogPollMs?: number;
  /** The health score every tick (default on; false = off). */
  health?: boolean;
  /** Continuous profiling at this rate (samples/s per CPU), one window a minute (src/agent/profiler.ts); undefined = off. */
  profileHz?: number;
  /** The node's labels, sent in the hello (`--label k=v`, `labels:` in the config file). */
  labels?: Record<string, string>;
  /** Boots reported to the console after the hello: false = off; a function = another source (tests). Default: agentBoots (journal, pstore, kdump). */
  boots?: false | (() => Promise<BootReport[]>);
  /** For tests: the continuous profiler's window length and window function. */
  profiler?: Pick<ContinuousProfilerOptions, 'windowS' | 'window'>;
  /** Profiles on a trigger (rules with `profile`): false = off; default on (src/agent/profiler.ts TriggeredProfiler). */
  triggeredProfiles?: boolean;
}

export interface RunningAgent {
  metrics: AgentMetrics;
  /** The address /metrics is served on. */
  address?: { host: string; port: number };
  client?: ConsoleClient;
  history: MemHistory;
  /** The health score of the last tick (undefined with `health: false`). */
  health?: AgentHealth;
  /** The local control socket server, with a state directory. */
  local?: LocalServer;
  coverage: CoverageNote[];
  /** The triggered profiler (undefined when off). */
  triggered?: TriggeredProfiler;
  /** One collection + evaluation now (also what the interval timer runs). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The parameters of a fired rule's diagnosis: the rule's own, and for `io` on a disk rule the disk of
 * the instance that fired (unless the rule names one), so the evidence is about the disk in trouble.
 */
export function autoDiagnoseParams(ev: FiredEvent): Record<string, unknown> {
  const ad = ev.ruleDef.autoDiagnose;
  const params = { ...(ad?.params ?? {}) };
  const disk = ev.data.disk;
  if (ad?.diagnosis === 'io' && DISK_RULE_KINDS.has(ev.ruleDef.kind) && typeof disk === 'string' && params.disk === undefined) params.disk = disk;
  return params;
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`oscope agent: ${l}\n`));
  const metrics = new AgentMetrics();
  const history = opts.history ?? new MemHistory({ stepS: Math.max(60, opts.intervalMs / 1000) });
  const coverage: CoverageNote[] = [];
  const cleanups: (() => void | Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };

  if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });

  const health = opts.health === false ? undefined : new AgentHealth(opts.host);
  let client: ConsoleClient | undefined;
  let local: LocalServer | undefined;
  try {
    client = opts.console ? new ConsoleClient({ url: opts.console.url, token: opts.console.token, log, outboxPath: opts.stateDir ? join(opts.stateDir, 'outbox.db') : undefined }) : undefined;
    if (client) {
      const c = client;
      cleanups.push(() => c.close());
    }
    if (opts.stateDir) {
      local = await LocalServer.start({ socket: join(opts.stateDir, 'agent.sock'), host: opts.host, history, log, health: () => health?.latest()?.analysis });
      const l = local;
      cleanups.push(() => l.stop());
      // The state directory is ours now (the socket was free): the history survives restarts there.
      const n = history.persistTo(join(opts.stateDir, 'history.jsonl'));
      if (n > 0) log(`memory history: ${n} points from the previous run`);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  let runqueue: RunqueueSource | undefined;
  if (opts.runqueue === false) coverage.push({ source: 'runqueue', status: 'off' });
  else {
    const r = await RunqueueSource.start(opts.host, opts.runqueue);
    if ('source' in r) {
      runqueue = r.source;
      cleanups.push(() => r.source.close());
      coverage.push({ source: 'runqueue', status: 'up' });
    } else {
      coverage.push({ source: 'runqueue', status: 'unavailable', reason: r.unavailable });
      log(`no run-queue latency histogram: ${r.unavailable}`);
    }
  }
  let ioLatency: IoLatencySource | undefined;
  if (opts.ioLatency === false) coverage.push({ source: 'io_latency', status: 'off' });
  else {
    const r = await IoLatencySource.start(opts.ioLatency || (() => Promise.resolve(startIolatBpf({ wake: opts.ioWake ?? false }))));
    if ('source' in r) {
      ioLatency = r.source;
      cleanups.push(() => r.source.close());
      coverage.push({ source: 'io_latency', status: 'up' });
    } else {
      coverage.push({ source: 'io_latency', status: 'unavailable', reason: r.unavailable });
      log(`no block I/O latency histogram: ${r.unavailable}`);
    }
  }
  let profiler: ContinuousProfiler | undefined;
  if (opts.profileHz === undefined) coverage.push({ source: 'profile', status: 'off' });
  else {
    const p = new ContinuousProfiler(opts.host, { hz: opts.profileHz, log, ...opts.profiler }).start();
    profiler = p;
    cleanups.push(() => p.stop());
    coverage.push({ source: 'profile', status: 'up' });
    log(`continuous profiling at ${opts.profileHz} Hz`);
  }
  let triggered: TriggeredProfiler | undefined;
  if (opts.triggeredProfiles !== false && opts.rules.some((r) => r.enabled && r.profile)) {
    const tp = new TriggeredProfiler(opts.host, { log, window: opts.profiler?.window });
    triggered = tp;
    cleanups.push(() => tp.stop());
  }
  let kernelLog: KernelLogSource | undefined;
  if (opts.kernelLog === false) coverage.push({ source: 'kernel_log', status: 'off' });
  else {
    const r = await KernelLogSource.open(opts.host, opts.kernelLog ? { reader: opts.kernelLog } : {});
    if ('source' in r) {
      kernelLog = r.source;
      metrics.initLogKinds(r.source.knownKinds());
      cleanups.push(() => r.source.close());
      coverage.push({ source: 'kernel_log', status: 'up' });
    } else {
      coverage.push({ source: 'kernel_log', status: 'unavailable', reason: r.unavailable });
      log(`no kernel-log anomalies: ${r.unavailable}`);
    }
  }
  for (const c of coverage) if (c.status !== 'off') metrics.collectorUp.set({ source: c.source }, c.status === 'up' ? 1 : 0);

  const collector = new Collector(opts.host, { cgroupMaxDepth: opts.cgroupMaxDepth, runqueue, kernelLog, ioLatency });
  const evaluator = new AlertEvaluator(opts.rules);
  let stopped = false;
  let busy = false;
  let helloDone = false;
  let bootsSent = opts.boots === false;

  const hello = async (): Promise<void> => {
    if (!client || helloDone) return;
    const info = opts.host.info();
    const r = await client.hello({ hostname: info.hostname, kernel: info.kernel, agentVersion: VERSION, diagnoses: opts.registry.names(), intervalS: opts.intervalMs / 1000, ...(opts.labels && Object.keys(opts.labels).length > 0 ? { labels: opts.labels } : {}) });
    helloDone = true;
    log(`connected to ${opts.console!.url} as node ${r.name}`);
  };

  /** Once per start, after the hello: the boots (a failure is retried at the next tick). */
  const reportBoots = async (): Promise<void> => {
    if (!client || bootsSent || !helloDone) return;
    const source = typeof opts.boots === 'function' ? opts.boots : () => agentBoots(opts.host);
    let boots: BootReport[];
    try {
      boots = await source();
    } catch (err) {
      bootsSent = true;
      log(`boots not read: ${(err as Error).message}`);
      return;
    }
    const stored = await client.boots(boots);
    bootsSent = true;
    const crashes = boots.filter((b) => b.cause !== 'running' && b.cause !== 'clean-shutdown');
    if (stored > 0) log(`reported ${boots.length} boots (${crashes.length} not ended cleanly)`);
  };

  const runDiagnosis = async (name: string, rawParams: unknown, onProgress: (step: string, done: number, total: number) => void): Promise<{ status: 'done'; report: { schema: string; [k: string]: unknown } } | { status: 'failed'; error: string }> => {
    const v = opts.registry.validate(name, rawParams);
    if (!v.ok) return { status: 'failed', error: v.reason };
    try {
      const doc = await v.entry.run(opts.host, v.params, onProgress);
      metrics.tasksTotal.inc({ diagnosis: name, status: 'done' });
      return { status: 'done', report: doc };
    } catch (err) {
      metrics.tasksTotal.inc({ diagnosis: name, status: 'failed' });
      return { status: 'failed', error: (err as Error).message || String(err) };
    }
  };

  const autoDiagnose = async (ev: FiredEvent): Promise<void> => {
    const ad = ev.ruleDef.autoDiagnose;
    if (!ad || ev.state !== 'firing') return;
    const params = autoDiagnoseParams(ev);
    log(`rule ${ev.rule} fired: running ${ad.diagnosis}`);
    const result = await runDiagnosis(ad.diagnosis, params, () => undefined);
    client?.enqueueReport({ diagnosis: ad.diagnosis, params, rule: ev.rule, result });
    await client?.flush();
  };

  const webhook = async (events: FiredEvent[]): Promise<void> => {
    if (!opts.webhook || events.length === 0) return;
    const info = opts.host.info();
    try {
      const res = await fetch(opts.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ node: info.hostname, events: events.map(({ ruleDef: _r, ...e }) => e) }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) log(`webhook answered ${res.status}`);
    } catch (err) {
      log(`webhook failed: ${(err as Error).message}`);
    }
  };

  // The previous snapshot: the sample's network deltas are over the interval since it.
  let prevSnap: Snapshot | undefined;
  const tick = async (): Promise<void> => {
    let snap;
    try {
      snap = await collector.collect();
    } catch (err) {
      metrics.collectErrors.inc({ source: 'meminfo' });
      log(`collection failed: ${(err as Error).message}`);
      return;
    }
    metrics.update(snap);
    let healthNow: HealthAnalysis | undefined;
    if (health) {
      const cpu0 = process.cpuUsage();
      try {
        healthNow = await health.update(snap);
        metrics.healthScore.set(healthNow.score);
      } catch (err) {
        metrics.collectErrors.inc({ source: 'health' });
        log(`health score failed: ${(err as Error).message}`);
      } finally {
        // The process's CPU over the update (its reads are awaited, so anything else the process ran in
        // between counts too: an upper bound of the health score's cost).
        const d = process.cpuUsage(cpu0);
        metrics.healthCpu.inc((d.user + d.system) / 1e6);
      }
    }
    if (snap.leak) history.add(snap.ts, snap.leak);
    if (client) metrics.outboxDropped(client.dropped);
    const events = evaluator.evaluate(snap);
    metrics.alertFiring.reset();
    for (const f of evaluator.firing()) metrics.alertFiring.inc({ rule: f.rule, severity: f.severity });
    for (const e of events) log(`alert ${e.state}: ${e.rule}: ${e.message}`);
    if (triggered) for (const e of events) if (e.state === 'firing' && e.ruleDef.profile) triggered.trigger(e.rule, e.ruleDef.profile);
    if (client) {
      const profiles = [...(profiler?.take() ?? []), ...(triggered?.take() ?? [])];
      client.enqueueSample({ ts: new Date(snap.ts).toISOString(), data: { ...sampleOf(snap, 20, prevSnap), ...(healthNow ? { health: healthSummary(healthNow) } : {}), ...(profiles.length > 0 ? { profiles } : {}) } });
      prevSnap = snap;
      client.enqueueAlerts(events.map(({ ruleDef: _r, ...e }) => e));
      metrics.outboxItems.set(client.pending);
      try {
        await hello();
        await client.flush();
        await reportBoots();
      } catch {
        /* console away: the outbox keeps everything */
      }
      metrics.outboxItems.set(client.pending);
    }
    void webhook(events);
    for (const e of events) void autoDiagnose(e).catch((err: unknown) => log(`auto diagnosis failed: ${(err as Error).message}`));
  };

  const poll = async (): Promise<void> => {
    if (!client || busy || stopped) return;
    busy = true;
    try {
      await hello();
      const task = await client.claim();
      if (!task) return;
      log(`running task ${task.id}: ${task.diagnosis}`);
      let last = { step: 'starting', done: 0, total: 1 };
      let running = true;
      const beat = setInterval(() => {
        if (!running) return;
        client.progress(task.id, last.step, last.done, last.total).then(
          (ok) => {
            if (!ok) {
              running = false;
              log(`task ${task.id} is no longer running on the console; its result will be dropped`);
            }
          },
          () => undefined,
        );
      }, Math.max(500, task.heartbeatMs));
      try {
        const result = await runDiagnosis(task.diagnosis, task.params, (step, done, total) => {
          last = { step, done, total };
        });
        client.enqueueResult(task.id, result);
        log(`task ${task.id} ${result.status}`);
      } finally {
        running = false;
        clearInterval(beat);
      }
      await client.flush();
    } catch {
      /* console away: try again at the next poll */
    } finally {
      busy = false;
    }
  };

  let server: Server | undefined;
  let address: RunningAgent['address'];
  if (opts.listen) {
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        metrics.text().then(
          ({ contentType, body }) => {
            res.writeHead(200, { 'content-type': contentType });
            res.end(body);
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`${(err as Error).message}\n`);
          },
        );
      } else if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, version: VERSION, console: client ? client.connected : null, outbox: client?.pending ?? 0, coverage, socket: local?.socket ?? null }));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics\n');
      }
    });
    const s = server;
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.listen!.port, opts.listen!.host, () => resolve());
      });
    } catch (err) {
      await cleanup();
      throw err;
    }
    const a = server.address();
    address = { host: opts.listen.host, port: typeof a === 'object' && a ? a.port : opts.listen.port };
  }

  await tick();
  const timers = [setInterval(() => void tick(), opts.intervalMs)];
  if (kernelLog) {
    const k = kernelLog;
    const t = setInterval(() => {
      try {
        k.poll();
      } catch (err) {
        log(`kernel log: ${(err as Error).message}`);
      }
    }, opts.kernelLogPollMs ?? 2000);
    t.unref();
    timers.push(t);
  }
  if (client) timers.push(setInterval(() => void poll(), opts.pollMs ?? 3000));
  void poll();

  return {
    metrics,
    address,
    client,
    history,
    health,
    local,
    coverage,
    triggered,
    tick,
    stop: async () => {
      stopped = true;
      for (const t of timers) clearInterval(t);
      if (client) await client.flush().catch(() => undefined);
      if (server) {
        const s = server;
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      await cleanup();
    },
  };
}
