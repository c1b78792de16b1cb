import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LayoutPath, containerPathFromLayout } from '../../src/containers/snapshot.js';
import { mutations } from '../helpers.js';

const ID = '9c1e5a0f3b7d2e4c6a8b0d1f3e5c7a9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e1a';
const ID2 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const LINK = 'AB3DEFGHIJKLMNOPQRSTUVWX2Z';
const CTRD = '/var/lib/containerd';
const OVL = `${CTRD}/io.containerd.snapshotter.v1.overlayfs/snapshots`;

type Want = Pick<LayoutPath, 'path' | 'layout' | 'snapshotId'> & Partial<LayoutPath>;

const positive: [string, Want][] = [
  // containerd overlayfs, at its default root, at k3s's, and anywhere else.
  [`${OVL}/7/fs/var/log/app.log`, { path: '/var/log/app.log', layout: 'containerd-overlayfs', snapshotId: '7', runtime: 'containerd', layerRoot: `${OVL}/7/fs`, storageRoot: CTRD }],
  ['/var/lib/rancher/k3s/agent/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/123/fs/etc/nginx/nginx.conf', { path: '/etc/nginx/nginx.conf', layout: 'containerd-overlayfs', snapshotId: '123', storageRoot: '/var/lib/rancher/k3s/agent/containerd' }],
  ['/data/ctrd/io.containerd.snapshotter.v1.overlayfs/snapshots/4/fs/usr/lib/libc.so.6', { path: '/usr/lib/libc.so.6', layout: 'containerd-overlayfs', snapshotId: '4', storageRoot: '/data/ctrd' }],
  // docker's own containerd image store.
  ['/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/31/fs/app/x', { path: '/app/x', layout: 'containerd-overlayfs', snapshotId: '31', storageRoot: '/var/lib/docker/containerd/daemon' }],
  // The layer root itself is the container's '/', with or without a trailing slash.
  [`${OVL}/7/fs`, { path: '/', layout: 'containerd-overlayfs', snapshotId: '7' }],
  [`${OVL}/7/fs/`, { path: '/', layout: 'containerd-overlayfs', snapshotId: '7' }],
  [`${OVL}/7/fs/var/log/`, { path: '/var/log', layout: 'containerd-overlayfs', snapshotId: '7' }],
  [`${OVL}//7/fs//var//log/app.log`, { path: '/var/log/app.log', layout: 'containerd-overlayfs', snapshotId: '7' }],
  // A file named like the layout's directories inside the container is just a file.
  [`${OVL}/7/fs/work/fs/snapshots`, { path: '/work/fs/snapshots', layout: 'containerd-overlayfs', snapshotId: '7' }],
  [`${OVL}/7/fs/home/u/overlay/notes/diff/x`, { path: '/home/u/overlay/notes/diff/x', layout: 'containerd-overlayfs', snapshotId: '7' }],
  // Other containerd snapshotters.
  [`${CTRD}/io.containerd.snapshotter.v1.native/snapshots/12/etc/passwd`, { path: '/etc/passwd', layout: 'containerd-native', snapshotId: '12', layerRoot: `${CTRD}/io.containerd.snapshotter.v1.native/snapshots/12` }],
  [`${CTRD}/io.containerd.snapshotter.v1.native/snapshots/12`, { path: '/', layout: 'containerd-native', snapshotId: '12' }],
  [`${CTRD}/io.containerd.snapshotter.v1.btrfs/active/9/var/lib/db`, { path: '/var/lib/db', layout: 'containerd-btrfs', snapshotId: '9' }],
  [`${CTRD}/io.containerd.snapshotter.v1.btrfs/snapshots/3/bin/sh`, { path: '/bin/sh', layout: 'containerd-btrfs', snapshotId: '3' }],
  [`${CTRD}/io.containerd.snapshotter.v1.btrfs/view/5/etc/os-release`, { path: '/etc/os-release', layout: 'containerd-btrfs', snapshotId: '5' }],
  [`${CTRD}/io.containerd.snapshotter.v1.fuse-overlayfs/snapshots/2/fs/a`, { path: '/a', layout: 'containerd-fuse-overlayfs', snapshotId: '2' }],
  ['/home/u/.local/share/containerd-fuse-overlayfs/snapshots/2/fs/a', { path: '/a', layout: 'containerd-fuse-overlayfs', snapshotId: '2', storageRoot: '/home/u/.local/share' }],
  [`${CTRD}/io.containerd.snapshotter.v1.stargz/snapshots/8/fs/b`, { path: '/b', layout: 'containerd-stargz', snapshotId: '8' }],
  ['/var/lib/containerd-stargz-grpc/snapshotter/snapshots/8/fs/b', { path: '/b', layout: 'containerd-stargz', snapshotId: '8', storageRoot: '/var/lib' }],
  // docker overlay2: a layer, the init layer, the merged root, a short link; any data-root.
  [`/var/lib/docker/overlay2/${ID}/diff/data/dump.rdb`, { path: '/data/dump.rdb', layout: 'docker-overlay2', snapshotId: ID, runtime: 'docker', layerRoot: `/var/lib/docker/overlay2/${ID}/diff`, storageRoot: '/var/lib/docker' }],
  [`/var/lib/docker/overlay2/${ID}-init/diff/etc/hosts`, { path: '/etc/hosts', layout: 'docker-overlay2', snapshotId: `${ID}-init` }],
  [`/var/lib/docker/overlay2/${ID}/merged/var/log/app.log`, { path: '/var/log/app.log', layout: 'docker-overlay2', snapshotId: ID }],
  [`/var/lib/docker/overlay2/${ID}/diff`, { path: '/', layout: 'docker-overlay2', snapshotId: ID }],
  [`/var/lib/docker/overlay2/l/${LINK}/bin/sh`, { path: '/bin/sh', layout: 'docker-overlay2', snapshotId: LINK }],
  [`/srv/docker-data/overlay2/${ID}/diff/x`, { path: '/x', layout: 'docker-overlay2', snapshotId: ID, storageRoot: '/srv/docker-data' }],
  // containers/storage (cri-o, podman): root and rootless graphroots.
  [`/var/lib/containers/storage/overlay/${ID}/diff/usr/bin/python3`, { path: '/usr/bin/python3', layout: 'containers-storage-overlay', snapshotId: ID, runtime: 'containers-storage', storageRoot: '/var/lib/containers/storage' }],
  [`/var/lib/containers/storage/overlay/${ID}/merged/tmp/x`, { path: '/tmp/x', layout: 'containers-storage-overlay', snapshotId: ID }],
  [`/home/alice/.local/share/containers/storage/overlay/${ID}/diff/app/main.py`, { path: '/app/main.py', layout: 'containers-storage-overlay', snapshotId: ID, storageRoot: '/home/alice/.local/share/containers/storage' }],
  [`/var/lib/containers/storage/overlay/l/${LINK}/etc/passwd`, { path: '/etc/passwd', layout: 'containers-storage-overlay', snapshotId: LINK }],
  // Nested roots: the innermost container's view (a kind node's containerd inside a docker layer;
  // docker-in-docker).
  [`/var/lib/docker/overlay2/${ID}/diff/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/5/fs/app/x`, { path: '/app/x', layout: 'containerd-overlayfs', snapshotId: '5', storageRoot: `/var/lib/docker/overlay2/${ID}/diff/var/lib/containerd` }],
  [`${OVL}/7/fs/var/lib/docker/overlay2/${ID2}/diff/srv/y`, { path: '/srv/y', layout: 'docker-overlay2', snapshotId: ID2 }],
];

