/**
 * The agent's side of the console protocol (src/console/API.md), with an outbox: samples, alert events
 * and task results are queued and sent in order; when the console is away they wait and are sent when
 * it is back. The console stores a re-sent sample, event or result once, so a send whose acknowledgement
 * was lost is simply sent again: delivery is exactly once as far as the console's store is concerned.
 *
 * The outbox is a small SQLite file (`<state dir>/outbox.db`, WAL) when `outboxPath` is given, so what
 * waits survives an agent restart; in memory otherwise. It is bounded per kind (samples, results,
 * alert batches): when full, the oldest item of that kind is dropped and counted (`dropped`). The file
 * remembers which console (URL and token) it was filled for: items queued for another console are
 * dropped when the agent starts with a different one, never sent to it.
 */
import { createHash, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AlertEvent, ClaimedTask, Sample, TaskResult } from '../console/protocol.js';
import type { BootReport } from '../contract/agent-wire.js';

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

/** Bound classes: samples, alert batches, diagnosis results (results and reports together). */
type BoundKind = 'sample' | 'alerts' | 'result';

export interface ClientOptions {
  url: string;
  token: string;
  /** Most samples kept while the console is away (default 2880: 12 h at 15 s). */
  maxSamples?: number;
  /** Most results/reports kept while the console is away (default 50). */
  maxResults?: number;
  /** Most alert batches kept while the console is away (default 1000). */
  maxAlertBatches?: number;
  /** The outbox file (SQLite); undefined = in memory (lost on exit). */
  outboxPath?: string;
  log?: (line: string) => void;
  timeoutMs?: number;
}

interface Row {
  seq: number;
  kind: BoundKind | 'report';
  body: string;
}

/** Most samples sent in one request (the console accepts up to 1000). */
const SAMPLES_PER_REQUEST = 500;

