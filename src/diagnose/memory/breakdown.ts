/**
 * The memory breakdown: every byte of physical RAM in exactly one item, adding up to the total.
 *
 *   physical RAM  = firmware/boot reserved + MemTotal
 *   MemTotal      = free + user + kernel + unaccounted
 *
 * free:    MemFree, plus the per-CPU free lists when /proc/zoneinfo is read.
 * user:    anon (AnonPages), file cache (Cached − Shmem + Buffers), shmem (Shmem), swap cache
 *          (SwapCached), hugetlb pool (Hugetlb, or HugePages_Total × Hugepagesize on old kernels), and
 *          LRU pages beyond those counters (lruUnmapped, rare).
 *          Mlocked is shown as "of which" (partOf): it is anon or file pages already counted.
 * kernel:  slab reclaimable / unreclaimable, kernel stacks, page tables (+ secondary page tables),
 *          percpu, vmalloc (VmallocUsed minus the vmalloc'ed kernel stacks when /proc/vmallocinfo tells
 *          us how much that is, since with CONFIG_VMAP_STACK stacks are counted in both), other
 *          reclaimable kernel memory (KReclaimable − SReclaimable), zswap pool, unaccepted memory.
 * unaccounted: MemTotal minus all of the above: pages taken straight from the page allocator by drivers,
 *          the network stack (socket buffers), balloon drivers, GPU memory... that no counter shows.
 *
 * The identity holds by construction; the point is that `unaccounted` is named and then explained as
 * far as the kernel lets us, and cross-checked with /proc/kpageflags. The list of explaining counters
 * and the formula are in ./unaccounted.ts, shared with memleak and the agent.
 */
import type { Meminfo } from '../../kernel/procfs/meminfo.js';
import { type UnaccountedInputs, explainedItems, unaccountedSigned } from './unaccounted.js';

export type BreakdownGroup = 'free' | 'user' | 'kernel' | 'reserved' | 'unaccounted';

export interface BreakdownItem {
  key: string;
  group: BreakdownGroup;
  bytes: number;
  /** Set when the item is a part of another item ("of which"), so it is not summed twice. */
  partOf?: string;
  /** The kernel counter(s) the figure comes from. */
  source: string;
}

export interface PhysicalRam {
  bytes: number;
  /** Where the figure comes from: zoneinfo present pages, /proc/iomem System RAM, the boot log. */
  source: 'zoneinfo' | 'iomem' | 'bootlog';
}

export interface BreakdownInput {
  meminfo: Meminfo;
  physical?: PhysicalRam;
  /** Bytes of kernel stacks that live in vmalloc space (vmallocinfo callers alloc_thread_stack_node). */
  vmallocStackBytes?: number;
  /** Free pages on the per-CPU lists (zoneinfo), counted as free: MemFree leaves them out. */
  pcpFreeBytes?: number;
  /** The sum of /proc/vmallocinfo, used where VmallocUsed is 0 (kernels 4.4–5.2). */
  vmallocinfoBytes?: number;
}

export interface Breakdown {
  totalBytes: number;
  memTotalBytes: number;
  items: BreakdownItem[];
  unaccountedBytes: number;
  groups: Record<BreakdownGroup, number>;
  notes: string[];
}

export function computeBreakdown(input: BreakdownInput): Breakdown {
  const m = input.meminfo;
  const memTotal = m.bytesOr0('MemTotal');
  // Every explaining counter, and the unaccounted rest, come from the one definition in unaccounted.ts.
  const unaccountedInputs: UnaccountedInputs = {
    ...(input.pcpFreeBytes !== undefined ? { pcpFreeBytes: input.pcpFreeBytes } : {}),
    ...(input.vmallocStackBytes !== undefined ? { vmallocStackBytes: input.vmallocStackBytes } : {}),
    ...(input.vmallocinfoBytes !== undefined ? { vmallocinfoBytes: input.vmallocinfoBytes } : {}),
  };
  const explained = explainedItems(m, unaccountedInputs);
  const items: BreakdownItem[] = [...explained.items];
  const notes = [...explained.notes];
  const unaccounted = unaccountedSigned(m, unaccountedInputs);
  if (unaccounted < 0) {
    notes.push(
      `counters exceed MemTotal by ${-unaccounted} bytes (counters are read at slightly different moments, and some overlap on this kernel); unaccounted is shown as 0`,
    );
  }
  if (unaccounted > 0) items.push({ key: 'unaccounted', group: 'unaccounted', bytes: unaccounted, source: 'MemTotal - all of the above' });

  let total = memTotal;
  if (input.physical && input.physical.bytes >= memTotal) {
    const reserved = input.physical.bytes - memTotal;
    if (reserved > 0) items.push({ key: 'reserved', group: 'reserved', bytes: reserved, source: `physical RAM (${input.physical.source}) - MemTotal` });
    total = input.physical.bytes;
  } else {
    notes.push('physical RAM size unknown: firmware/boot reserved memory is not shown');
  }

  const groups: Record<BreakdownGroup, number> = { free: 0, user: 0, kernel: 0, reserved: 0, unaccounted: 0 };
  for (const i of items) if (!i.partOf) groups[i.group] += i.bytes;
  // When counters overshoot MemTotal, the sum exceeds the total by that much; scale nothing, say it.
  return { totalBytes: total, memTotalBytes: memTotal, items, unaccountedBytes: Math.max(0, unaccounted), groups, notes };
}
