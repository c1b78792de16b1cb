/**
 * Overlay filesystems (container root filesystems): which layer directories make up a mount, and what
 * path a host file in one of those directories has inside the container.
 *
 * An overlay mount's super options (mountinfo field 11) name its layers:
 *   upperdir=/var/lib/containerd/.../snapshots/42/fs  (writable layer, where a container's new files live)
 *   lowerdir=/a:/b:/c                                  (read-only layers, topmost first; `\:` escapes a
 *                                                       colon in a path; `::` separates data-only layers, 6.5+)
 *   workdir=/var/lib/.../work
 * Mounts made with the new mount API may instead show repeated `lowerdir+=` (and `datadir+=`) entries,
 * one layer each, in order; both forms are read.
 *
 * A file at <upperdir>/var/log/app.log, <some lowerdir>/var/log/app.log or <mount point>/var/log/app.log
 * is /var/log/app.log relative to the overlay's root, which is the path inside the container when the
 * overlay is the container's root filesystem.
 */
import type { MountInfo } from '../kernel/procfs/pid/mountinfo.js';

export interface OverlayLayers {
  mountPoint: string;
  upperDir?: string;
  workDir?: string;
  /** Read-only layers, topmost first. */
  lowerDirs: string[];
}

/** Splits a lowerdir value on unescaped ':' (dropping the empty items `::` produces). */
export function splitLowerdir(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && value[i + 1] === ':') {
      cur += ':';
      i++;
    } else if (c === ':') {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** The layers of an overlay mount; undefined when the mount is not an overlay. */
export function overlayLayers(mount: MountInfo): OverlayLayers | undefined {
  if (mount.fsType !== 'overlay' && mount.fsType !== 'overlayfs') return undefined;
  const o = mount.superOptions;
  const lower = o.get('lowerdir');
  const lowerDirs = lower ? splitLowerdir(lower) : [];
  for (const [k, v] of mount.superOptionList) if ((k === 'lowerdir+' || k === 'datadir+') && v !== '') lowerDirs.push(v);
  return {
    mountPoint: mount.mountPoint,
    upperDir: o.get('upperdir') || undefined,
    workDir: o.get('workdir') || undefined,
    lowerDirs,
  };
}

function under(dir: string, path: string): string | undefined {
  const d = dir.replace(/\/+$/, '');
  if (path === d) return '/';
  if (d === '') return path.startsWith('/') ? path : undefined;
  return path.startsWith(d + '/') ? path.slice(d.length) : undefined;
}

export type OverlayLayer = 'mount' | 'upper' | 'lower' | 'work';

/** Where a host path sits in an overlay: the layer (and lower index) and the path relative to the overlay root. */
export function locateInOverlay(mount: MountInfo, hostPath: string): { layer: OverlayLayer; lowerIndex?: number; path: string } | undefined {
  const l = overlayLayers(mount);
  if (!l) return undefined;
  if (l.upperDir) {
    const p = under(l.upperDir, hostPath);
    if (p !== undefined) return { layer: 'upper', path: p };
  }
  for (let i = 0; i < l.lowerDirs.length; i++) {
    const p = under(l.lowerDirs[i]!, hostPath);
    if (p !== undefined) return { layer: 'lower', lowerIndex: i, path: p };
  }
  if (l.workDir && under(l.workDir, hostPath) !== undefined) return { layer: 'work', path: '' };
  const viaMount = under(l.mountPoint, hostPath);
  if (viaMount !== undefined) return { layer: 'mount', path: viaMount };
  return undefined;
}

/**
 * The path of a host file inside the container whose root filesystem is this overlay; undefined when the
 * path is not in any of its layers (or is in the overlay's private workdir).
 */
export function overlayContainerPath(mount: MountInfo, hostPath: string): string | undefined {
  const loc = locateInOverlay(mount, hostPath);
  return loc === undefined || loc.layer === 'work' ? undefined : loc.path;
}
