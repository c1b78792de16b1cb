/**
 * memory.stat of a memory cgroup, v1 and v2, and one normalized shape for both.
 *
 * Both files are `key value` lines, values in bytes except event counters (pgfault, workingset_*, ...).
 *
 * cgroup v1 (Documentation/admin-guide/cgroup-v1/memory.rst, memcg1_stat_format()):
 * - the cgroup's OWN charges: cache (page cache incl. shmem), rss (anon incl. THP and swap cache),
 *   rss_huge, shmem, mapped_file, dirty, writeback, swap, active_anon, inactive_anon, active_file,
 *   inactive_file, unevictable;
 * - hierarchical_memory_limit (and hierarchical_memsw_limit): the tightest limit up the tree; an
 *   unlimited cgroup shows PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages);
 * - total_<name>: the same counters summed over the cgroup and all its descendants — live AND dying ones,
 *   which is what makes zombie accounting possible (see zombie.ts).
 * cgroup v2 (Documentation/admin-guide/cgroup-v2.rst, memory_stat_format()): all values are
 *   hierarchical. anon, file (incl. shmem), kernel (5.18+), kernel_stack, pagetables, sec_pagetables,
 *   percpu, sock, vmalloc, shmem, zswap, file_mapped, file_dirty, file_writeback, swapcached,
 *   anon_thp, file_thp, shmem_thp, inactive_anon, active_anon, inactive_file, active_file, unevictable,
 *   slab_reclaimable, slab_unreclaimable, slab, workingset_refault_*, workingset_activate_*,
 *   workingset_restore_*, workingset_nodereclaim, pgscan, pgsteal, pgfault, ...
 *
 * Normalized (`CgroupMemory`): usage from memory.usage_in_bytes (v1) or memory.current (v2);
 * anon = v1 rss / v2 anon; file = v1 cache / v2 file (both include shmem); workingset = anon + active_file
 * (what the kubelet evicts on: usage minus inactive_file, approximated from the LRU lists).
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

/** A value at or above this is "no limit" (PAGE_COUNTER_MAX * PAGE_SIZE for any page size ≥ 4 KiB is ≥ 2^62). */
const NO_LIMIT_AT = 2 ** 62;

