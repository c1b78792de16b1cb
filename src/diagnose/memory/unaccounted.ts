/**
 * THE definition of "unaccounted" memory: MemTotal minus every counter that explains where pages went.
 * `oscope mem` (the breakdown), `oscope memleak -c` / `-t page` and the agent all call this, so the
 * same host gives the same figure everywhere.
 *
 *   explained = free        MemFree + pages on the per-CPU free lists (zoneinfo pagesets `count`; MemFree
 *                           leaves them out, and on a busy host they are hundreds of MiB)
 *             + user        AnonPages, Cached − Shmem + Buffers, Shmem, SwapCached, the hugetlb pool; and,
 *                           when the LRU lists hold more than these counters (Active + Inactive +
 *                           Unevictable > AnonPages + Cached + Buffers + SwapCached), the difference: pages
 *                           in use by user space that no mapping counter shows (anon pages unmapped but
 *                           still pinned by GUP/vmsplice, or being freed). The two views normally agree to
 *                           a few pages (per-CPU LRU batches), so taking the larger never calls a user page
 *                           unaccounted.
 *             + kernel      slab (reclaimable, unreclaimable), kernel stacks, page tables (+ secondary),
 *                           percpu, vmalloc (VmallocUsed, or the sum of /proc/vmallocinfo on kernels
 *                           4.4–5.2 that print 0 there; minus the vmalloc-ed kernel stacks when
 *                           vmallocinfo says how much: with CONFIG_VMAP_STACK they are in vmalloc and KernelStack),
 *                           other reclaimable kernel memory (KReclaimable − SReclaimable), the zswap pool,
 *                           unaccepted memory, bounce/writeback-tmp/NFS-unstable pages.
 *   unaccounted = MemTotal − explained (clamped at 0: counters are read at slightly different instants).
 *
 * What remains are pages taken straight from the page allocator (drivers, the network stack's socket
 * buffers, pipe buffers, balloon drivers, GPU memory...) that no counter names.
 */
import { type Host, HostError } from '../../host/host.js';
import type { Meminfo } from '../../kernel/procfs/meminfo.js';
import { type VmallocCallerUsage, readVmallocByCaller } from '../../kernel/procfs/vmallocinfo.js';
import { type Zoneinfo, readZoneinfo } from '../../kernel/procfs/zoneinfo.js';

export type ExplainedGroup = 'free' | 'user' | 'kernel';

export interface ExplainedItem {
  key: string;
  group: ExplainedGroup;
  bytes: number;
  /** The kernel counter(s) the figure comes from. */
  source: string;
  /** Set when the item is a part of another item ("of which"), so it is not summed twice. */
  partOf?: string;
}

/** What besides /proc/meminfo sharpens the figure; each is optional (then it is left out). */
export interface UnaccountedInputs {
  /** Free pages on the per-CPU lists, in bytes (see pcpFreeBytesOf). */
  pcpFreeBytes?: number;
  /** Bytes of kernel stacks that live in vmalloc space (see vmallocStackBytesOf); undefined = not known. */
  vmallocStackBytes?: number;
  /** RAM of all vmalloc areas from /proc/vmallocinfo: stands in for VmallocUsed where the kernel prints 0 (4.4–5.2). */
  vmallocinfoBytes?: number;
}

/**
 * vmalloc callers that allocate kernel thread stacks (CONFIG_VMAP_STACK). alloc_thread_stack_node is
 * often inlined, so vmallocinfo names its caller: dup_task_struct, copy_process or kernel_clone, and
 * fork_idle for the idle threads' stacks.
 */
export const STACK_CALLERS: ReadonlySet<string> = new Set(['alloc_thread_stack_node', 'dup_task_struct', 'copy_process', 'kernel_clone', 'fork_idle', 'create_io_thread']);

/** RAM of every vmalloc area. */
export function vmallocinfoBytesOf(byCaller: readonly VmallocCallerUsage[]): number {
  return byCaller.reduce((s, v) => s + v.bytes, 0);
}

/** Bytes of vmalloc areas that are kernel stacks. */
export function vmallocStackBytesOf(byCaller: readonly VmallocCallerUsage[]): number {
  return byCaller.filter((v) => STACK_CALLERS.has(v.func)).reduce((s, v) => s + v.bytes, 0);
}

/** Free pages on the per-CPU lists (zoneinfo pagesets `count`), in bytes. */
export function pcpFreeBytesOf(z: Zoneinfo): number {
  let pages = 0;
  for (const zone of z.zones) for (const p of zone.pagesets) pages += p.fields.get('count') ?? 0;
  return pages * z.pageSizeBytes;
}

/** Items that are listed even at 0 bytes (the breakdown always shows them). */
const ALWAYS = new Set(['free', 'anon', 'filecache', 'shmem', 'slabReclaimable', 'slabUnreclaimable']);