export class ConsoleClient {
  private readonly base: string;
  private readonly db: Database.Database;
  private flushing: Promise<void> | undefined;
  /** Rows being sent (never dropped by the bounds while in flight). */
  private inFlight = new Set<number>();
  private readonly stmt: {
    insert: Database.Statement<[string, string]>;
    head: Database.Statement<[], Row>;
    samplesFrom: Database.Statement<[number, number], Row>;
    del: Database.Statement<[number]>;
    count: Database.Statement<[], { n: number }>;
    countKind: Database.Statement<[string, string], { n: number }>;
    oldestKind: Database.Statement<[string, string, number], { seq: number }>;
  };
  /** True after the last request reached the console. */
  connected = false;
  /** Items dropped because the outbox was full, per kind, since start. */
  readonly dropped: Record<BoundKind, number> = { sample: 0, alerts: 0, result: 0 };

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.db = new Database(opts.outboxPath ?? ':memory:');
    if (opts.outboxPath) {
      this.db.pragma('journal_mode = WAL');
      // FULL: an item the agent queued is on disk before the next one is taken, even on power loss.
      this.db.pragma('synchronous = FULL');
    }
    this.db.exec('CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const owner = `${this.base} ${createHash('sha256').update(opts.token).digest('hex').slice(0, 16)}`;
    const was = (this.db.prepare("SELECT value FROM meta WHERE key = 'console'").get() as { value: string } | undefined)?.value;
    if (was !== owner) {
      const n = (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      if (was !== undefined && n > 0) opts.log?.(`the outbox held ${n} items for another console (${was.split(' ')[0]}): dropped`);
      this.db.transaction(() => {
        this.db.exec('DELETE FROM outbox');
        this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('console', ?)").run(owner);
      })();
    }
    this.stmt = {
      insert: this.db.prepare('INSERT INTO outbox (kind, body) VALUES (?, ?)'),
      head: this.db.prepare('SELECT seq, kind, body FROM outbox ORDER BY seq LIMIT 1'),
      samplesFrom: this.db.prepare("SELECT seq, kind, body FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?"),
      del: this.db.prepare('DELETE FROM outbox WHERE seq = ?'),
      count: this.db.prepare('SELECT count(*) AS n FROM outbox'),
      countKind: this.db.prepare('SELECT count(*) AS n FROM outbox WHERE kind IN (?, ?)'),
      oldestKind: this.db.prepare('SELECT seq FROM outbox WHERE kind IN (?, ?) ORDER BY seq LIMIT 1 OFFSET ?'),
    } as unknown as ConsoleClient['stmt'];
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

  hello(info: { hostname: string; kernel: string; agentVersion: string; diagnoses: string[]; intervalS: number; labels?: Record<string, string> }): Promise<{ nodeId: string; name: string }> {
    return this.request('POST', '/api/agent/hello', info);
  }

  /** Reports boots (the current one and why earlier ones ended); the console stores each once per node and boot id. */
  async boots(boots: BootReport[]): Promise<number> {
    return (await this.request<{ stored: number }>('POST', '/api/agent/boots', { boots })).stored;
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

  /** Items waiting (one per sample, alert batch, result or report). */
  get pending(): number {
    return this.db.open ? this.stmt.count.get()!.n : 0;
  }

  private push(kind: Row['kind'], body: unknown): void {
    if (!this.db.open) {
      // Closed (the agent is stopping): a collection or task that finishes now is not queued.
      this.opts.log?.(`outbox closed: ${kind} not queued`);
      return;
    }
    this.stmt.insert.run(kind, JSON.stringify(body));
    this.trim(kind === 'report' ? 'result' : kind);
  }

  enqueueSample(s: Sample): void {
    this.push('sample', s);
  }

  enqueueAlerts(events: AlertEvent[]): void {
    if (events.length > 0) this.push('alerts', events);
  }

  enqueueResult(taskId: string, result: TaskResult): void {
    this.push('result', { taskId, result });
  }

  enqueueReport(body: { diagnosis: string; params: unknown; rule: string; result: TaskResult }): void {
    // The id makes a re-send after a lost acknowledgement land once.
    this.push('report', { id: randomUUID(), ...body });
  }

  /** Drops the oldest items of a kind beyond its bound (never one in flight). */
  private trim(kind: BoundKind): void {
    const max = kind === 'sample' ? (this.opts.maxSamples ?? 2880) : kind === 'result' ? (this.opts.maxResults ?? 50) : (this.opts.maxAlertBatches ?? 1000);
    const other = kind === 'result' ? 'report' : kind;
    let n = this.stmt.countKind.get(kind, other)!.n;
    let skip = 0;
    while (n > max) {
      const row = this.stmt.oldestKind.get(kind, other, skip);
      if (!row) break;
      if (this.inFlight.has(row.seq)) {
        skip++;
        continue;
      }
      this.stmt.del.run(row.seq);
      this.dropped[kind]++;
      n--;
      if (kind !== 'sample') this.opts.log?.(`outbox full: dropped the oldest ${kind === 'result' ? 'diagnosis result' : 'alert batch'}`);
    }
  }

  /** The next request to send: the head item, with the samples right behind it merged in one batch. */
  private next(): { seqs: number[]; item: OutboxItem } | undefined {
    if (!this.db.open) return undefined;
    const head = this.stmt.head.get();
    if (!head) return undefined;
    switch (head.kind) {
      case 'sample': {
        const rows = this.stmt.samplesFrom.all(head.seq, SAMPLES_PER_REQUEST);
        const run: Row[] = [];
        for (const r of rows) {
          if (r.kind !== 'sample') break;
          run.push(r);
        }
        return { seqs: run.map((r) => r.seq), item: { kind: 'samples', samples: run.map((r) => JSON.parse(r.body) as Sample) } };
      }
      case 'alerts':
        return { seqs: [head.seq], item: { kind: 'alerts', events: JSON.parse(head.body) as AlertEvent[] } };
      case 'result': {
        const b = JSON.parse(head.body) as { taskId: string; result: TaskResult };
        return { seqs: [head.seq], item: { kind: 'result', taskId: b.taskId, result: b.result } };
      }
      default:
        return { seqs: [head.seq], item: { kind: 'report', body: JSON.parse(head.body) as Extract<OutboxItem, { kind: 'report' }>['body'] } };
    }
  }

  /** Sends what is queued, in order; stops at the first network or server error (retried next time). */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    for (;;) {
      const n = this.next();
      if (!n) return;
      const { seqs, item } = n;
      for (const s of seqs) this.inFlight.add(s);
      try {
        if (item.kind === 'samples') await this.request('POST', '/api/agent/samples', { samples: item.samples });
        else if (item.kind === 'alerts') await this.request('POST', '/api/agent/alerts', { events: item.events });
        else if (item.kind === 'result') await this.request('POST', `/api/agent/tasks/${item.taskId}/result`, item.result);
        else await this.request('POST', '/api/agent/reports', item.body);
      } catch (err) {
        // A 4xx will not get better by sending again (bad data, a task that timed out): drop it and say so.
        if (err instanceof ConsoleHttpError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429) {
          this.opts.log?.(`console refused ${item.kind}: ${err.message}`);
          this.remove(seqs);
          continue;
        }
        return;
      } finally {
        for (const s of seqs) this.inFlight.delete(s);
      }
      this.remove(seqs);
    }
  }

  private remove(seqs: number[]): void {
    if (!this.db.open) return;
    this.db.transaction(() => {
      for (const s of seqs) this.stmt.del.run(s);
    })();
  }

  /** Closes the outbox file (what is queued stays in it for the next start). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
