import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { INODE_STATE_PATH, parseInodeState, readInodeState } from '../../../src/kernel/procfs/inode-state.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('inode-state: fixture from this machine', () => {
  assert.deepEqual(parseInodeState(fixture('proc', 'inode-state')), { nr_inodes: 12404, nr_free_inodes: 0, preshrink: 0 });
});

test('inode-state: malformed input', () => {
  assert.throws(() => parseInodeState('1 2\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === INODE_STATE_PATH);
  assert.throws(() => parseInodeState('1 -2 0 0 0 0 0\n'), ParseError);
});

test('inode-state: fuzzed input never crashes', () => {
  fuzzParser((t) => parseInodeState(t), fixture('proc', 'inode-state'), INODE_STATE_PATH);
});

test('inode-state: live host', async () => {
  const s = await readInodeState(new LiveHost());
  assert.ok(s.nr_inodes > 0 && s.nr_free_inodes <= s.nr_inodes);
});
