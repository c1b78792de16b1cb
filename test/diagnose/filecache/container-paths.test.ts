/**
 * How filecache finds a file's path inside its container (a process's mount namespace, an overlay mount,
 * the runtime's on-disk snapshot layout) and the `containerPath` coverage row that says which way each
 * listed file's was found (pure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OverlayMount, containerPathCoverage, resolveContainerPath } from '../../../src/diagnose/filecache/sources.js';
import { FileCacheDocumentSchema } from '../../../src/report/filecache.js';

const SNAP = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';
const overlays: OverlayMount[] = [{ layers: { mountPoint: '/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs', upperDir: `${SNAP}/18/fs`, workDir: `${SNAP}/18/work`, lowerDirs: [`${SNAP}/17/fs`] }, taskId: 'abc' }];

test('resolveContainerPath: a process namespace, then an overlay mount, then the snapshot layout', () => {
  // An overlay mount we can see holds it.
  const viaMount = resolveContainerPath(undefined, overlays, `${SNAP}/18/fs/var/log/app.log`);
  assert.deepEqual({ path: viaMount.path, via: viaMount.via, task: viaMount.overlay?.taskId }, { path: '/var/log/app.log', via: 'overlay', task: 'abc' });
  // A process of the container's namespace reached it: its path wins, and the overlay still names the container.
  const viaNs = resolveContainerPath('/data/x', overlays, `${SNAP}/17/fs/data/x`);
  assert.deepEqual({ path: viaNs.path, via: viaNs.via, task: viaNs.overlay?.taskId }, { path: '/data/x', via: 'namespace', task: 'abc' });
  // No mount shows snapshot 7: the layout does.
  assert.deepEqual(resolveContainerPath(undefined, overlays, `${SNAP}/7/fs/var/log/app.log`), { path: '/var/log/app.log', via: 'layout', layout: 'containerd-overlayfs' });
  assert.deepEqual(resolveContainerPath(undefined, [], `${SNAP}/18/fs/etc/hosts`), { path: '/etc/hosts', via: 'layout', layout: 'containerd-overlayfs' });
  // Nested: a kind node (a docker container) runs containerd; its snapshots are in the node's overlay.
  // The pod container's path is given, and the node's overlay is not named as the file's container.
  const NODE = '/var/lib/docker/overlay2/9c1e5a0f3b7d2e4c6a8b0d1f3e5c7a9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e1a';
  const node: OverlayMount[] = [{ layers: { mountPoint: `${NODE}/merged`, upperDir: `${NODE}/diff`, workDir: `${NODE}/work`, lowerDirs: [] }, pid: 4242 }];
  const inNode = `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/5/fs/app/x`;
  assert.deepEqual(resolveContainerPath(undefined, node, `${NODE}/diff${inNode}`), { path: '/app/x', via: 'layout', layout: 'containerd-overlayfs' });
  assert.deepEqual(resolveContainerPath(inNode, node, `/proc/4242/root${inNode}`), { path: '/app/x', via: 'layout', layout: 'containerd-overlayfs' });
  assert.equal(resolveContainerPath(undefined, node, `${NODE}/diff/etc/hosts`).overlay?.pid, 4242, "the node's own files are the node's");
  // The workdir of a visible overlay is in no container, by mount or by layout.
  assert.deepEqual(resolveContainerPath(undefined, overlays, `${SNAP}/18/work/work/#1`), { path: null });
  assert.deepEqual(resolveContainerPath(undefined, overlays, '/etc/passwd'), { path: null });
});

test('containerPathCoverage: counts by way found, layouts named, container files without a path make it partial', () => {
  assert.equal(containerPathCoverage([]), undefined);
  assert.equal(containerPathCoverage([{ inContainer: false }, { inContainer: false }]), undefined, 'no file in a container: no row');

  const complete = containerPathCoverage([
    { via: 'overlay', inContainer: true },
    { via: 'overlay', inContainer: true },
    { via: 'layout', layout: 'containerd-overlayfs', inContainer: true },
    { via: 'layout', layout: 'docker-overlay2', inContainer: false },
    { via: 'layout', layout: 'docker-overlay2', inContainer: true },
    { via: 'namespace', inContainer: true },
    { inContainer: false },
  ]);
  assert.deepEqual(complete, {
    section: 'containerPath',
    status: 'complete',
    reason: "2 files mapped through overlay mounts, 3 through runtime snapshot layouts on disk (docker-overlay2: 2, containerd-overlayfs: 1), 1 through processes' mount namespaces; 0 container files without a path",
  });

  const partial = containerPathCoverage([{ via: 'layout', layout: 'containerd-overlayfs', inContainer: true }, { inContainer: true }]);
  assert.equal(partial?.status, 'partial');
  assert.match(partial!.reason!, /^0 files mapped through overlay mounts, 1 through runtime snapshot layouts on disk \(containerd-overlayfs: 1\), 0 through processes' mount namespaces; 1 container file without a path \(/);

  // A new coverage row fits the document schema as it is.
  FileCacheDocumentSchema.shape.coverage.parse([complete, partial]);
});
