/**
 * A fast walk of local file system trees that hands regular files' paths to a consumer in batches, for
 * measuring their page cache. Unlike ../fs/walk.ts (which aggregates sizes through the Host and works on
 * bundles), this walk is for the live machine only, because what it feeds (cachestat) is live only.
 *
 * - One readdir (with d_type) per directory, no stat per file: cachestatFiles stats each file itself.
 *   Entries with DT_UNKNOWN are lstat'ed.
 * - Stays on the file systems it was started on: directories that are mount points of other file
 *   systems (from mountinfo, given as `skipMounts`) are not entered, like `du -x`; symlinks are not
 *   followed.
 * - `exclude`: path prefixes never entered (`/proc`, `/sys`, ...).
 * - Bounded: stops after `maxFiles` files (`truncated`). Directories that vanish or cannot be read are
 *   counted in `errors`.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';

export interface FileWalkOptions {
  exclude?: readonly string[];
  /** Mount points not to enter (other file systems below a root). */
  skipMounts?: ReadonlySet<string>;
  maxFiles?: number;
  /** Files per batch handed to `onBatch`. */
  batchSize?: number;
  /** Directories read at once. */
  concurrency?: number;
  onProgress?: (files: number, dirs: number) => void;
}

export interface FileWalkResult {
  files: number;
  dirs: number;
  errors: number;
  truncated: boolean;
}

function under(path: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || path === p || path.startsWith(`${p}/`);
}

/**
 * Walks `roots` and calls `onBatch(paths)` (awaited, so the consumer sets the pace) with regular files.
 */
export async function walkFiles(roots: readonly string[], onBatch: (paths: string[]) => Promise<void>, opts: FileWalkOptions = {}): Promise<FileWalkResult> {
  const exclude = opts.exclude ?? [];
  const skip = opts.skipMounts ?? new Set<string>();
  const maxFiles = opts.maxFiles ?? Infinity;
  const batchSize = opts.batchSize ?? 2048;
  const concurrency = opts.concurrency ?? 8;
  const res: FileWalkResult = { files: 0, dirs: 0, errors: 0, truncated: false };
  let batch: string[] = [];
  // Up to two batches are measured while the walk goes on (the measuring runs on the thread pool).
  const pending: Promise<void>[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    pending.push(onBatch(b));
    if (pending.length >= 2) await pending.shift();
  };
  const stack: string[] = [...roots].filter((r) => !exclude.some((e) => under(r, e))).reverse();
  const join = (d: string, n: string): string => (d.endsWith('/') ? `${d}${n}` : `${d}/${n}`);
  const rootSet = new Set(roots);
  while (stack.length > 0 && !res.truncated) {
    const dirs = stack.splice(Math.max(0, stack.length - concurrency));
    const listed = await Promise.all(
      dirs.map(async (d) => {
        try {
          return { d, entries: await readdir(d, { withFileTypes: true }) };
        } catch {
          res.errors++;
          return { d, entries: [] as Dirent[] };
        }
      }),
    );
    for (const { d, entries } of listed) {
      res.dirs++;
      for (const e of entries) {
        const p = join(d, e.name);
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (!isDir && !isFile && !e.isSymbolicLink() && !e.isFIFO() && !e.isSocket() && !e.isCharacterDevice() && !e.isBlockDevice()) {
          try {
            const st = await lstat(p);
            isDir = st.isDirectory();
            isFile = st.isFile();
          } catch {
            res.errors++;
            continue;
          }
        }
        if (isDir) {
          if ((skip.has(p) && !rootSet.has(p)) || exclude.some((x) => under(p, x))) continue;
          stack.push(p);
        } else if (isFile) {
          if (res.files >= maxFiles) {
            res.truncated = true;
            break;
          }
          res.files++;
          batch.push(p);
          if (batch.length >= batchSize) await flush();
        }
      }
      if (res.truncated) break;
    }
    opts.onProgress?.(res.files, res.dirs);
  }
  await flush();
  await Promise.all(pending);
  return res;
}
