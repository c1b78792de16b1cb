/**
 * /proc/zoneinfo — per node and zone memory state (mm/vmstat.c, zoneinfo_show_print();
 * Documentation/filesystems/proc.rst and Documentation/admin-guide/sysctl/vm.rst for watermarks).
 *
 *   Node 0, zone   Normal
 *     per-node stats                 (once per node, in its first zone; 4.8+)
 *         nr_inactive_anon 687       (node counters, pages; same names as in /proc/vmstat)
 *     pages free     97318           (free pages in the zone)
 *           boost    0               (watermark boost, 5.0+)
 *           min      2943            (min/low/high watermarks: kswapd wakes below low, sleeps above
 *           low      3678             high; allocations below min enter direct reclaim)
 *           high     4413
 *           promo    5148            (NUMA memory-tiering promotion watermark, 6.x)
 *           spanned  5505024         (pages the zone's pfn range spans, holes included)
 *           present  5505024         (physical pages present in it)
 *           managed  163840          (pages handed to the buddy allocator: present minus reserved)
 *           cma      0               (pages of it reserved for CMA, 5.x+)
 *           protection: (0, 0, 0, 0, 0)   (lowmem_reserve[] against each higher zone, pages)
 *         nr_free_pages 97318        (zone counters, pages, and numa_* events)
 *     pagesets
 *       cpu: 0
 *                 count: 1962  high: ...  batch: ...  high_min/high_max (6.7+)
 *     vm stats threshold: 16
 *     node_unreclaimable:  0
 *     start_pfn:           1048576
 *     node_inactive_ratio: 0          (4.x only)
 *
 * Unpopulated zones stop after `protection`. All page counts are in pages; the parser also gives the
 * main ones in bytes (`...Bytes`) using the page size passed in (default 4096; readZoneinfo uses the
 * host's).
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';
import { pageSize } from './vmstat.js';

export const ZONEINFO_PATH = '/proc/zoneinfo';

export interface ZonePageset {
  cpu: number;
  /** count, high, batch, high_min, high_max: pages. */
  fields: Map<string, number>;
  vmStatsThreshold?: number;
}

export interface Zone {
  node: number;
  zone: string;
  /** 1-based line of the "Node N, zone NAME" header. */
  line: number;
  /** The "pages" block, in pages: free, boost, min, low, high, promo, spanned, present, managed, cma. */
  pages: Map<string, number>;
  free: number;
  min: number;
  low: number;
  high: number;
  spanned: number;
  present: number;
  managed: number;
  /** undefined on kernels that do not print it. */
  cma?: number;
  freeBytes: number;
  minBytes: number;
  lowBytes: number;
  highBytes: number;
  spannedBytes: number;
  presentBytes: number;
  managedBytes: number;
  /** lowmem_reserve[] in pages. */
  protection: number[];
  /** Per-zone counters (nr_free_pages, nr_zone_*, nr_mlock, numa_hit, ...), raw. */
  stats: Map<string, number>;
  /** node_unreclaimable, start_pfn, node_inactive_ratio, ... */
  misc: Map<string, number>;
  pagesets: ZonePageset[];
  /** present > 0 (the kernel prints only the pages block for unpopulated zones). */
  populated: boolean;
}

export interface ZoneinfoNode {
  node: number;
  /** The "per-node stats" counters, raw (mostly pages; see /proc/vmstat). */
  stats: Map<string, number>;
}

export interface Zoneinfo {
  pageSizeBytes: number;
  zones: Zone[];
  nodes: ZoneinfoNode[];
}

type RequiredPage = 'free' | 'min' | 'low' | 'high' | 'spanned' | 'present' | 'managed';

interface Draft {
  node: number;
  zone: string;
  line: number;
  pages: Map<string, number>;
  protection: number[];
  stats: Map<string, number>;
  misc: Map<string, number>;
  pagesets: ZonePageset[];
}

