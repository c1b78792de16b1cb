/**
 * Schema migrations, applied in order inside one transaction each and recorded in
 * `oscope_schema_migrations`. The SQL is written once for both engines; the few differences are spelled
 * out per dialect. Never edit a released migration: add the next one.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  sql: (d: Dialect) => string[];
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
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
