/**
 * The memory breakdown: every byte of physical RAM in exactly one item, adding up to the total.
 *
 *   physical RAM  = firmware/boot reserved + MemTotal
 *   MemTotal      = free + user + kernel + unaccounted
 *
 * user:    anon (AnonPages), file cache (Cached − Shmem + Buffers), shmem (Shmem), swap cache
 *          (SwapCached), hugetlb pool (Hugetlb, or HugePages_Total × Hugepagesize on old kernels).
 *          Mlocked is shown as "of which" (partOf): it is anon or file pages already counted.
 * kernel:  slab reclaimable / unreclaimable, kernel stacks, page tables (+ secondary page tables),
 *          percpu, vmalloc (VmallocUsed minus the vmalloc'ed kernel stacks when /proc/vmallocinfo tells
 *          us how much that is, since with CONFIG_VMAP_STACK stacks are counted in both), other
 *          reclaimable kernel memory (KReclaimable − SReclaimable), zswap pool, unaccepted memory.
 * unaccounted: MemTotal minus all of the above: pages taken straight from the page allocator by drivers,
 *          the network stack (socket buffers), balloon drivers, GPU memory... that no counter shows.
 *
 * The identity holds by construction; the point is that `unaccounted` is named and then explained as
 * far as the kernel lets us (src/diagnose/memory/unaccounted.ts) and cross-checked with /proc/kpageflags.
 */
import type { Meminfo } from '../../kernel/procfs/meminfo.js';

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
  const b = (k: string): number => m.bytesOr0(k);
  const memTotal = b('MemTotal');
  const notes: string[] = [];
  const items: BreakdownItem[] = [];
  const add = (key: string, group: BreakdownGroup, bytes: number, source: string, partOf?: string): void => {
    if (bytes <= 0 && partOf === undefined && !['free', 'anon', 'filecache', 'shmem', 'slabReclaimable', 'slabUnreclaimable'].includes(key)) return;
    items.push({ key, group, bytes: Math.max(0, bytes), source, ...(partOf ? { partOf } : {}) });
  };

  add('free', 'free', b('MemFree'), 'MemFree');

  add('anon', 'user', b('AnonPages'), 'AnonPages');
  const fileCache = b('Cached') - b('Shmem') + b('Buffers');
  add('filecache', 'user', fileCache, 'Cached - Shmem + Buffers');
  add('shmem', 'user', b('Shmem'), 'Shmem');
  add('swapcache', 'user', b('SwapCached'), 'SwapCached');
  let hugetlb = m.bytes('Hugetlb');
  if (hugetlb === undefined) hugetlb = b('HugePages_Total') * b('Hugepagesize');
  add('hugetlb', 'user', hugetlb, m.bytes('Hugetlb') === undefined ? 'HugePages_Total × Hugepagesize' : 'Hugetlb');
  if (b('Mlocked') > 0) add('mlocked', 'user', b('Mlocked'), 'Mlocked', 'anon+filecache');

  add('slabReclaimable', 'kernel', b('SReclaimable'), 'SReclaimable');
  add('slabUnreclaimable', 'kernel', b('SUnreclaim'), 'SUnreclaim');
  add('kernelStack', 'kernel', b('KernelStack'), 'KernelStack');
  add('pageTables', 'kernel', b('PageTables') + b('SecPageTables'), 'PageTables + SecPageTables');
  add('percpu', 'kernel', b('Percpu'), 'Percpu');
  let vmalloc = b('VmallocUsed');
  if (input.vmallocStackBytes !== undefined && input.vmallocStackBytes > 0) {
    vmalloc = Math.max(0, vmalloc - input.vmallocStackBytes);
    notes.push('vmalloc excludes kernel stacks allocated with vmalloc (they are counted in kernelStack)');
  } else if (input.vmallocStackBytes === undefined) {
    notes.push('vmalloc may include vmalloc-ed kernel stacks (CONFIG_VMAP_STACK); /proc/vmallocinfo was not readable to tell');
  }
  add('vmalloc', 'kernel', vmalloc, 'VmallocUsed');
  const kOther = b('KReclaimable') - b('SReclaimable');
  add('kernelReclaimableOther', 'kernel', kOther, 'KReclaimable - SReclaimable');
  add('zswap', 'kernel', b('Zswap'), 'Zswap');
  add('unaccepted', 'kernel', b('Unaccepted'), 'Unaccepted');
  add('bounce', 'kernel', b('Bounce') + b('WritebackTmp') + b('NFS_Unstable'), 'Bounce + WritebackTmp + NFS_Unstable');

  const explained = items.filter((i) => !i.partOf).reduce((s, i) => s + i.bytes, 0);
  const unaccounted = memTotal - explained;
  if (unaccounted < 0) {
    notes.push(
      `counters exceed MemTotal by ${-unaccounted} bytes (counters are read at slightly different moments, and some overlap on this kernel); unaccounted is shown as 0`,
    );
  }
  add('unaccounted', 'unaccounted', Math.max(0, unaccounted), 'MemTotal - all of the above');

  let total = memTotal;
  if (input.physical && input.physical.bytes >= memTotal) {
    add('reserved', 'reserved', input.physical.bytes - memTotal, `physical RAM (${input.physical.source}) - MemTotal`);
    total = input.physical.bytes;
  } else {
    notes.push('physical RAM size unknown: firmware/boot reserved memory is not shown');
  }

  const groups: Record<BreakdownGroup, number> = { free: 0, user: 0, kernel: 0, reserved: 0, unaccounted: 0 };
  for (const i of items) if (!i.partOf) groups[i.group] += i.bytes;
  // When counters overshoot MemTotal, the sum exceeds the total by that much; scale nothing, say it.
  return { totalBytes: total, memTotalBytes: memTotal, items, unaccountedBytes: Math.max(0, unaccounted), groups, notes };
}
