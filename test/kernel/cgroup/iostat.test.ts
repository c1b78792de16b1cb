import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blkioV1, cgroupIoTotals, parseBlkioRwstat, parseIoStat } from '../../../src/kernel/cgroup/iostat.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { fuzzParser } from '../../helpers.js';

// Captured on this development VM (blkio v1, blk-mq) after a 4 MiB O_DIRECT write, and from a cgroup v2 host.
const V1_BYTES = '254:0 Read 12288\n254:0 Write 4194304\n254:0 Sync 4206592\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 4206592\nTotal 4206592\n';
const V1_IOS = '254:0 Read 3\n254:0 Write 64\n254:0 Sync 67\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 67\nTotal 67\n';
const V2 = '8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=0\n';

test('io.stat (v2): bytes and requests per device, unknown keys ignored', () => {
  const rows = parseIoStat(V2);
  assert.deepEqual(rows[0], { majMin: '8:16', readBytes: 1459200, writeBytes: 314773504, readIos: 192, writeIos: 353, discardBytes: 0 });
  assert.equal(rows[1]!.readBytes, 4096);
  assert.deepEqual(cgroupIoTotals(rows), { readBytes: 1463296, writeBytes: 314773504, readIos: 193, writeIos: 353 });
  assert.deepEqual(parseIoStat(''), [], 'a cgroup that did no I/O has an empty io.stat');
  assert.throws(() => parseIoStat('8:0 rbytes=x\n', '/x/io.stat'), (e: unknown) => e instanceof ParseError && e.file === '/x/io.stat' && e.line === 1);
  fuzzParser((t) => parseIoStat(t, 'io.stat'), V2, 'io.stat');
});

test('blkio.throttle.* (v1): Read/Write per device, the Total lines skipped', () => {
  assert.deepEqual([...parseBlkioRwstat(V1_BYTES)], [['254:0', { read: 12288, write: 4194304 }]]);
  assert.deepEqual(parseBlkioRwstat('Total 0\n').size, 0, 'the root cgroup of a blk-mq kernel');
  assert.deepEqual(blkioV1(V1_BYTES, V1_IOS), [{ majMin: '254:0', readBytes: 12288, writeBytes: 4194304, readIos: 3, writeIos: 64 }]);
  assert.deepEqual(blkioV1(V1_BYTES, undefined), [{ majMin: '254:0', readBytes: 12288, writeBytes: 4194304 }]);
  assert.throws(() => parseBlkioRwstat('254:0 Read\n', 'f'), /f:1: expected "MAJ:MIN Op N"/);
  fuzzParser((t) => parseBlkioRwstat(t, 'blkio'), V1_BYTES, 'blkio');
});