/** Every counter that explains part of MemTotal, as breakdown items, plus notes on what was (not) corrected. */
export function explainedItems(m: Meminfo, inputs: UnaccountedInputs = {}): { items: ExplainedItem[]; notes: string[] } {
  const b = (k: string): number => m.bytesOr0(k);
  const items: ExplainedItem[] = [];
  const notes: string[] = [];
  const add = (key: string, group: ExplainedGroup, bytes: number, source: string, partOf?: string): void => {
    if (bytes <= 0 && partOf === undefined && !ALWAYS.has(key)) return;
    items.push({ key, group, bytes: Math.max(0, bytes), source, ...(partOf ? { partOf } : {}) });
  };

  const pcp = inputs.pcpFreeBytes ?? 0;
  add('free', 'free', b('MemFree') + pcp, pcp > 0 ? 'MemFree + per-CPU free lists (zoneinfo)' : 'MemFree');

  add('anon', 'user', b('AnonPages'), 'AnonPages');
  add('filecache', 'user', m.fileCacheBytes(), 'Cached - Shmem + Buffers');
  add('shmem', 'user', b('Shmem'), 'Shmem');
  add('swapcache', 'user', b('SwapCached'), 'SwapCached');
  add('hugetlb', 'user', m.hugetlbBytes(), m.hugetlbSource());
  const mapped = b('AnonPages') + b('Cached') + b('Buffers') + b('SwapCached');
  add('lruUnmapped', 'user', m.lruBytes() - mapped, 'Active + Inactive + Unevictable - (AnonPages + Cached + Buffers + SwapCached)');
  if (b('Mlocked') > 0) add('mlocked', 'user', b('Mlocked'), 'Mlocked', 'anon+filecache');

  add('slabReclaimable', 'kernel', m.slabReclaimableBytes(), 'SReclaimable');
  add('slabUnreclaimable', 'kernel', m.slabUnreclaimableBytes(), 'SUnreclaim');
  add('kernelStack', 'kernel', b('KernelStack'), 'KernelStack');
  add('pageTables', 'kernel', m.pageTablesBytes(), 'PageTables + SecPageTables');
  add('percpu', 'kernel', b('Percpu'), 'Percpu');
  let vmalloc = b('VmallocUsed');
  let vmallocSource = 'VmallocUsed';
  if (vmalloc === 0 && (inputs.vmallocinfoBytes ?? 0) > 0) {
    vmalloc = inputs.vmallocinfoBytes!;
    vmallocSource = 'vmallocinfo (VmallocUsed is 0 on this kernel)';
  }
  if (inputs.vmallocStackBytes !== undefined && inputs.vmallocStackBytes > 0) {
    vmalloc = Math.max(0, vmalloc - inputs.vmallocStackBytes);
    notes.push('vmalloc excludes kernel stacks allocated with vmalloc (they are counted in kernelStack)');
  } else if (inputs.vmallocStackBytes === undefined) {
    notes.push('vmalloc may include vmalloc-ed kernel stacks (CONFIG_VMAP_STACK); /proc/vmallocinfo was not readable to tell');
  }
  add('vmalloc', 'kernel', vmalloc, vmallocSource);
  add('kernelReclaimableOther', 'kernel', m.kernelReclaimableOtherBytes(), 'KReclaimable - SReclaimable');
  add('zswap', 'kernel', b('Zswap'), 'Zswap');
  add('unaccepted', 'kernel', b('Unaccepted'), 'Unaccepted');
  add('bounce', 'kernel', b('Bounce') + b('WritebackTmp') + b('NFS_Unstable'), 'Bounce + WritebackTmp + NFS_Unstable');
  return { items, notes };
}

/** MemTotal minus everything explained; negative when the counters overshoot MemTotal (read skew). */
export function unaccountedSigned(m: Meminfo, inputs: UnaccountedInputs = {}): number {
  const explained = explainedItems(m, inputs).items.filter((i) => !i.partOf).reduce((s, i) => s + i.bytes, 0);
  return m.bytesOr0('MemTotal') - explained;
}

/** Memory no counter explains, in bytes, never negative (see the module comment). */
export function unaccountedBytes(m: Meminfo, inputs: UnaccountedInputs = {}): number {
  return Math.max(0, unaccountedSigned(m, inputs));
}

/**
 * Reads the inputs besides meminfo for callers that read nothing else (memleak's check, the agent):
 * /proc/zoneinfo (per-CPU free pages) and /proc/vmallocinfo (root; vmalloc-ed stacks). What cannot be
 * read is left out, exactly as `oscope mem` leaves it out, so the figures agree on the same host.
 */
export async function readUnaccountedInputs(host: Host): Promise<UnaccountedInputs> {
  // Missing or forbidden files are left out; a malformed one is an error (never a silent zero).
  const optional = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((err: unknown) => {
      if (err instanceof HostError) return undefined;
      throw err;
    });
  const [z, v] = await Promise.all([optional(readZoneinfo(host)), optional(readVmallocByCaller(host))]);
  return {
    ...(z ? { pcpFreeBytes: pcpFreeBytesOf(z) } : {}),
    ...(v ? { vmallocStackBytes: vmallocStackBytesOf(v), vmallocinfoBytes: vmallocinfoBytesOf(v) } : {}),
  };
}
