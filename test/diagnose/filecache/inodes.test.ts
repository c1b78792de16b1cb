/** Placing the inode walk's files onto mount points (pure), and merging them with processes' files. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountIndex, placeWalkFile } from '../../../src/diagnose/filecache/inodes.js';
import { type Acc, addWalkFiles, mergeMeasured, placeAcc } from '../../../src/diagnose/filecache/run.js';
import type { InodeWalkFile } from '../../../src/kernel/pagecache/inode-walk.js';
import { parseMountinfo } from '../../../src/kernel/procfs/pid/mountinfo.js';

const HOST = parseMountinfo(
  [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '23 22 254:0 /var/lib/data /mnt/data rw shared:1 - ext4 /dev/vda rw',
    '30 22 0:25 / /dev/shm rw,nosuid shared:5 - tmpfs tmpfs rw',
    '31 22 0:26 / /run rw shared:6 - tmpfs tmpfs rw',
    '32 22 0:27 / /run rw shared:7 - tmpfs tmpfs rw',
  ].join('\n'),
);
const CONTAINER = parseMountinfo(
  ['500 400 0:70 / / rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w', '501 500 8:16 /volumes/v1 /data rw - xfs /dev/sdb rw'].join('\n'),
);
const index = mountIndex({ host: HOST, namespaces: [{ pid: 4242, mounts: CONTAINER }] });

const file = (device: string, path: string | null, extra: Partial<InodeWalkFile> = {}): InodeWalkFile => ({
  device, fsType: 'ext4', shmem: false, blockDevice: false, inode: 7, mode: 0o100644, nlink: 1, cachedPages: 10, sizeBytes: 40960,
  rdev: null, path, pathPartial: false, unhashed: false, named: path !== null, ...extra,
});

test('placeWalkFile: our mounts, bind mounts, hidden mounts, other namespaces, unmounted and nameless files', () => {
  assert.deepEqual(placeWalkFile(file('254:0', '/var/log/syslog'), index), { path: '/var/log/syslog', access: '/var/log/syslog' });
  // The mount with the whole file system wins over a bind mount of a subdirectory.
  assert.equal(placeWalkFile(file('254:0', '/var/lib/data/x'), index).path, '/var/lib/data/x');
  assert.deepEqual(placeWalkFile(file('0:25', '/oscope', { fsType: 'tmpfs', shmem: true }), index), { path: '/dev/shm/oscope', access: '/dev/shm/oscope' });
  // /run has two tmpfs mounted on it: only the later one is visible; the hidden one still names its files.
  assert.equal(placeWalkFile(file('0:27', '/a', { fsType: 'tmpfs' }), index).path, '/run/a');
  assert.equal(placeWalkFile(file('0:26', '/b', { fsType: 'tmpfs' }), index).path, '/run/b');
  // Only mounted in a container: reached through its root, with the container's path.
  assert.deepEqual(placeWalkFile(file('8:16', '/volumes/v1/db/table', { fsType: 'xfs' }), index), {
    path: '/proc/4242/root/data/db/table', access: '/proc/4242/root/data/db/table', containerPath: '/data/db/table', viaPid: 4242,
  });
  assert.deepEqual(placeWalkFile(file('8:16', '/elsewhere/f', { fsType: 'xfs' }), index), { path: '(xfs 8:16) /elsewhere/f', unreachable: 'not-mounted' });
  assert.deepEqual(placeWalkFile(file('254:0', '/var/tmp/gone', { nlink: 0 }), index), { path: '/var/tmp/gone', unreachable: 'unlinked' });
  assert.deepEqual(placeWalkFile(file('0:1', '/memfd:cache', { fsType: 'tmpfs', shmem: true, nlink: 0 }), index), { path: '/memfd:cache', unreachable: 'not-mounted' });
  assert.deepEqual(placeWalkFile(file('254:0', null), index), { path: '(ext4 254:0) inode 7', unreachable: 'no-name' });
  assert.deepEqual(placeWalkFile(file('254:0', '/deep/x', { pathPartial: true }), index), { path: '(ext4 254:0) …/deep/x', unreachable: 'partial-name' });
  const bdev = file('0:3', '/', { fsType: 'bdev', blockDevice: true, rdev: '254:0' });
  assert.deepEqual(placeWalkFile(bdev, index, new Map([['254:0', '/dev/vda']])), { path: '/dev/vda', access: '/dev/vda', deviceNode: true });
  assert.deepEqual(placeWalkFile(bdev, index), { path: '/dev/block/254:0', unreachable: 'not-mounted' });
});

test('addWalkFiles: one row per inode; a file a process holds keeps its measured row and holders; placed when looked at', () => {
  const files = new Map<string, Acc>();
  mergeMeasured(
    files,
    [{ access: '/proc/9/fd/3', path: '/proc/9/fd/3', deleted: false, shmem: false, holders: [{ pid: 9, comm: 'db' }] }],
    [{ path: '/proc/9/fd/3', errno: 0, sizeBytes: 8192, dev: 0xfe00, ino: 7, cachePages: 2, dirtyPages: 1, writebackPages: 0, evictedPages: 0, recentlyEvictedPages: 0 }],
  );
  addWalkFiles(files, { files: [file('254:0', '/srv/db/table', { cachedPages: 3 }), file('254:0', '/srv/other', { inode: 8 }), file('254:0', '/nothing', { inode: 9, cachedPages: 0 })] }, index);
  assert.equal(files.size, 2);
  const held = files.get(`${0xfe00}:7`)!;
  assert.deepEqual({ path: held.path, measured: held.measured, pages: held.row.cachePages, holders: [...held.holders.keys()] }, { path: '/srv/db/table', measured: true, pages: 2, holders: [9] });
  const other = files.get(`${0xfe00}:8`)!;
  assert.equal(other.path, '', 'placed on a mount only when looked at');
  placeAcc(other);
  assert.deepEqual({ path: other.path, access: other.access, measured: other.measured, pages: other.row.cachePages, dirty: other.row.dirtyPages }, {
    path: '/srv/other', access: '/srv/other', measured: false, pages: 10, dirty: Number.NaN,
  });
});
