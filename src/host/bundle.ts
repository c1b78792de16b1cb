/**
 * Capture and replay.
 *
 * `RecordingHost` wraps a live host and remembers every answer it gave (and every error). `writeBundle`
 * saves those answers as a .tar.gz: `manifest.json` (host info, directory listings, links, stats, statfs,
 * errors) and `files/<absolute path>` with each file's raw bytes. `BundleHost` answers the same calls
 * from such a file, so a diagnosis run on a bundle sees exactly what the live run saw.
 *
 * A bundle holds only what a command read: `oscope capture` runs the collectors of the commands it
 * captures for through a RecordingHost.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { type Host, HostError, type HostInfo, type HostStat, type HostStatfs, type LiveCapabilities, toHostError } from './host.js';

export const BUNDLE_FORMAT = 'oscope.bundle/v1';

/** Where a recorded /dev/kmsg read is kept (the path it has on the machine). */
const KMSG_FILE = '/dev/kmsg';
/**
 * Where diagnoses keep what only a live host can measure (page cache per file, BPF walks), as JSON: a
 * path no kernel has, so it never shadows a real file.
 */
export const CAPTURE_DIR = '/.oscope/captures';

/** The path of a diagnosis's capture in a bundle. */
export function capturePath(name: string): string {
  return `${CAPTURE_DIR}/${name}.json`;
}

/** Keeps `capture` in the bundle being recorded (no-op on any other host). */
export function recordCapture(host: Host, name: string, capture: unknown): void {
  if (host instanceof RecordingHost) host.recordCapture(name, capture);
}