const negative: [string, string][] = [
  [`${OVL}/7/work/work/#1`, "overlayfs' private workdir"],
  [`${OVL}/7/work`, 'the workdir itself'],
  [`${OVL}/7`, 'the snapshot directory, not in its fs'],
  [`${OVL}`, 'the snapshots directory'],
  [`${CTRD}/io.containerd.snapshotter.v1.overlayfs/metadata.db`, "the snapshotter's metadata"],
  [`${OVL}/new-3071561247/fs/x`, 'a snapshot being made'],
  [`${OVL}/7/fsx/a`, 'a sibling with a common prefix'],
  [`${OVL}/abc/fs/a`, 'not a snapshot number'],
  [`${CTRD}/io.containerd.snapshotter.v1.overlayfs.bak/snapshots/7/fs/a`, 'only looks alike: a copy of the snapshotter directory'],
  [`${CTRD}/io.containerd.snapshotter.v1.overlayfsx/snapshots/7/fs/a`, 'only looks alike'],
  [`${CTRD}/io.containerd.content.v1.content/blobs/sha256/${ID}`, 'the content store: blobs, not files of a container'],
  [`${CTRD}/io.containerd.snapshotter.v1.native/snapshots/new-1/etc/passwd`, 'a native snapshot being made'],
  [`${CTRD}/io.containerd.snapshotter.v1.btrfs/active/rm-9/x`, 'a btrfs subvolume being removed'],
  [`${CTRD}/io.containerd.snapshotter.v1.btrfs/metadata.db`, "btrfs snapshotter's metadata"],
  [`/var/lib/docker/overlay2/${ID}/work/work/x`, "docker's overlay workdir"],
  [`/var/lib/docker/overlay2/${ID}/link`, 'driver metadata'],
  [`/var/lib/docker/overlay2/${ID}/lower`, 'driver metadata'],
  [`/var/lib/docker/overlay2/${ID}`, 'the layer directory'],
  [`/var/lib/docker/overlay2/${ID}/diffx/a`, 'a sibling with a common prefix'],
  [`/var/lib/docker/overlay2/cache/diff/a`, 'not a layer id'],
  [`/var/lib/docker/overlay2/${ID.slice(0, 63)}/diff/a`, 'a layer id one digit short'],
  [`/var/lib/docker/overlay2/${ID.toUpperCase()}/diff/a`, 'layer ids are lower-case hex'],
  [`/var/lib/docker/overlay2/l/short/bin/sh`, 'not a short link name'],
  [`/var/lib/docker/overlay2/l`, 'the link directory'],
  [`/var/lib/docker/containers/${ID}/${ID}-json.log`, "docker's container state, not a layer"],
  [`/var/lib/docker/image/overlay2/layerdb/mounts/${ID}/mount-id`, "docker's layer database"],
  [`/var/lib/containers/storage/overlay/${ID}/work/x`, 'containers/storage workdir'],
  [`/var/lib/containers/storage/overlay-layers/${ID}.tar-split.gz`, 'containers/storage metadata'],
  [`/var/lib/containers/storage/overlay/${ID}-init/diff/etc/hosts`, 'containers/storage has no -init layers'],
  [`/home/me/src/overlay/notes/diff/x`, 'a user directory named overlay'],
  ['/etc/passwd', 'a host file'],
  ['/', 'the root'],
  ['', 'empty'],
  [`var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs/a`, 'a relative path'],
  [`(ext4 253:0) ${OVL}/7/fs/a`, 'a file on a file system mounted nowhere (named by its device)'],
  [`${OVL}/7/fs/../../8/fs/a`, 'not canonical'],
  [`${OVL}/7/fs/./a`, 'not canonical'],
  [`/io.containerd.snapshotter.v1.overlayfs/snapshots/fs`, 'a snapshot number missing'],
];

