/**
 * /proc/vmallocinfo — every area of the kernel's vmalloc address space (mm/vmalloc.c, vmalloc_info_show()
 * / s_show(); Documentation/filesystems/proc.rst "vmallocinfo"). Root-only (mode 0400).
 *
 * One line per area:
 *   0x<start>-0x<end> <size> [<caller>] [pages=<n>] [phys=<addr>] [flags...] [N<node>=<pages>...]
 * - start/end: virtual addresses, printed with %pK: hashed or zeroed depending on kptr_restrict, so they
 *   identify an area but are not usable as addresses (end may even sort below start). Kept as text.
 * - size: bytes of virtual space, INCLUDING the trailing guard page (unless VM_NO_GUARD): a 4-page
 *   vmalloc shows 20480. Virtual, not memory: use `pages` for memory.
 * - caller: the allocating function as %pS, "func+0xoff/0xlen" with " [module]" for module code, or a
 *   bare address when it has no symbol.
 * - pages=N: physical pages backing the area (vmalloc'd or vmap'ed).
 * - phys=ADDR: physical address of an ioremap (device memory, not RAM).
 * - flags: ioremap (VM_IOREMAP), sparse (VM_SPARSE), vmalloc (VM_ALLOC), vmap (VM_MAP), user (VM_USERMAP),
 *   dma-coherent (VM_DMA_COHERENT), vpages (the page array itself was vmalloc'ed).
 * - N<node>=<pages>: per NUMA node page counts (NUMA kernels only).
 * - Areas without a vm_struct: "vm_map_ram" (vm_map_ram() mappings) and "unpurged vm_area" (freed
 *   lazily, address space not yet purged; 5.x+), which hold no memory.
 *
 * Memory: only areas flagged `vmalloc` own their pages (pages × page size bytes, matching meminfo's
 * VmallocUsed on 5.x+); vmap areas map pages owned by someone else, and ioremap maps device memory.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';
import { pageSize } from './vmstat.js';

export const VMALLOCINFO_PATH = '/proc/vmallocinfo';

export interface VmallocCaller {
  /** As printed, e.g. "kernel_clone+0xb8/0x400" or "0xffffffffc0a01234". */
  symbol: string;
  /** Function name without offset ("kernel_clone"), or the bare address. */
  func: string;
  /** Offset into the function, when printed. */
  offset?: number;
  /** Module name for module code ("xfs"), absent for built-in code. */
  module?: string;
}

export interface VmallocArea {
  /** 1-based line in the file. */
  line: number;
  start: string;
  end: string;
  /** Virtual size in bytes, including the guard page. */
  size: number;
  caller?: VmallocCaller;
  /** Backing pages (pages=N), absent when none are printed. */
  pages?: number;
  /** Physical address of an ioremap, as printed (hex). */
  phys?: string;
  /** Flags as printed: ioremap, vmalloc, vmap, user, vpages, dma-coherent, sparse, vm_map_ram, unpurged. */
  flags: string[];
  /** Pages per NUMA node (N0=4 → 0 → 4). */
  numa: Map<number, number>;
}

export interface Vmallocinfo {
  areas: VmallocArea[];
}

const KNOWN_FLAGS = new Set(['ioremap', 'sparse', 'vmalloc', 'vmap', 'user', 'dma-coherent', 'vpages']);

function parseCaller(sym: string, mod: string | undefined): VmallocCaller {
  const m = /^(.+)\+0x([0-9a-f]+)\/0x[0-9a-f]+$/.exec(sym);
  const caller: VmallocCaller = m ? { symbol: sym, func: m[1]!, offset: parseInt(m[2]!, 16) } : { symbol: sym, func: sym };
  if (mod !== undefined) caller.module = mod;
  return caller;
}

