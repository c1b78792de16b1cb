/**
 * /proc/slabinfo — per slab cache statistics (mm/slab_common.c: slab_show()/cache_show(); format
 * version 2.1, described in `man 5 slabinfo` and Documentation/mm/slub.rst).
 *
 *   slabinfo - version: 2.1
 *   # name  <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit>
 *     <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
 *
 * - active_objs / num_objs: objects in use / allocated object slots (SLUB counts objects on CPU slabs
 *   as active, so active_objs is an upper bound there).
 * - objsize: bytes per object including metadata and alignment (s->size), objperslab: objects per slab,
 *   pagesperslab: pages per slab (2^order).
 * - tunables: SLAB-allocator only (0 under SLUB, the only allocator since 6.8).
 * - active_slabs / num_slabs: slabs in use / allocated.
 * - The SLAB allocator built with CONFIG_DEBUG_SLAB prints "version: 2.1 (statistics)" and extra
 *   ": globalstat ..." and ": cpustat ..." groups; we keep those raw.
 *
 * Memory: `bytes` = num_slabs × pagesperslab × page size (what the cache really holds, in bytes),
 * `activeBytes` = active_objs × objsize (what its live objects use). The file is root-only (mode 0400):
 * `readSlabinfo` lets the host's EACCES HostError through. `readSlabinfoSysfs` reads the same numbers
 * from SLUB's /sys/kernel/slab/<cache>/ as a second source (e.g. kernels built without /proc/slabinfo).
 * It is NOT a way around root: on 6.18 (this machine) every attribute there is mode 0400 as well.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';
import { pageSize } from './vmstat.js';

export const SLABINFO_PATH = '/proc/slabinfo';
export const SYS_SLAB_DIR = '/sys/kernel/slab';

export interface SlabCache {
  name: string;
  active_objs: number;
  num_objs: number;
  /** Bytes per object slot (incl. metadata). */
  objsize: number;
  objperslab: number;
  pagesperslab: number;
  /** SLAB allocator tunables (all 0 under SLUB). */
  limit: number;
  batchcount: number;
  sharedfactor: number;
  active_slabs: number;
  num_slabs: number;
  sharedavail: number;
  /** num_slabs × pagesperslab × page size: memory the cache holds. */
  bytes: number;
  /** active_objs × objsize: memory its live objects use. */
  activeBytes: number;
}

export interface Slabinfo {
  /** e.g. "2.1" */
  version: string;
  /** Where the numbers came from. */
  source: 'proc' | 'sysfs';
  pageSizeBytes: number;
  caches: SlabCache[];
}

export function parseSlabinfo(text: string, pageSizeBytes = 4096, file = SLABINFO_PATH): Slabinfo {
  const lines = text.split('\n');
  const head = /^slabinfo - version: (\d+\.\d+)(?: \(statistics\))?\s*$/.exec(lines[0] ?? '');
  if (!head) throw new ParseError(file, 1, `expected "slabinfo - version: 2.1", got ${JSON.stringify(lines[0] ?? '')}`);
  const version = head[1]!;
  if (!version.startsWith('2.')) throw new ParseError(file, 1, `unsupported slabinfo version ${version}`);
  const caches: SlabCache[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const ln = i + 1;
    const groups = line.split(' : ');
    const main = groups[0]!.trim().split(/\s+/);
    const tun = groups[1]?.trim().split(/\s+/) ?? [];
    const data = groups[2]?.trim().split(/\s+/) ?? [];
    if (main.length !== 6 || tun[0] !== 'tunables' || tun.length !== 4 || data[0] !== 'slabdata' || data.length !== 4) {
      throw new ParseError(file, ln, `expected "name 5 numbers : tunables 3 numbers : slabdata 3 numbers", got ${JSON.stringify(line)}`);
    }
    const n = (s: string | undefined, what: string): number => {
      const v = parseIntField(s, file, ln, what);
      if (v < 0) throw new ParseError(file, ln, `${what} is negative`);
      return v;
    };
    const c = {
      name: main[0]!,
      active_objs: n(main[1], 'active_objs'),
      num_objs: n(main[2], 'num_objs'),
      objsize: n(main[3], 'objsize'),
      objperslab: n(main[4], 'objperslab'),
      pagesperslab: n(main[5], 'pagesperslab'),
      limit: n(tun[1], 'limit'),
      batchcount: n(tun[2], 'batchcount'),
      sharedfactor: n(tun[3], 'sharedfactor'),
      active_slabs: n(data[1], 'active_slabs'),
      num_slabs: n(data[2], 'num_slabs'),
      sharedavail: n(data[3], 'sharedavail'),
    };
    caches.push({ ...c, bytes: c.num_slabs * c.pagesperslab * pageSizeBytes, activeBytes: c.active_objs * c.objsize });
  }
  return { version, source: 'proc', pageSizeBytes, caches };
}

/** Reads /proc/slabinfo (root only: a non-root caller gets the host's HostError with code EACCES). */
export async function readSlabinfo(host: Host): Promise<Slabinfo> {
  const text = await host.readText(SLABINFO_PATH);
  return parseSlabinfo(text, await pageSize(host));
}

/** The leading count of a SLUB sysfs counter file ("22967 N0=22967" → 22967). */
function sysfsCount(text: string, file: string): number {
  return parseIntField(text.trim().split(/\s+/)[0], file, 1, 'count');
}

/**
 * The SLUB sysfs view (mm/slub.c, Documentation/ABI/testing/sysfs-kernel-slab): one directory per
 * cache; merged caches appear as symlinks (aliases) to a directory named like ":0000192", which we skip
 * so each cache is counted once (so names may differ from /proc/slabinfo's for merged caches). Root-only
 * on recent kernels (HostError EACCES otherwise); HostError ENOENT on SLAB kernels (no /sys/kernel/slab);
 * ParseError on bad files. About 6 small reads per cache (a few thousand files on a typical host).
 */
export async function readSlabinfoSysfs(host: Host): Promise<Slabinfo> {
  const ps = await pageSize(host);
  const names = (await host.readDir(SYS_SLAB_DIR)).sort();
  const caches: SlabCache[] = [];
  await Promise.all(
    names.map(async (name) => {
      const dir = `${SYS_SLAB_DIR}/${name}`;
      const st = await host.stat(dir);
      if (st.isSymbolicLink || !st.isDirectory) return;
      const read = async (f: string): Promise<number> => {
        const path = `${dir}/${f}`;
        return sysfsCount(await host.readText(path), path);
      };
      const [objects, total, size, perSlab, order, slabs] = await Promise.all(
        ['objects', 'total_objects', 'slab_size', 'objs_per_slab', 'order', 'slabs'].map(read),
      );
      const pagesperslab = 2 ** order!;
      caches.push({
        name,
        active_objs: objects!,
        num_objs: total!,
        objsize: size!,
        objperslab: perSlab!,
        pagesperslab,
        limit: 0,
        batchcount: 0,
        sharedfactor: 0,
        active_slabs: slabs!,
        num_slabs: slabs!,
        sharedavail: 0,
        bytes: slabs! * pagesperslab * ps,
        activeBytes: objects! * size!,
      });
    }),
  );
  caches.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { version: '2.1', source: 'sysfs', pageSizeBytes: ps, caches };
}

/** Caches by memory held, largest first. */
export function topSlabCaches(info: Slabinfo, n = 10): SlabCache[] {
  return [...info.caches].sort((a, b) => b.bytes - a.bytes).slice(0, n);
}
