/**
 * /proc/PID/fd — one symlink per open file descriptor (proc_fd_link() in fs/proc/fd.c).
 *
 * Link targets:
 * - a path: `/var/log/x.log`, with ` (deleted)` appended when the file was unlinked;
 * - `socket:[INODE]`, `pipe:[INODE]`;
 * - `anon_inode:[eventfd]`, `anon_inode:inotify`, `anon_inode:bpf-map`, ... (anon inodes);
 * - `/memfd:NAME (deleted)` for memfd_create(2) (the memfd is on the internal shm mount, always
 *   "deleted"); on some kernels `memfd:NAME (deleted)` without the slash;
 * - `/SYSV...`-style or `/dev/zero (deleted)` targets are not fds (they appear in maps only).
 * `classifyFdTarget` is pure; `readFds` lists the directory through the Host and tolerates fds closing
 * between the listing and the readlink (they are skipped).
 */
import type { Host } from '../../../host/host.js';
import { HostError } from '../../../host/host.js';

export type FdKind = 'file' | 'socket' | 'pipe' | 'anon_inode' | 'memfd' | 'other';

export interface FdEntry {
  fd: number;
  /** The raw link target. */
  target: string;
  kind: FdKind;
  /** The file was unlinked (target ended with " (deleted)"); always true for memfd. */
  deleted: boolean;
  /** The path without " (deleted)" for kind file; the memfd name for memfd; undefined otherwise. */
  path?: string;
  /** The inode number for socket and pipe targets. */
  inode?: number;
  /** The anon inode class (`[eventfd]`, `bpf-map`, ...) for kind anon_inode. */
  anonClass?: string;
}

export function fdDirPath(pid: number): string {
  return `/proc/${pid}/fd`;
}

export function classifyFdTarget(fd: number, target: string): FdEntry {
  const deleted = target.endsWith(' (deleted)');
  const bare = deleted ? target.slice(0, -' (deleted)'.length) : target;
  const memfd = /^\/?memfd:(.*)$/.exec(bare);
  if (memfd) return { fd, target, kind: 'memfd', deleted: true, path: memfd[1] };
  const sp = /^(socket|pipe):\[(\d+)\]$/.exec(bare);
  if (sp) return { fd, target, kind: sp[1] === 'socket' ? 'socket' : 'pipe', deleted: false, inode: Number(sp[2]) };
  if (bare.startsWith('anon_inode:')) return { fd, target, kind: 'anon_inode', deleted: false, anonClass: bare.slice(11) };
  if (bare.startsWith('/')) return { fd, target, kind: 'file', deleted, path: bare };
  return { fd, target, kind: 'other', deleted };
}

/** Every open fd of a process, sorted by fd number. Throws HostError when the directory is unreadable. */
export async function readFds(host: Host, pid: number): Promise<FdEntry[]> {
  const dir = fdDirPath(pid);
  const names = await host.readDir(dir);
  const out: FdEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let target: string;
    try {
      target = await host.readLink(`${dir}/${name}`);
    } catch (err) {
      if (err instanceof HostError && err.notFound) continue; // closed meanwhile
      throw err;
    }
    out.push(classifyFdTarget(Number(name), target));
  }
  return out.sort((a, b) => a.fd - b.fd);
}
