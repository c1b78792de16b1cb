/**
 * Files as the kernel names them (a super block's dev_t and an inode number, from the BPF tracer) →
 * paths, in user space and through the Host:
 *
 *   1. the open files (/proc/PID/fd/N, stat(2) for dev and inode) and file mappings (/proc/PID/maps
 *      prints dev and inode) of the processes that read or dirtied them, then of every process;
 *   2. what is left, through the kernel's dentries: the BPF in-core inode walk (host.live.inodeWalker,
 *      oscope filecache's) gives the path inside its file system, placed under a mount point of that
 *      device from /proc/self/mountinfo;
 *   3. a block device's own cache is named /dev/NAME from /proc/diskstats.
 *
 * What none of these names stays null (the report says "dev:ino (unresolved)").
 */
import { HostError, type Host } from '../../host/host.js';
import { readFds } from '../../kernel/procfs/pid/fd.js';
import { readMaps } from '../../kernel/procfs/pid/maps.js';
import { readMountinfo } from '../../kernel/procfs/pid/mountinfo.js';

/** "major:minor" of a user-space dev_t (glibc's major()/minor()). */
export function userDevMajMin(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export const fileKey = (device: string, ino: number): string => `${device}/${ino}`;

export interface ResolveResult {
  paths: Map<string, string>;
  /** How many were named by each way. */
  by: { fd: number; maps: number; walk: number };
  /** Why the inode walk did not run, when it was needed. */
  walkUnavailable?: string;
}

/**
 * Names `wanted` (fileKey(device, ino) keys). `firstPids` are looked at before the rest of /proc;
 * at most `maxProcs` processes are looked at in all.
 */
export async function resolveFilePaths(host: Host, wanted: ReadonlySet<string>, firstPids: readonly number[], o: { maxProcs?: number; walk?: boolean; walkOnlyFor?: ReadonlySet<string> } = {}): Promise<ResolveResult> {
  const paths = new Map<string, string>();
  const by = { fd: 0, maps: 0, walk: 0 };
  if (wanted.size === 0) return { paths, by };
  const left = (): boolean => paths.size < wanted.size;
  const all = (await host.readDir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
  const order = [...new Set([...firstPids, ...all])].slice(0, o.maxProcs ?? 100_000);
  for (const pid of order) {
    if (!left()) break;
    try {
      for (const f of await readFds(host, pid)) {
        if (f.kind !== 'file' || !f.path?.startsWith('/')) continue;
        let st;
        try {
          st = await host.stat(`/proc/${pid}/fd/${f.fd}`, { follow: true });
        } catch {
          continue;
        }
        const k = fileKey(userDevMajMin(st.dev), st.ino);
        if (wanted.has(k) && !paths.has(k)) {
          paths.set(k, f.deleted ? `${f.path} (deleted)` : f.path);
          by.fd++;
        }
      }
      for (const m of await readMaps(host, pid)) {
        if (m.inode === 0 || !m.pathname.startsWith('/')) continue;
        const k = fileKey(`${m.major}:${m.minor}`, m.inode);
        if (wanted.has(k) && !paths.has(k)) {
          paths.set(k, m.deleted ? `${m.pathname} (deleted)` : m.pathname);
          by.maps++;
        }
      }
    } catch (err) {
      if (!(err instanceof HostError)) throw err;
      // gone meanwhile, or not ours to read
    }
  }
  let walkUnavailable: string | undefined;
  const walkNeeded = [...(o.walkOnlyFor ?? wanted)].some((k) => wanted.has(k) && !paths.has(k));
  if (left() && o.walk !== false && walkNeeded) {
    const st = host.live?.inodeWalker();
    if (!st) walkUnavailable = 'not a live host';
    else if (!st.available) walkUnavailable = st.reason;
    else {
      try {
        const w = await st.walker.walk();
        const mounts = await readMountinfo(host).catch(() => []);
        for (const f of w.files) {
          const k = fileKey(f.device, f.inode);
          if (!wanted.has(k) || paths.has(k) || f.path === null) continue;
          const rel = f.path;
          // A mount of that device whose root contains the path (bind mounts of a sub-directory too).
          const m = mounts.find((x) => `${x.major}:${x.minor}` === f.device && (x.root === '/' || rel === x.root || rel.startsWith(`${x.root}/`)));
          if (!m) continue;
          const inside = m.root === '/' ? rel : rel.slice(m.root.length) || '/';
          const full = m.mountPoint === '/' ? inside : `${m.mountPoint}${inside}`;
          paths.set(k, `${f.pathPartial ? '…' : ''}${full}${f.nlink === 0 ? ' (deleted)' : ''}`);
          by.walk++;
        }
      } catch (err) {
        walkUnavailable = err instanceof Error ? err.message.split('\n')[0] : String(err);
      }
    }
  }
  return { paths, by, ...(walkUnavailable !== undefined ? { walkUnavailable } : {}) };
}
