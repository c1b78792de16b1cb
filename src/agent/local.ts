/**
 * The agent's local control socket: how the CLI on the same host talks to a running agent.
 *
 * The agent listens on a unix socket (`$OSCOPE_STATE_DIR/agent.sock`, default `/run/oscope/agent.sock`,
 * mode 0600, so only root reaches it) and answers a few JSON requests over HTTP:
 *
 *   GET  /v1/runlatency                   {running, pid, startedAt, thresholds}
 *   GET  /v1/history                      the memory counters it has collected (memleak -c trend)
 *   POST /v1/runlatency/enable  {thresholds, filters}   host the runlatency monitor in the agent
 *   GET  /v1/runlatency/report            the monitor's analysis so far (LatencyAnalysis)
 *   POST /v1/runlatency/disable           stop the monitor, detach what it attached
 *
 * This file holds the contract (paths, bodies) and the client; the server side lives in the agent.
 * A CLI that finds no agent (no socket, or nobody answers) falls back to working alone.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import type { HealthAnalysis } from '../diagnose/health/score.js';
import type { IrqoffMethod } from '../diagnose/latency/bpf.js';
import type { LatencyFilters } from '../diagnose/latency/run.js';
import type { KindThresholds, LatencyAnalysis } from '../diagnose/latency/types.js';

/** One history point for the memleak instant check: unix time in seconds and three counters. */
export interface MemHistoryPoint {
  tS: number;
  slabUnreclaimableBytes: number;
  vmallocBytes: number;
  unaccountedBytes: number;
}

export interface RunlatencyEnableRequest {
  thresholds: KindThresholds;
  filters: LatencyFilters;
  /** How irqoff is measured (default: the agent's lat.irqoffNmi setting). */
  irqoffMethod?: IrqoffMethod;
}

export interface RunlatencyMonitorStatus {
  running: boolean;
  /** The agent's pid (the monitor lives in it). */
  pid: number;
  startedAt?: string;
  thresholds?: KindThresholds;
}

export function agentSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.OSCOPE_STATE_DIR && env.OSCOPE_STATE_DIR !== '' ? env.OSCOPE_STATE_DIR : '/run/oscope';
  return join(dir, 'agent.sock');
}

/** An error the agent answered with (4xx/5xx): its sentence, and the status. */
export class LocalAgentError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'LocalAgentError';
  }
}

export interface LocalAgent {
  readonly socket: string;
  history(): Promise<MemHistoryPoint[]>;
  /** The agent's newest health analysis and its host. */
  health(): Promise<{ analysis: HealthAnalysis; host: { hostname: string; kernel: string } }>;
  runlatencyEnable(req: RunlatencyEnableRequest): Promise<RunlatencyMonitorStatus>;
  runlatencyReport(): Promise<LatencyAnalysis>;
  runlatencyDisable(): Promise<RunlatencyMonitorStatus>;
  runlatencyStatus(): Promise<RunlatencyMonitorStatus>;
}

function call<T>(socket: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let v: unknown;
          try {
            v = text === '' ? {} : JSON.parse(text);
          } catch {
            reject(new LocalAgentError(`the agent answered ${res.statusCode ?? '?'} with something that is not JSON`, res.statusCode ?? 500));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const msg = typeof v === 'object' && v !== null && 'error' in v ? String((v as { error: unknown }).error) : `the agent answered ${res.statusCode}`;
            reject(new LocalAgentError(msg, res.statusCode ?? 500));
          } else resolve(v as T);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`the agent did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Connects to a running agent: resolves to a client when one answers on the socket, to undefined when
 * there is no socket or nobody listens on it (a stale socket of a dead agent).
 */
export async function connectLocalAgent(socket: string = agentSocketPath(), timeoutMs = 10_000): Promise<LocalAgent | undefined> {
  try {
    await call<RunlatencyMonitorStatus>(socket, 'GET', '/v1/runlatency', undefined, 2000);
  } catch (err) {
    if (err instanceof LocalAgentError) {
      /* it answered: it is there */
    } else return undefined;
  }
  return {
    socket,
    health: () => call<{ analysis: HealthAnalysis; host: { hostname: string; kernel: string } }>(socket, 'GET', '/v1/health', undefined, timeoutMs),
    history: async () => (await call<{ points: MemHistoryPoint[] }>(socket, 'GET', '/v1/history', undefined, timeoutMs)).points,
    runlatencyEnable: (req) => call<RunlatencyMonitorStatus>(socket, 'POST', '/v1/runlatency/enable', req, timeoutMs),
    runlatencyReport: () => call<LatencyAnalysis>(socket, 'GET', '/v1/runlatency/report', undefined, timeoutMs),
    runlatencyDisable: () => call<RunlatencyMonitorStatus>(socket, 'POST', '/v1/runlatency/disable', {}, timeoutMs),
    runlatencyStatus: () => call<RunlatencyMonitorStatus>(socket, 'GET', '/v1/runlatency', undefined, timeoutMs),
  };
}
