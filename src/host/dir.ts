/**
 * FixtureDirHost: a Host whose files live under a directory, for tests and for hand-built trees (a fake
 * cgroupfs, a fake /proc, runtime state files). `/sys/fs/cgroup/memory.stat` is read from
 * `<root>/sys/fs/cgroup/memory.stat`. Symlinks inside the tree are returned as they are by readLink (so a
 * fixture can hold `fd/3 -> socket:[123]`), and stat() is lstat(2) of the mapped path.
 *
 * It behaves like a bundle: `kind` is 'bundle', it has no live capabilities, info() is fixed at construction.
 */
import { join, resolve } from 'node:path';
import { HostError, type HostInfo } from './host.js';
import { LiveHost } from './live.js';

export class FixtureDirHost extends LiveHost {
  override readonly kind = 'bundle' as const;
  override readonly live = undefined;
  private readonly root: string;
  private readonly infoValue: HostInfo;

  constructor(root: string, info?: Partial<HostInfo>) {
    super();
    this.root = resolve(root);
    this.infoValue = {
      hostname: info?.hostname ?? 'fixture',
      kernel: info?.kernel ?? 'unknown',
      capturedAt: info?.capturedAt ?? new Date(0).toISOString(),
      uid: info?.uid ?? 0,
    };
  }

  /** The real path of a host path; refuses relative paths and `..` escapes. */
  map(path: string): string {
    if (!path.startsWith('/')) throw new HostError(path, 'EINVAL', `${path}: not an absolute path`);
    const p = join(this.root, path);
    if (p !== this.root && !p.startsWith(this.root + '/')) throw new HostError(path, 'EINVAL', `${path}: escapes the fixture root`);
    return p;
  }

  protected override resolvePath(path: string): string {
    return this.map(path);
  }

  override info(): HostInfo {
    return this.infoValue;
  }
}
