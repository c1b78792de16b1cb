import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseMaps, readMaps } from '../../../../src/kernel/procfs/pid/maps.js';
import { fixture, fuzzParser } from '../../../helpers.js';

test('maps: captured process with heap, memfd, SysV, /dev/shm and a deleted file with a space', () => {
  const maps = parseMaps(fixture('pid', 'maps'));
  assert.ok(maps.length > 20);
  const heap = maps.find((m) => m.kind === 'heap')!;
  assert.equal(heap.pathname, '[heap]');
  assert.ok(heap.sizeBytes > 0 && heap.perms === 'rw-p' && !heap.shared);
  const memfd = maps.find((m) => m.kind === 'memfd')!;
  assert.equal(memfd.memfdName, 'oscope-test-memfd');
  assert.equal(memfd.deleted, true);
  assert.equal(memfd.sizeBytes, 1 << 20);
  assert.ok(memfd.shared);
  const sysv = maps.find((m) => m.kind === 'sysv')!;
  assert.equal(sysv.sysvKey, 0xabcd);
  assert.equal(sysv.sizeBytes, 65536);
  const shm = maps.find((m) => m.kind === 'posix-shm')!;
  assert.equal(shm.pathname, '/dev/shm/oscope-test-shm');
  assert.equal(shm.deleted, false);
  const del = maps.find((m) => m.pathname === '/tmp/oscope-test-deleted file')!;
  assert.equal(del.kind, 'file');
  assert.equal(del.deleted, true);
  assert.ok(del.inode > 0 && del.major === 0xfe && del.minor === 0);
  assert.ok(maps.some((m) => m.kind === 'stack'));
  assert.ok(maps.some((m) => m.kind === 'special' && m.pathname === '[vdso]'));
  assert.ok(maps.some((m) => m.kind === 'anon'));
});

test('maps: escaped newline, named anon, shared anon, 32-bit style addresses', () => {
  const maps = parseMaps(
    [
      '08048000-08049000 r-xp 00001000 08:01 1234       /opt/a\\012b',
      '7f0000000000-7f0000001000 rw-p 00000000 00:00 0      [anon:jemalloc]',
      '7f0000001000-7f0000002000 rw-s 00000000 00:01 77     /dev/zero (deleted)',
      '',
    ].join('\n'),
  );
  assert.equal(maps[0]!.pathname, '/opt/a\nb');
  assert.equal(maps[0]!.offset, 0x1000n);
  assert.equal(maps[1]!.kind, 'special');
  assert.equal(maps[2]!.kind, 'shared-anon');
});

test('maps: bad line names file and line', () => {
  assert.throws(() => parseMaps('00400000-00401000 r-xp 00000000 08:01 1 /bin/x\nnot a map\n', 'm'), (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === 'm');
  assert.throws(() => parseMaps('00500000-00401000 r-xp 00000000 08:01 1\n', 'm'), ParseError);
});

test('maps: fuzzed input never crashes', () => {
  fuzzParser((t) => parseMaps(t, 'm'), fixture('pid', 'maps'), 'm');
});

test('maps: live, this process maps node', async () => {
  const maps = await readMaps(new LiveHost(), process.pid);
  assert.ok(maps.some((m) => m.kind === 'file' && m.pathname.endsWith(process.execPath.split('/').pop()!)));
});
