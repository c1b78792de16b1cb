/**
 * /proc/sys/fs/inode-state — the inode cache counters (fs/inode.c, struct inodes_stat_t and
 * proc_nr_inodes(); Documentation/admin-guide/sysctl/fs.rst "inode-nr and inode-state").
 *
 * Seven longs: nr_inodes nr_free_inodes preshrink dummy dummy dummy dummy
 * - nr_inodes: inodes the system has allocated.
 * - nr_free_inodes: unused inodes (on the LRU, reclaimable).
 * - preshrink: nonzero when nr_inodes > inode-max and the system needs to prune the inode list; inode-max
 *   is gone since 2.6, so this is always 0 on supported kernels.
 * Counts are objects, not bytes: multiply by the inode slab caches' objsize for bytes.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const INODE_STATE_PATH = '/proc/sys/fs/inode-state';

export interface InodeState {
  nr_inodes: number;
  nr_free_inodes: number;
  preshrink: number;
}

export function parseInodeState(text: string, file = INODE_STATE_PATH): InodeState {
  const lines = text.split('\n');
  if (lines.slice(1).some((l) => l.trim() !== '')) throw new ParseError(file, 2, 'expected a single line');
  const f = (lines[0] ?? '').trim().split(/\s+/);
  if (f.length < 3 || f.length > 7) throw new ParseError(file, 1, `expected 3 to 7 fields, got ${f.length}`);
  const v = f.map((s, k) => {
    const n = parseIntField(s, file, 1, `field ${k + 1}`);
    if (n < 0) throw new ParseError(file, 1, `field ${k + 1} is negative`);
    return n;
  });
  return { nr_inodes: v[0]!, nr_free_inodes: v[1]!, preshrink: v[2]! };
}

export async function readInodeState(host: Host): Promise<InodeState> {
  return parseInodeState(await host.readText(INODE_STATE_PATH));
}
