import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseBlkioServiceBytes, parseIoStat } from '../../../src/kernel/cgroup/io-stat.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('io.stat v2: bytes per device, every numeric key kept', () => {
  const d = parseIoStat(fixture('cgroup', 'io', 'io.stat-v2'));
  assert.deepEqual(
    d.map((x) => [x.device, x.readBytes, x.writeBytes, x.discardBytes]),
    [
      ['8:16', 1459200, 314773504, 0],
      ['8:0', 90430464, 299008000, 50331648],
    ],
  );
  assert.equal(d[1]!.fields.get('wios'), 1252);
});

test('io.stat v2 with io.cost keys and a device line without keys', () => {
  const d = parseIoStat(fixture('cgroup', 'io', 'io.stat-v2-iocost'));
  assert.equal(d.length, 2);
  assert.equal(d[0]!.readBytes, 1146880);
  assert.equal(d[0]!.fields.get('cost.vrate'), 100);
  assert.deepEqual([d[1]!.device, d[1]!.readBytes, d[1]!.writeBytes], ['254:16', 0, 0]);
  assert.deepEqual(parseIoStat(''), []);
});

test('blkio v1 (captured on 6.18): Read/Write/Discard per device, grand total checked', () => {
  const d = parseBlkioServiceBytes(fixture('cgroup', 'io', 'blkio.throttle.io_service_bytes-6.18'));
  assert.equal(d.length, 1);
  assert.deepEqual([d[0]!.device, d[0]!.readBytes, d[0]!.writeBytes], ['254:0', 8388608, 8388608]);
  assert.equal(d[0]!.fields.get('Sync'), 16777216);
  assert.deepEqual(parseBlkioServiceBytes(fixture('cgroup', 'io', 'blkio.throttle.io_service_bytes-empty')), []);
  const old = parseBlkioServiceBytes(fixture('cgroup', 'io', 'blkio.throttle.io_service_bytes-4.19'));
  assert.deepEqual(
    old.map((x) => [x.device, x.readBytes, x.writeBytes, x.discardBytes]),
    [
      ['8:0', 4096, 1052672, 0],
      ['253:0', 4096, 1052672, 0],
    ],
  );
});

test('blkio v1: a grand total that disagrees, a bad operation, a bad number → ParseError with file and line', () => {
  assert.throws(() => parseBlkioServiceBytes('8:0 Read 1\n8:0 Total 1\nTotal 2\n', 'f'), (e: unknown) => e instanceof ParseError && e.line === 3);
  assert.throws(() => parseBlkioServiceBytes('8:0 Frob 1\n', 'f'), (e: unknown) => e instanceof ParseError && e.line === 1);
  assert.throws(() => parseBlkioServiceBytes('8:0 Read -1\n', 'f'), ParseError);
  assert.throws(() => parseIoStat('vda rbytes=1\n', 'f'), ParseError);
  assert.throws(() => parseIoStat('8:0 rbytes=x\n', 'f'), ParseError);
  assert.throws(() => parseIoStat('8:0 rbytes\n', 'f'), ParseError);
});

test('io counters parsers: fuzzed input gives a value or a ParseError naming the file', () => {
  fuzzParser((t) => parseIoStat(t, 'io.stat'), fixture('cgroup', 'io', 'io.stat-v2-iocost'), 'io.stat');
  fuzzParser((t) => parseBlkioServiceBytes(t, 'blkio'), fixture('cgroup', 'io', 'blkio.throttle.io_service_bytes-4.19'), 'blkio');
});