test('containerPathFromLayout: containerd, docker overlay2 and containers/storage layer paths', () => {
  for (const [hostPath, want] of positive) {
    const got = containerPathFromLayout(hostPath);
    assert.ok(got, `recognised: ${hostPath}`);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof LayoutPath], v, `${k} of ${hostPath}`);
    // The layer root + the container path give the host path back (modulo slashes).
    const canon = `/${hostPath.split('/').filter((s) => s !== '').join('/')}`;
    assert.equal(got.path === '/' ? got.layerRoot : `${got.layerRoot}${got.path}`, canon, `layerRoot + path of ${hostPath}`);
    assert.ok(got.layerRoot.startsWith(got.storageRoot), `storageRoot is a prefix of layerRoot: ${hostPath}`);
  }
});

test('containerPathFromLayout: work directories, metadata and paths that only look alike are not container paths', () => {
  for (const [hostPath, why] of negative) assert.equal(containerPathFromLayout(hostPath), undefined, `${why}: ${hostPath}`);
});

test('containerPathFromLayout: runtimes', () => {
  assert.equal(containerPathFromLayout(`${OVL}/1/fs/a`)?.runtime, 'containerd');
  assert.equal(containerPathFromLayout(`/var/lib/docker/overlay2/${ID}/diff/a`)?.runtime, 'docker');
  assert.equal(containerPathFromLayout(`/var/lib/containers/storage/overlay/${ID}/diff/a`)?.runtime, 'containers-storage');
});

test('containerPathFromLayout: mutated paths never throw, and a result is always an absolute path inside its layer', () => {
  const samples = positive.map(([p]) => p).join('\n');
  for (const m of mutations(samples, 400, 12)) {
    for (const line of m.split('\n')) {
      const got = containerPathFromLayout(line);
      if (!got) continue;
      assert.ok(got.path.startsWith('/'), line);
      assert.ok(!got.path.includes('//'), line);
      assert.ok(line.includes(got.snapshotId), line);
    }
  }
});
