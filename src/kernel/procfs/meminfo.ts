/**
 * /proc/meminfo — the kernel's system-wide memory counters (fs/proc/meminfo.c).
 *
 * Each line is `Name:  value [kB]`. Values with the `kB` unit are kibibytes; we return bytes for them.
 * Lines without a unit are counts (HugePages_Total, HugePages_Free, HugePages_Rsvd, HugePages_Surp).
 * The set of fields varies with kernel version and config, so the result is a map plus typed accessors
 * for the fields every supported kernel (4.19+) has.
 *
 * Key fields (see Documentation/filesystems/proc.rst):
 * - MemTotal: usable RAM (physical RAM minus reserved pages and the kernel binary image).
 * - MemFree, MemAvailable, Buffers, Cached (page cache incl. shmem, excl. swap cache), SwapCached.
 * - Active/Inactive(anon|file), Unevictable, Mlocked.
 * - AnonPages, Mapped, Shmem, KReclaimable, Slab, SReclaimable, SUnreclaim, KernelStack, PageTables,
 *   SecPageTables, NFS_Unstable, Bounce, WritebackTmp, VmallocUsed, Percpu, HardwareCorrupted,
 *   AnonHugePages, ShmemHugePages, FileHugePages, Hugetlb (total hugetlb bytes, 5.15+).
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const MEMINFO_PATH = '/proc/meminfo';

export interface Meminfo {
  /** Every field, in bytes when the kernel gave kB, else the raw count. */
  fields: Map<string, number>;
  /** Bytes of a kB field, or undefined when this kernel does not export it. */
  bytes(name: string): number | undefined;
  /** Like bytes(), but 0 when absent (use only for fields that are legitimately optional). */
  bytesOr0(name: string): number;
}

export function parseMeminfo(text: string, file = MEMINFO_PATH): Meminfo {
  const fields = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9_()]+):\s+(\S+)(?:\s+(\S+))?\s*$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "Name: value [kB]", got ${JSON.stringify(line)}`);
    const [, name, value, unit] = m;
    const n = parseIntField(value, file, i + 1, name!);
    if (unit !== undefined && unit !== 'kB') throw new ParseError(file, i + 1, `unknown unit ${JSON.stringify(unit)}`);
    fields.set(name!, unit === 'kB' ? n * 1024 : n);
  }
  if (!fields.has('MemTotal')) throw new ParseError(file, 1, 'MemTotal is missing');
  return {
    fields,
    bytes: (name) => fields.get(name),
    bytesOr0: (name) => fields.get(name) ?? 0,
  };
}

export async function readMeminfo(host: Host): Promise<Meminfo> {
  return parseMeminfo(await host.readText(MEMINFO_PATH));
}
