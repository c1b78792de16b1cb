/** Slab caches, dentries and inodes: collectSlabSources reads, analyzeSlab is pure. */
import type { Host } from '../../host/host.js';
import { type DentryState, readDentryState } from '../../kernel/procfs/dentry-state.js';
import { type InodeState, readInodeState } from '../../kernel/procfs/inode-state.js';
import { type Slabinfo, readSlabinfo } from '../../kernel/procfs/slabinfo.js';
import { mapLimit } from '../../util/concurrency.js';
import type { Coverage, SlabCacheRow, SlabSection } from './types.js';

/** Caches whose objects the kernel frees under memory pressure, when sysfs cannot tell us. */
const KNOWN_RECLAIMABLE = /^(dentry|.*inode_cache|.*_inode|radix_tree_node|buffer_head|xfs_ili|ext4_groupinfo.*|nfs_.*inode.*|fuse_inode|proc_inode_cache|shmem_inode_cache|sock_inode_cache)$/;

/** What the slab section reads (collectSlabSources); analyzeSlab is pure over it. */
export interface SlabSources {
  /** undefined when /proc/slabinfo could not be read (then `slabinfoError` says why). */
  slabinfo: Slabinfo | undefined;
  slabinfoError?: string;
  /** /sys/kernel/slab/<cache>/reclaim_account of the largest caches (undefined: not readable). */
  reclaimAccount: Map<string, string | undefined>;
  dentry: DentryState | undefined;
  inodes: InodeState | undefined;
}

export async function collectSlabSources(host: Host, top = 30): Promise<SlabSources> {
  let slabinfo: Slabinfo | undefined;
  let slabinfoError: string | undefined;
  try {
    slabinfo = await readSlabinfo(host);
  } catch (err) {
    slabinfoError = (err as Error).message;
  }
  const reclaimAccount = new Map<string, string | undefined>();
  if (slabinfo) {
    // Only the caches the report lists: /sys/kernel/slab/<cache>/reclaim_account is 1 for SLAB_RECLAIM_ACCOUNT caches.
    const largest = [...slabinfo.caches].sort((a, b) => b.bytes - a.bytes).slice(0, top);
    const flags = await mapLimit(largest, 8, async (c) => host.tryReadText(`/sys/kernel/slab/${c.name}/reclaim_account`));
    largest.forEach((c, i) => reclaimAccount.set(c.name, flags[i]));
  }
  const dentry = await readDentryState(host).catch(() => undefined);
  const inodes = await readInodeState(host).catch(() => undefined);
  return { slabinfo, ...(slabinfoError !== undefined ? { slabinfoError } : {}), reclaimAccount, dentry, inodes };
}

/** Pure: the slab section. */
export function analyzeSlab(src: SlabSources, meminfo: { reclaimable: number; unreclaimable: number }, coverage: Coverage[], top = 30): SlabSection {
  if (src.slabinfoError !== undefined) coverage.push({ section: 'slab', status: 'partial', reason: src.slabinfoError });
  const rows: SlabCacheRow[] = [];
  if (src.slabinfo) {
    for (const c of [...src.slabinfo.caches].sort((a, b) => b.bytes - a.bytes).slice(0, top)) {
      const flag = src.reclaimAccount.get(c.name);
      const reclaimable = flag !== undefined ? flag.trim() === '1' : KNOWN_RECLAIMABLE.test(c.name) ? true : null;
      rows.push({ name: c.name, bytes: c.bytes, activeObjs: c.active_objs, objs: c.num_objs, objSizeBytes: c.objsize, reclaimable });
    }
    rows.sort((a, b) => b.bytes - a.bytes);
  }
  let dentry: SlabSection['dentry'] = { total: 0, unused: 0, negative: null };
  if (src.dentry) dentry = { total: src.dentry.nr_dentry, unused: src.dentry.nr_unused, negative: src.dentry.nr_negative ?? null };
  else coverage.push({ section: 'slab.dentry', status: 'unavailable', reason: '/proc/sys/fs/dentry-state is not readable' });
  const inodes: SlabSection['inodes'] = src.inodes ? { total: src.inodes.nr_inodes, free: src.inodes.nr_free_inodes } : null;
  return { reclaimableBytes: meminfo.reclaimable, unreclaimableBytes: meminfo.unreclaimable, top: rows, dentry, inodes };
}
