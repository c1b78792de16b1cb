/**
 * SQLite driver (better-sqlite3): one connection to a real file in WAL mode with synchronous=FULL, so a
 * write the API acknowledged is on disk even if the console is killed the next instant. better-sqlite3
 * is synchronous; statements and transactions are serialised through one promise chain so that an
 * async transaction never interleaves with another request's statements on the same connection.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type Param, type Row, type SqlDriver, type SqlExec, UniqueViolation } from './sql.js';

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UniqueViolation((err as Error).message);
    throw err;
  }
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, Database.Statement>();

  constructor(readonly file: string) {
    if (file !== ':memory:') {
      // Private: the database holds password hashes and every node's data. SQLite gives the -wal and
      // -shm files the main file's mode, so creating that one 0600 covers them (chmod also fixes an old one).
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    if (file !== ':memory:') for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private readonly direct: SqlExec = {
    all: (sql, params = []) => Promise.resolve(wrap(() => this.stmt(sql).all(...params) as Row[])),
    run: (sql, params = []) => Promise.resolve(wrap(() => this.stmt(sql).run(...params).changes)),
  };

  /** Queues `fn` after everything already queued. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: Param[]): Promise<Row[]> {
    return this.serial(() => this.direct.all(sql, params));
  }

  run(sql: string, params?: Param[]): Promise<number> {
    return this.serial(() => this.direct.run(sql, params));
  }

  tx<T>(fn: (q: SqlExec) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    // One connection per process and SQLite's own file locks (BEGIN IMMEDIATE in each migration).
    return fn();
  }

  close(): Promise<void> {
    return this.serial(() => {
      this.db.close();
      return Promise.resolve();
    });
  }
}
