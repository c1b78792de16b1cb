/**
 * /proc/allocinfo — memory allocation profiling (kernel 6.10+, CONFIG_MEM_ALLOC_PROFILING;
 * lib/alloc_tag.c / mm/alloc_tag.c allocinfo_show(), Documentation/mm/allocation-profiling.rst,
 * Documentation/filesystems/proc.rst "allocinfo").
 *
 *   allocinfo - version: 1.0          (2.0 since 6.18)
 *   # <size> <calls> <tag info>
 *          8192        2 mm/slub.c:2400 func:alloc_slab_obj_exts
 *        524288      128 fs/xfs/xfs_buf.c:380 [xfs] func:xfs_buf_alloc_pages
 *
 * Every allocation call site in the kernel and in modules is a line: bytes currently allocated from it
 * (printed signed, %lli), number of live allocations (calls), `file:line`, ` [module]` when it is in a
 * loadable module, and `func:<function>`. Format version 2.0 (commit 39d117e04d15, "alloc_tag: mark
 * inaccurate allocation counters in /proc/allocinfo output", 6.18) allows extra `key:value` pairs after
 * the function; today "accurate:no" marks call sites whose counters missed allocations (slab object
 * extension allocation failed). They are kept in `attrs`. We accept versions 1.x and 2.x and reject
 * others, since the version exists to announce incompatible changes. Sizes are BYTES.
 *
 * Profiling can be compiled in but disabled (sysctl vm.mem_profiling=0): then every count is 0. Without
 * CONFIG_MEM_ALLOC_PROFILING the file does not exist (readAllocinfo throws HostError ENOENT).
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const ALLOCINFO_PATH = '/proc/allocinfo';

export interface AllocSite {
  /** Bytes currently allocated from this call site. */
  bytes: number;
  /** Live allocations from this call site. */
  calls: number;
  /** Source file, relative to the kernel tree. */
  file: string;
  lineNo: number;
  /** Module name, absent for built-in code. */
  module?: string;
  function: string;
  /** Extra key:value attributes after func: (version 2.0+; e.g. accurate → "no"). */
  attrs: Map<string, string>;
  /** "file:line" */
  site: string;
}

export interface Allocinfo {
  /** "1.0" or "2.0". */
  version: string;
  sites: AllocSite[];
}

export function parseAllocinfo(text: string, file = ALLOCINFO_PATH): Allocinfo {
  const lines = text.split('\n');
  const head = /^allocinfo - version: (\d+)\.(\d+)\s*$/.exec(lines[0] ?? '');
  if (!head) throw new ParseError(file, 1, `expected "allocinfo - version: 1.0", got ${JSON.stringify(lines[0] ?? '')}`);
  if (head[1] !== '1' && head[1] !== '2') throw new ParseError(file, 1, `unsupported allocinfo version ${head[1]}.${head[2]}`);
  const sites: AllocSite[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const ln = i + 1;
    const m = /^\s*(-?\d+)\s+(\d+)\s+(\S+):(\d+)(?:\s+\[([^\]\s]+)\])?\s+func:(\S+)((?:\s+[a-z_]+:\S*)*)\s*$/.exec(line);
    if (!m) throw new ParseError(file, ln, `expected "BYTES CALLS FILE:LINE [MODULE] func:FUNCTION", got ${JSON.stringify(line)}`);
    const attrs = new Map<string, string>();
    for (const a of m[7]!.trim().split(/\s+/)) {
      if (a === '') continue;
      const at = a.indexOf(':');
      attrs.set(a.slice(0, at), a.slice(at + 1));
    }
    const site: AllocSite = {
      bytes: parseIntField(m[1], file, ln, 'bytes'),
      calls: parseIntField(m[2], file, ln, 'calls'),
      file: m[3]!,
      lineNo: parseIntField(m[4], file, ln, 'line'),
      function: m[6]!,
      attrs,
      site: `${m[3]}:${m[4]}`,
    };
    if (m[5] !== undefined) site.module = m[5];
    sites.push(site);
  }
  return { version: `${head[1]}.${head[2]}`, sites };
}

/** Reads /proc/allocinfo; HostError ENOENT on kernels without allocation profiling. */
export async function readAllocinfo(host: Host): Promise<Allocinfo> {
  return parseAllocinfo(await host.readText(ALLOCINFO_PATH));
}

/** The `n` call sites holding the most bytes, largest first (ties by calls, then site). */
export function topAllocSites(info: Allocinfo, n = 20): AllocSite[] {
  return [...info.sites]
    .sort((a, b) => b.bytes - a.bytes || b.calls - a.calls || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))
    .slice(0, n);
}

export interface AllocFunctionUsage {
  /** function, with " [module]" for module code. */
  key: string;
  function: string;
  module?: string;
  bytes: number;
  calls: number;
  sites: number;
}

/** Bytes and calls summed per function (several call sites of one function merged), largest first. */
export function allocByFunction(info: Allocinfo): AllocFunctionUsage[] {
  const by = new Map<string, AllocFunctionUsage>();
  for (const s of info.sites) {
    const key = s.module !== undefined ? `${s.function} [${s.module}]` : s.function;
    let u = by.get(key);
    if (!u) {
      u = { key, function: s.function, bytes: 0, calls: 0, sites: 0 };
      if (s.module !== undefined) u.module = s.module;
      by.set(key, u);
    }
    u.bytes += s.bytes;
    u.calls += s.calls;
    u.sites++;
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : 1));
}

/** Sum of bytes over all call sites (the kernel memory allocation profiling can see). */
export function allocTotalBytes(info: Allocinfo): number {
  return info.sites.reduce((s, x) => s + x.bytes, 0);
}
