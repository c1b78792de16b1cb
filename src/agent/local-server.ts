/**
 * The server side of the agent's local control socket (contract and client: ./local.ts).
 *
 * - The socket lives in the state directory (created 0700 when missing) and is made 0600 before the
 *   first request can be served: only root reaches it.
 * - A socket left by an agent that died (SIGKILL) is replaced; a socket some live agent answers on is
 *   not: starting a second agent with the same state directory fails with one sentence.
 * - The runlatency monitor lives in this process: `enable` starts a LatencySession (BPF links, fd-scoped:
 *   a SIGKILL detaches it), `report` snapshots it, `disable` closes it. One monitor at a time (409).
 * - Bodies are validated with zod; bad input answers 400 with the reason and changes nothing.
 */
import type { HealthAnalysis } from '../diagnose/health/score.js';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { z } from 'zod';
import type { Host } from '../host/host.js';
import { LatencySession, LatencyUnavailableError, irqoffMethodFrom } from '../diagnose/latency/run.js';
import { LATENCY_KINDS } from '../diagnose/latency/types.js';
import { resolveThresholds } from '../diagnose/thresholds.js';
import type { MemHistory } from './history.js';
import type { RunlatencyMonitorStatus } from './local.js';
import { zodReason } from './registry.js';

const MAX_BODY = 64 * 1024;

const ThresholdsSchema = z
  .object(Object.fromEntries(LATENCY_KINDS.map((k) => [k, z.number().min(0).max(600_000)])) as Record<(typeof LATENCY_KINDS)[number], z.ZodNumber>)
  .strict()
  // A monitor lives for hours inside the agent: a threshold below 1 ms turns most wakeups into events
  // and would starve the agent's own work (collection, metrics), so 0 (off) or at least 1 ms.
  .refine((t) => Object.values(t).every((v) => v === 0 || v >= 1), { message: 'thresholds are 0 (off) or at least 1 ms for a monitor in the agent' })
  .refine((t) => Object.values(t).some((v) => v > 0), { message: 'at least one kind needs a threshold above 0' });

const FiltersSchema = z
  .object({
    pid: z.number().int().min(1).max(4_194_304).optional(),
    cgroup: z.string().min(1).max(4096).optional(),
    container: z.string().min(1).max(256).optional(),
    cpu: z.number().int().min(0).max(65_535).optional(),
  })
  .strict();

export const RunlatencyEnableSchema = z
  .object({ thresholds: ThresholdsSchema, filters: FiltersSchema.default({}), irqoffMethod: z.enum(['auto', 'nmi', 'cpu-clock']).optional() })
  .strict();

export interface LocalServerOptions {
  /** The socket's path (`<state dir>/agent.sock`). */
  socket: string;
  host: Host;
  history: MemHistory;
  /** The agent's newest health analysis (GET /v1/health). */
  health?: () => HealthAnalysis | undefined;
  log?: (line: string) => void;
  /** For tests: another way to start the monitor's session. */
  startSession?: typeof LatencySession.start;
}

/** Is something answering on this unix socket? (false for a stale socket file or none at all). */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path: socket });
    const done = (v: boolean): void => {
      c.destroy();
      resolve(v);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(2000, () => done(false));
  });
}

