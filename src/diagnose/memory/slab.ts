/** Slab caches, dentries and inodes. */
import type { Host } from '../../host/host.js';
import { readDentryState } from '../../kernel/procfs/dentry-state.js';
import { readInodeState } from '../../kernel/procfs/inode-state.js';
import { type Slabinfo, readSlabinfo } from '../../kernel/procfs/slabinfo.js';
import { mapLimit } from '../../util/concurrency.js';
import type { Coverage, SlabCacheRow, SlabSection } from './types.js';

/** Caches whose objects the kernel frees under memory pressure, when sysfs cannot tell us. */
const KNOWN_RECLAIMABLE = /^(dentry|.*inode_cache|.*_inode|radix_tree_node|buffer_head|xfs_ili|ext4_groupinfo.*|nfs_.*inode.*|fuse_inode|proc_inode_cache|shmem_inode_cache|sock_inode_cache)$/;

export async function collectSlab(host: Host, meminfo: { reclaimable: number; unreclaimable: number }, coverage: Coverage[], top = 30): Promise<SlabSection> {
  let info: Slabinfo | undefined;
  try {
    info = await readSlabinfo(host);
  } catch (err) {
    coverage.push({ section: 'slab', status: 'partial', reason: (err as Error).message });
  }
  const rows: SlabCacheRow[] = [];
  if (info) {
    const sorted = [...info.caches].sort((a, b) => b.bytes - a.bytes).slice(0, top);
    await mapLimit(sorted, 8, async (c) => {
      // /sys/kernel/slab/<cache>/reclaim_account is 1 for SLAB_RECLAIM_ACCOUNT caches.
      const flag = await host.tryReadText(`/sys/kernel/slab/${c.name}/reclaim_account`);
      const reclaimable = flag !== undefined ? flag.trim() === '1' : KNOWN_RECLAIMABLE.test(c.name) ? true : null;
      rows.push({ name: c.name, bytes: c.bytes, activeObjs: c.active_objs, objs: c.num_objs, objSizeBytes: c.objsize, reclaimable });
    });
    rows.sort((a, b) => b.bytes - a.bytes);
  }
  let dentry: SlabSection['dentry'] = { total: 0, unused: 0, negative: null };
  try {
    const d = await readDentryState(host);
    dentry = { total: d.nr_dentry, unused: d.nr_unused, negative: d.nr_negative ?? null };
  } catch {
    coverage.push({ section: 'slab.dentry', status: 'unavailable', reason: '/proc/sys/fs/dentry-state is not readable' });
  }
  let inodes: SlabSection['inodes'] = null;
  try {
    const i = await readInodeState(host);
    inodes = { total: i.nr_inodes, free: i.nr_free_inodes };
  } catch {
    /* optional */
  }
  return { reclaimableBytes: meminfo.reclaimable, unreclaimableBytes: meminfo.unreclaimable, top: rows, dentry, inodes };
}
