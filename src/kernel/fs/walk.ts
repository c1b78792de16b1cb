/**
 * A bounded walk of one file system tree through the Host, aggregating files and allocated bytes per
 * directory. Used for tmpfs mounts (whose files live in RAM), so sizes are allocated blocks × 512, not
 * apparent sizes: a sparse 1 GiB file that holds one page counts one page.
 *
 * The walk stays on the starting device (like `du -x`), never follows symlinks, and stops after
 * `maxEntries` entries; `truncated` says so. Entries that vanish or cannot be read are skipped and
 * counted in `errors` (a live file system changes under us).
 */
import type { Host } from '../../host/host.js';

export interface DirUsage {
  path: string;
  /** Regular files directly in this directory. */
  files: number;
  /** Bytes allocated to those files. */
  bytes: number;
  /** Files and bytes in this directory and everything below it. */
  totalFiles: number;
  totalBytes: number;
  depth: number;
}

export interface TreeWalk {
  root: string;
  dirs: DirUsage[];
  entries: number;
  truncated: boolean;
  errors: number;
}

export interface WalkTreeOptions {
  maxEntries?: number;
  maxDepth?: number;
  /** How many directory reads/stats are in flight at once. */
  concurrency?: number;
}

export async function walkTree(host: Host, root: string, opts: WalkTreeOptions = {}): Promise<TreeWalk> {
  const maxEntries = opts.maxEntries ?? 200_000;
  const maxDepth = opts.maxDepth ?? 64;
  const concurrency = opts.concurrency ?? 32;
  const rootStat = await host.stat(root);
  const rootDev = rootStat.dev;
  const dirs = new Map<string, DirUsage>();
  const parentOf = new Map<string, string>();
  let entries = 0;
  let errors = 0;
  let truncated = false;

  const queue: { path: string; depth: number }[] = [{ path: root, depth: 0 }];
  dirs.set(root, { path: root, files: 0, bytes: 0, totalFiles: 0, totalBytes: 0, depth: 0 });
  const join = (dir: string, name: string): string => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

  while (queue.length > 0 && !truncated) {
    const batch = queue.splice(0, concurrency);
    await Promise.all(
      batch.map(async ({ path, depth }) => {
        let names: string[];
        try {
          names = await host.readDir(path);
        } catch {
          errors++;
          return;
        }
        const usage = dirs.get(path)!;
        for (let i = 0; i < names.length; i += concurrency) {
          if (entries >= maxEntries) {
            truncated = true;
            return;
          }
          const slice = names.slice(i, i + concurrency);
          entries += slice.length;
          const stats = await Promise.all(
            slice.map(async (name) => {
              const p = join(path, name);
              try {
                return { p, st: await host.stat(p) };
              } catch {
                errors++;
                return undefined;
              }
            }),
          );
          for (const r of stats) {
            if (!r) continue;
            const { p, st } = r;
            if (st.isDirectory) {
              if (st.dev !== rootDev || depth + 1 > maxDepth) continue;
              dirs.set(p, { path: p, files: 0, bytes: 0, totalFiles: 0, totalBytes: 0, depth: depth + 1 });
              parentOf.set(p, path);
              queue.push({ path: p, depth: depth + 1 });
            } else if (st.isFile) {
              usage.files++;
              usage.bytes += st.blocks !== undefined ? st.blocks * 512 : st.size;
            }
          }
        }
      }),
    );
  }

  // Roll totals up: deepest first.
  const ordered = [...dirs.values()].sort((a, b) => b.depth - a.depth);
  for (const d of ordered) {
    d.totalFiles += d.files;
    d.totalBytes += d.bytes;
    const parent = parentOf.get(d.path);
    if (parent) {
      const p = dirs.get(parent)!;
      p.totalFiles += d.totalFiles;
      p.totalBytes += d.totalBytes;
    }
  }
  return { root, dirs: [...dirs.values()], entries, truncated, errors };
}
