/**
 * PostgreSQL driver (pg): a connection pool; `?` placeholders are numbered `$1, $2, ...`; BIGINT
 * columns come back as numbers (epoch milliseconds fit a double exactly). Migrations run under an
 * advisory lock so several console instances may start at once against one database.
 */
import pg from 'pg';
import { type Param, type Row, type SqlDriver, type SqlExec, UniqueViolation } from './sql.js';

const MIGRATION_LOCK = 0x6f73636f; // "osco"

function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function wrapErr(err: unknown): never {
  if ((err as { code?: unknown }).code === '23505') throw new UniqueViolation((err as Error).message);
  throw err;
}

const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === 20) return (v: string) => Number(v); // int8
    return pg.types.getTypeParser(oid, format);
  },
};

function exec(c: pg.Pool | pg.PoolClient): SqlExec {
  return {
    all: async (sql, params = []) => {
      try {
        return (await c.query(numbered(sql), params)).rows as Row[];
      } catch (err) {
        return wrapErr(err);
      }
    },
    run: async (sql, params = []) => {
      try {
        return (await c.query(numbered(sql), params)).rowCount ?? 0;
      } catch (err) {
        return wrapErr(err);
      }
    },
  };
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly q: SqlExec;

  constructor(url: string, opts: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types: types as pg.CustomTypesConfig });
    // An idle client losing its connection must not crash the console; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.q = exec(this.pool);
  }

  all(sql: string, params?: Param[]): Promise<Row[]> {
    return this.q.all(sql, params);
  }

  run(sql: string, params?: Param[]): Promise<number> {
    return this.q.run(sql, params);
  }

  async tx<T>(fn: (q: SqlExec) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(exec(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