/** Parses `key value` lines. Values beyond 2^53 are allowed only for *_limit keys (they mean "no limit": Infinity). */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const m = /^([a-z0-9_]+) (\d+)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "key value", got ${JSON.stringify(line)}`);
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) {
      if (!m[1]!.endsWith('_limit') || n < NO_LIMIT_AT) throw new ParseError(file, i + 1, `${m[1]} is out of range: ${m[2]}`);
      out.set(m[1]!, Infinity);
    } else out.set(m[1]!, n);
  }
  return out;
}

function need(stat: ReadonlyMap<string, number>, key: string, file: string): number {
  const v = stat.get(key);
  if (v === undefined) throw new ParseError(file, 1, `${key} is missing`);
  return v;
}

const V1_REQUIRED = ['cache', 'rss', 'mapped_file', 'active_anon', 'inactive_anon', 'active_file', 'inactive_file', 'unevictable'];
const V2_REQUIRED = ['anon', 'file', 'active_anon', 'inactive_anon', 'active_file', 'inactive_file', 'unevictable'];

/** v1 memory.stat. Checks the fields every v1 kernel has, own and total_. */
export function parseMemoryStatV1(text: string, file = 'memory.stat'): Map<string, number> {
  const stat = parseFlatKeyed(text, file);
  for (const k of V1_REQUIRED) {
    need(stat, k, file);
    need(stat, `total_${k}`, file);
  }
  return stat;
}

/** v2 memory.stat. */
export function parseMemoryStatV2(text: string, file = 'memory.stat'): Map<string, number> {
  const stat = parseFlatKeyed(text, file);
  for (const k of V2_REQUIRED) need(stat, k, file);
  return stat;
}

/** The user-page breakdown, shared by the hierarchical figures and v1's own (non-total) figures. */
export interface MemoryBreakdown {
  anonBytes: number;
  fileBytes: number;
  activeFileBytes: number;
  inactiveFileBytes: number;
  shmemBytes: number;
  dirtyBytes: number;
  writebackBytes: number;
}

export interface CgroupMemory extends MemoryBreakdown {
  version: 1 | 2;
  /** memory.usage_in_bytes (v1) / memory.current (v2): everything charged, kernel memory included. */
  usageBytes: number;
  /** True when the kernel has no usage file here (v2 root) and usage was estimated from memory.stat. */
  usageEstimated: boolean;
  /** anon + active_file. */
  workingsetBytes: number;
  /** memory.limit_in_bytes (v1) / memory.max (v2); null = no limit. */
  limitBytes: number | null;
  /** v2 `kernel` (5.18+) or the sum of its parts on older v2; v1 memory.kmem.usage_in_bytes when read. */
  kernelBytes?: number;
  swapBytes?: number;
  /** v1 only: this cgroup's own charges, children (live or dying) excluded. */
  own?: MemoryBreakdown;
}

function v1Breakdown(stat: ReadonlyMap<string, number>, prefix: '' | 'total_'): MemoryBreakdown {
  const g = (k: string): number => stat.get(prefix + k) ?? 0;
  return {
    anonBytes: g('rss'),
    fileBytes: g('cache'),
    activeFileBytes: g('active_file'),
    inactiveFileBytes: g('inactive_file'),
    shmemBytes: g('shmem'),
    dirtyBytes: g('dirty'),
    writebackBytes: g('writeback'),
  };
}

/** A limit file's text: v1 bytes (huge = none), v2 bytes or `max`. */
export function parseLimit(text: string, file: string): number | null {
  const t = text.trim();
  if (t === 'max') return null;
  if (!/^\d+$/.test(t)) throw new ParseError(file, 1, `expected a byte count or "max", got ${JSON.stringify(t)}`);
  const n = Number(t);
  return n >= NO_LIMIT_AT ? null : n;
}

export function parseBytesFile(text: string, file: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new ParseError(file, 1, `expected a byte count, got ${JSON.stringify(t)}`);
  return Number(t);
}

export function normalizeV1(
  stat: ReadonlyMap<string, number>,
  usageBytes: number,
  limitBytes: number | null,
  kmemUsageBytes?: number,
): CgroupMemory {
  const total = v1Breakdown(stat, 'total_');
  return {
    version: 1,
    ...total,
    usageBytes,
    usageEstimated: false,
    workingsetBytes: total.anonBytes + total.activeFileBytes,
    limitBytes,
    kernelBytes: kmemUsageBytes,
    swapBytes: stat.get('total_swap'),
    own: v1Breakdown(stat, ''),
  };
}

/** The v2 kernel figure: `kernel` when exported, else the sum of the kernel-side counters present. */
export function v2KernelBytes(stat: ReadonlyMap<string, number>): number {
  const k = stat.get('kernel');
  if (k !== undefined) return k;
  const slab = stat.get('slab') ?? (stat.get('slab_reclaimable') ?? 0) + (stat.get('slab_unreclaimable') ?? 0);
  return slab + (stat.get('kernel_stack') ?? 0) + (stat.get('pagetables') ?? 0) + (stat.get('sec_pagetables') ?? 0) +
    (stat.get('percpu') ?? 0) + (stat.get('vmalloc') ?? 0);
}

/** `currentBytes` undefined = no memory.current (the v2 root): usage is estimated as anon + file + kernel + sock. */
export function normalizeV2(stat: ReadonlyMap<string, number>, currentBytes: number | undefined, limitBytes: number | null): CgroupMemory {
  const g = (k: string): number => stat.get(k) ?? 0;
  const kernelBytes = v2KernelBytes(stat);
  const anonBytes = g('anon');
  return {
    version: 2,
    anonBytes,
    fileBytes: g('file'),
    activeFileBytes: g('active_file'),
    inactiveFileBytes: g('inactive_file'),
    shmemBytes: g('shmem'),
    dirtyBytes: g('file_dirty'),
    writebackBytes: g('file_writeback'),
    usageBytes: currentBytes ?? anonBytes + g('file') + kernelBytes + g('sock'),
    usageEstimated: currentBytes === undefined,
    workingsetBytes: anonBytes + g('active_file'),
    limitBytes,
    kernelBytes,
    swapBytes: stat.get('swap'),
  };
}

/**
 * Reads and normalizes one cgroup directory's memory files (`dir` is the absolute path on the host).
 * Throws HostError (ENOENT when the cgroup was removed meanwhile).
 */
export async function readCgroupMemory(host: Host, dir: string, version: 1 | 2): Promise<{ memory: CgroupMemory; stat: Map<string, number> }> {
  if (version === 1) {
    const stat = parseMemoryStatV1(await host.readText(`${dir}/memory.stat`), `${dir}/memory.stat`);
    const usage = parseBytesFile(await host.readText(`${dir}/memory.usage_in_bytes`), `${dir}/memory.usage_in_bytes`);
    const limitText = await host.tryReadText(`${dir}/memory.limit_in_bytes`);
    const limit = limitText === undefined ? null : parseLimit(limitText, `${dir}/memory.limit_in_bytes`);
    const kmemText = await host.tryReadText(`${dir}/memory.kmem.usage_in_bytes`);
    const kmem = kmemText === undefined ? undefined : parseBytesFile(kmemText, `${dir}/memory.kmem.usage_in_bytes`);
    return { memory: normalizeV1(stat, usage, limit, kmem), stat };
  }
  const stat = parseMemoryStatV2(await host.readText(`${dir}/memory.stat`), `${dir}/memory.stat`);
  const currentText = await host.tryReadText(`${dir}/memory.current`);
  const current = currentText === undefined ? undefined : parseBytesFile(currentText, `${dir}/memory.current`);
  const maxText = await host.tryReadText(`${dir}/memory.max`);
  const limit = maxText === undefined ? null : parseLimit(maxText, `${dir}/memory.max`);
  return { memory: normalizeV2(stat, current, limit), stat };
}
