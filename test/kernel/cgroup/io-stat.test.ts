import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../../src/kernel/errors.js';
import { cgroupIoTotals, parseBlkioServiceBytes, parseIoStat, readCgroupIo, withServiced } from '../../../src/kernel/cgroup/io-stat.js';
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

// Captured on this development VM (blkio v1, blk-mq) after a 4 MiB O_DIRECT write (bytes and its _serviced twin).
const V1_BYTES = '254:0 Read 12288\n254:0 Write 4194304\n254:0 Sync 4206592\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 4206592\nTotal 4206592\n';
const V1_IOS = '254:0 Read 3\n254:0 Write 64\n254:0 Sync 67\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 67\nTotal 67\n';
const V2 = '8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=0\n';

test('requests per device (v2 rios/wios, v1 from the _serviced twin) and totals over the disks', () => {
  const v2 = parseIoStat(V2);
  assert.deepEqual([v2[0]!.readIos, v2[0]!.writeIos], [192, 353]);
  assert.deepEqual(cgroupIoTotals(v2), { readBytes: 1463296, writeBytes: 314773504, readIos: 193, writeIos: 353 });
  const v1 = withServiced(parseBlkioServiceBytes(V1_BYTES), parseBlkioServiceBytes(V1_IOS));
  assert.deepEqual([v1[0]!.device, v1[0]!.readBytes, v1[0]!.writeBytes, v1[0]!.readIos, v1[0]!.writeIos], ['254:0', 12288, 4194304, 3, 64]);
  const bare = parseBlkioServiceBytes(V1_BYTES);
  assert.equal(bare[0]!.readIos, undefined, 'no _serviced file: requests unknown');
  assert.deepEqual(cgroupIoTotals(bare), { readBytes: 12288, writeBytes: 4194304, readIos: 0, writeIos: 0 });
  assert.deepEqual(parseBlkioServiceBytes('Total 0\n'), [], 'the root cgroup of a blk-mq kernel');
});

test('readCgroupIo: v1 bytes with the _serviced twin; undefined when no counter file exists', async () => {
  const files: Record<string, string> = {
    '/cg/blkio.throttle.io_service_bytes_recursive': V1_BYTES,
    '/cg/blkio.throttle.io_serviced_recursive': V1_IOS,
  };
  const host = { tryReadText: async (p: string) => files[p] } as unknown as Parameters<typeof readCgroupIo>[0];
  const io = await readCgroupIo(host, '/cg', 1);
  assert.equal(io?.source, 'blkio.throttle.io_service_bytes_recursive');
  assert.deepEqual(cgroupIoTotals(io!.devices), { readBytes: 12288, writeBytes: 4194304, readIos: 3, writeIos: 64 });
  assert.equal(await readCgroupIo(host, '/none', 2), undefined);
});
