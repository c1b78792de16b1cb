import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { LOADAVG_PATH, parseLoadavg, readLoadavg } from '../../../src/kernel/procfs/loadavg.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('loadavg: fixture from this machine', () => {
  assert.deepEqual(parseLoadavg(fixture('proc', 'loadavg')), { load1: 0.4, load5: 0.41, load15: 0.17, running: 1, total: 79, lastPid: 3460 });
});

test('loadavg: malformed input', () => {
  assert.throws(() => parseLoadavg('0.1 0.2 1/2 3\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === LOADAVG_PATH);
});

test('loadavg: fuzzed input never crashes', () => {
  fuzzParser((t) => parseLoadavg(t), fixture('proc', 'loadavg'), LOADAVG_PATH);
});

test('loadavg: live host', async () => {
  const l = await readLoadavg(new LiveHost());
  assert.ok(l.total >= l.running && l.running >= 1);
});
