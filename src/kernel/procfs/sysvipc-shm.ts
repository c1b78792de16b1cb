/**
 * /proc/sysvipc/shm — System V shared memory segments (ipc/shm.c, sysvipc_shm_proc_show();
 * Documentation/filesystems/proc.rst, `man 5 proc`).
 *
 * A header line names the columns; kernels older than "ipc/shm.c: add RSS and swap size information to
 * /proc/sysvipc/shm" (2010, 2.6.37 era; backported to some enterprise kernels) have no rss/swap
 * columns, so values are matched to header names:
 * - key: the IPC key, printed %10d (so it can be negative); 0 is IPC_PRIVATE.
 * - shmid: the segment id (`ipcrm -m`).
 * - perms: permission bits, printed in OCTAL (parsed to a number: "600" → 0o600).
 * - size: segment size in bytes.
 * - cpid/lpid: creator pid / pid of the last shmat/shmdt.
 * - nattch: current attaches; 0 means nobody maps it, yet its memory (shmem) stays until IPC_RMID:
 *   an orphan candidate.
 * - uid/gid/cuid/cgid: owner and creator ids.
 * - atime/dtime/ctime: last attach/detach/change, seconds since the epoch (0 = never).
 * - rss/swap: resident and swapped bytes of the segment (the kernel converts pages to bytes).
 * Memory quantities are bytes as printed.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const SYSVIPC_SHM_PATH = '/proc/sysvipc/shm';

export interface ShmSegment {
  key: number;
  shmid: number;
  /** Permission bits (from octal). */
  perms: number;
  size: number;
  cpid: number;
  lpid: number;
  nattch: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  atime: number;
  dtime: number;
  ctime: number;
  /** Resident bytes; undefined on kernels without the column. */
  rss?: number;
  /** Swapped-out bytes; undefined on kernels without the column. */
  swap?: number;
  /** Every column by header name, raw (perms as the octal-parsed number). */
  columns: Map<string, number>;
}

export interface SysvShm {
  /** Column names from the header. */
  header: string[];
  segments: ShmSegment[];
}

const REQUIRED = ['key', 'shmid', 'perms', 'size', 'cpid', 'lpid', 'nattch', 'uid', 'gid', 'cuid', 'cgid', 'atime', 'dtime', 'ctime'] as const;

export function parseSysvShm(text: string, file = SYSVIPC_SHM_PATH): SysvShm {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  for (const k of REQUIRED) {
    if (!header.includes(k)) throw new ParseError(file, 1, `header lacks column "${k}": ${JSON.stringify(lines[0] ?? '')}`);
  }
  if (new Set(header).size !== header.length) throw new ParseError(file, 1, 'duplicate column in header');
  const segments: ShmSegment[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const f = line.trim().split(/\s+/);
    if (f.length !== header.length) throw new ParseError(file, ln, `expected ${header.length} columns, got ${f.length}`);
    const columns = new Map<string, number>();
    header.forEach((name, k) => {
      const s = f[k]!;
      if (name === 'perms') {
        if (!/^[0-7]+$/.test(s)) throw new ParseError(file, ln, `perms is not octal: ${JSON.stringify(s)}`);
        columns.set(name, parseInt(s, 8));
      } else {
        const v = parseIntField(s, file, ln, name);
        if (v < 0 && name !== 'key') throw new ParseError(file, ln, `${name} is negative`);
        columns.set(name, v);
      }
    });
    const c = (k: (typeof REQUIRED)[number]): number => columns.get(k)!;
    const seg: ShmSegment = {
      key: c('key'),
      shmid: c('shmid'),
      perms: c('perms'),
      size: c('size'),
      cpid: c('cpid'),
      lpid: c('lpid'),
      nattch: c('nattch'),
      uid: c('uid'),
      gid: c('gid'),
      cuid: c('cuid'),
      cgid: c('cgid'),
      atime: c('atime'),
      dtime: c('dtime'),
      ctime: c('ctime'),
      columns,
    };
    const rss = columns.get('rss');
    const swap = columns.get('swap');
    if (rss !== undefined) seg.rss = rss;
    if (swap !== undefined) seg.swap = swap;
    segments.push(seg);
  }
  return { header, segments };
}

/** Reads /proc/sysvipc/shm; throws HostError ENOENT on kernels without CONFIG_SYSVIPC. */
export async function readSysvShm(host: Host): Promise<SysvShm> {
  return parseSysvShm(await host.readText(SYSVIPC_SHM_PATH));
}
