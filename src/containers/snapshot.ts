/**
 * A container's path of a host file, from where the runtimes keep their layers on disk (pure).
 *
 * A container's root file system is an overlay (or a snapshot) of directories the runtime keeps under its
 * storage root. When the overlay mount is visible (src/containers/overlay.ts reads its layers from
 * mountinfo) that mount says where each layer is; when it is not (mounted in a private mount namespace,
 * a pod sandbox's, a rootless user namespace's, or the container stopped and its layers are still cached)
 * the layer directory's own name still says that the file is in a container, which layer it is and the
 * file's path inside the container. The layouts recognised (ROOT is any directory: the layout is matched
 * by the names of the runtime's own directories, so a k3s root, a docker data-root or a rootless
 * graphroot elsewhere need no configuration):
 *
 * containerd (root /var/lib/containerd; k3s /var/lib/rancher/k3s/agent/containerd; docker's own
 * containerd image store /var/lib/docker/containerd/daemon; `root = ...` in config.toml). Snapshot ids
 * <N> are the metadata store's decimal sequence numbers; `new-*` directories are snapshots being made.
 * - overlayfs (the default):   ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots/<N>/fs/<path>
 *                              (snapshots/<N>/work is overlayfs' private workdir: not a container path)
 * - fuse-overlayfs, stargz:    ROOT/io.containerd.snapshotter.v1.{fuse-overlayfs,stargz}/snapshots/<N>/fs/<path>,
 *                              and their proxy daemons' roots: /var/lib/containerd-fuse-overlayfs/snapshots/<N>/fs/,
 *                              /var/lib/containerd-stargz-grpc/snapshotter/snapshots/<N>/fs/
 * - native (plain copies):     ROOT/io.containerd.snapshotter.v1.native/snapshots/<N>/<path>
 * - btrfs (subvolumes):        ROOT/io.containerd.snapshotter.v1.btrfs/{active,view,snapshots}/<N>/<path>
 *   (the zfs snapshotter's datasets are `mountpoint=legacy`: mounted only into the container, so no host
 *   path names them; devmapper's are block devices; neither has an on-disk layout to read.)
 *
 * docker overlay2 (data-root /var/lib/docker by default, `data-root` in daemon.json):
 * - ROOT/overlay2/<layer id>/diff/<path>     a layer (the container's writable one, its `-init` layer, or an image layer)
 * - ROOT/overlay2/<layer id>/merged/<path>   the container's mounted root
 * - ROOT/overlay2/l/<short link>/<path>      the short symlinks to `<layer id>/diff` that lowerdir= names
 *   (<layer id>/work is the overlay workdir; `link`, `lower`, `committed` are driver metadata)
 *
 * containers/storage overlay (cri-o, podman, buildah; graphroot /var/lib/containers/storage, rootless
 * ~/.local/share/containers/storage, `graphroot` in storage.conf):
 * - ROOT/overlay/<layer id>/diff/<path>, ROOT/overlay/<layer id>/merged/<path>, ROOT/overlay/l/<short link>/<path>
 *
 * Layer ids are 64 hex digits (docker's writable layer's init layer: `<id>-init`), short links 26
 * characters [A-Z0-9]: a directory that only looks like a layout (`overlay2/cache/diff`, `snapshots/x/fs`)
 * is not one. A path nested in a layer of another container (docker-in-docker, a kind node running
 * containerd inside a docker container) is named as the innermost container sees it, as the cgroup
 * path's deepest container is the one a file is attributed to (identify.ts).
 *
 * A file in an image (lower) layer is in every container made from that image: the path inside the
 * container is the same in all of them; which container it is charged to is the page's cgroup's business.
 */

export type SnapshotRuntime = 'containerd' | 'docker' | 'containers-storage';

export type SnapshotLayout =
  | 'containerd-overlayfs'
  | 'containerd-fuse-overlayfs'
  | 'containerd-stargz'
  | 'containerd-native'
  | 'containerd-btrfs'
  | 'docker-overlay2'
  | 'containers-storage-overlay';

export interface LayoutPath {
  /** The file's path inside the container ('/' for the layer's root itself). */
  path: string;
  /** Who keeps this storage (containers/storage is shared by cri-o, podman and buildah: the path does not say which). */
  runtime: SnapshotRuntime;
  layout: SnapshotLayout;
  /** containerd: the snapshot's number; docker/containers-storage: the layer id (or the short link's name, for `l/<link>`). */
  snapshotId: string;
  /** The directory on the host that is the container's `/` in this layer (…/snapshots/7/fs, …/overlay2/<id>/diff). */
  layerRoot: string;
  /** The runtime's storage root: the directory that holds the snapshotter's or the driver's directory. */
  storageRoot: string;
}

