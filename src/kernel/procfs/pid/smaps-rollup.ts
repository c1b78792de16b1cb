/**
 * /proc/PID/smaps_rollup (4.14+) — the sum of /proc/PID/smaps over all mappings (fs/proc/task_mmu.c).
 *
 * The first line is a pseudo-mapping header `start-end ---p 00000000 00:00 0  [rollup]`; every other
 * line is `Field:  N kB`. Returned in bytes. Fields (Documentation/filesystems/proc.rst):
 * - Rss: resident. Pss: proportional share (each page divided by its mapcount). Pss_Anon, Pss_File,
 *   Pss_Shmem (5.7+), Pss_Dirty (6.0+) split Pss.
 * - Shared_Clean/Shared_Dirty/Private_Clean/Private_Dirty: resident pages by sharing and dirtiness.
 * - Referenced, Anonymous, LazyFree, AnonHugePages, ShmemPmdMapped, FilePmdMapped, Shared_Hugetlb,
 *   Private_Hugetlb, Swap, SwapPss, Locked.
 * Fields a kernel does not export are `undefined`; every field is also in `fields`.
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface SmapsRollup {
  rssBytes: number;
  pssBytes: number;
  pssAnonBytes?: number;
  pssFileBytes?: number;
  pssShmemBytes?: number;
  pssDirtyBytes?: number;
  sharedCleanBytes: number;
  sharedDirtyBytes: number;
  privateCleanBytes: number;
  privateDirtyBytes: number;
  anonymousBytes?: number;
  swapBytes: number;
  swapPssBytes?: number;
  lockedBytes: number;
  /** Every field in bytes by kernel name. */
  fields: Map<string, number>;
}

export function smapsRollupPath(pid: number): string {
  return `/proc/${pid}/smaps_rollup`;
}

export function parseSmapsRollup(text: string, file = '/proc/PID/smaps_rollup'): SmapsRollup {
  const fields = new Map<string, number>();
  const lines = text.split('\n');
  let header = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (!header && /^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      header = true;
      continue;
    }
    const m = /^([A-Za-z_]+):\s+(\S+) kB$/.exec(line);
    if (!m) {
      // VmFlags and THPeligible lines appear in smaps, not in smaps_rollup; tolerate them anyway.
      if (/^(VmFlags|THPeligible|ProtectionKey):/.test(line)) continue;
      throw new ParseError(file, i + 1, `expected "Field: N kB", got ${JSON.stringify(line)}`);
    }
    fields.set(m[1]!, parseIntField(m[2], file, i + 1, m[1]!) * 1024);
  }
  const need = (k: string): number => {
    const v = fields.get(k);
    if (v === undefined) throw new ParseError(file, Math.max(1, lines.length), `${k} is missing`);
    return v;
  };
  return {
    rssBytes: need('Rss'),
    pssBytes: need('Pss'),
    pssAnonBytes: fields.get('Pss_Anon'),
    pssFileBytes: fields.get('Pss_File'),
    pssShmemBytes: fields.get('Pss_Shmem'),
    pssDirtyBytes: fields.get('Pss_Dirty'),
    sharedCleanBytes: need('Shared_Clean'),
    sharedDirtyBytes: need('Shared_Dirty'),
    privateCleanBytes: need('Private_Clean'),
    privateDirtyBytes: need('Private_Dirty'),
    anonymousBytes: fields.get('Anonymous'),
    swapBytes: need('Swap'),
    swapPssBytes: fields.get('SwapPss'),
    lockedBytes: need('Locked'),
    fields,
  };
}

/** `undefined` when the file is empty (a process without an address space, e.g. a zombie). */
export async function readSmapsRollup(host: Host, pid: number): Promise<SmapsRollup | undefined> {
  const path = smapsRollupPath(pid);
  const text = await host.readText(path);
  return text.trim() === '' ? undefined : parseSmapsRollup(text, path);
}
