import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { MEMINFO_PATH, parseMeminfo, readMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('meminfo: fixture fields in bytes, counts unscaled', () => {
  const m = parseMeminfo(fixture('proc', 'meminfo'));
  assert.ok((m.bytes('MemTotal') ?? 0) > 1024 * 1024 * 1024);
  assert.equal((m.bytes('MemTotal') ?? 0) % 1024, 0);
  assert.equal(typeof m.bytes('HugePages_Total'), 'number');
  assert.equal(m.bytes('NoSuchField'), undefined);
  assert.equal(m.bytesOr0('NoSuchField'), 0);
});

test('meminfo: a bad value names file and line', () => {
  assert.throws(() => parseMeminfo('MemTotal: 10 kB\nMemFree: abc kB\n'), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.line, 2);
    assert.equal(e.file, MEMINFO_PATH);
    return true;
  });
});

test('meminfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseMeminfo(t), fixture('proc', 'meminfo'), MEMINFO_PATH);
});

test('meminfo: live host', async () => {
  const m = await readMeminfo(new LiveHost());
  assert.ok((m.bytes('MemTotal') ?? 0) > 0);
});
