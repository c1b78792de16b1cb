import assert from 'node:assert/strict';
import { test } from 'node:test';
import { locateInOverlay, overlayContainerPath, overlayLayers, splitLowerdir } from '../../src/containers/overlay.js';
import { parseMountinfo } from '../../src/kernel/procfs/pid/mountinfo.js';
import { fixture } from '../helpers.js';

const mounts = parseMountinfo(fixture('pid', 'mountinfo-container-host'));
const containerd = mounts.find((m) => m.mountId === 512)!;
const docker = mounts.find((m) => m.mountId === 600)!;
const SNAP = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';

test('overlay: layers of a containerd rootfs and a docker overlay2 mount (escaped colon)', () => {
  const l = overlayLayers(containerd)!;
  assert.equal(l.upperDir, `${SNAP}/18/fs`);
  assert.equal(l.workDir, `${SNAP}/18/work`);
  assert.deepEqual(l.lowerDirs, [`${SNAP}/17/fs`, `${SNAP}/16/fs`]);
  assert.deepEqual(overlayLayers(docker)!.lowerDirs, ['/var/lib/docker/overlay2/l/AB:CD', '/var/lib/docker/overlay2/l/EFGH']);
  assert.equal(overlayLayers(mounts.find((m) => m.fsType === 'ext4')!), undefined);
  assert.deepEqual(splitLowerdir('/a::/b:/c\\:d'), ['/a', '/b', '/c:d']);
  const newApi = parseMountinfo('900 22 0:140 / /merged rw - overlay overlay rw,lowerdir+=/l/1,lowerdir+=/l/2,datadir+=/d/1,upperdir=/u,workdir=/w\n')[0]!;
  assert.deepEqual(overlayLayers(newApi)!.lowerDirs, ['/l/1', '/l/2', '/d/1']);
  assert.equal(overlayContainerPath(newApi, '/l/2/etc/hosts'), '/etc/hosts');
});

test('overlay: host paths map back to container paths', () => {
  assert.equal(overlayContainerPath(containerd, `${SNAP}/18/fs/var/log/app.log`), '/var/log/app.log');
  assert.equal(overlayContainerPath(containerd, `${SNAP}/16/fs/usr/lib/libc.so.6`), '/usr/lib/libc.so.6');
  assert.deepEqual(locateInOverlay(containerd, `${SNAP}/16/fs/etc/passwd`), { layer: 'lower', lowerIndex: 1, path: '/etc/passwd' });
  assert.equal(overlayContainerPath(containerd, `${containerd.mountPoint}/var/log/app.log`), '/var/log/app.log');
  assert.equal(overlayContainerPath(containerd, `${SNAP}/18/fs`), '/');
  assert.equal(overlayContainerPath(containerd, `${SNAP}/18/work/work/#1`), undefined, 'workdir is private');
  assert.equal(overlayContainerPath(containerd, `${SNAP}/18/fsx/a`), undefined, 'a sibling with a common prefix');
  assert.equal(overlayContainerPath(containerd, '/etc/passwd'), undefined);
  assert.equal(overlayContainerPath(docker, '/var/lib/docker/overlay2/l/AB:CD/bin/sh'), '/bin/sh');
  assert.equal(overlayContainerPath(docker, '/var/lib/docker/overlay2/9c1e/diff/data/dump.rdb'), '/data/dump.rdb');
});
