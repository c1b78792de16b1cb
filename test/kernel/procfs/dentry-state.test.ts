import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { DENTRY_STATE_PATH, kernelOlderThan, parseDentryState, readDentryState } from '../../../src/kernel/procfs/dentry-state.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('dentry-state: fixture from this machine (6.18)', () => {
  const d = parseDentryState(fixture('proc', 'dentry-state'), '6.18.44');
  assert.deepEqual(d, { nr_dentry: 17412, nr_unused: 16411, age_limit: 45, want_pages: 0, nr_negative: 5043, dummy: 0 });
});

test('dentry-state: pre-5.0 kernels have no nr_negative', () => {
  const d = parseDentryState(fixture('proc', 'dentry-state-4.19'), '4.19.0-27-amd64');
  assert.equal(d.nr_negative, undefined);
  assert.equal(d.nr_dentry, 123456);
  assert.equal(parseDentryState(fixture('proc', 'dentry-state-4.19')).nr_negative, 0, 'unknown kernel: field taken as is');
  assert.equal(kernelOlderThan('4.19.0', 5, 0), true);
  assert.equal(kernelOlderThan('5.0.1', 5, 0), false);
  assert.equal(kernelOlderThan('weird', 5, 0), undefined);
});

test('dentry-state: malformed input', () => {
  assert.throws(() => parseDentryState('1 2 3\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === DENTRY_STATE_PATH);
  assert.throws(() => parseDentryState('1 2 3 4 5 x\n'), ParseError);
  assert.throws(() => parseDentryState('1 2 3 4 5 6\n1 2 3 4 5 6\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('dentry-state: fuzzed input never crashes', () => {
  fuzzParser((t) => parseDentryState(t), fixture('proc', 'dentry-state'), DENTRY_STATE_PATH);
});

test('dentry-state: live host', async () => {
  const d = await readDentryState(new LiveHost());
  assert.ok(d.nr_dentry > 0 && d.nr_unused <= d.nr_dentry);
  assert.equal(d.age_limit, 45);
});
