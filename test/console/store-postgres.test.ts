/** The store suite against a real PostgreSQL server (installed from apt by scripts/ensure-test-deps-console.sh). */
import { test } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/console/store/index.js';
import { PgServer, postgresBinDir } from './pg-server.js';
import { storeSuite } from './store-suite.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (scripts/ensure-test-deps-console.sh installs it)';

test('PostgreSQL store', { skip }, async (t) => {
  let server: PgServer;
  let url: string;
  try {
    server = new PgServer();
    url = server.start();
  } catch (err) {
    t.skip(`PostgreSQL cannot start here: ${(err as Error).message}`);
    return;
  }
  try {
    let i = 0;
    // Each case gets its own database.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await Promise.all(
        storeSuite(t, async () => {
          const db = `oscope_t${i++}`;
          await admin.query(`CREATE DATABASE ${db}`);
          return openStore(url.replace('/oscope?', `/${db}?`));
        }),
      );
    } finally {
      await admin.end();
    }
  } finally {
    server.stop();
  }
});
