import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/console/store/index.js';
import { storeSuite } from './store-suite.js';

test('SQLite store', async (t) => {
  const dir = mkdtempSync('/var/tmp/oscope-test-sqlite-');
  let i = 0;
  try {
    await Promise.all(storeSuite(t, () => openStore(join(dir, `s${i++}.db`))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