export function parseZoneinfo(text: string, pageSizeBytes = 4096, file = ZONEINFO_PATH): Zoneinfo {
  const zones: Zone[] = [];
  const nodes = new Map<number, ZoneinfoNode>();
  const lines = text.split('\n');
  let cur: Draft | undefined;
  let section: 'head' | 'node' | 'zone' | 'pageset' = 'head';
  let nodeStats: Map<string, number> | undefined;

  const finish = (d: Draft): void => {
    const get = (k: RequiredPage): number => {
      const v = d.pages.get(k);
      if (v === undefined) throw new ParseError(file, d.line, `zone ${d.zone} of node ${d.node}: "${k}" is missing`);
      return v;
    };
    const z: Zone = {
      node: d.node,
      zone: d.zone,
      line: d.line,
      pages: d.pages,
      free: get('free'),
      min: get('min'),
      low: get('low'),
      high: get('high'),
      spanned: get('spanned'),
      present: get('present'),
      managed: get('managed'),
      freeBytes: 0,
      minBytes: 0,
      lowBytes: 0,
      highBytes: 0,
      spannedBytes: 0,
      presentBytes: 0,
      managedBytes: 0,
      protection: d.protection,
      stats: d.stats,
      misc: d.misc,
      pagesets: d.pagesets,
      populated: false,
    };
    const cma = d.pages.get('cma');
    if (cma !== undefined) z.cma = cma;
    z.freeBytes = z.free * pageSizeBytes;
    z.minBytes = z.min * pageSizeBytes;
    z.lowBytes = z.low * pageSizeBytes;
    z.highBytes = z.high * pageSizeBytes;
    z.spannedBytes = z.spanned * pageSizeBytes;
    z.presentBytes = z.present * pageSizeBytes;
    z.managedBytes = z.managed * pageSizeBytes;
    z.populated = z.present > 0;
    zones.push(z);
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const ln = i + 1;
    if (line.trim() === '') continue;
    const bad = (): never => {
      throw new ParseError(file, ln, `unexpected line ${JSON.stringify(line)}`);
    };
    let m: RegExpExecArray | null;
    if ((m = /^Node (\d+), zone\s+(\S+)\s*$/.exec(line))) {
      if (cur) finish(cur);
      cur = {
        node: Number(m[1]),
        zone: m[2]!,
        line: ln,
        pages: new Map(),
        protection: [],
        stats: new Map(),
        misc: new Map(),
        pagesets: [],
      };
      section = 'head';
      continue;
    }
    if (!cur) bad();
    const z = cur!;
    if (/^ {2}per-node stats\s*$/.test(line)) {
      let n = nodes.get(z.node);
      if (!n) {
        n = { node: z.node, stats: new Map() };
        nodes.set(z.node, n);
      }
      nodeStats = n.stats;
      section = 'node';
    } else if ((m = /^ {2}pages free\s+(\S+)$/.exec(line))) {
      z.pages.set('free', parseIntField(m[1], file, ln, 'pages free'));
      section = 'zone';
    } else if ((m = /^\s+protection: \(([^)]*)\)\s*$/.exec(line))) {
      if (section !== 'zone') bad();
      z.protection = m[1]!.split(',').map((s, k) => parseIntField(s.trim(), file, ln, `protection[${k}]`));
    } else if (/^ {2}pagesets\s*$/.test(line)) {
      section = 'pageset';
    } else if ((m = /^ {4}cpu: (\S+)$/.exec(line))) {
      if (section !== 'pageset') bad();
      z.pagesets.push({ cpu: parseIntField(m[1], file, ln, 'cpu'), fields: new Map() });
    } else if ((m = /^ {2}vm stats threshold:\s+(\S+)$/.exec(line))) {
      const v = parseIntField(m[1], file, ln, 'vm stats threshold');
      const ps = z.pagesets[z.pagesets.length - 1];
      if (ps) ps.vmStatsThreshold = v;
      else z.misc.set('vm_stats_threshold', v);
    } else if ((m = /^ {2}([a-z_]+):\s+(\S+)$/.exec(line))) {
      z.misc.set(m[1]!, parseIntField(m[2], file, ln, m[1]!));
      section = 'zone';
    } else if ((m = /^ {5,}([a-z_]+):\s+(\S+)$/.exec(line))) {
      const ps = z.pagesets[z.pagesets.length - 1];
      if (section !== 'pageset' || !ps) bad();
      ps!.fields.set(m[1]!, parseIntField(m[2], file, ln, m[1]!));
    } else if ((m = /^( +)([a-z0-9_]+)\s+(\S+)$/.exec(line))) {
      const name = m[2]!;
      const v = parseIntField(m[3], file, ln, name);
      if (section === 'node') nodeStats!.set(name, v);
      else if (section === 'zone') (m[1]!.length === 8 ? z.pages : z.stats).set(name, v);
      else bad();
    } else {
      bad();
    }
  }
  if (cur) finish(cur);
  if (zones.length === 0) throw new ParseError(file, 1, 'no zones');
  return { pageSizeBytes, zones, nodes: [...nodes.values()] };
}

export async function readZoneinfo(host: Host): Promise<Zoneinfo> {
  const [text, ps] = await Promise.all([host.readText(ZONEINFO_PATH), pageSize(host)]);
  return parseZoneinfo(text, ps);
}