export class AgentInUseError extends Error {}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new HttpError(413, `the body is larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

export class LocalServer {
  private server: Server | undefined;
  private session: LatencySession | undefined;
  private starting = false;

  private constructor(private readonly opts: LocalServerOptions) {}

  /** Creates the directory, replaces a stale socket, listens, makes the socket 0600. */
  static async start(opts: LocalServerOptions): Promise<LocalServer> {
    const dir = opts.socket.slice(0, opts.socket.lastIndexOf('/')) || '/';
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let st;
    try {
      st = lstatSync(opts.socket);
    } catch {
      st = undefined;
    }
    if (st && !st.isSocket()) throw new AgentInUseError(`${opts.socket} exists and is not a socket: remove it or choose another --state-dir`);
    if (st) {
      if (await answers(opts.socket)) throw new AgentInUseError(`another agent answers on ${opts.socket}: stop it first, or give this one another --state-dir`);
      unlinkSync(opts.socket);
    }
    const s = new LocalServer(opts);
    const server = createServer((req, res) => void s.handle(req, res));
    // A connect needs write permission on the socket: with the usual umask (022) only root has it from
    // the start, and the mode is narrowed to 0600 before the caller learns the socket is up.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.socket, () => resolve());
    });
    chmodSync(opts.socket, 0o600);
    s.server = server;
    return s;
  }

  get socket(): string {
    return this.opts.socket;
  }

  status(): RunlatencyMonitorStatus {
    return this.session ? { running: true, pid: process.pid, startedAt: this.session.startedAt, thresholds: this.session.thresholds } : { running: false, pid: process.pid };
  }

  private async route(method: string, path: string, req: IncomingMessage): Promise<unknown> {
    const key = `${method} ${path}`;
    switch (key) {
      case 'GET /v1/runlatency':
        return this.status();
      case 'GET /v1/history':
        return { points: this.opts.history.points() };
      case 'POST /v1/runlatency/enable': {
        const r = RunlatencyEnableSchema.safeParse(await readBody(req));
        if (!r.success) throw new HttpError(400, `invalid runlatency enable request: ${zodReason(r.error)}`);
        if (this.session || this.starting) throw new HttpError(409, `a runlatency monitor already runs in this agent (pid ${process.pid}, since ${this.session?.startedAt ?? 'now'}): disable it first`);
        this.starting = true;
        try {
          const start = this.opts.startSession ?? LatencySession.start.bind(LatencySession);
          const th = resolveThresholds();
          this.session = await start(this.opts.host, {
            thresholds: r.data.thresholds,
            filters: r.data.filters,
            samplePeriodMs: th['lat.samplePeriodMs'],
            irqoffMethod: r.data.irqoffMethod ?? irqoffMethodFrom(th),
          });
        } catch (err) {
          if (err instanceof LatencyUnavailableError) throw new HttpError(422, err.message);
          throw err;
        } finally {
          this.starting = false;
        }
        this.opts.log?.(`runlatency monitor enabled (${LATENCY_KINDS.map((k) => `${k}=${r.data.thresholds[k]}ms`).join(' ')})`);
        return this.status();
      }
      case 'GET /v1/health': {
        const a = this.opts.health?.();
        if (!a) throw new HttpError(409, 'this agent has no health score yet (it computes one every interval)');
        const info = this.opts.host.info();
        return { analysis: a, host: { hostname: info.hostname, kernel: info.kernel } };
      }
      case 'GET /v1/runlatency/report':
        if (!this.session) throw new HttpError(409, 'no runlatency monitor runs in this agent: enable one first');
        return await this.session.snapshot();
      case 'POST /v1/runlatency/disable':
        await readBody(req);
        if (!this.session) throw new HttpError(409, 'no runlatency monitor runs in this agent');
        this.session.close();
        this.session = undefined;
        this.opts.log?.('runlatency monitor disabled');
        return this.status();
      default:
        if (['/v1/runlatency', '/v1/history', '/v1/health', '/v1/runlatency/enable', '/v1/runlatency/report', '/v1/runlatency/disable'].includes(path)) throw new HttpError(405, `${method} is not allowed on ${path}`);
        throw new HttpError(404, `no such endpoint: ${path}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    let status = 200;
    let body: unknown;
    try {
      body = await this.route(req.method ?? 'GET', path, req);
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      body = { error: (err as Error).message || String(err) };
      if (status === 500) this.opts.log?.(`local socket: ${req.method} ${path}: ${(err as Error).message}`);
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Closes the monitor, stops listening and removes the socket. */
  async stop(): Promise<void> {
    this.session?.close();
    this.session = undefined;
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    try {
      unlinkSync(this.opts.socket);
    } catch {
      /* already gone */
    }
  }
}
