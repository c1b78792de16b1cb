/**
 * The Store implementation over a small SQL driver. Both engines run the same statements, written with
 * `?` placeholders (the PostgreSQL driver numbers them); the only engine-specific parts live in the
 * drivers (transactions, the unique-violation error, the claim query's row locking).
 */
import { randomUUID } from 'node:crypto';
import { WIRE_LIMITS } from '../../contract/agent-wire.js';
import { type Dialect, MIGRATIONS } from './migrations.js';
import {
  type AlertFilter,
  type ApiTokenRow,
  type TokenScope,
  type AlertMessages,
  type AlertRow,
  type BootRow,
  CRASH_CAUSES,
  type CrashFilter,
  type CrashGroupRow,
  type FinishTask,
  type LoginAttempt,
  type LoginAttemptPolicy,
  type LoginThrottle,
  type NewTask,
  type NodeRow,
  type SampleRow,
  type ProfileRow,
  type Store,
  StoreConflictError,
  type TaskProgress,
  type TaskRow,
  type TaskStatus,
  type UserRole,
  type UserRow,
} from './types.js';

export type Row = Record<string, unknown>;
export type Param = string | number | null;

/** Thrown by drivers for a UNIQUE constraint violation. */
export class UniqueViolation extends Error {}

export interface SqlExec {
  all(sql: string, params?: Param[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: Param[]): Promise<number>;
}

export interface SqlDriver extends SqlExec {
  readonly dialect: Dialect;
  /** Runs fn in one transaction (serialised with every other statement on SQLite). */
  tx<T>(fn: (q: SqlExec) => Promise<T>): Promise<T>;
  /** Runs fn holding an exclusive lock for migrations (an advisory lock on PostgreSQL). */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const num = (v: unknown): number => Number(v);

/** The wait after the n-th counted attempt of a streak: none for the free ones, then doubling from the base, capped. */
export function delayAfter(n: number, p: LoginAttemptPolicy): number {
  if (n < p.free) return 0;
  return Math.min(p.backoffMaxMs, p.backoffBaseMs * 2 ** Math.min(40, n - p.free));
}

/** The throttle key of one (user name, client address) pair; JSON keeps any name and address apart. */
export function userPairKey(username: string, address: string): string {
  return `pair:${JSON.stringify([username.toLowerCase(), address])}`;
}

function userPairPrefix(username: string): string {
  return `pair:${JSON.stringify([username.toLowerCase()]).slice(0, -1)},`;
}
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

function userRow(r: Row): UserRow {
  return { id: str(r.id), username: str(r.username), passwordHash: str(r.password_hash), role: r.role === 'viewer' ? 'viewer' : 'admin', createdAt: num(r.created_at) };
}

/**
 * A node's columns; its latest sample only when it is within the sample limit (one stored before the
 * limits existed may be megabytes: it reads as an empty sample).
 */
const NODE_COLUMNS = `id, name, token_hash, created_at, last_seen_at, info, latest_ts, CASE WHEN length(latest) > ${WIRE_LIMITS.sampleDataBytes} THEN '{}' ELSE latest END AS latest`;

function nodeRow(r: Row): NodeRow {
  return {
    id: str(r.id),
    name: str(r.name),
    tokenHash: str(r.token_hash),
    createdAt: num(r.created_at),
    lastSeenAt: numOrNull(r.last_seen_at),
    info: json<Record<string, unknown>>(r.info, {}),
    latest: r.latest_ts === null || r.latest_ts === undefined ? null : { ts: num(r.latest_ts), data: json<Record<string, unknown>>(r.latest, {}) },
  };
}

function apiTokenRow(r: Row): ApiTokenRow {
  return {
    id: str(r.id),
    userId: str(r.user_id),
    username: str(r.token_username ?? ''),
    name: str(r.name),
    scope: r.scope === 'diagnose' ? 'diagnose' : 'read',
    tokenHash: str(r.token_hash),
    createdBy: str(r.created_by),
    createdAt: num(r.created_at),
    lastUsedAt: numOrNull(r.last_used_at),
  };
}

function taskRow(r: Row): TaskRow {
  return {
    id: str(r.id),
    nodeId: str(r.node_id),
    diagnosis: str(r.diagnosis),
    params: json<unknown>(r.params, {}),
    paramsKey: str(r.params_key),
    status: str(r.status) as TaskStatus,
    createdBy: str(r.created_by),
    createdAt: num(r.created_at),
    pickupDeadlineAt: num(r.pickup_deadline_at),
    startedAt: numOrNull(r.started_at),
    leaseUntil: numOrNull(r.lease_until),
    runDeadlineAt: numOrNull(r.run_deadline_at),
    finishedAt: numOrNull(r.finished_at),
    progress: json<TaskProgress | null>(r.progress, null),
    error: strOrNull(r.error),
    reportSchema: strOrNull(r.report_schema),
  };
}

function bootRow(r: Row): BootRow {
  return {
    nodeId: str(r.node_id),
    bootId: str(r.boot_id),
    startedAt: numOrNull(r.started_at),
    endedAt: numOrNull(r.ended_at),
    at: num(r.at),
    cause: str(r.cause),
    title: str(r.title ?? ''),
    signature: str(r.signature ?? ''),
    stack: json<string[] | null>(r.stack, null),
    kernel: str(r.kernel ?? ''),
    source: str(r.source),
    reportedAt: num(r.reported_at),
  };
}

/** Most crash rows one grouping reads (crashes are rare: 500 nodes with 20 crashes each is 10 000). */
const CRASH_ROWS_MAX = 100_000;

function alertRow(r: Row): AlertRow {
  return {
    id: str(r.id),
    nodeId: str(r.node_id),
    rule: str(r.rule),
    severity: str(r.severity) as AlertRow['severity'],
    state: str(r.state) as AlertRow['state'],
    ts: num(r.ts),
    message: str(r.message),
    messages: json<AlertMessages | null>(r.messages, null),
    data: json<Record<string, unknown>>(r.data, {}),
  };
}

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';

