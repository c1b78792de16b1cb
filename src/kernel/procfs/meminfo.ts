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
 *   AnonHugePages, ShmemHugePages, FileHugePages, Hugetlb (total hugetlb bytes, all page sizes, 4.16+).
 *
 * The typed getters below are THE definitions of the derived facts callers need (mem, memleak, inspect,
 * the agent): compute them here, never by hand from `fields`, so that every command agrees.
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
  /**
   * Memory available for new work without swapping: MemAvailable (3.14+). Older kernels lack it; then
   * the kernel's own estimate (si_mem_available) without its watermark and reserve terms, which a reader
   * of meminfo cannot know: MemFree + the file LRU + reclaimable kernel memory (an upper bound).
   */
  availableBytes(): number;
  /** The hugetlb pool, every page size: Hugetlb (4.16+), else HugePages_Total × Hugepagesize (default size only). */
  hugetlbBytes(): number;
  /** Where hugetlbBytes() came from: `Hugetlb` or `HugePages_Total × Hugepagesize`. */
  hugetlbSource(): string;
  /** All slab: Slab, else SReclaimable + SUnreclaim (the kernel prints Slab as exactly that sum). */
  slabBytes(): number;
  /** SReclaimable, else Slab − SUnreclaim. */
  slabReclaimableBytes(): number;
  /** SUnreclaim, else Slab − SReclaimable. */
  slabUnreclaimableBytes(): number;
  /** Page cache without shmem (Cached counts shmem too), plus buffers: Cached − Shmem + Buffers, ≥ 0. */
  fileCacheBytes(): number;
  /** Pages on the LRU lists: Active + Inactive + Unevictable (anon, file and shmem pages in use). */
  lruBytes(): number;
  /** Page tables: PageTables + SecPageTables (KVM/IOMMU secondary page tables, 6.0+). */
  pageTablesBytes(): number;
  /** Reclaimable kernel memory that is not slab: KReclaimable − SReclaimable (5.0+; 0 before), ≥ 0. */
  kernelReclaimableOtherBytes(): number;
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
  return meminfoOf(fields);
}

/** The typed view over parsed fields (see the Meminfo getters for each definition). */
export function meminfoOf(fields: Map<string, number>): Meminfo {
  const b = (name: string): number => fields.get(name) ?? 0;
  const pos = (n: number): number => Math.max(0, n);
  const hugetlbExported = fields.has('Hugetlb');
  const slabReclaimable = (): number => fields.get('SReclaimable') ?? pos(b('Slab') - b('SUnreclaim'));
  return {
    fields,
    bytes: (name) => fields.get(name),
    bytesOr0: b,
    availableBytes: () =>
      fields.get('MemAvailable') ?? b('MemFree') + b('Active(file)') + b('Inactive(file)') + (fields.get('KReclaimable') ?? slabReclaimable()),
    hugetlbBytes: () => fields.get('Hugetlb') ?? b('HugePages_Total') * b('Hugepagesize'),
    hugetlbSource: () => (hugetlbExported ? 'Hugetlb' : 'HugePages_Total × Hugepagesize'),
    slabBytes: () => fields.get('Slab') ?? b('SReclaimable') + b('SUnreclaim'),
    slabReclaimableBytes: slabReclaimable,
    slabUnreclaimableBytes: () => fields.get('SUnreclaim') ?? pos(b('Slab') - b('SReclaimable')),
    fileCacheBytes: () => pos(b('Cached') - b('Shmem') + b('Buffers')),
    lruBytes: () => b('Active') + b('Inactive') + b('Unevictable'),
    pageTablesBytes: () => b('PageTables') + b('SecPageTables'),
    kernelReclaimableOtherBytes: () => pos((fields.get('KReclaimable') ?? slabReclaimable()) - slabReclaimable()),
  };
}

export async function readMeminfo(host: Host): Promise<Meminfo> {
  return parseMeminfo(await host.readText(MEMINFO_PATH));
}
