import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupTopFiles } from '../../../src/diagnose/memory/findings.js';
import type { FileCacheFile } from '../../../src/diagnose/filecache/types.js';

const file = (path: string, cgroups: { path: string; bytes: number }[], containerPath: string | null = null): FileCacheFile => ({
  path, containerPath, device: '1:1', inode: 1, cachedBytes: cgroups.reduce((s, c) => s + c.bytes, 0), dirtyBytes: 0, writebackBytes: 0,
  activeBytes: null, sizeBytes: 0, deleted: false, shmem: false, holders: [], cgroups, container: null,
});

test('cgroupTopFiles: the files charged most to a cgroup and its children, with container paths kept', () => {
  const files = [
    file('/a', [{ path: '/k/pod1/c1', bytes: 10 }, { path: '/other', bytes: 1000 }]),
    file('/up/var/log/x.log', [{ path: '/k/pod1/c1', bytes: 500 }], '/var/log/x.log'),
    file('/b', [{ path: '/k/pod10', bytes: 900 }]),
  ];
  assert.deepEqual(cgroupTopFiles(files, '/k/pod1', 3), [
    { path: '/up/var/log/x.log', containerPath: '/var/log/x.log', bytes: 500 },
    { path: '/a', containerPath: null, bytes: 10 },
  ]);
  assert.equal(cgroupTopFiles(files, '/', 1)[0]!.path, '/a');
});
