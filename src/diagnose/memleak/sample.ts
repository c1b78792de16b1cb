/**
 * What the growth watch samples, read through the Host (so a bundle replays a single sample too):
 * - slab: /proc/slabinfo, bytes each cache holds (num_slabs × pages per slab × page size). SLUB merges
 *   caches of the same size and flags: /proc/slabinfo shows only the first name of each merged group,
 *   so we also read the aliases from /sys/kernel/slab (symlinks to the same `:A-0000128` directory) to
 *   say "eventpoll_epi (also fib6_node, tcp_bind_bucket)".
 * - vmalloc: /proc/vmallocinfo, RAM owned by vmalloc areas per calling function.
 * - page: /proc/meminfo, kernel pages that no counter explains (`unaccounted`, defined once in
 *   src/diagnose/memory/unaccounted.ts: MemTotal minus free, user pages, slab, kernel stacks, page
 *   tables, vmalloc, per-CPU, hugetlb...), where alloc_pages() users without a
 *   counter of their own (pipe buffers, drivers, BPF ring buffers...) show up, plus page tables, kernel
 *   stacks and per-CPU memory.
 */
import type { Host } from '../../host/host.js';
import { HostError } from '../../host/host.js';
import { type Meminfo, readMeminfo } from '../../kernel/procfs/meminfo.js';
import { SYS_SLAB_DIR, readSlabinfo } from '../../kernel/procfs/slabinfo.js';
import { readVmallocinfo, vmallocByCaller } from '../../kernel/procfs/vmallocinfo.js';
import { pageSize } from '../../kernel/procfs/vmstat.js';
import { readZoneinfo } from '../../kernel/procfs/zoneinfo.js';
import { type UnaccountedInputs, pcpFreeBytesOf, unaccountedBytes as sharedUnaccountedBytes } from '../memory/unaccounted.js';

import type { LeakType } from '../../contract/memleak.js';

export { LEAK_TYPES, type LeakType } from '../../contract/memleak.js';

export const UNACCOUNTED = 'unaccounted';

/**
 * Kernel memory no meminfo counter explains, in bytes (never negative): the one definition shared with
 * `oscope mem` and the agent (src/diagnose/memory/unaccounted.ts). `pcpFreeBytes`: free pages on the
 * per-CPU lists (/proc/zoneinfo pagesets `count`), which MemFree does not include; they are often
 * hundreds of MiB and swing by tens of MiB a second on a busy host, so subtract them when known.
 * `vmalloc`: what /proc/vmallocinfo tells, when read (vmalloc-ed stacks; the total where VmallocUsed is 0).
 */
export function unaccountedBytes(m: Meminfo, pcpFreeBytes = 0, vmalloc: Omit<UnaccountedInputs, 'pcpFreeBytes'> = {}): number {
  return sharedUnaccountedBytes(m, { ...vmalloc, pcpFreeBytes });
}

/** Page counters the page-type watch follows: unaccounted kernel pages first. */
export function pageSeries(m: Meminfo, pcpFreeBytes = 0): Map<string, number> {
  return new Map([
    [UNACCOUNTED, unaccountedBytes(m, pcpFreeBytes)],
    ['PageTables', m.bytesOr0('PageTables')],
    ['KernelStack', m.bytesOr0('KernelStack')],
    ['Percpu', m.bytesOr0('Percpu')],
  ]);
}

/** Free pages on the per-CPU lists, in bytes; 0 when /proc/zoneinfo cannot be read. */
export async function pcpFreeBytes(host: Host): Promise<number> {
  let z;
  try {
    z = await readZoneinfo(host);
  } catch (err) {
    if (err instanceof HostError) return 0;
    throw err;
  }
  return pcpFreeBytesOf(z);
}

/** One sample of the series for this type. */
export async function sampleBytes(host: Host, type: LeakType): Promise<Map<string, number>> {
  switch (type) {
    case 'slab': {
      const info = await readSlabinfo(host);
      const out = new Map<string, number>();
      for (const c of info.caches) out.set(c.name, (out.get(c.name) ?? 0) + c.bytes);
      return out;
    }
    case 'vmalloc': {
      const [info, ps] = await Promise.all([readVmallocinfo(host), pageSize(host)]);
      return new Map(vmallocByCaller(info, ps).map((u) => [u.caller, u.bytes]));
    }
    case 'page': {
      const [m, pcp] = await Promise.all([readMeminfo(host), pcpFreeBytes(host)]);
      return pageSeries(m, pcp);
    }
  }
}

/** Facts about slab caches read once per run. */
export interface SlabFacts {
  /** slabinfo name → every cache name merged with it (itself included), when SLUB sysfs tells. */
  aliases: Map<string, string[]>;
  /** Caches created with SLAB_RECLAIM_ACCOUNT (dentry, inode caches...): reclaimable, not leak suspects. */
  reclaimable: Set<string>;
}

const KNOWN_RECLAIMABLE = /^(dentry|.*inode.*|buffer_head|radix_tree_node|xfs_buf|ext4_extent_status|extent_status|nfs_.*|kernfs_node_cache|mb_cache_entry|kmalloc-rcl-.*)$/;

/**
 * Merged-cache aliases and reclaimable flags from /sys/kernel/slab (SLUB). Missing or unreadable sysfs
 * (SLAB kernels, non-root) gives empty aliases and a name-based guess for reclaimable caches.
 */
export async function readSlabFacts(host: Host, names: Iterable<string>): Promise<SlabFacts> {
  const aliases = new Map<string, string[]>();
  const reclaimable = new Set<string>();
  const wanted = [...names];
  let entries: string[] = [];
  try {
    entries = await host.readDir(SYS_SLAB_DIR);
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
  }
  const groups = new Map<string, string[]>();
  await Promise.all(
    entries.map(async (e) => {
      let target = e;
      try {
        const st = await host.stat(`${SYS_SLAB_DIR}/${e}`);
        if (st.isSymbolicLink) target = (await host.readLink(`${SYS_SLAB_DIR}/${e}`)).split('/').pop() ?? e;
      } catch {
        return;
      }
      const g = groups.get(target) ?? [];
      if (!e.startsWith(':')) g.push(e);
      groups.set(target, g);
    }),
  );
  const byName = new Map<string, string>();
  for (const [target, g] of groups) for (const n of g) byName.set(n, target);
  await Promise.all(
    wanted.map(async (name) => {
      const target = byName.get(name);
      if (target !== undefined) aliases.set(name, [...(groups.get(target) ?? [])].sort());
      const flag = await host.tryReadText(`${SYS_SLAB_DIR}/${target ?? name}/reclaim_account`);
      if (flag !== undefined ? flag.trim() === '1' : KNOWN_RECLAIMABLE.test(name)) reclaimable.add(name);
    }),
  );
  return { aliases, reclaimable };
}
