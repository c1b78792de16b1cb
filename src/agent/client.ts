/**
 * The agent's side of the console protocol (src/console/API.md), with an outbox: samples, alert events
 * and task results are queued and sent in order; when the console is away they wait (bounded: the
 * oldest samples go first, results last) and are sent when it is back. The console stores a re-sent
 * sample, event or result once, so a send whose acknowledgement was lost is simply sent again.
 */
import type { AlertEvent, ClaimedTask, Sample, TaskResult } from '../console/protocol.js';

export class ConsoleHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type OutboxItem =
  | { kind: 'samples'; samples: Sample[] }
  | { kind: 'alerts'; events: AlertEvent[] }
  | { kind: 'result'; taskId: string; result: TaskResult }
  | { kind: 'report'; body: { diagnosis: string; params: unknown; rule: string; result: TaskResult } };

export interface ClientOptions {
  url: string;
  token: string;
  /** Most samples kept while the console is away (default 2880: 12 h at 15 s). */
  maxSamples?: number;
  /** Most results/reports kept while the console is away (default 50). */
  maxResults?: number;
  log?: (line: string) => void;
  timeoutMs?: number;
}

export class ConsoleClient {
  private readonly base: string;
  private readonly queue: OutboxItem[] = [];
  private flushing: Promise<void> | undefined;
  /** The item being sent (never appended to while in flight). */
  private inFlight: OutboxItem | undefined;
  /** True after the last request reached the console. */
  connected = false;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.opts.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      this.connected = false;
      throw err;
    }
    this.connected = true;
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        /* not JSON */
      }
      throw new ConsoleHttpError(res.status, `${method} ${path}: ${res.status} ${msg}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  hello(info: { hostname: string; kernel: string; agentVersion: string; diagnoses: string[]; intervalS: number }): Promise<{ nodeId: string; name: string }> {
    return this.request('POST', '/api/agent/hello', info);
  }

  async claim(): Promise<ClaimedTask | null> {
    return (await this.request<{ task: ClaimedTask | null }>('POST', '/api/agent/tasks/claim', {})).task;
  }

  /** false when the console says the task is no longer running (cancelled or timed out). */
  async progress(taskId: string, step: string, done: number, total: number): Promise<boolean> {
    try {
      await this.request('POST', `/api/agent/tasks/${taskId}/progress`, { step, done, total });
      return true;
    } catch (err) {
      if (err instanceof ConsoleHttpError && (err.status === 409 || err.status === 404)) return false;
      throw err;
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueueSample(s: Sample): void {
    const last = this.queue.at(-1);
    if (last?.kind === 'samples' && last !== this.inFlight && last.samples.length < 500) last.samples.push(s);
    else this.queue.push({ kind: 'samples', samples: [s] });
    this.trim();
  }

  enqueueAlerts(events: AlertEvent[]): void {
    if (events.length > 0) this.queue.push({ kind: 'alerts', events });
    this.trim();
  }

  enqueueResult(taskId: string, result: TaskResult): void {
    this.queue.push({ kind: 'result', taskId, result });
    this.trim();
  }

  enqueueReport(body: { diagnosis: string; params: unknown; rule: string; result: TaskResult }): void {
    this.queue.push({ kind: 'report', body });
    this.trim();
  }

  private trim(): void {
    const maxSamples = this.opts.maxSamples ?? 2880;
    let samples = this.queue.reduce((n, i) => n + (i.kind === 'samples' ? i.samples.length : 0), 0);
    while (samples > maxSamples) {
      const i = this.queue.findIndex((x) => x.kind === 'samples' && x !== this.inFlight);
      const item = this.queue[i];
      if (!item || item.kind !== 'samples') break;
      item.samples.shift();
      samples--;
      if (item.samples.length === 0) this.queue.splice(i, 1);
    }
    const maxResults = this.opts.maxResults ?? 50;
    const heavy = (x: OutboxItem): boolean => x.kind === 'result' || x.kind === 'report';
    while (this.queue.filter(heavy).length > maxResults) {
      const i = this.queue.findIndex(heavy);
      this.opts.log?.('outbox full: dropping the oldest diagnosis result');
      this.queue.splice(i, 1);
    }
    const alerts = this.queue.filter((x) => x.kind === 'alerts').length;
    if (alerts > 1000) this.queue.splice(this.queue.findIndex((x) => x.kind === 'alerts'), 1);
  }

  /** Sends what is queued, in order; stops at the first network or server error (retried next time). */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      this.inFlight = item;
      try {
        if (item.kind === 'samples') await this.request('POST', '/api/agent/samples', { samples: item.samples });
        else if (item.kind === 'alerts') await this.request('POST', '/api/agent/alerts', { events: item.events });
        else if (item.kind === 'result') await this.request('POST', `/api/agent/tasks/${item.taskId}/result`, item.result);
        else await this.request('POST', '/api/agent/reports', item.body);
      } catch (err) {
        // A 4xx will not get better by sending again (bad data, a task that timed out): drop it and say so.
        if (err instanceof ConsoleHttpError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429) {
          this.opts.log?.(`console refused ${item.kind}: ${err.message}`);
          this.queue.shift();
          continue;
        }
        return;
      } finally {
        this.inFlight = undefined;
      }
      this.queue.shift();
    }
  }
}
