/**
 * Schema migrations, applied in order inside one transaction each and recorded in
 * `oscope_schema_migrations`. The SQL is written once for both engines; the few differences are spelled
 * out per dialect. Never edit a released migration: add the next one.
 */
import type { SqlExec } from './sql.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  /** Runs first, in the migration's transaction: throws (with a sentence for the operator) when the data cannot take the change. */
  check?: (q: SqlExec) => Promise<void>;
  sql: (d: Dialect) => string[];
}

/** Migration 4 refuses to run over user names that differ only in case, naming them: which account wins is the operator's call. */
async function noCaseOnlyUserNames(q: SqlExec): Promise<void> {
  const rows = await q.all(`SELECT username FROM users WHERE lower(username) IN (SELECT lower(username) FROM users GROUP BY lower(username) HAVING COUNT(*) > 1) ORDER BY lower(username), created_at`);
  if (rows.length === 0) return;
  const names = rows.map((r) => `"${String(r.username)}"`).join(', ');
  throw new Error(
    `the console database has user names that differ only in case (${names}); user names are now unique without regard to case. ` +
      `Remove or rename all but one of each (for example with sqlite3 or psql: DELETE FROM users WHERE username = '...'), then start the console again.`,
  );
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: () => [
      `CREATE TABLE users (
         id TEXT PRIMARY KEY,
         username TEXT NOT NULL UNIQUE,
         password_hash TEXT NOT NULL,
         created_at BIGINT NOT NULL)`,
      `CREATE TABLE sessions (
         id_hash TEXT PRIMARY KEY,
         user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
         created_at BIGINT NOT NULL,
         expires_at BIGINT NOT NULL)`,
      `CREATE INDEX sessions_expires ON sessions(expires_at)`,
      `CREATE TABLE nodes (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         token_hash TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         last_seen_at BIGINT,
         info TEXT NOT NULL DEFAULT '{}')`,
      `CREATE TABLE samples (
         node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
         ts BIGINT NOT NULL,
         data TEXT NOT NULL,
         PRIMARY KEY (node_id, ts))`,
      `CREATE INDEX samples_ts ON samples(ts)`,
      `CREATE TABLE alerts (
         id TEXT PRIMARY KEY,
         node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
         rule TEXT NOT NULL,
         severity TEXT NOT NULL,
         state TEXT NOT NULL,
         ts BIGINT NOT NULL,
         message TEXT NOT NULL,
         data TEXT NOT NULL)`,
      `CREATE INDEX alerts_node_ts ON alerts(node_id, ts)`,
      `CREATE INDEX alerts_ts ON alerts(ts)`,
      `CREATE TABLE tasks (
         id TEXT PRIMARY KEY,
         node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
         diagnosis TEXT NOT NULL,
         params TEXT NOT NULL,
         params_key TEXT NOT NULL,
         status TEXT NOT NULL,
         created_by TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         pickup_deadline_at BIGINT NOT NULL,
         started_at BIGINT,
         lease_until BIGINT,
         run_deadline_at BIGINT,
         finished_at BIGINT,
         progress TEXT,
         error TEXT,
         report_schema TEXT)`,
      `CREATE INDEX tasks_node_status ON tasks(node_id, status, created_at)`,
      `CREATE INDEX tasks_status ON tasks(status)`,
      // The duplicate guard: at most one active task per node, diagnosis and parameters.
      `CREATE UNIQUE INDEX tasks_active_unique ON tasks(node_id, diagnosis, params_key) WHERE status IN ('queued', 'running')`,
      `CREATE TABLE reports (
         task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
         node_id TEXT NOT NULL,
         schema_name TEXT NOT NULL,
         document TEXT NOT NULL,
         created_at BIGINT NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'nodes keep their latest sample',
    // The fleet page shows every node's latest sample: one row read per node instead of a samples query.
    sql: () => [`ALTER TABLE nodes ADD COLUMN latest_ts BIGINT`, `ALTER TABLE nodes ADD COLUMN latest TEXT`],
  },
  {
    version: 3,
    name: 'user roles, localized alert messages, login throttling',
    sql: () => [
      // Accounts made before roles existed could do everything: they stay admins.
      `ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'`,
      `ALTER TABLE alerts ADD COLUMN messages TEXT`,
      `CREATE INDEX alerts_severity_ts ON alerts(severity, ts)`,
      // Failed logins per key (ip:<address>, user:<name>) in a fixed window; shared by every console of one database.
      `CREATE TABLE login_throttle (
         throttle_key TEXT PRIMARY KEY,
         failures INTEGER NOT NULL,
         window_start BIGINT NOT NULL)`,
    ],
  },
  {
    version: 4,
    name: 'case-insensitive user names, login backoff',
    check: noCaseOnlyUserNames,
    sql: () => [
      // `ADMIN` and `admin` are one account (and one throttle key).
      `CREATE UNIQUE INDEX users_username_ci ON users (lower(username))`,
      // Attempts are counted before the password is checked (see SqlStore.takeLoginAttempt): the streak's
      // last attempt, when the next is allowed, and the current backoff step.
      `ALTER TABLE login_throttle ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE login_throttle ADD COLUMN blocked_until BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE login_throttle ADD COLUMN backoff_ms BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE login_throttle ADD COLUMN refused INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 5,
    name: 'API tokens (MCP over HTTP)',
    sql: () => [
      // A bearer token an admin issues to a user for /mcp, with a scope (read, or read + diagnose).
      // Only the SHA-256 of its secret is kept, as for agent tokens and sessions.
      `CREATE TABLE api_tokens (
         id TEXT PRIMARY KEY,
         user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
         name TEXT NOT NULL,
         scope TEXT NOT NULL,
         token_hash TEXT NOT NULL,
         created_by TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         last_used_at BIGINT)`,
      `CREATE INDEX api_tokens_user ON api_tokens(user_id)`,
    ],
  },
  {
    version: 6,
    name: 'profiles kept apart from the samples',
    sql: () => [
      // The agents' profile windows (continuous and triggered), one row each: the node page merges any
      // range of them into a flame graph. Retention and a per-node size bound: SqlStore.pruneProfiles.
      `CREATE TABLE profiles (
         node_id TEXT NOT NULL,
         start_ts BIGINT NOT NULL,
         interval_s DOUBLE PRECISION NOT NULL,
         hz INTEGER NOT NULL,
         samples BIGINT NOT NULL,
         trigger_rule TEXT,
         bytes BIGINT NOT NULL,
         data TEXT NOT NULL,
         PRIMARY KEY (node_id, start_ts, hz))`,
    ],
  },
  {
    version: 7,
    name: 'boots per node (crash grouping)',
    sql: () => [
      // One row per node and boot, as the agent reports it (POST /api/agent/boots): the current boot
      // (cause running) and why earlier ones ended. `at` is when it ended (or when it was reported, when
      // its end is unknown); `signature` the stack signature crashes are grouped by with the title.
      `CREATE TABLE boots (
         node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
         boot_id TEXT NOT NULL,
         started_at BIGINT,
         ended_at BIGINT,
         at BIGINT NOT NULL,
         cause TEXT NOT NULL,
         title TEXT NOT NULL DEFAULT '',
         signature TEXT NOT NULL DEFAULT '',
         stack TEXT,
         kernel TEXT NOT NULL DEFAULT '',
         source TEXT NOT NULL,
         reported_at BIGINT NOT NULL,
         PRIMARY KEY (node_id, boot_id))`,
      `CREATE INDEX boots_crash ON boots(cause, at)`,
      `CREATE INDEX boots_group ON boots(title, signature, at)`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