/** A capture kept by recordCapture, or undefined when the bundle has none (or the host is not a bundle). */
export async function readCapture(host: Host, name: string): Promise<unknown> {
  if (host.live) return undefined;
  const text = await host.tryReadText(capturePath(name));
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

type Answer<T> = { ok: T } | { error: string };

interface Manifest {
  format: typeof BUNDLE_FORMAT;
  info: HostInfo;
  oscopeVersion: string;
  /** path → error code, for files that could not be read (text or scanned). */
  fileErrors: Record<string, string>;
  dirs: Record<string, Answer<string[]>>;
  links: Record<string, Answer<string>>;
  stats: Record<string, Answer<HostStat>>;
  /** stat(2) answers (links followed), kept apart from lstat's. */
  statsFollow?: Record<string, Answer<HostStat>>;
  statfs: Record<string, Answer<HostStatfs>>;
}

function errorCode(err: unknown): string {
  return err instanceof HostError ? err.code : 'EIO';
}

export class RecordingHost implements Host {
  readonly kind = 'live' as const;
  /**
   * The inner host's capabilities, with /dev/kmsg recorded (a bundle replays it from the file). What
   * the others measure (page cache, BPF walks) is not in the bundle: diagnoses that need them record
   * their own capture (see `recordCapture`).
   */
  readonly live: LiveCapabilities | undefined;
  private readonly files = new Map<string, Uint8Array>();
  private readonly manifest: Omit<Manifest, 'info' | 'oscopeVersion' | 'format'> = {
    fileErrors: {},
    dirs: {},
    links: {},
    stats: {},
    statsFollow: {},
    statfs: {},
  };
  private readonly infoValue: HostInfo;

  constructor(private readonly inner: Host) {
    this.infoValue = inner.info();
    const l = inner.live;
    this.live = l && {
      ...l,
      readKmsg: () => {
        const text = l.readKmsg();
        this.files.set(KMSG_FILE, Buffer.from(text, 'utf8'));
        return text;
      },
    };
  }

  /** Keeps a diagnosis's own capture (JSON) in the bundle under `captures/<name>.json`, for `--from`. */
  recordCapture(name: string, capture: unknown): void {
    this.files.set(capturePath(name), Buffer.from(JSON.stringify(capture), 'utf8'));
  }

  info(): HostInfo {
    return this.infoValue;
  }

  async readText(path: string): Promise<string> {
    try {
      const text = await this.inner.readText(path);
      this.files.set(path, Buffer.from(text, 'utf8'));
      return text;
    } catch (err) {
      this.manifest.fileErrors[path] = errorCode(err);
      throw err;
    }
  }

  async tryReadText(path: string): Promise<string | undefined> {
    try {
      return await this.readText(path);
    } catch {
      return undefined;
    }
  }

  private async record<T>(table: Record<string, Answer<T>>, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      const value = await fn();
      table[path] = { ok: value };
      return value;
    } catch (err) {
      table[path] = { error: errorCode(err) };
      throw err;
    }
  }

  readDir(path: string): Promise<string[]> {
    return this.record(this.manifest.dirs, path, () => this.inner.readDir(path));
  }
  readLink(path: string): Promise<string> {
    return this.record(this.manifest.links, path, () => this.inner.readLink(path));
  }
  stat(path: string, opts?: { follow?: boolean }): Promise<HostStat> {
    if (opts?.follow) return this.record(this.manifest.statsFollow!, path, () => this.inner.stat(path, opts));
    return this.record(this.manifest.stats, path, () => this.inner.stat(path));
  }
  statfs(path: string): Promise<HostStatfs> {
    return this.record(this.manifest.statfs, path, () => this.inner.statfs(path));
  }
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void> {
    const parts: Buffer[] = [];
    try {
      await this.inner.scanFile(path, chunkBytes, (chunk, offset) => {
        parts.push(Buffer.from(chunk));
        onChunk(chunk, offset);
      });
      this.files.set(path, Buffer.concat(parts));
    } catch (err) {
      this.manifest.fileErrors[path] = errorCode(err);
      throw err;
    }
  }

  /** Writes everything recorded so far as a .tar.gz bundle. */
  async writeBundle(outFile: string, oscopeVersion: string): Promise<{ files: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'oscope-capture-'));
    try {
      const root = join(dir, 'bundle');
      await mkdir(join(root, 'files'), { recursive: true });
      const manifest: Manifest = { format: BUNDLE_FORMAT, info: this.infoValue, oscopeVersion, ...this.manifest };
      await writeFile(join(root, 'manifest.json'), JSON.stringify(manifest));
      for (const [path, data] of this.files) {
        const target = join(root, 'files', path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, data);
      }
      await tar.create({ gzip: true, file: outFile, cwd: dir, portable: true }, ['bundle']);
      return { files: this.files.size };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Answers from a bundle written by RecordingHost.writeBundle. */
export class BundleHost implements Host {
  readonly kind = 'bundle' as const;
  readonly live = undefined;

  private constructor(
    private readonly manifest: Manifest,
    private readonly files: Map<string, Buffer>,
  ) {}

  static async load(file: string): Promise<BundleHost> {
    const files = new Map<string, Buffer>();
    let manifestText: string | undefined;
    const pending: Promise<void>[] = [];
    try {
      await tar.list({
        file,
        onReadEntry: (entry) => {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          pending.push(
            new Promise<void>((resolve) => {
              entry.on('end', () => {
                const path = entry.path;
                if (path === 'bundle/manifest.json') manifestText = Buffer.concat(chunks).toString('utf8');
                else if (path.startsWith('bundle/files/') && entry.type === 'File') {
                  files.set(path.slice('bundle/files'.length), Buffer.concat(chunks));
                }
                resolve();
              });
            }),
          );
        },
      });
      await Promise.all(pending);
    } catch (err) {
      throw new HostError(file, (err as { code?: string }).code ?? 'EIO', `${file}: not a readable oscope bundle (${(err as Error).message})`);
    }
    if (manifestText === undefined) throw new HostError(file, 'EINVAL', `${file}: not an oscope bundle (no manifest.json)`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestText) as Manifest;
    } catch {
      throw new HostError(file, 'EINVAL', `${file}: the bundle's manifest.json is not valid JSON`);
    }
    if (manifest.format !== BUNDLE_FORMAT) {
      throw new HostError(file, 'EINVAL', `${file}: unsupported bundle format ${String(manifest.format)} (expected ${BUNDLE_FORMAT})`);
    }
    return new BundleHost(manifest, files);
  }

  info(): HostInfo {
    return this.manifest.info;
  }

  private file(path: string): Buffer {
    const data = this.files.get(path);
    if (data) return data;
    throw new HostError(path, this.manifest.fileErrors[path] ?? 'ENOENT');
  }

  async readText(path: string): Promise<string> {
    return this.file(path).toString('utf8');
  }
  async tryReadText(path: string): Promise<string | undefined> {
    return this.files.get(path)?.toString('utf8');
  }
  private answer<T>(table: Record<string, Answer<T>>, path: string): T {
    const a = table[path];
    if (!a) throw new HostError(path, 'ENOENT');
    if ('error' in a) throw new HostError(path, a.error);
    return a.ok;
  }
  async readDir(path: string): Promise<string[]> {
    return this.answer(this.manifest.dirs, path);
  }
  async readLink(path: string): Promise<string> {
    return this.answer(this.manifest.links, path);
  }
  async stat(path: string, opts?: { follow?: boolean }): Promise<HostStat> {
    if (opts?.follow) return this.answer(this.manifest.statsFollow ?? {}, path);
    const a = this.manifest.stats[path];
    if (a) return this.answer(this.manifest.stats, path);
    // A file read as text but never stat-ed still exists.
    const data = this.files.get(path);
    if (data) {
      return { size: data.length, mode: 0o100444, uid: 0, dev: 0, ino: 0, nlink: 1, mtimeMs: 0, isFile: true, isDirectory: false, isSymbolicLink: false };
    }
    throw new HostError(path, 'ENOENT');
  }
  async statfs(path: string): Promise<HostStatfs> {
    return this.answer(this.manifest.statfs, path);
  }
  async exists(path: string): Promise<boolean> {
    if (this.files.has(path)) return true;
    const s = this.manifest.stats[path] ?? this.manifest.dirs[path];
    return s !== undefined && 'ok' in s;
  }
  async scanFile(path: string, chunkBytes: number, onChunk: (chunk: Uint8Array, offset: number) => void): Promise<void> {
    const data = this.file(path);
    for (let off = 0; off < data.length; off += chunkBytes) {
      onChunk(data.subarray(off, Math.min(off + chunkBytes, data.length)), off);
    }
  }
}

export { toHostError };
