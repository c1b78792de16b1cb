/**
 * FixtureDirHost: a Host whose files live under a directory, for tests and for hand-built trees (a fake
 * cgroupfs, a fake /proc, runtime state files). `/sys/fs/cgroup/memory.stat` is read from
 * `<root>/sys/fs/cgroup/memory.stat`. Symlinks inside the tree are returned as they are by readLink (so a
 * fixture can hold `fd/3 -> socket:[123]`), and stat() is lstat(2) of the mapped path.
 *
 * It behaves like a bundle: `kind` is 'bundle', info() is fixed at construction.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Host, HostError, type HostInfo, type HostStat, type HostStatfs, toHostError } from './host.js';

export class FixtureDirHost implements Host {
  readonly kind = 'bundle' as const;
  private readonly root: string;
  private readonly infoValue: HostInfo;

  constructor(root: string, info?: Partial<HostInfo>) {
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

  info(): HostInfo {
    return this.infoValue;
  }

  async readText(path: string): Promise<string> {
    try {
      return await readFile(this.map(path), 'utf8');
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async tryReadText(path: string): Promise<string | undefined> {
    try {
      return await this.readText(path);
    } catch {
      return undefined;
    }
  }

  async readDir(path: string): Promise<string[]> {
    try {
      return await readdir(this.map(path));
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async readLink(path: string): Promise<string> {
    try {
      return await readlink(this.map(path));
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async stat(path: string): Promise<HostStat> {
    try {
      const s = await lstat(this.map(path));
      return {
        size: s.size,
        mode: s.mode,
        uid: s.uid,
        dev: s.dev,
        ino: s.ino,
        nlink: s.nlink,
        mtimeMs: s.mtimeMs,
        isFile: s.isFile(),
        isDirectory: s.isDirectory(),
        isSymbolicLink: s.isSymbolicLink(),
      };
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async statfs(path: string): Promise<HostStatfs> {
    try {
      const s = await statfs(this.map(path));
      return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await lstat(this.map(path));
      return true;
    } catch {
      return false;
    }
  }

  async scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void> {
    let fd: number;
    try {
      fd = openSync(this.map(path), 'r');
    } catch (err) {
      throw toHostError(path, err);
    }
    const buf = Buffer.allocUnsafe(chunkBytes);
    let offset = 0;
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, chunkBytes, offset);
        if (n <= 0) break;
        onChunk(buf.subarray(0, n), offset);
        offset += n;
      }
    } catch (err) {
      throw toHostError(path, err);
    } finally {
      closeSync(fd);
    }
  }
}
