/**
 * A small in-memory Host for the kpage tests: files are byte arrays, errors are HostError codes, and
 * scanFile can be told to cut chunks at odd sizes and hand them out misaligned, to exercise the
 * carry and copy paths of the scanner.
 */
import {
  type Host,
  HostError,
  type HostInfo,
  type HostStat,
  type HostStatfs,
} from '../../../src/host/host.js';

export interface FakeHostOptions {
  /** Hand out chunks of at most this many bytes, whatever the caller asks (e.g. 13 to split entries). */
  maxChunkBytes?: number;
  /** Copy every chunk to an odd byte offset of a fresh buffer (a Uint32Array view cannot be taken on it). */
  misalign?: boolean;
}

export class FakeHost implements Host {
  readonly kind = 'bundle' as const;
  readonly live = undefined;
  readonly files = new Map<string, Uint8Array | string>();
  readonly errors = new Map<string, string>();

  constructor(private readonly opts: FakeHostOptions = {}) {}

  info(): HostInfo {
    return { hostname: 'fake', kernel: '6.18.0-fake', capturedAt: '2026-01-01T00:00:00.000Z', uid: 0 };
  }

  private get(path: string): Uint8Array | string {
    const code = this.errors.get(path);
    if (code !== undefined) throw new HostError(path, code);
    const f = this.files.get(path);
    if (f === undefined) throw new HostError(path, 'ENOENT');
    return f;
  }

  readText(path: string): Promise<string> {
    try {
      const f = this.get(path);
      return Promise.resolve(typeof f === 'string' ? f : Buffer.from(f).toString('utf8'));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async tryReadText(path: string): Promise<string | undefined> {
    try {
      return await this.readText(path);
    } catch {
      return undefined;
    }
  }

  readDir(path: string): Promise<string[]> {
    return Promise.reject(new HostError(path, 'ENOENT'));
  }

  readLink(path: string): Promise<string> {
    return Promise.reject(new HostError(path, 'ENOENT'));
  }

  stat(path: string): Promise<HostStat> {
    try {
      const f = this.get(path);
      const size = typeof f === 'string' ? Buffer.byteLength(f) : f.length;
      return Promise.resolve({
        size,
        mode: 0o100400,
        uid: 0,
        dev: 1,
        ino: 1,
        nlink: 1,
        mtimeMs: 0,
        isFile: true,
        isDirectory: false,
        isSymbolicLink: false,
      });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  statfs(path: string): Promise<HostStatfs> {
    return Promise.reject(new HostError(path, 'ENOENT'));
  }

  exists(path: string): Promise<boolean> {
    return Promise.resolve(this.files.has(path));
  }

  async scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void> {
    const f = this.get(path);
    const data = typeof f === 'string' ? Buffer.from(f) : f;
    const step = Math.min(chunkBytes, this.opts.maxChunkBytes ?? chunkBytes);
    for (let off = 0; off < data.length; off += step) {
      let chunk = data.subarray(off, Math.min(off + step, data.length));
      if (this.opts.misalign === true) {
        const copy = new Uint8Array(chunk.length + 1);
        copy.set(chunk, 1);
        chunk = copy.subarray(1);
      }
      onChunk(chunk, off);
      await Promise.resolve();
    }
  }
}

/** Builds a kpageflags/kpagecgroup image: one little-endian u64 per PFN. */
export function u64File(values: readonly bigint[]): Uint8Array {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeBigUInt64LE(v, i * 8));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** A u64 with the given kpageflags bit numbers set. */
export function flags(...bits: number[]): bigint {
  let v = 0n;
  for (const b of bits) v |= 1n << BigInt(b);
  return v;
}

/** The 32-bit word pairs classifyChunk takes, for a list of u64 values (little-endian halves). */
export function words(values: readonly bigint[]): Uint32Array {
  const w = new Uint32Array(values.length * 2);
  values.forEach((v, i) => {
    w[2 * i] = Number(v & 0xffffffffn);
    w[2 * i + 1] = Number(v >> 32n);
  });
  return w;
}
