import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseSmapsRollup, readSmapsRollup } from '../../../../src/kernel/procfs/pid/smaps-rollup.js';
import { fixture, fuzzParser } from '../../../helpers.js';

test('smaps_rollup: captured fixture in bytes, Pss split adds up', () => {
  const r = parseSmapsRollup(fixture('pid', 'smaps_rollup'));
  assert.ok(r.rssBytes > 0 && r.rssBytes % 1024 === 0);
  assert.ok(r.pssBytes <= r.rssBytes);
  // Pss_Anon + Pss_File + Pss_Shmem = Pss up to per-field kB rounding.
  const sum = r.pssAnonBytes! + r.pssFileBytes! + r.pssShmemBytes!;
  assert.ok(Math.abs(sum - r.pssBytes) <= 3 * 1024, `${sum} vs ${r.pssBytes}`);
  assert.equal(r.rssBytes, r.sharedCleanBytes + r.sharedDirtyBytes + r.privateCleanBytes + r.privateDirtyBytes);
  assert.equal(r.swapBytes, 0);
  assert.equal(typeof r.lockedBytes, 'number');
});

test('smaps_rollup: older kernel without Pss_* fields', () => {
  const text = [
    '00400000-7ffc8a1d2000 ---p 00000000 00:00 0                          [rollup]',
    'Rss:                 884 kB', 'Pss:                 210 kB', 'Shared_Clean:        760 kB', 'Shared_Dirty:          0 kB',
    'Private_Clean:         8 kB', 'Private_Dirty:       116 kB', 'Referenced:          884 kB', 'Anonymous:           116 kB',
    'LazyFree:              0 kB', 'AnonHugePages:         0 kB', 'ShmemPmdMapped:        0 kB', 'Shared_Hugetlb:        0 kB',
    'Private_Hugetlb:       0 kB', 'Swap:                  4 kB', 'SwapPss:               4 kB', 'Locked:                0 kB', '',
  ].join('\n');
  const r = parseSmapsRollup(text);
  assert.equal(r.pssAnonBytes, undefined);
  assert.equal(r.swapBytes, 4096);
  assert.equal(r.rssBytes, 884 * 1024);
});

test('smaps_rollup: bad line names the line', () => {
  assert.throws(() => parseSmapsRollup('Rss: 1 kB\nPss: x kB\n', 'f'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('smaps_rollup: fuzzed input never crashes', () => {
  fuzzParser((t) => parseSmapsRollup(t, 'f'), fixture('pid', 'smaps_rollup'), 'f');
});

test('smaps_rollup: live, this process', async () => {
  const r = await readSmapsRollup(new LiveHost(), process.pid);
  assert.ok(r && r.rssBytes > 0);
});
