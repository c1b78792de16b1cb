import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { readKmsgLive } from '../kernel/log/kmsg.js';
import { loadNative } from '../kernel/native.js';
import { liveInodeWalker } from '../kernel/pagecache/inode-walk.js';
import { liveProbe } from '../kernel/pagecache/probe.js';
import { type Host, type HostInfo, type HostStat, type HostStatfs, type LiveCapabilities, toHostError } from './host.js';

/** The running machine's capabilities (see LiveCapabilities); one instance serves every LiveHost. */
export const LIVE_CAPABILITIES: LiveCapabilities = {
  selfPid: process.pid,
  native: () => loadNative(),
  pageCacheProbe: (opts) => liveProbe(opts),
  inodeWalker: (opts) => liveInodeWalker(opts),
  // A dynamic import: the worker module runs a LiveHost of its own (a static import would be a cycle).
  scanKpages: async (opts) => (await import('../kernel/kpage/worker.js')).scanKpagesInWorker(opts),
  readKmsg: () => readKmsgLive(),
};

/**
 * The machine we run on. Subclasses may map paths elsewhere (FixtureDirHost) by overriding `resolvePath`;
 * errors always name the path the caller asked for.
 */
export class LiveHost implements Host {
  readonly kind: 'live' | 'bundle' = 'live';
  readonly live: LiveCapabilities | undefined = LIVE_CAPABILITIES;

  /** The real path to open for a host path: the path itself on the live machine. */
  protected resolvePath(path: string): string {
    return path;
  }

  info(): HostInfo {
    let kernel = 'unknown';
    try {
      // Sync on purpose: tiny file, called once per report.
      const fd = openSync('/proc/sys/kernel/osrelease', 'r');
      const buf = Buffer.alloc(256);
      const n = readSync(fd, buf, 0, buf.length, 0);
      closeSync(fd);
      kernel = buf.subarray(0, n).toString('utf8').trim();
    } catch {
      /* keep "unknown" */
    }
    return {
      hostname: hostname(),
      kernel,
      capturedAt: new Date().toISOString(),
      uid: typeof process.geteuid === 'function' ? process.geteuid() : -1,
    };
  }

  async readText(path: string): Promise<string> {
    try {
      return await readFile(this.resolvePath(path), 'utf8');
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async tryReadText(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.resolvePath(path), 'utf8');
    } catch {
      return undefined;
    }
  }

  async readDir(path: string): Promise<string[]> {
    try {
      return await readdir(this.resolvePath(path));
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async readLink(path: string): Promise<string> {
    try {
      return await readlink(this.resolvePath(path));
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async stat(path: string, opts?: { follow?: boolean }): Promise<HostStat> {
    try {
      const real = this.resolvePath(path);
      const s = opts?.follow ? await stat(real) : await lstat(real);
      return {
        size: s.size,
        blocks: s.blocks,
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
      const s = await statfs(this.resolvePath(path));
      return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    } catch (err) {
      throw toHostError(path, err);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await lstat(this.resolvePath(path));
      return true;
    } catch {
      return false;
    }
  }

  async scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void> {
    let fd: number;
    try {
      fd = openSync(this.resolvePath(path), 'r');
    } catch (err) {
      throw toHostError(path, err);
    }
    // Synchronous reads into one reused buffer: for procfs binary files this is the fastest path
    // Node offers (no thread-pool hop per chunk) and keeps memory flat whatever the file size.
    const buf = Buffer.allocUnsafe(chunkBytes);
    let offset = 0;
    try {
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, chunkBytes, offset);
        } catch (err) {
          throw toHostError(path, err);
        }
        if (n <= 0) break;
        onChunk(buf.subarray(0, n), offset);
        offset += n;
      }
    } finally {
      closeSync(fd);
    }
  }
}