type Seg = string | readonly string[] | RegExp;

interface Rule {
  layout: SnapshotLayout;
  runtime: SnapshotRuntime;
  /** The path segments from the storage root's child to the layer root. */
  segs: readonly Seg[];
  /** Index in segs of the snapshot or layer id. */
  id: number;
}

const SNAPSHOT_NUMBER = /^[0-9]+$/;
const LAYER_ID = /^[0-9a-f]{64}$/;
const DOCKER_LAYER_ID = /^[0-9a-f]{64}(?:-init)?$/;
const SHORT_LINK = /^[A-Z0-9]{26}$/;
const MOUNTED = ['diff', 'merged'] as const;

const RULES: readonly Rule[] = [
  { layout: 'containerd-overlayfs', runtime: 'containerd', segs: ['io.containerd.snapshotter.v1.overlayfs', 'snapshots', SNAPSHOT_NUMBER, 'fs'], id: 2 },
  { layout: 'containerd-fuse-overlayfs', runtime: 'containerd', segs: ['io.containerd.snapshotter.v1.fuse-overlayfs', 'snapshots', SNAPSHOT_NUMBER, 'fs'], id: 2 },
  { layout: 'containerd-fuse-overlayfs', runtime: 'containerd', segs: ['containerd-fuse-overlayfs', 'snapshots', SNAPSHOT_NUMBER, 'fs'], id: 2 },
  { layout: 'containerd-stargz', runtime: 'containerd', segs: ['io.containerd.snapshotter.v1.stargz', 'snapshots', SNAPSHOT_NUMBER, 'fs'], id: 2 },
  { layout: 'containerd-stargz', runtime: 'containerd', segs: ['containerd-stargz-grpc', 'snapshotter', 'snapshots', SNAPSHOT_NUMBER, 'fs'], id: 3 },
  { layout: 'containerd-native', runtime: 'containerd', segs: ['io.containerd.snapshotter.v1.native', 'snapshots', SNAPSHOT_NUMBER], id: 2 },
  { layout: 'containerd-btrfs', runtime: 'containerd', segs: ['io.containerd.snapshotter.v1.btrfs', ['active', 'view', 'snapshots'], SNAPSHOT_NUMBER], id: 2 },
  { layout: 'docker-overlay2', runtime: 'docker', segs: ['overlay2', DOCKER_LAYER_ID, MOUNTED], id: 1 },
  { layout: 'docker-overlay2', runtime: 'docker', segs: ['overlay2', 'l', SHORT_LINK], id: 2 },
  { layout: 'containers-storage-overlay', runtime: 'containers-storage', segs: ['overlay', LAYER_ID, MOUNTED], id: 1 },
  { layout: 'containers-storage-overlay', runtime: 'containers-storage', segs: ['overlay', 'l', SHORT_LINK], id: 2 },
];

function segMatches(want: Seg, got: string): boolean {
  if (typeof want === 'string') return want === got;
  if (want instanceof RegExp) return want.test(got);
  return want.includes(got);
}

function ruleAt(segs: readonly string[], i: number): Rule | undefined {
  for (const r of RULES) {
    if (i + r.segs.length > segs.length) continue;
    if (r.segs.every((w, k) => segMatches(w, segs[i + k]!))) return r;
  }
  return undefined;
}

/**
 * The container path of a host path, from the runtimes' on-disk layer layouts; undefined when the path
 * is in no known layout (or in a layer's workdir or metadata, or is not absolute and canonical: `.`
 * and `..` segments are not resolved). Repeated and trailing slashes are ignored.
 */
export function containerPathFromLayout(hostPath: string): LayoutPath | undefined {
  if (!hostPath.startsWith('/')) return undefined;
  const segs = hostPath.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..')) return undefined;
  // The innermost layout wins: scan from the end.
  for (let i = segs.length - 1; i >= 0; i--) {
    const r = ruleAt(segs, i);
    if (!r) continue;
    const end = i + r.segs.length;
    return {
      path: `/${segs.slice(end).join('/')}`,
      runtime: r.runtime,
      layout: r.layout,
      snapshotId: segs[i + r.id]!,
      layerRoot: `/${segs.slice(0, end).join('/')}`,
      storageRoot: `/${segs.slice(0, i).join('/')}`,
    };
  }
  return undefined;
}
