/**
 * /proc/buddyinfo — free blocks of the buddy allocator per node, zone and order (mm/vmstat.c,
 * frag_show_print(); Documentation/filesystems/proc.rst "buddyinfo").
 *
 *   Node 0, zone   Normal   2985   2840   1713 ...
 *
 * Column k is the number of free blocks of order k, i.e. of 2^k contiguous pages. The number of columns
 * is NR_PAGE_ORDERS (11 on x86-64 with 4 KiB pages; other architectures/page sizes differ), so it is
 * taken from the file. Only populated zones are listed. Free bytes = Σ count_k × 2^k × page size.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';
import { pageSize } from './vmstat.js';

export const BUDDYINFO_PATH = '/proc/buddyinfo';

export interface BuddyZone {
  node: number;
  zone: string;
  /** freeBlocks[k] = free blocks of 2^k pages. */
  freeBlocks: number[];
  /** Σ freeBlocks[k] × 2^k: free pages in this zone. */
  freePages: number;
}

export interface Buddyinfo {
  zones: BuddyZone[];
}

export function parseBuddyinfo(text: string, file = BUDDYINFO_PATH): Buddyinfo {
  const zones: BuddyZone[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^Node (\d+), zone\s+(\S+)((?:\s+\S+)+)\s*$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "Node N, zone NAME counts...", got ${JSON.stringify(line)}`);
    const freeBlocks = m[3]!.trim().split(/\s+/).map((s, k) => {
      const v = parseIntField(s, file, i + 1, `order ${k}`);
      if (v < 0) throw new ParseError(file, i + 1, `order ${k} count is negative`);
      return v;
    });
    zones.push({
      node: Number(m[1]),
      zone: m[2]!,
      freeBlocks,
      freePages: freeBlocks.reduce((s, c, k) => s + c * 2 ** k, 0),
    });
  }
  if (zones.length === 0) throw new ParseError(file, 1, 'no zones');
  return { zones };
}

export async function readBuddyinfo(host: Host): Promise<Buddyinfo> {
  return parseBuddyinfo(await host.readText(BUDDYINFO_PATH));
}

/** Free bytes in blocks of at least `minOrder` (e.g. 9 for 2 MiB on x86-64: what a THP can use). */
export function freeBytesAtOrder(zone: BuddyZone, minOrder: number, pageSizeBytes: number): number {
  let pages = 0;
  zone.freeBlocks.forEach((c, k) => {
    if (k >= minOrder) pages += c * 2 ** k;
  });
  return pages * pageSizeBytes;
}

/** Convenience: total free bytes per zone with the host's page size. */
export async function readBuddyFreeBytes(host: Host): Promise<{ node: number; zone: string; freeBytes: number }[]> {
  const [info, ps] = await Promise.all([readBuddyinfo(host), pageSize(host)]);
  return info.zones.map((z) => ({ node: z.node, zone: z.zone, freeBytes: z.freePages * ps }));
}
