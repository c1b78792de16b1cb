/**
 * A Host is where kernel data comes from: the live machine, or a bundle captured on another one.
 *
 * Every reader in src/kernel/ takes a Host; nothing above src/kernel/ and src/host/ touches the file
 * system for kernel data. Paths are absolute paths as they are on the machine (`/proc/meminfo`).
 *
 * Errors: a missing file or a permission problem is thrown as a HostError with the errno code, so that
 * callers can tell "the kernel does not have this" (ENOENT) from "you are not root" (EACCES/EPERM).
 */

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

export interface Host {
  readonly kind: 'live' | 'bundle';
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