  constructor(private readonly db: SqlDriver) {
    this.kind = db.dialect;
  }

  async migrate(): Promise<number> {
    return this.db.withMigrationLock(async () => {
      await this.db.run(`CREATE TABLE IF NOT EXISTS oscope_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const done = new Set((await this.db.all(`SELECT version FROM oscope_schema_migrations`)).map((r) => num(r.version)));
      let version = done.size > 0 ? Math.max(...done) : 0;
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await this.db.tx(async (q) => {
          if (m.check) await m.check(q);
          for (const stmt of m.sql(this.db.dialect)) await q.run(stmt);
          await q.run(`INSERT INTO oscope_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, Date.now()]);
        });
        version = m.version;
      }
      return version;
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // --- users and sessions ---

  async countUsers(): Promise<number> {
    const r = await this.db.all(`SELECT COUNT(*) AS n FROM users`);
    return num(r[0]?.n ?? 0);
  }

  async createUser(username: string, passwordHash: string, now: number, role: UserRole = 'admin'): Promise<UserRow> {
    const id = randomUUID();
    try {
      await this.db.run(`INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)`, [id, username, passwordHash, role, now]);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new StoreConflictError(`user "${username}" already exists`);
      throw err;
    }
    return { id, username, passwordHash, role, createdAt: now };
  }

  async listUsers(): Promise<UserRow[]> {
    return (await this.db.all(`SELECT * FROM users ORDER BY username`)).map(userRow);
  }