export function parseVmallocinfo(text: string, file = VMALLOCINFO_PATH): Vmallocinfo {
  const areas: VmallocArea[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const m = /^0x([0-9a-f]+)-0x([0-9a-f]+)\s+(\d+)((?: \S+)*)$/.exec(line);
    if (!m) throw new ParseError(file, ln, `expected "0xSTART-0xEND SIZE ...", got ${JSON.stringify(line)}`);
    const area: VmallocArea = {
      line: ln,
      start: m[1]!,
      end: m[2]!,
      size: parseIntField(m[3], file, ln, 'size'),
      flags: [],
      numa: new Map(),
    };
    const toks = m[4]!.trim() === '' ? [] : m[4]!.trim().split(' ');
    if (toks.join(' ') === 'unpurged vm_area') {
      area.flags.push('unpurged');
      areas.push(area);
      continue;
    }
    let t = 0;
    // The caller is the first token unless it is a key=value or a flag (areas with no caller).
    const first = toks[0];
    if (first !== undefined && !first.includes('=') && !KNOWN_FLAGS.has(first) && first !== 'vm_map_ram') {
      let mod: string | undefined;
      const next = toks[1];
      if (next !== undefined && /^\[\S+\]$/.test(next)) {
        mod = next.slice(1, -1);
        t = 2;
      } else {
        t = 1;
      }
      area.caller = parseCaller(first, mod);
    }
    for (; t < toks.length; t++) {
      const tok = toks[t]!;
      let kv: RegExpExecArray | null;
      if ((kv = /^pages=(\S+)$/.exec(tok))) area.pages = parseIntField(kv[1], file, ln, 'pages');
      else if ((kv = /^phys=(?:0x)?([0-9a-f]+)$/.exec(tok))) area.phys = kv[1]!;
      else if ((kv = /^N(\d+)=(\S+)$/.exec(tok))) area.numa.set(Number(kv[1]), parseIntField(kv[2], file, ln, tok));
      else if (KNOWN_FLAGS.has(tok) || tok === 'vm_map_ram') area.flags.push(tok);
      else throw new ParseError(file, ln, `unknown token ${JSON.stringify(tok)}`);
    }
    areas.push(area);
  }
  return { areas };
}

export async function readVmallocinfo(host: Host): Promise<Vmallocinfo> {
  return parseVmallocinfo(await host.readText(VMALLOCINFO_PATH));
}

/** Bytes of RAM an area owns: pages × page size for `vmalloc` areas, else 0 (ioremap, vmap, lazy). */
export function vmallocAreaBytes(area: VmallocArea, pageSizeBytes: number): number {
  return area.flags.includes('vmalloc') ? (area.pages ?? 0) * pageSizeBytes : 0;
}

/** Total RAM owned by vmalloc areas, in bytes (compare with meminfo VmallocUsed on 5.x+). */
export function vmallocTotalBytes(info: Vmallocinfo, pageSizeBytes: number): number {
  let sum = 0;
  for (const a of info.areas) sum += vmallocAreaBytes(a, pageSizeBytes);
  return sum;
}

export interface VmallocCallerUsage {
  /** Function name, with " [module]" for module code. */
  caller: string;
  func: string;
  module?: string;
  /** Number of vmalloc areas. */
  areas: number;
  pages: number;
  bytes: number;
}

/**
 * RAM owned by vmalloc areas, grouped by calling function (offsets merged), largest first. Counts only
 * `vmalloc` areas (pages=N × page size); ioremap, vmap, vm_map_ram and unpurged areas are excluded.
 * Areas with no caller are grouped under "(unknown)".
 */
export function vmallocByCaller(info: Vmallocinfo, pageSizeBytes: number): VmallocCallerUsage[] {
  const by = new Map<string, VmallocCallerUsage>();
  for (const a of info.areas) {
    if (!a.flags.includes('vmalloc')) continue;
    const func = a.caller?.func ?? '(unknown)';
    const module = a.caller?.module;
    const key = module !== undefined ? `${func} [${module}]` : func;
    let u = by.get(key);
    if (!u) {
      u = { caller: key, func, areas: 0, pages: 0, bytes: 0 };
      if (module !== undefined) u.module = module;
      by.set(key, u);
    }
    u.areas++;
    u.pages += a.pages ?? 0;
    u.bytes += (a.pages ?? 0) * pageSizeBytes;
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes || (a.caller < b.caller ? -1 : 1));
}

/** Convenience: read the file and the page size, return the per-caller usage. */
export async function readVmallocByCaller(host: Host): Promise<VmallocCallerUsage[]> {
  const [info, ps] = await Promise.all([readVmallocinfo(host), pageSize(host)]);
  return vmallocByCaller(info, ps);
}
