import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributeSample, cgroupWithin, sampleStride, scaleCounts } from '../../../src/kernel/pagecache/attribution.js';
import { readPfnWords } from '../../../src/kernel/pagecache/probe.js';
import { KPF } from '../../../src/kernel/kpage/kpageflags.js';

const ACTIVE = 1n << BigInt(KPF.ACTIVE);
const LRU = 1n << BigInt(KPF.LRU);

test('scaleCounts splits the total by the sample and sums exactly', () => {
  const out = scaleCounts(new Map([['/a', 3], ['/b', 1]]), 4, 4096 * 10 + 1);
  assert.deepEqual(out.map((o) => o.path), ['/a', '/b']);
  assert.equal(out.reduce((s, o) => s + o.bytes, 0), 4096 * 10 + 1);
  assert.ok(Math.abs(out[0]!.bytes - 0.75 * (4096 * 10 + 1)) <= 1);
  assert.deepEqual(scaleCounts(new Map(), 0, 100), []);
});

test('attributeSample: active share, cgroups by inode, inode 0 is the root, unknown inodes kept', () => {
  const flags = BigUint64Array.from([ACTIVE | LRU, LRU, ACTIVE | LRU, LRU]);
  const inos = Float64Array.from([10, 10, 0, 99]);
  const a = attributeSample({ flags, cgroupInos: inos }, 4 * 4096, new Map([[10, '/x']]));
  assert.equal(a.sampled, 4);
  assert.equal(a.activeShare, 0.5);
  assert.equal(a.unknownInodes, 1);
  assert.deepEqual(a.cgroups, [
    { path: '/x', bytes: 8192 },
    { path: '/', bytes: 4096 },
    { path: 'ino:99', bytes: 4096 },
  ]);
  assert.deepEqual(attributeSample({ flags: new BigUint64Array(0) }, 100, new Map()), { sampled: 0, cgroups: [], unknownInodes: 0 });
  const noCg = attributeSample({ flags }, 4096, new Map());
  assert.deepEqual(noCg.cgroups, []);
});

test('sampleStride spreads samples over every resident page', () => {
  assert.equal(sampleStride(100, 256), 1);
  assert.equal(sampleStride(1000, 256), 4);
  assert.equal(sampleStride(1000, 0), 1);
});

test('cgroupWithin', () => {
  assert.ok(cgroupWithin('/a/b', '/a'));
  assert.ok(cgroupWithin('/a', '/a'));
  assert.ok(!cgroupWithin('/ab', '/a'));
  assert.ok(cgroupWithin('/anything', '/'));
});

test('readPfnWords reads one u64 per PFN, in the order asked, coalescing neighbours', async () => {
  const { mkdtempSync, writeFileSync, openSync, closeSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/oscope-test-pfn-');
  try {
    const buf = Buffer.alloc(8 * 300);
    for (let i = 0; i < 300; i++) buf.writeBigUInt64LE(BigInt(i * 3), i * 8);
    writeFileSync(`${dir}/f`, buf);
    const fd = openSync(`${dir}/f`, 'r');
    try {
      const pfns = Float64Array.from([5, 299, 6, 200, 0, 1000]);
      assert.deepEqual([...readPfnWords(fd, pfns)], [15n, 897n, 18n, 600n, 0n, 0n]);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
