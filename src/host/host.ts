/**
 * A Host is where kernel data comes from: the live machine, or a bundle captured on another one.
 *
 * Every reader in src/kernel/ takes a Host; nothing above src/kernel/ and src/host/ touches the file
 * system for kernel data. Paths are absolute paths as they are on the machine (`/proc/meminfo`).
 *
 * Errors: a missing file or a permission problem is thrown as a HostError with the errno code, so that
 * callers can tell "the kernel does not have this" (ENOENT) from "you are not root" (EACCES/EPERM).
 */
import type { KpageSummaryScan } from '../kernel/kpage/worker.js';
import type { NativeStatus } from '../kernel/native.js';
import type { InodeWalkOptions, InodeWalkerStatus } from '../kernel/pagecache/inode-walk.js';
import type { MeasureMethod, ProbeStatus } from '../kernel/pagecache/probe.js';

export interface HostStat {
  size: number;
  /** 512-byte blocks allocated (what a file really uses on tmpfs); absent when the source cannot tell. */
  blocks?: number;
  mode: number;
  uid: number;
  dev: number;
  ino: number;
  nlink: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

/** statfs(2) result, in the shape Node's fs.statfs gives (counts of blocks of `bsize` bytes). */
export interface HostStatfs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export interface HostInfo {
  hostname: string;
  kernel: string;
  /** When the data was read: now for a live host, the capture time for a bundle. */
  capturedAt: string;
  /** The effective uid the data was read as (0 = root). */
  uid: number;
}

/**
 * What only the running machine can do, beyond reading files: the native addon (cachestat, mincore,
 * pagemap, perf events, libbpf), the BPF in-core inode walker, the kpageflags scan in a worker thread
 * and /dev/kmsg. A bundle has none of it (`host.live` is undefined there), so a diagnosis asks
 * `host.live` instead of checking what kind of host it has, and says in `coverage` what it could not do.
 * The implementations live in src/host/live.ts over src/kernel/ (type-only imports here).
 */
export interface LiveCapabilities {
  /** This process: a live diagnosis leaves its own files, maps and threads out. */
  readonly selfPid: number;
  /** The N-API addon, or why it cannot be loaded. */
  native(): NativeStatus;
  /** The page cache probe (cachestat, else mincore; pagemap+kpageflags sampling), or why not. */
  pageCacheProbe(opts?: { method?: MeasureMethod }): ProbeStatus;
  /** The BPF in-core inode walker (every cached inode, files nobody has open too), or why not. */
  inodeWalker(opts?: InodeWalkOptions): InodeWalkerStatus;
  /** The /proc/kpageflags scan, run in a worker thread so it overlaps other reads. */
  scanKpages(opts?: { cgroups?: boolean }): Promise<KpageSummaryScan>;
  /** The kernel ring buffer as /dev/kmsg gives it now (one "prio,seq,usec,flags;message" record a line). Throws HostError. */
  readKmsg(): string;
}

export interface Host {
  readonly kind: 'live' | 'bundle';
  /** The live-only capabilities; undefined on a captured bundle or a fixture tree. */
  readonly live: LiveCapabilities | undefined;
  info(): HostInfo;
  /** The whole file as UTF-8 text. Throws HostError. */
  readText(path: string): Promise<string>;
  /** Like readText, but `undefined` when the file does not exist or cannot be read. */
  tryReadText(path: string): Promise<string | undefined>;
  /** Names in a directory (no `.`/`..`), unsorted. Throws HostError. */
  readDir(path: string): Promise<string[]>;
  readLink(path: string): Promise<string>;
  /** lstat(2); with `{ follow: true }`, stat(2) (e.g. to size the file behind /proc/PID/fd/N). */
  stat(path: string, opts?: { follow?: boolean }): Promise<HostStat>;
  statfs(path: string): Promise<HostStatfs>;
  exists(path: string): Promise<boolean>;
  /**
   * Streams a (possibly huge, binary) file in chunks of at most `chunkBytes`, in order. The chunk buffer
   * may be reused between calls: copy what you keep. Used for /proc/kpageflags and friends.
   */
  scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void>;
}

export class HostError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(path: string, code: string, message?: string) {
    super(message ?? `${path}: ${describeCode(code)}`);
    this.name = 'HostError';
    this.code = code;
    this.path = path;
  }
  get notFound(): boolean {
    return this.code === 'ENOENT' || this.code === 'ENOTDIR' || this.code === 'ESRCH';
  }
  get denied(): boolean {
    return this.code === 'EACCES' || this.code === 'EPERM';
  }
}

function describeCode(code: string): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file (this kernel may not provide it)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run as root)';
    case 'ESRCH':
      return 'the process is gone';
    case 'EINVAL':
      return 'invalid argument';
    default:
      return code;
  }
}

export function toHostError(path: string, err: unknown): HostError {
  if (err instanceof HostError) return err;
  const code = (err as { code?: unknown })?.code;
  return new HostError(path, typeof code === 'string' ? code : 'EIO');
}
