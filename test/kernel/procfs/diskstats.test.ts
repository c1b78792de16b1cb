import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { DISKSTATS_PATH, parseDiskstats, readDiskstats } from '../../../src/kernel/procfs/diskstats.js';
import { parseProcIo, procIoPath } from '../../../src/kernel/procfs/pid/io.js';
import { parseStack } from '../../../src/kernel/procfs/pid/stack.js';
import { parseProcStat } from '../../../src/kernel/procfs/pid/stat.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('diskstats: 4.14 (14 fields: no discard, no flush fields)', () => {
  const d = parseDiskstats(fixture('proc', 'diskstats-4.14'));
  assert.equal(d.length, 5);
  const sda = d.find((x) => x.name === 'sda')!;
  assert.deepEqual([sda.major, sda.minor, sda.reads, sda.sectorsRead, sda.writes, sda.writeTicksMs, sda.inFlight, sda.ioTicksMs, sda.timeInQueueMs], [8, 0, 130582, 6409730, 57221, 233256, 0, 80784, 361612]);
  assert.equal(sda.discards, undefined, 'a field the kernel does not have is undefined, not 0');
  assert.equal(sda.flushes, undefined);
});

test('diskstats: 4.19 (18 fields: discards, no flushes)', () => {
  const d = parseDiskstats(fixture('proc', 'diskstats-4.19'));
  const nvme = d.find((x) => x.name === 'nvme0n1')!;
  assert.equal(nvme.inFlight, 3);
  assert.equal(nvme.discards, 12);
  assert.equal(nvme.sectorsDiscarded, 3072);
  assert.equal(nvme.discardTicksMs, 4);
  assert.equal(nvme.flushes, undefined);
});

test('diskstats: this machine (6.18, 20 fields with flushes)', () => {
  const d = parseDiskstats(fixture('proc', 'diskstats'), DISKSTATS_PATH);
  assert.ok(d.length >= 1);
  for (const x of d) {
    assert.notEqual(x.flushes, undefined);
    assert.notEqual(x.discards, undefined);
  }
});

test('diskstats: malformed input names file and line', () => {
  assert.throws(() => parseDiskstats('   8 0 sda 1 2 3\n'), (e: unknown) => e instanceof ParseError && e.file === DISKSTATS_PATH && e.line === 1);
  assert.throws(() => parseDiskstats('   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n   8 0 sdb 1 2 3 4 5 x 7 8 9 10 11\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('diskstats: fuzzed input never crashes', () => {
  fuzzParser((t) => parseDiskstats(t), fixture('proc', 'diskstats'), DISKSTATS_PATH);
  fuzzParser((t) => parseDiskstats(t), fixture('proc', 'diskstats-4.14'), DISKSTATS_PATH);
  fuzzParser((t) => parseDiskstats(t), fixture('proc', 'diskstats-4.19'), DISKSTATS_PATH);
});

test('diskstats: live host', async () => {
  const d = await readDiskstats(new LiveHost());
  assert.ok(d.length > 0);
});

test('/proc/PID/io: fields in bytes, unknown fields skipped, missing ones an error', () => {
  const io = parseProcIo(fixture('proc', 'pid-io'), procIoPath(1));
  assert.deepEqual(io, { rchar: 2012345678, wchar: 1073741824, syscr: 40412, syscw: 262144, readBytes: 524288000, writeBytes: 1073741824, cancelledWriteBytes: 4096 });
  assert.deepEqual(parseProcIo(`${fixture('proc', 'pid-io')}future_field: 3\n`), io);
  assert.throws(() => parseProcIo('rchar: 1\n', '/proc/1/io'), (e: unknown) => e instanceof ParseError && e.file === '/proc/1/io');
  fuzzParser((t) => parseProcIo(t), fixture('proc', 'pid-io'), '/proc/PID/io');
});

test('/proc/PID/stack: frames innermost first, address dropped', () => {
  const s = parseStack(fixture('proc', 'pid-stack-dstate'));
  assert.equal(s[0], 'io_schedule+0x46/0x70');
  assert.equal(s.length, 7);
  assert.deepEqual(parseStack(''), []);
  fuzzParser((t) => parseStack(t), fixture('proc', 'pid-stack-dstate'), '/proc/PID/stack');
});

test('/proc/PID/stat: comm with spaces and parentheses, state, blkio ticks', () => {
  const st = parseProcStat(fixture('proc', 'pid-stat'));
  assert.equal(st.comm, 'cat');
  assert.equal(st.state, 'R');
  assert.equal(st.blkioTicks, 0);
  const odd = parseProcStat('42 (a (b) c) D 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 7 0 0\n');
  assert.deepEqual([odd.pid, odd.comm, odd.state, odd.ppid, odd.blkioTicks], [42, 'a (b) c', 'D', 1, 7]);
  fuzzParser((t) => parseProcStat(t), fixture('proc', 'pid-stat'), '/proc/PID/stat');
});
