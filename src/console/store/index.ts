/** Opens the store a `--db` value names: a `postgres://` / `postgresql://` URL, else a SQLite file path. */
import { PostgresDriver } from './postgres.js';
import { SqlStore } from './sql.js';
import { SqliteDriver } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { delayAfter, userPairKey } from './sql.js';

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

export async function openStore(db: string): Promise<Store> {
  const store = new SqlStore(isPostgresUrl(db) ? new PostgresDriver(db) : new SqliteDriver(db));
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
