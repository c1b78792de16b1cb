import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeMeasured } from '../../../src/diagnose/filecache/run.js';
import { containerPathOf, mountOf, taskOfRootfs } from '../../../src/diagnose/filecache/sources.js';
import type { FileCacheRow } from '../../../src/kernel/native.js';
import { parseMountinfo } from '../../../src/kernel/procfs/pid/mountinfo.js';
import { FileCacheDocumentSchema } from '../../../src/report/filecache.js';

const MOUNTS = parseMountinfo(
  [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,size=100k',
    '31 30 0:26 / /run/x rw shared:6 - tmpfs tmpfs rw',
    '99 22 0:60 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw shared:9 - overlay overlay rw,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work',
  ].join('\n'),
);

test('mountOf picks the deepest mount holding a path', () => {
  assert.equal(mountOf(MOUNTS, '/etc/passwd')?.mountPoint, '/');
  assert.equal(mountOf(MOUNTS, '/run/x/y')?.mountPoint, '/run/x');
  assert.equal(mountOf(MOUNTS, '/run/xy')?.mountPoint, '/run');
});

test('taskOfRootfs names the containerd task of a bundle rootfs mount', () => {
  assert.equal(taskOfRootfs('/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs'), 'abc');
  assert.equal(taskOfRootfs('/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc'), undefined);
  assert.equal(taskOfRootfs('/var/lib/x'), undefined);
});

test('containerPathOf maps upper, lower and merged paths back into the container', () => {
  const overlays = [{ layers: { mountPoint: '/merged', upperDir: '/s/3/fs', workDir: '/s/3/work', lowerDirs: ['/s/2/fs', '/s/1/fs'] }, taskId: 'abc' }];
  assert.equal(containerPathOf(overlays, '/s/3/fs/var/log/app.log')?.path, '/var/log/app.log');
  assert.equal(containerPathOf(overlays, '/s/1/fs/bin/sh')?.path, '/bin/sh');
  assert.equal(containerPathOf(overlays, '/merged/etc/hosts')?.path, '/etc/hosts');
  assert.equal(containerPathOf(overlays, '/s/3/work/x'), undefined);
  assert.equal(containerPathOf(overlays, '/s/3/fsx'), undefined);
});

const row = (path: string, dev: number, ino: number, cache: number, errno = 0): FileCacheRow => ({
  path, errno, sizeBytes: cache * 4096, dev, ino, cachePages: cache, dirtyPages: 0, writebackPages: 0, evictedPages: 0, recentlyEvictedPages: 0,
});

test('mergeMeasured: one row per inode, real paths over /proc links, holders merged, uncached dropped', () => {
  const files = new Map();
  const c = (access: string, path: string, deleted: boolean, pid?: number) => ({ access, path, deleted, shmem: false, holders: pid ? [{ pid, comm: `p${pid}` }] : [] });
  mergeMeasured(
    files,
    [c('/proc/1/map_files/1-2', '/usr/lib/libc.so', false, 1), c('/usr/lib/libc.so', '/usr/lib/libc.so', false, 2), c('/empty', '/empty', false), c('/gone', '/gone', false)],
    [row('/proc/1/map_files/1-2', 1, 10, 5), row('/usr/lib/libc.so', 1, 10, 5), row('/empty', 1, 11, 0), row('/gone', Number.NaN, Number.NaN, Number.NaN, 2)],
  );
  assert.equal(files.size, 1);
  const a = files.get('1:10');
  assert.equal(a.access, '/usr/lib/libc.so');
  assert.deepEqual([...a.holders.keys()].sort(), [1, 2]);
});

test('the oscope.filecache/v1 schema takes exactly the issue\'s fields', () => {
  const doc = {
    schema: 'oscope.filecache/v1',
    scope: { kind: 'host', query: null, cgroups: ['/'], cachedBytes: 4096 },
    method: { discovery: 'procfs+tmpfs+walk', measure: 'cachestat', attribution: 'none', samplePages: 0, filesMeasured: 1, durationMs: 3 },
    coverage: [{ section: 'walk', status: 'complete' }],
    files: [
      {
        path: '/a', containerPath: null, device: '254:0', inode: 3, cachedBytes: 4096, dirtyBytes: null, writebackBytes: null, activeBytes: null,
        sizeBytes: 5000, deleted: false, shmem: false, holders: [{ pid: 1, comm: 'init' }], cgroups: [{ path: '/', bytes: 4096 }], container: null,
      },
    ],
  };
  FileCacheDocumentSchema.parse(doc);
  assert.throws(() => FileCacheDocumentSchema.parse({ ...doc, files: [{ ...doc.files[0], cachedBytes: -1 }] }));
  assert.throws(() => FileCacheDocumentSchema.parse({ ...doc, schema: 'oscope.filecache/v2' }));
});
