/**
 * The in-core inode walk: its output parser against a real capture and hand-written edge cases (and
 * fuzzed input), the constants mirrored from bpf/filecache.h, and live: files this test makes (a
 * closed cached file nobody holds, an unlinked file held open by a child, a tmpfs file) are found by
 * the BPF walk with their cache within 10 %, and the walk agrees with cachestat.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ParseError } from '../../../src/kernel/errors.js';
import {
  INODE_WALK,
  INODE_WALK_FILE,
  endsWalk,
  kernelDevString,
  liveInodeWalker,
  parseInodeWalk,
  userDevNumber,
} from '../../../src/kernel/pagecache/inode-walk.js';
import { liveProbe } from '../../../src/kernel/pagecache/probe.js';
import { REPO_ROOT, fixturePath, fuzzParser, isRoot, testName } from '../../helpers.js';

const MiB = 1024 * 1024;

test('parseInodeWalk: a capture from kernel 6.18', () => {
  const w = parseInodeWalk(readFileSync(fixturePath('filecache', 'inode-walk-6.18.out')));
  assert.equal(w.complete, true);
  assert.equal(w.totals.superBlocks, 40);
  assert.equal(w.superBlocks.length, 40);
  const ext4 = w.superBlocks.find((b) => b.fsType === 'ext4');
  assert.deepEqual(ext4 && { device: ext4.device, status: ext4.status }, { device: '254:0', status: 'complete' });
  assert.ok(ext4 && ext4.inodes > 100_000 && ext4.files > 10_000, 'the root file system has many inodes in memory');
  for (const t of ['proc', 'sysfs', 'sockfs', 'cgroup', 'pipefs']) assert.equal(w.superBlocks.find((b) => b.fsType === t)?.status, 'skipped', t);
  const roots = w.files.filter((f) => f.fsType === 'ext4');
  assert.ok(roots.length > 10);
  for (const f of roots) {
    if (f.path === null) continue;
    assert.ok(f.path.startsWith('/') && !f.path.includes('//'), f.path);
    assert.equal(f.pathPartial, false, f.path);
    assert.ok(f.cachedPages > 0);
  }
  const bdev = w.files.find((f) => f.blockDevice);
  assert.equal(bdev?.rdev, '254:0');
  assert.ok(w.files.some((f) => f.fsType === 'tmpfs' && f.shmem));
});

test('parseInodeWalk: names, unlinked, unknown tops, no dentry, shmem, block device, races', () => {
  const w = parseInodeWalk(readFileSync(fixturePath('filecache', 'inode-walk-edge.out')));
  const by = (ino: number, dev = '254:0') => w.files.find((f) => f.inode === ino && f.device === dev);
  assert.deepEqual(
    { path: by(12)?.path, pages: by(12)?.cachedPages, size: by(12)?.sizeBytes, partial: by(12)?.pathPartial },
    { path: '/var/log/app.log', pages: 256, size: 1048576, partial: false },
  );
  assert.equal(by(13)?.path, '/var/log/with space/new\nline');
  assert.deepEqual({ nlink: by(14)?.nlink, unhashed: by(14)?.unhashed, path: by(14)?.path }, { nlink: 0, unhashed: true, path: '/var/log/deleted.bin' });
  assert.deepEqual({ path: by(15)?.path, partial: by(15)?.pathPartial }, { path: '/top-unknown/deep.txt', partial: true });
  assert.equal(by(16)?.path, null);
  assert.deepEqual({ path: by(17)?.path, partial: by(17)?.pathPartial }, { path: '/orphan', partial: true });
  const memfd = by(5, '0:1');
  assert.deepEqual({ path: memfd?.path, shmem: memfd?.shmem, nlink: memfd?.nlink }, { path: '/memfd:cache', shmem: true, nlink: 0 });
  const bdev = w.files.find((f) => f.blockDevice);
  assert.deepEqual({ rdev: bdev?.rdev, pages: bdev?.cachedPages }, { rdev: '254:0', pages: 15000 });
  assert.equal(by(7, '0:25')?.path, '/café.txt');
  assert.deepEqual(
    w.superBlocks.map((b) => `${b.fsType} ${b.device} ${b.status}`),
    ['ext4 254:0 complete', 'tmpfs 0:1 complete', 'bdev 0:3 complete', 'tmpfs 0:25 vanished', 'ext4 0:40 race', 'sockfs 0:9 skipped'],
  );
  assert.deepEqual(w.totals, { superBlocks: 6, inodes: 5027, files: 9, dirs: 5, races: 1 });
  assert.equal(w.superBlockLimit, false);
  assert.equal(w.idsFull, true);
});

test('parseInodeWalk: malformed output is a ParseError naming the line', () => {
  const bad: [string, RegExp][] = [
    ['S 1 2 tmpfs\nF 1 2 3 4 5 6 0 0 x', /NUL/],
    ['F 1 2 3 4 5 6 0 0 x\0\n', /outside a super block/],
    ['S 1 2 tmpfs\nD 2 7 x\0\nF 1 2 3 4 5 6 2 0 y\0\n', /never named/],
    ['S 1 2 tmpfs\nE 2 1 1 0\n', /without its S record/],
    ['Z 1 1 1 1 1 0\nS 1 2 tmpfs\n', /after the end record/],
    ['Q 1\n', /unknown record/],
    ['S 1 2 tmpfs\nD 2 3 a\0\nD 3 2 b\0\nF 1 2 3 4 5 6 2 0 y\0\n', /loop/],
  ];
  for (const [text, why] of bad) {
    assert.throws(() => parseInodeWalk(text), (e: unknown) => e instanceof ParseError && e.file === INODE_WALK_FILE && why.test(e.message), JSON.stringify(text));
  }
  assert.equal(parseInodeWalk('').complete, false);
  const sample = readFileSync(fixturePath('filecache', 'inode-walk-edge.out'), 'utf8');
  fuzzParser((t) => parseInodeWalk(t), sample, INODE_WALK_FILE, 600);
});

test('endsWalk tells the end record from a name that looks like one', () => {
  assert.equal(endsWalk(Buffer.from('S 1 2 x\nZ 1 2 3 4 5 0\n')), true);
  assert.equal(endsWalk(Buffer.from('Z 1 2 3 4 5 0\n')), true);
  assert.equal(endsWalk(Buffer.from('F 1 2 3 4 5 6 0 0 a\nZ 1 2 3 4 5 0\0\n')), false);
  assert.equal(endsWalk(Buffer.from('S 1 2 x\n')), false);
  assert.equal(endsWalk(Buffer.alloc(0)), false);
});

test('device numbers: kernel s_dev to major:minor, and to the dev_t stat shows', () => {
  assert.equal(kernelDevString((254 << 20) | 0), '254:0');
  assert.equal(kernelDevString(25), '0:25');
  assert.equal(userDevNumber(254, 0), 0xfe00);
  assert.equal(userDevNumber(0, 25), 25);
  assert.equal(userDevNumber(8, 300), 0x10082c);
});

test('INODE_WALK mirrors the FC_* constants of bpf/filecache.h', () => {
  const header = readFileSync(join(REPO_ROOT, 'bpf', 'filecache.h'), 'utf8');
  const defs = new Map([...header.matchAll(/^#define FC_(\w+) (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.ok(defs.size >= 14);
  for (const [k, v] of defs) assert.equal((INODE_WALK as Record<string, number>)[k], v, `FC_${k}`);
  assert.equal(Object.keys(INODE_WALK).length, defs.size);
});

const walker = liveInodeWalker();
const probe = liveProbe();
const liveSkip = !isRoot ? 'needs root (BPF iterators)' : !walker.available ? walker.reason : !probe.available ? probe.reason : false;

test('the BPF walk finds a closed cached file, an unlinked open file and a tmpfs file; cachestat agrees', { skip: liveSkip }, async () => {
  if (!walker.available || !probe.available) return;
  const dir = join('/var/tmp', testName('walk'));
  const closed = join(dir, 'closed.bin');
  const unlinked = join(dir, 'unlinked.bin');
  const shm = join('/dev/shm', testName('walk-shm'));
  let holder: ChildProcess | undefined;
  mkdirSync(dir);
  try {
    // 12 MiB written, read back, closed: nobody holds it.
    writeFileSync(closed, Buffer.alloc(12 * MiB, 1));
    const fd = openSync(closed, 'r');
    const chunk = Buffer.alloc(MiB);
    while (readSync(fd, chunk) > 0);
    closeSync(fd);
    // 6 MiB held open by a child, then unlinked.
    holder = spawn('/bin/sh', ['-c', 'dd if=/dev/zero of="$0" bs=1M count=6 status=none && exec 3<"$0" && rm "$0" && echo ready && exec sleep 600', unlinked], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await once(holder.stdout!, 'data');
    // 4 MiB on tmpfs.
    writeFileSync(shm, Buffer.alloc(4 * MiB, 2));

    const w = await walker.walker.walk();
    assert.equal(w.complete, true, 'the walk went round every super block');
    // The same walk handed over between calls every 97 inodes: resumption loses nothing that stayed.
    const small = liveInodeWalker({ stepsPerCall: 97 });
    assert.ok(small.available);
    const w2 = await small.walker.walk();
    assert.equal(w2.complete, true);
    const key = (f: { device: string; inode: number }): string => `${f.device}:${f.inode}`;
    const again = new Set(w2.files.map(key));
    const big = w.files.filter((f) => f.cachedPages >= 256 && !f.shmem);
    const lost = big.filter((f) => !again.has(key(f)));
    assert.ok(lost.length <= Math.max(1, big.length * 0.02), `files with 1 MiB+ of cache missing from the resumed walk: ${lost.map((f) => f.path).join(', ')}`);
    const within = (pages: number | undefined, bytes: number, what: string): void => {
      assert.ok(pages !== undefined && Math.abs(pages * 4096 - bytes) <= bytes * 0.1, `${what}: ${pages} pages is not within 10 % of ${bytes} bytes`);
    };
    // /var/tmp is on the root file system here, whose root is mounted at /: walk paths are host paths.
    const c = w.files.find((f) => f.path === closed);
    within(c?.cachedPages, 12 * MiB, 'closed file');
    assert.equal(c!.nlink, 1);
    const u = w.files.find((f) => f.path === unlinked);
    within(u?.cachedPages, 6 * MiB, 'unlinked file');
    assert.equal(u!.nlink, 0);
    const s = w.files.find((f) => f.shmem && f.path === `/${shm.split('/').pop()!}`);
    within(s?.cachedPages, 4 * MiB, 'tmpfs file');

    // cachestat through the path (and through the holder's fd for the unlinked one) sees the same inode and pages.
    const rows = await probe.probe.measure([closed, shm, `/proc/${holder.pid}/fd/3`]);
    for (const [row, f] of [[rows[0]!, c!], [rows[1]!, s!], [rows[2]!, u!]] as const) {
      const [major, minor] = f.device.split(':').map(Number) as [number, number];
      assert.equal(row.errno, 0);
      assert.equal(row.dev, userDevNumber(major, minor), `${f.path}: device`);
      assert.equal(row.ino, f.inode, `${f.path}: inode`);
      assert.ok(Math.abs(row.cachePages - f.cachedPages) <= f.cachedPages * 0.1, `${f.path}: cachestat ${row.cachePages} vs walk ${f.cachedPages}`);
    }
  } finally {
    if (holder && holder.exitCode === null) {
      holder.kill('SIGKILL');
      await once(holder, 'exit').catch(() => undefined);
    }
    rmSync(shm, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
