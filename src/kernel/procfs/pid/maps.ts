/**
 * /proc/PID/maps — one line per virtual memory area (show_map_vma() in fs/proc/task_mmu.c):
 *
 *   start-end perms offset major:minor inode   pathname
 *   7efdc0a72000-7efdc0b72000 rw-s 00000000 00:01 1026   /memfd:oscope-test-memfd (deleted)
 *
 * - addresses and offset are hex; perms are `r`/`w`/`x` plus `p` (private) or `s` (shared);
 *   device numbers are hex; inode is decimal.
 * - pathname is empty for anonymous memory, a `[name]` for special areas ([heap], [stack], [vdso],
 *   [vvar], [vsyscall], [anon:NAME] for prctl-named anon, [anon_shmem:NAME]), or a path. A newline in a
 *   path is printed as `\012` by the kernel (decoded here). An unlinked file gets ` (deleted)`.
 * - shared memory shows as files on the internal shm mount: `/memfd:NAME (deleted)` for memfd_create(2),
 *   `/SYSV<key in 8 hex digits> (deleted)` for SysV segments, `/dev/zero (deleted)` for shared anon;
 *   POSIX shm as a path under /dev/shm.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';

export type MapKind = 'anon' | 'heap' | 'stack' | 'special' | 'file' | 'memfd' | 'sysv' | 'posix-shm' | 'shared-anon';

export interface MapEntry {
  start: bigint;
  end: bigint;
  sizeBytes: number;
  perms: string;
  shared: boolean;
  offset: bigint;
  major: number;
  minor: number;
  inode: number;
  /** The pathname as printed minus " (deleted)", with `\012` decoded; '' for anonymous memory. */
  pathname: string;
  deleted: boolean;
  kind: MapKind;
  /** memfd name (kind memfd) or SysV key (kind sysv, as a number). */
  memfdName?: string;
  sysvKey?: number;
}

export function mapsPath(pid: number): string {
  return `/proc/${pid}/maps`;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)(?: +(.*))?$/;

function classify(e: Omit<MapEntry, 'kind'>): Pick<MapEntry, 'kind' | 'memfdName' | 'sysvKey'> {
  const p = e.pathname;
  if (p === '') return { kind: 'anon' };
  if (p === '[heap]') return { kind: 'heap' };
  if (p === '[stack]' || p.startsWith('[stack:')) return { kind: 'stack' };
  if (p.startsWith('[')) return { kind: 'special' };
  if (p.startsWith('/memfd:')) return { kind: 'memfd', memfdName: p.slice('/memfd:'.length) };
  const sysv = /^\/SYSV([0-9a-f]{8})$/.exec(p);
  if (sysv && e.deleted) return { kind: 'sysv', sysvKey: parseInt(sysv[1]!, 16) };
  if (p === '/dev/zero' && e.deleted && e.shared) return { kind: 'shared-anon' };
  if (p.startsWith('/dev/shm/')) return { kind: 'posix-shm' };
  return { kind: 'file' };
}

export function parseMaps(text: string, file = '/proc/PID/maps'): MapEntry[] {
  const out: MapEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "start-end perms offset dev inode [path]", got ${JSON.stringify(line)}`);
    const start = BigInt('0x' + m[1]!);
    const end = BigInt('0x' + m[2]!);
    if (end < start) throw new ParseError(file, i + 1, `end ${m[2]} is below start ${m[1]}`);
    const inode = Number(m[7]);
    if (!Number.isSafeInteger(inode)) throw new ParseError(file, i + 1, `inode out of range: ${m[7]}`);
    let pathname = (m[8] ?? '').replace(/\\012/g, '\n');
    let deleted = false;
    if (pathname.endsWith(' (deleted)')) {
      deleted = true;
      pathname = pathname.slice(0, -' (deleted)'.length);
    }
    const perms = m[3]!;
    const base = {
      start,
      end,
      sizeBytes: Number(end - start),
      perms,
      shared: perms[3] === 's',
      offset: BigInt('0x' + m[4]!),
      major: parseInt(m[5]!, 16),
      minor: parseInt(m[6]!, 16),
      inode,
      pathname,
      deleted,
    };
    out.push({ ...base, ...classify(base) });
  }
  return out;
}

export async function readMaps(host: Host, pid: number): Promise<MapEntry[]> {
  const path = mapsPath(pid);
  return parseMaps(await host.readText(path), path);
}