  async deleteUser(id: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      // Lock the admin rows (PostgreSQL) so two admins removing each other cannot both succeed.
      const admins = await q.all(`SELECT id FROM users WHERE role = 'admin'${this.db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`);
      const target = await q.all(`SELECT role FROM users WHERE id = ?`, [id]);
      if (!target[0]) return false;
      if (target[0].role === 'admin' && admins.length <= 1) throw new StoreConflictError('the last admin cannot be removed');
      await q.run(`DELETE FROM sessions WHERE user_id = ?`, [id]);
      await q.run(`DELETE FROM api_tokens WHERE user_id = ?`, [id]);
      return (await q.run(`DELETE FROM users WHERE id = ?`, [id])) > 0;
    });
  }

  async setUserPassword(id: string, passwordHash: string, keepSessionHash?: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const n = await q.run(`UPDATE users SET password_hash = ? WHERE id = ?`, [passwordHash, id]);
      if (n === 0) return false;
      await q.run(`DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, [id, keepSessionHash ?? '']);
      return true;
    });
  }

  // --- login throttling ---

  async getLoginThrottle(key: string): Promise<LoginThrottle | undefined> {
    const r = await this.db.all(`SELECT failures, window_start FROM login_throttle WHERE throttle_key = ?`, [key]);
    return r[0] ? { failures: num(r[0].failures), windowStart: num(r[0].window_start) } : undefined;
  }

  async recordLoginFailure(key: string, now: number, windowStartAfter: number): Promise<LoginThrottle> {
    // One statement, so concurrent failures (also from other consoles on PostgreSQL) all count.
    const r = await this.db.all(
      `INSERT INTO login_throttle (throttle_key, failures, window_start) VALUES (?, 1, ?)
       ON CONFLICT (throttle_key) DO UPDATE SET
         failures = CASE WHEN login_throttle.window_start < ? THEN 1 ELSE login_throttle.failures + 1 END,
         window_start = CASE WHEN login_throttle.window_start < ? THEN ? ELSE login_throttle.window_start END
       RETURNING failures, window_start`,
      [key, now, windowStartAfter, windowStartAfter, now],
    );
    return { failures: num(r[0]?.failures ?? 1), windowStart: num(r[0]?.window_start ?? now) };
  }

  async takeLoginAttempt(key: string, now: number, p: LoginAttemptPolicy): Promise<LoginAttempt> {
    // One UPSERT ... RETURNING: concurrent attempts (also from other consoles on PostgreSQL, where the
    // conflicting row is locked) each see the count the previous one left. SET expressions read the row
    // as it was, so `blocked` below is the state before this attempt; a refused attempt changes nothing.
    const C = (v: number): string => `CAST(${Math.trunc(v)} AS BIGINT)`;
    const first = delayAfter(1, p);
    // Only a key in backoff waits (a free attempt's time may be later than this one's on another console).
    const blocked = `(login_throttle.backoff_ms > 0 AND login_throttle.blocked_until > ${C(now)})`;
    const stale = `login_throttle.last_at < ${C(now - p.windowMs)}`;
    const n = `(login_throttle.failures + 1)`;
    const doubled = `(CASE WHEN login_throttle.backoff_ms * 2 > ${C(p.backoffMaxMs)} THEN ${C(p.backoffMaxMs)} WHEN login_throttle.backoff_ms * 2 < ${C(p.backoffBaseMs)} THEN ${C(Math.min(p.backoffBaseMs, p.backoffMaxMs))} ELSE login_throttle.backoff_ms * 2 END)`;
    const next = `(CASE WHEN ${stale} THEN ${C(first)} WHEN ${n} < ${C(p.free)} THEN ${C(0)} WHEN ${n} = ${C(p.free)} THEN ${C(delayAfter(p.free, p))} ELSE ${doubled} END)`;
    const r = await this.db.all(
      `INSERT INTO login_throttle (throttle_key, failures, window_start, last_at, blocked_until, backoff_ms, refused) VALUES (?, 1, ${C(now)}, ${C(now)}, ${C(now + first)}, ${C(first)}, 0)
       ON CONFLICT (throttle_key) DO UPDATE SET
         refused = CASE WHEN ${blocked} THEN 1 ELSE 0 END,
         failures = CASE WHEN ${blocked} THEN login_throttle.failures WHEN ${stale} THEN 1 ELSE ${n} END,
         window_start = CASE WHEN ${blocked} THEN login_throttle.window_start WHEN ${stale} THEN ${C(now)} ELSE login_throttle.window_start END,
         last_at = CASE WHEN ${blocked} THEN login_throttle.last_at ELSE ${C(now)} END,
         backoff_ms = CASE WHEN ${blocked} THEN login_throttle.backoff_ms ELSE ${next} END,
         blocked_until = CASE WHEN ${blocked} THEN login_throttle.blocked_until ELSE ${C(now)} + ${next} END
       RETURNING failures, blocked_until, refused`,
      [key],
    );
    const row = r[0] ?? {};
    return { allowed: num(row.refused ?? 0) === 0, attempts: num(row.failures ?? 1), blockedUntil: num(row.blocked_until ?? 0) };
  }

  async refundLoginAttempt(key: string): Promise<void> {
    await this.db.run(`UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = ? AND failures > 0`, [key]);
  }

  async clearUserLoginThrottles(username: string): Promise<number> {
    const prefix = userPairPrefix(username);
    return this.db.run(`DELETE FROM login_throttle WHERE throttle_key = ? OR substr(throttle_key, 1, ?) = ?`, [`user:${username.toLowerCase()}`, prefix.length, prefix]);
  }

  async clearLoginThrottle(key: string): Promise<void> {
    await this.db.run(`DELETE FROM login_throttle WHERE throttle_key = ?`, [key]);
  }

  pruneLoginThrottles(before: number): Promise<number> {
    return this.db.run(`DELETE FROM login_throttle WHERE window_start < ? AND last_at < ? AND blocked_until < ?`, [before, before, before]);
  }

  async getUserByName(username: string): Promise<UserRow | undefined> {
    const r = await this.db.all(`SELECT * FROM users WHERE lower(username) = lower(?)`, [username]);
    return r[0] ? userRow(r[0]) : undefined;
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = await this.db.all(`SELECT * FROM users WHERE id = ?`, [id]);
    return r[0] ? userRow(r[0]) : undefined;
  }

  async createSession(idHash: string, userId: string, now: number, expiresAt: number): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE expires_at < ?`, [now]);
    await this.db.run(`INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`, [idHash, userId, now, expiresAt]);
  }

  async getSessionUser(idHash: string, now: number): Promise<UserRow | undefined> {
    const r = await this.db.all(`SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`, [idHash, now]);
    return r[0] ? userRow(r[0]) : undefined;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE id_hash = ?`, [idHash]);
  }

  // --- API tokens ---

  async createApiToken(t: { id: string; userId: string; name: string; scope: TokenScope; tokenHash: string; createdBy: string; now: number }): Promise<ApiTokenRow> {
    const id = t.id;
    await this.db.run(`INSERT INTO api_tokens (id, user_id, name, scope, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, [id, t.userId, t.name, t.scope, t.tokenHash, t.createdBy, t.now]);
    const u = await this.getUser(t.userId);
    return { id, userId: t.userId, username: u?.username ?? '', name: t.name, scope: t.scope, tokenHash: t.tokenHash, createdBy: t.createdBy, createdAt: t.now, lastUsedAt: null };
  }

  async getApiToken(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | undefined> {
    const r = await this.db.all(`SELECT t.*, u.username AS token_username FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, [id]);
    if (!r[0]) return undefined;
    const user = await this.getUser(str(r[0].user_id));
    return user ? { token: apiTokenRow(r[0]), user } : undefined;
  }

  async listApiTokens(): Promise<ApiTokenRow[]> {
    return (await this.db.all(`SELECT t.*, u.username AS token_username FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at`)).map(apiTokenRow);
  }

  async deleteApiToken(id: string): Promise<boolean> {
    return (await this.db.run(`DELETE FROM api_tokens WHERE id = ?`, [id])) > 0;
  }

  async touchApiToken(id: string, now: number): Promise<void> {
    await this.db.run(`UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, [now, id, now - 60_000]);
  }

  // --- nodes ---

  async createNode(name: string, tokenHash: string, now: number): Promise<NodeRow> {
    const id = randomUUID();
    try {
      await this.db.run(`INSERT INTO nodes (id, name, token_hash, created_at, info) VALUES (?, ?, ?, ?, '{}')`, [id, name, tokenHash, now]);
    } catch (err) {
      if (err instanceof UniqueViolation) throw new StoreConflictError(`node "${name}" already exists`);
      throw err;
    }
    return { id, name, tokenHash, createdAt: now, lastSeenAt: null, info: {}, latest: null };
  }

  async setNodeToken(id: string, tokenHash: string): Promise<boolean> {
    return (await this.db.run(`UPDATE nodes SET token_hash = ? WHERE id = ?`, [tokenHash, id])) > 0;
  }

  async getNode(id: string): Promise<NodeRow | undefined> {
    const r = await this.db.all(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ?`, [id]);
    return r[0] ? nodeRow(r[0]) : undefined;
  }

  async getNodeByName(name: string): Promise<NodeRow | undefined> {
    const r = await this.db.all(`SELECT ${NODE_COLUMNS} FROM nodes WHERE name = ?`, [name]);
    return r[0] ? nodeRow(r[0]) : undefined;
  }

  async listNodes(): Promise<NodeRow[]> {
    return (await this.db.all(`SELECT ${NODE_COLUMNS} FROM nodes ORDER BY name`)).map(nodeRow);
  }

  async touchNodes(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    await this.db.tx(async (q) => {
      for (const [id, ts] of seen) await q.run(`UPDATE nodes SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`, [ts, id, ts]);
    });
  }

  async touchNode(id: string, now: number, info?: Record<string, unknown>): Promise<void> {
    if (info) await this.db.run(`UPDATE nodes SET last_seen_at = ?, info = ? WHERE id = ?`, [now, JSON.stringify(info), id]);
    else await this.db.run(`UPDATE nodes SET last_seen_at = ? WHERE id = ?`, [now, id]);
  }

  // --- metrics history ---

  async addSamples(nodeId: string, samples: { ts: number; data: Record<string, unknown> }[]): Promise<number> {
    if (samples.length === 0) return 0;
    return this.db.tx(async (q) => {
      let n = 0;
      let newest: { ts: number; data: Record<string, unknown> } | undefined;
      for (const s of samples) {
        n += await q.run(`INSERT INTO samples (node_id, ts, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, [nodeId, s.ts, JSON.stringify(s.data)]);
        if (!newest || s.ts > newest.ts) newest = s;
      }
      if (newest) {
        await q.run(`UPDATE nodes SET latest_ts = ?, latest = ? WHERE id = ? AND (latest_ts IS NULL OR latest_ts < ?)`, [newest.ts, JSON.stringify(newest.data), nodeId, newest.ts]);
      }
      return n;
    });
  }

  async listSamples(nodeId: string, since: number, until: number, limit: number): Promise<SampleRow[]> {
    // The newest `limit` samples in the range, returned oldest first.
    const rows = await this.db.all(`SELECT * FROM samples WHERE node_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`, [nodeId, since, until, limit]);
    return rows.reverse().map((r) => ({ nodeId: str(r.node_id), ts: num(r.ts), data: json<Record<string, unknown>>(r.data, {}) }));
  }

  async listSamplesBounded(nodeId: string, since: number, until: number, limit: number, maxBytes: number, maxRowBytes: number): Promise<{ rows: SampleRow[]; truncated: boolean }> {
    // Pages of 200, newest first, each row's size asked of the database first so that an oversized one
    // (stored before the limits existed) is never read into memory.
    const out: SampleRow[] = [];
    let bytes = 0;
    let cursor = until + 1;
    let truncated = false;
    for (;;) {
      const page = await this.db.all(
        `SELECT ts, length(data) AS n, CASE WHEN length(data) > ? THEN NULL ELSE data END AS data FROM samples WHERE node_id = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT ?`,
        [maxRowBytes, nodeId, since, cursor, Math.min(200, limit - out.length)],
      );
      for (const r of page) {
        cursor = num(r.ts);
        if (r.data === null || r.data === undefined) continue;
        const n = num(r.n);
        if (bytes + n > maxBytes) {
          truncated = true;
          break;
        }
        bytes += n;
        out.push({ nodeId, ts: num(r.ts), data: json<Record<string, unknown>>(r.data, {}) });
      }
      if (truncated || page.length === 0 || out.length >= limit) break;
    }
    return { rows: out.reverse(), truncated };
  }

  async latestSample(nodeId: string): Promise<SampleRow | undefined> {
    const r = await this.db.all(`SELECT * FROM samples WHERE node_id = ? ORDER BY ts DESC LIMIT 1`, [nodeId]);
    return r[0] ? { nodeId: str(r[0].node_id), ts: num(r[0].ts), data: json<Record<string, unknown>>(r[0].data, {}) } : undefined;
  }

  async addProfiles(nodeId: string, profiles: Omit<ProfileRow, 'nodeId'>[]): Promise<number> {
    if (profiles.length === 0) return 0;
    return this.db.tx(async (q) => {
      let n = 0;
      for (const p of profiles) {
        const data = JSON.stringify(p.data);
        n += await q.run(
          `INSERT INTO profiles (node_id, start_ts, interval_s, hz, samples, trigger_rule, bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          [nodeId, p.startTs, p.intervalS, p.hz, p.samples, p.trigger, data.length, data],
        );
      }
      return n;
    });
  }

  async listProfiles(nodeId: string, since: number, until: number, maxBytes: number): Promise<{ rows: ProfileRow[]; truncated: boolean }> {
    const out: ProfileRow[] = [];
    let bytes = 0;
    let cursor = until + 1;
    let truncated = false;
    for (;;) {
      const page = await this.db.all(`SELECT start_ts, bytes FROM profiles WHERE node_id = ? AND start_ts >= ? AND start_ts < ? ORDER BY start_ts DESC LIMIT 200`, [nodeId, since, cursor]);
      const keep: number[] = [];
      for (const r of page) {
        cursor = num(r.start_ts);
        if (bytes + num(r.bytes) > maxBytes) {
          truncated = true;
          break;
        }
        bytes += num(r.bytes);
        keep.push(num(r.start_ts));
      }
      if (keep.length > 0) {
        const rows = await this.db.all(`SELECT * FROM profiles WHERE node_id = ? AND start_ts >= ? AND start_ts <= ? ORDER BY start_ts DESC`, [nodeId, keep.at(-1)!, keep[0]!]);
        for (const r of rows)
          out.push({ nodeId, startTs: num(r.start_ts), intervalS: Number(r.interval_s), hz: num(r.hz), samples: num(r.samples), trigger: r.trigger_rule === null || r.trigger_rule === undefined ? null : str(r.trigger_rule), data: json<Record<string, unknown>>(r.data, {}) });
      }
      if (truncated || page.length < 200) break;
    }
    return { rows: out.reverse(), truncated };
  }

  async pruneProfiles(before: number, maxBytesPerNode: number): Promise<number> {
    let n = await this.db.run(`DELETE FROM profiles WHERE start_ts < ?`, [before]);
    const nodes = await this.db.all(`SELECT node_id, SUM(bytes) AS total FROM profiles GROUP BY node_id`, []);
    for (const nd of nodes) {
      let over = num(nd.total) - maxBytesPerNode;
      if (over <= 0) continue;
      // The oldest windows go first, until the node is under its bound.
      const rows = await this.db.all(`SELECT start_ts, bytes FROM profiles WHERE node_id = ? ORDER BY start_ts ASC`, [str(nd.node_id)]);
      let cut: number | undefined;
      for (const r of rows) {
        if (over <= 0) break;
        over -= num(r.bytes);
        cut = num(r.start_ts);
      }
      if (cut !== undefined) n += await this.db.run(`DELETE FROM profiles WHERE node_id = ? AND start_ts <= ?`, [str(nd.node_id), cut]);
    }
    return n;
  }

  pruneSamples(before: number): Promise<number> {
    return this.db.run(`DELETE FROM samples WHERE ts < ?`, [before]);
  }

  // --- alerts ---

  async addAlerts(alerts: AlertRow[]): Promise<number> {
    if (alerts.length === 0) return 0;
    return this.db.tx(async (q) => {
      let n = 0;
      for (const a of alerts) {
        n += await q.run(`INSERT INTO alerts (id, node_id, rule, severity, state, ts, message, messages, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, [
          a.id,
          a.nodeId,
          a.rule,
          a.severity,
          a.state,
          a.ts,
          a.message,
          a.messages ? JSON.stringify(a.messages) : null,
          JSON.stringify(a.data),
        ]);
      }
      return n;
    });
  }

  async listAlerts(filter: AlertFilter): Promise<AlertRow[]> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.nodeId) {
      where.push('node_id = ?');
      params.push(filter.nodeId);
    }
    if (filter.severity) {
      where.push('severity = ?');
      params.push(filter.severity);
    }
    if (filter.state) {
      where.push('state = ?');
      params.push(filter.state);
    }
    params.push(filter.limit);
    const rows = await this.db.all(`SELECT * FROM alerts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC LIMIT ?`, params);
    return rows.map(alertRow);
  }

  pruneAlerts(before: number): Promise<number> {
    return this.db.run(`DELETE FROM alerts WHERE ts < ?`, [before]);
  }

  // --- boots and crashes ---

  async addBoots(nodeId: string, boots: Omit<BootRow, 'nodeId' | 'reportedAt'>[], now: number): Promise<number> {
    if (boots.length === 0) return 0;
    return this.db.tx(async (q) => {
      let n = 0;
      for (const b of boots) {
        const values: Param[] = [nodeId, b.bootId, b.startedAt, b.endedAt, b.at, b.cause, b.title, b.signature, b.stack ? JSON.stringify(b.stack) : null, b.kernel, b.source, now];
        // A known boot changes only when the report says something new (the running boot ended; a
        // better source): re-sent boots are no-ops, and `at` of a crash stays when it was first known.
        n += await q.run(
          `INSERT INTO boots (node_id, boot_id, started_at, ended_at, at, cause, title, signature, stack, kernel, source, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (node_id, boot_id) DO UPDATE SET started_at = excluded.started_at, ended_at = excluded.ended_at, at = excluded.at, cause = excluded.cause,
             title = excluded.title, signature = excluded.signature, stack = excluded.stack, kernel = CASE WHEN excluded.kernel = '' THEN boots.kernel ELSE excluded.kernel END,
             source = excluded.source, reported_at = excluded.reported_at
           WHERE boots.cause <> excluded.cause OR boots.title <> excluded.title OR boots.signature <> excluded.signature OR boots.ended_at IS NULL AND excluded.ended_at IS NOT NULL`,
          values,
        );
      }
      return n;
    });
  }

  async listBoots(nodeId: string, limit: number): Promise<BootRow[]> {
    const rows = await this.db.all(`SELECT * FROM boots WHERE node_id = ? ORDER BY at DESC, boot_id LIMIT ?`, [nodeId, limit]);
    return rows.map(bootRow);
  }

  async listCrashGroups(filter: CrashFilter): Promise<CrashGroupRow[]> {
    const where = [`cause IN (${CRASH_CAUSES.map(() => '?').join(', ')})`];
    const params: Param[] = [...CRASH_CAUSES];
    if (filter.since !== undefined) {
      where.push('at >= ?');
      params.push(filter.since);
    }
    if (filter.kernel !== undefined) {
      where.push('kernel = ?');
      params.push(filter.kernel);
    }
    if (filter.nodeId !== undefined) {
      where.push('node_id = ?');
      params.push(filter.nodeId);
    }
    params.push(CRASH_ROWS_MAX);
    // One read of the crash rows (no stacks), grouped here: the same code for both engines, and
    // first/last node fall out of the order. The newest crash of each group shown gives its stack.
    const rows = await this.db.all(`SELECT node_id, boot_id, at, cause, title, signature, kernel FROM boots WHERE ${where.join(' AND ')} ORDER BY at, node_id, boot_id LIMIT ?`, params);
    interface Acc { g: CrashGroupRow; nodeSet: Set<string>; kernels: Map<string, number>; lastBoot: string }
    const groups = new Map<string, Acc>();
    for (const r of rows) {
      const title = str(r.title ?? '');
      const signature = str(r.signature ?? '');
      const cause = str(r.cause);
      // Untitled crashes (an unclean end) group by cause; titled ones by title and signature.
      const key = JSON.stringify([title === '' ? cause : '', title, signature]);
      const at = num(r.at);
      const nodeId = str(r.node_id);
      let a = groups.get(key);
      if (!a) {
        a = { g: { cause, title, signature, count: 0, nodes: 0, kernels: [], first: { nodeId, at }, last: { nodeId, at }, stack: null }, nodeSet: new Set(), kernels: new Map(), lastBoot: str(r.boot_id) };
        groups.set(key, a);
      }
      a.g.count++;
      a.nodeSet.add(nodeId);
      const k = str(r.kernel ?? '');
      a.kernels.set(k, (a.kernels.get(k) ?? 0) + 1);
      a.g.last = { nodeId, at };
      a.lastBoot = str(r.boot_id);
    }
    const out = [...groups.values()].sort((x, y) => y.g.last.at - x.g.last.at || y.g.count - x.g.count).slice(0, filter.limit);
    for (const a of out) {
      a.g.nodes = a.nodeSet.size;
      a.g.kernels = [...a.kernels.entries()].map(([kernel, count]) => ({ kernel, count })).sort((x, y) => y.count - x.count || x.kernel.localeCompare(y.kernel));
      const s = await this.db.all(`SELECT stack FROM boots WHERE node_id = ? AND boot_id = ?`, [a.g.last.nodeId, a.lastBoot]);
      a.g.stack = json<string[] | null>(s[0]?.stack, null);
    }
    return out.map((a) => a.g);
  }

  // --- tasks ---

  private async insertTask(q: SqlExec, t: NewTask, id: string, status: TaskStatus): Promise<void> {
    await q.run(
      `INSERT INTO tasks (id, node_id, diagnosis, params, params_key, status, created_by, created_at, pickup_deadline_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, t.nodeId, t.diagnosis, JSON.stringify(t.params ?? {}), t.paramsKey, status, t.createdBy, t.now, t.pickupDeadlineAt],
    );
  }

  async createTask(t: NewTask): Promise<TaskRow> {
    const id = randomUUID();
    try {
      await this.insertTask(this.db, t, id, 'queued');
    } catch (err) {
      if (err instanceof UniqueViolation) {
        const dup = await this.findActiveTask(t.nodeId, t.diagnosis, t.paramsKey);
        throw new StoreConflictError(dup ? dup.id : 'an identical task is already active');
      }
      throw err;
    }
    return (await this.getTask(id))!;
  }

  async createFinishedTask(t: NewTask, fin: FinishTask, givenId?: string): Promise<TaskRow> {
    const id = givenId ?? randomUUID();
    await this.db.tx(async (q) => {
      await this.insertTask(q, { ...t }, id, fin.status);
      await this.writeFinish(q, id, t.nodeId, fin, t.now, t.now);
    });
    return (await this.getTask(id))!;
  }

  async getTask(id: string): Promise<TaskRow | undefined> {
    const r = await this.db.all(`SELECT * FROM tasks WHERE id = ?`, [id]);
    return r[0] ? taskRow(r[0]) : undefined;
  }

  async findActiveTask(nodeId: string, diagnosis: string, paramsKey: string): Promise<TaskRow | undefined> {
    const r = await this.db.all(`SELECT * FROM tasks WHERE node_id = ? AND diagnosis = ? AND params_key = ? AND status IN ('queued', 'running')`, [
      nodeId,
      diagnosis,
      paramsKey,
    ]);
    return r[0] ? taskRow(r[0]) : undefined;
  }

  async listTasks(filter: { nodeId?: string; limit: number }): Promise<TaskRow[]> {
    const rows = filter.nodeId
      ? await this.db.all(`SELECT * FROM tasks WHERE node_id = ? ORDER BY created_at DESC, id LIMIT ?`, [filter.nodeId, filter.limit])
      : await this.db.all(`SELECT * FROM tasks ORDER BY created_at DESC, id LIMIT ?`, [filter.limit]);
    return rows.map(taskRow);
  }

  async claimTask(nodeId: string, now: number, leaseUntil: number, runTimeoutMs: (diagnosis: string) => number): Promise<TaskRow | undefined> {
    // Most polls find nothing: answer those with one indexed read, without a write transaction.
    const any = await this.db.all(`SELECT 1 AS x FROM tasks WHERE node_id = ? AND status = 'queued' LIMIT 1`, [nodeId]);
    if (any.length === 0) return undefined;
    return this.db.tx(async (q) => {
      const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
      const rows = await q.all(`SELECT * FROM tasks WHERE node_id = ? AND status = 'queued' AND pickup_deadline_at > ? ORDER BY created_at, id LIMIT 1${lock}`, [nodeId, now]);
      if (!rows[0]) return undefined;
      const t = taskRow(rows[0]);
      const runDeadline = now + runTimeoutMs(t.diagnosis);
      await q.run(`UPDATE tasks SET status = 'running', started_at = ?, lease_until = ?, run_deadline_at = ? WHERE id = ? AND status = 'queued'`, [
        now,
        leaseUntil,
        runDeadline,
        t.id,
      ]);
      return { ...t, status: 'running' as const, startedAt: now, leaseUntil, runDeadlineAt: runDeadline };
    });
  }

  async heartbeatTask(id: string, nodeId: string, progress: TaskProgress | null, now: number, leaseUntil: number): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE tasks SET lease_until = ?, progress = COALESCE(?, progress) WHERE id = ? AND node_id = ? AND status = 'running' AND run_deadline_at > ?`,
      [leaseUntil, progress ? JSON.stringify(progress) : null, id, nodeId, now],
    );
    return changed > 0;
  }

  private async writeFinish(q: SqlExec, id: string, nodeId: string, fin: FinishTask, now: number, createdAt: number): Promise<void> {
    if (fin.report) {
      await q.run(`INSERT INTO reports (task_id, node_id, schema_name, document, created_at) VALUES (?, ?, ?, ?, ?)`, [
        id,
        nodeId,
        fin.report.schema,
        JSON.stringify(fin.report.document),
        createdAt,
      ]);
    }
    await q.run(`UPDATE tasks SET status = ?, finished_at = ?, lease_until = NULL, error = ?, report_schema = ? WHERE id = ?`, [
      fin.status,
      now,
      fin.error ?? null,
      fin.report?.schema ?? null,
      id,
    ]);
  }

  async finishTask(id: string, nodeId: string, fin: FinishTask, now: number): Promise<{ task: TaskRow; alreadyFinished: boolean } | undefined> {
    return this.db.tx(async (q) => {
      const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const rows = await q.all(`SELECT * FROM tasks WHERE id = ? AND node_id = ?${lock}`, [id, nodeId]);
      if (!rows[0]) return undefined;
      const t = taskRow(rows[0]);
      if (t.status !== 'running') {
        // A result the agent sends again after a lost acknowledgement: same outcome, nothing changes.
        if (t.status === fin.status) return { task: t, alreadyFinished: true };
        return { task: t, alreadyFinished: false };
      }
      await this.writeFinish(q, id, nodeId, fin, now, now);
      return { task: { ...t, status: fin.status, finishedAt: now, leaseUntil: null, error: fin.error ?? null, reportSchema: fin.report?.schema ?? null }, alreadyFinished: false };
    });
  }

  async cancelTask(id: string, now: number): Promise<boolean> {
    const n = await this.db.run(`UPDATE tasks SET status = 'cancelled', finished_at = ?, lease_until = NULL, error = ? WHERE id = ? AND status IN ('queued', 'running')`, [
      now,
      'cancelled by a user',
      id,
    ]);
    return n > 0;
  }

  async expireTasks(now: number): Promise<TaskRow[]> {
    return this.db.tx(async (q) => {
      const rows = await q.all(
        `SELECT t.*, n.name AS node_name, n.last_seen_at AS node_last_seen FROM tasks t JOIN nodes n ON n.id = t.node_id
          WHERE (t.status = 'queued' AND t.pickup_deadline_at <= ?) OR (t.status = 'running' AND (t.lease_until <= ? OR t.run_deadline_at <= ?))`,
        [now, now, now],
      );
      const out: TaskRow[] = [];
      for (const r of rows) {
        const t = taskRow(r);
        const seen = numOrNull(r.node_last_seen);
        const seenText = seen === null ? 'never' : new Date(seen).toISOString();
        let reason: string;
        if (t.status === 'queued') reason = `timed out: the agent of node ${str(r.node_name)} did not pick the task up (agent last seen ${seenText})`;
        else if (t.runDeadlineAt !== null && t.runDeadlineAt <= now) reason = `timed out: the diagnosis ran longer than its limit on node ${str(r.node_name)}`;
        else reason = `timed out: the agent of node ${str(r.node_name)} stopped reporting while running the task (agent last seen ${seenText})`;
        const n = await q.run(`UPDATE tasks SET status = 'timeout', finished_at = ?, lease_until = NULL, error = ? WHERE id = ? AND status = ?`, [now, reason, t.id, t.status]);
        if (n > 0) out.push({ ...t, status: 'timeout', finishedAt: now, leaseUntil: null, error: reason });
      }
      return out;
    });
  }

  async getReport(taskId: string): Promise<{ schema: string; document: unknown; createdAt: number } | undefined> {
    const r = await this.db.all(`SELECT * FROM reports WHERE task_id = ?`, [taskId]);
    if (!r[0]) return undefined;
    return { schema: str(r[0].schema_name), document: json<unknown>(r[0].document, null), createdAt: num(r[0].created_at) };
  }

  async latestReport(nodeId: string, diagnosis: string): Promise<{ taskId: string; schema: string; document: unknown; createdAt: number } | undefined> {
    // tasks_node_status (node_id, status, created_at) finds the node's done tasks newest first.
    const r = await this.db.all(
      `SELECT r.task_id, r.schema_name, r.document, r.created_at FROM tasks t JOIN reports r ON r.task_id = t.id
        WHERE t.node_id = ? AND t.status = 'done' AND t.diagnosis = ? ORDER BY t.created_at DESC, r.created_at DESC LIMIT 1`,
      [nodeId, diagnosis],
    );
    if (!r[0]) return undefined;
    return { taskId: str(r[0].task_id), schema: str(r[0].schema_name), document: json<unknown>(r[0].document, null), createdAt: num(r[0].created_at) };
  }
}
