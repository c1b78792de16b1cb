import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseMountinfo, readMountinfo } from '../../../../src/kernel/procfs/pid/mountinfo.js';
import { fixture, fuzzParser } from '../../../helpers.js';

test('mountinfo: captured hybrid cgroup host', () => {
  const m = parseMountinfo(fixture('pid', 'mountinfo'));
  const mem = m.find((x) => x.mountPoint === '/sys/fs/cgroup/memory')!;
  assert.equal(mem.fsType, 'cgroup');
  assert.ok(mem.superOptions.has('memory'));
  assert.equal(mem.root, '/');
  const v2 = m.find((x) => x.fsType === 'cgroup2')!;
  assert.equal(v2.mountPoint, '/sys/fs/cgroup/unified');
  assert.equal(mem.parentId, m.find((x) => x.mountPoint === '/sys/fs/cgroup')!.mountId);
});

test('mountinfo: escapes, optional fields, overlay options, fuse subtype', () => {
  const m = parseMountinfo(fixture('pid', 'mountinfo-container-host'));
  const data = m.find((x) => x.mountId === 28)!;
  assert.equal(data.mountPoint, '/mnt/my data');
  assert.deepEqual(data.optionalFields, ['shared:30']);
  assert.equal(m.find((x) => x.mountId === 29)!.mountPoint, '/media/usb\tstick');
  const ovl = m.find((x) => x.mountId === 512)!;
  assert.equal(ovl.fsType, 'overlay');
  assert.equal(ovl.superOptions.get('upperdir'), '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/18/fs');
  assert.equal(ovl.superOptions.get('uuid'), 'on');
  assert.equal(ovl.superOptions.get('rw'), '');
  const fuse = m.find((x) => x.mountId === 700)!;
  assert.equal(fuse.fsType, 'fuse.sshfs');
  assert.equal(fuse.root, '/volumes/app');
  assert.deepEqual(fuse.optionalFields, ['master:7', 'propagate_from:3', 'unbindable']);
  assert.equal(fuse.source, 'user@host:/data');
  assert.equal(m.find((x) => x.mountId === 22)!.major, 259);
});

test('mountinfo: a bind-mounted network namespace (ip netns add) has its nsfs dentry name as root', () => {
  const m = parseMountinfo('45 44 0:4 net:[4026532173] /run/netns/blue rw shared:2 - nsfs nsfs rw\n');
  assert.equal(m[0]!.root, 'net:[4026532173]');
  assert.equal(m[0]!.fsType, 'nsfs');
  assert.throws(() => parseMountinfo('45 44 0:4 net /run/netns/blue rw - nsfs nsfs rw\n'), /root and mount point must be absolute/);
});

test('mountinfo: malformed', () => {
  assert.throws(() => parseMountinfo('22 1 259:2 / / rw - ext4 /dev/x rw\n23 22 0:21 / /proc rw\n', 'mi'), (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === 'mi');
  assert.throws(() => parseMountinfo('22 1 259-2 / / rw - ext4 /dev/x rw\n', 'mi'), ParseError);
});

test('mountinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseMountinfo(t, 'mi'), fixture('pid', 'mountinfo-container-host'), 'mi');
});

test('mountinfo: live', async () => {
  const m = await readMountinfo(new LiveHost());
  assert.ok(m.some((x) => x.mountPoint === '/'));
});
