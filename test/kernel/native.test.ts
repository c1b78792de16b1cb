import assert from 'node:assert/strict';
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCachestatRows, isNativeError, loadNative, requireNative, resetNativeForTests } from '../../src/kernel/native.js';
import { isRoot, testName } from '../helpers.js';

const status = loadNative();
const skipNative: string | false = status.available ? false : `native addon unavailable: ${status.reason}`;
const MiB = 1024 * 1024;

/** A file in /var/tmp-like disk storage (tmpdir here is ext4), removed in finally. */
function withFile(sizeBytes: number, fill: boolean, f: (fd: number, path: string) => void): void {
  const path = join(tmpdir(), testName('cache'));
  const fd = openSync(path, 'w+');
  try {
    if (fill) {
      const chunk = Buffer.alloc(MiB, 0x5a);
      for (let off = 0; off < sizeBytes; off += MiB) writeSync(fd, chunk, 0, Math.min(MiB, sizeBytes - off), off);
      fsyncSync(fd);
    } else {
      ftruncateSync(fd, sizeBytes);
    }
    f(fd, path);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

function readAll(fd: number, sizeBytes: number): void {
  const buf = Buffer.alloc(MiB);
  for (let off = 0; off < sizeBytes; off += MiB) readSync(fd, buf, 0, MiB, off);
}

test('native: a missing addon gives a clear reason, not a crash', () => {
  const saved = process.env.OSCOPE_NATIVE_ADDON;
  process.env.OSCOPE_NATIVE_ADDON = join(tmpdir(), testName('no-such-addon'), 'x.node');
  resetNativeForTests();
  try {
    const s = loadNative();
    assert.equal(s.available, false);
    assert.ok(!s.available && /not built/.test(s.reason), 'the reason says the addon is not built');
    assert.throws(() => requireNative(), /not built/);
  } finally {
    if (saved === undefined) delete process.env.OSCOPE_NATIVE_ADDON;
    else process.env.OSCOPE_NATIVE_ADDON = saved;
    resetNativeForTests();
  }
});

test('native: the addon loads and reports its libbpf', { skip: skipNative }, () => {
  const n = requireNative();
  assert.match(n.libbpfVersion(), /^\d+\.\d+$/);
  assert.ok(n.pageSize() >= 4096);
  assert.ok(n.numPossibleCpus() >= 1);
});

test('native: errors carry errno, code, syscall and a sentence', { skip: skipNative }, () => {
  const n = requireNative();
  assert.throws(
    () => n.cachestat(987654),
    (e: unknown) => {
      assert.ok(isNativeError(e));
      assert.equal(e.code, 'EBADF');
      assert.equal(e.errno, -9);
      assert.equal(e.syscall, 'cachestat');
      assert.match(e.message, /^cachestat failed: Bad file descriptor \(EBADF\)$/);
      return true;
    },
  );
  assert.throws(() => n.objOpen(join(tmpdir(), testName('missing'), 'x.bpf.o')), (e: unknown) => isNativeError(e) && e.code === 'ENOENT');
  // @ts-expect-error: a wrong handle kind is refused with a TypeError, not a crash
  assert.throws(() => n.objLoad({}), TypeError);
});

test('native: cachestat sees a file the test cached, and agrees with mincore', { skip: skipNative }, () => {
  const n = requireNative();
  const size = 16 * MiB;
  const ps = n.pageSize();
  withFile(size, true, (fd) => {
    readAll(fd, size);
    let cs;
    try {
      cs = n.cachestat(fd);
    } catch (err) {
      if (isNativeError(err) && err.code === 'ENOSYS') return; // kernel < 6.5: mincore is the method
      throw err;
    }
    const cachedBytes = cs.cache * ps;
    assert.ok(Math.abs(cachedBytes - size) <= size * 0.1, `cached ${cachedBytes} within 10 % of ${size}`);
    assert.equal(cs.dirty, 0, 'fsync left no dirty pages');
    assert.equal(cs.writeback, 0);
    const mc = n.mincore(fd, 0, 0, true);
    assert.equal(mc.pages, size / ps);
    assert.equal(mc.vector?.length, size / ps);
    assert.ok(Math.abs(mc.resident - cs.cache) <= cs.cache * 0.1, `mincore ${mc.resident} ~ cachestat ${cs.cache}`);
    // A sub-range: the first MiB.
    const part = n.cachestat(fd, 0, MiB);
    assert.ok(part.cache <= MiB / ps && part.cache >= (MiB / ps) * 0.9);
  });
});

test('native: a never-read sparse file has no cache, by both methods', { skip: skipNative }, () => {
  const n = requireNative();
  withFile(8 * MiB, false, (fd) => {
    assert.equal(n.mincore(fd).resident, 0);
    try {
      assert.equal(n.cachestat(fd).cache, 0);
    } catch (err) {
      if (!(isNativeError(err) && err.code === 'ENOSYS')) throw err;
    }
  });
});

test('native: residentPfns returns nonzero PFNs of cached pages (root)', { skip: skipNative || (isRoot ? false : 'needs root: PFNs read 0 otherwise') }, () => {
  const n = requireNative();
  const size = 4 * MiB;
  withFile(size, true, (fd) => {
    readAll(fd, size);
    const r = n.residentPfns(fd, 0, 0, 10_000, 1);
    assert.equal(r.pages, size / n.pageSize());
    assert.ok(r.resident > 0, 'pages are resident');
    assert.ok(r.sampled > 0 && r.sampled <= r.resident);
    assert.equal(r.index.length, r.sampled);
    assert.ok(r.pfn.every((p) => p > 0), 'every sampled page has a PFN');
    assert.ok(r.index.every((i) => i >= 0 && i < r.pages));
    // Sampling every 4th resident page, at most 8.
    const s = n.residentPfns(fd, 0, 0, 8, 4);
    assert.ok(s.sampled <= 8);
  });
});

test('native: pagemapRead reads this process\'s own page table entries (root)', { skip: skipNative || (isRoot ? false : 'needs root') }, () => {
  const n = requireNative();
  // The top pages of the main thread's stack are in use, so they are present.
  const stack = readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.endsWith('[stack]'));
  assert.ok(stack, 'this process has a [stack] mapping');
  const end = BigInt(`0x${stack.split(' ')[0]!.split('-')[1]!}`);
  const entries = n.pagemapRead(0, end - 4n * BigInt(n.pageSize()), 4);
  assert.equal(entries.length, 4);
  const present = [...entries].filter((e) => e >> 63n === 1n);
  assert.ok(present.length > 0, 'some pages are present');
  assert.ok(present.every((e) => (e & ((1n << 55n) - 1n)) > 0n), 'present pages have PFNs');
});

test('native: perf_event_open gives an fd that enables, disables and closes', { skip: skipNative || (isRoot ? false : 'a CPU-wide perf event needs root (perf_event_paranoid)') }, () => {
  const n = requireNative();
  const h = n.perfEventOpen({ type: 1, config: 0, cpu: 0, pid: -1, samplePeriod: 10_000_000, disabled: true });
  assert.ok(n.fdNumber(h) >= 0);
  n.perfEventEnable(h);
  n.perfEventDisable(h);
  n.fdClose(h);
  n.fdClose(h); // idempotent
  assert.throws(() => n.perfEventEnable(h), (e: unknown) => isNativeError(e) && e.code === 'EBADF');
  assert.throws(
    () => n.perfEventOpen({ type: 12345, config: 0, cpu: 0, pid: -1 }),
    (e: unknown) => isNativeError(e) && e.syscall === 'perf_event_open' && /type 12345/.test(e.message),
  );
});

test('native: cachestatFiles measures many files in one call, both methods, sync and async', { skip: skipNative }, async () => {
  const n = requireNative();
  const size = 2 * MiB;
  const ps = n.pageSize();
  const path = join(tmpdir(), testName('files'));
  try {
    writeFileSync(path, Buffer.alloc(size, 1));
    readFileSync(path);
    const paths = [path, tmpdir(), join(tmpdir(), testName('absent'))];
    const [file, dir, absent] = decodeCachestatRows(paths, n.cachestatFiles(paths, 'cachestat'));
    if (file!.errno === 38) return; // ENOSYS: kernel < 6.5, mincore is the method
    const viaMincore = decodeCachestatRows(paths, n.cachestatFiles(paths, 'mincore'));
    const viaAsync = decodeCachestatRows(paths, await n.cachestatFiles(paths, 'cachestat', true));
    assert.equal(file!.errno, 0);
    assert.equal(file!.sizeBytes, size);
    assert.ok(Math.abs(file!.cachePages * ps - size) <= size * 0.1);
    assert.ok(Math.abs(viaMincore[0]!.cachePages - file!.cachePages) <= file!.cachePages * 0.1);
    assert.ok(Number.isNaN(viaMincore[0]!.dirtyPages), 'mincore cannot tell dirty pages');
    assert.equal(dir!.errno, 21, 'a directory is EISDIR, not opened');
    assert.equal(absent!.errno, 2);
    assert.ok(Math.abs(viaAsync[0]!.cachePages - file!.cachePages) <= file!.cachePages * 0.1);
    assert.ok(file!.ino > 0 && file!.dev > 0);
  } finally {
    rmSync(path, { force: true });
  }
});
