/**
 * User-space symbolisation: a process's address → function, through /proc/PID/maps (which file, at what
 * file offset), the file's ELF symbols (.symtab, else a separate debug file found by build id or
 * .gnu_debuglink under /usr/lib/debug, else .dynsym), and JIT maps (/tmp/perf-PID.map, written by
 * `node --perf-basic-prof`, Java agents, LuaJIT, ...). Files are read through /proc/PID/root, so a
 * container's binaries are found in its own mount namespace. Frames that cannot be named say why.
 */
import type { Host } from '../../host/host.js';
import { type MapEntry, readMaps } from '../procfs/pid/maps.js';
import { type ElfInfo, type ElfSymbol, debugFileCandidates, fileOffsetToVaddr, lookupSymbol, mergeSymbols, parseElf, readFileBytes } from './elf.js';

/** Why a frame has no name (the text after `[unknown: `). */
export const UNKNOWN = {
  stripped: 'stripped',
  noFramePointers: 'no frame pointers',
  exited: 'process exited',
  anon: 'anonymous memory',
  unmapped: 'unmapped',
  unreadable: 'binary unreadable',
  kernelHidden: 'kernel symbols hidden',
} as const;

export function unknownFrame(why: string): string {
  return `[unknown: ${why}]`;
}

export interface UserFrame {
  name: string;
  /** The file's base name, `[jit]`, `[vdso]`, or '' when not known. */
  module: string;
  /** True when `name` is a real symbol (not an `[unknown: …]`). */
  known: boolean;
}

/** One line of a perf map: `START SIZE name` (hex, hex, the rest of the line). */
export interface PerfMapEntry {
  start: number;
  size: number;
  name: string;
}

/** Parses /tmp/perf-PID.map (lines that do not fit are skipped: JITs append while we read). */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const out: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1]!, 16);
    const size = parseInt(m[2]!, 16);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size)) continue;
    out.push({ start, size, name: m[3]!.trim() });
  }
  // Later entries win for the same start (code can be re-jitted at the same address).
  out.sort((a, b) => a.start - b.start);
  return out;
}

export function lookupPerfMap(entries: readonly PerfMapEntry[], addr: number): string | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.start <= addr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  for (let i = found; i >= 0 && i > found - 8; i--) {
    const e = entries[i]!;
    if (addr >= e.start && addr < e.start + Math.max(e.size, 1)) return e.name;
  }
  return undefined;
}

/** What is known of one file: its symbols and how they were found. */
export interface LoadedObject {
  elf: Pick<ElfInfo, 'segments' | 'buildId'>;
  symbols: ElfSymbol[];
  /** symtab, debug file (path), dynsym only, or none. */
  source: 'symtab' | 'debug' | 'dynsym' | 'none';
  debugFile?: string;
}

export interface ProcessView {
  pid: number;
  maps: MapEntry[];
  perfMap?: PerfMapEntry[];
}

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/**
 * A symbolizer for many processes; caches files by device and inode, so a library shared by a hundred
 * processes is read once.
 */
export class UserSymbolizer {
  private readonly objects = new Map<string, Promise<LoadedObject | { error: string }>>();
  private readonly views = new Map<number, ProcessView | undefined>();
  /** Debug files used, and binaries that had only .dynsym or nothing (for `coverage`). */
  readonly debugFilesUsed = new Set<string>();
  readonly strippedFiles = new Set<string>();

  constructor(
    private readonly host: Host,
    private readonly debugRoot = '/usr/lib/debug',
  ) {}

  /** Captures a process's maps and perf map now (call early for a process that may exit). */
  async snapshot(pid: number): Promise<ProcessView | undefined> {
    if (this.views.has(pid)) return this.views.get(pid);
    let view: ProcessView | undefined;
    try {
      const maps = await readMaps(this.host, pid);
      view = { pid, maps };
      const perfMap = await this.readPerfMap(pid);
      if (perfMap) view.perfMap = perfMap;
    } catch {
      view = undefined;
    }
    this.views.set(pid, view);
    return view;
  }

  private async readPerfMap(pid: number): Promise<PerfMapEntry[] | undefined> {
    const nspids: number[] = [pid];
    const status = await this.host.tryReadText(`/proc/${pid}/status`);
    const m = status ? /^NSpid:\s+(.+)$/m.exec(status) : null;
    if (m) {
      const last = Number(m[1]!.trim().split(/\s+/).pop());
      if (Number.isInteger(last) && last !== pid) nspids.push(last);
    }
    for (const p of [`/proc/${pid}/root/tmp/perf-${nspids[nspids.length - 1]}.map`, `/tmp/perf-${pid}.map`]) {
      const text = await this.host.tryReadText(p).catch(() => undefined);
      if (text !== undefined) return parsePerfMap(text);
    }
    return undefined;
  }

  private load(pid: number, m: MapEntry): Promise<LoadedObject | { error: string }> {
    const key = `${m.major}:${m.minor}:${m.inode}:${m.pathname}`;
    let p = this.objects.get(key);
    if (!p) {
      p = this.loadFile(pid, m);
      this.objects.set(key, p);
    }
    return p;
  }

  private async loadFile(pid: number, m: MapEntry): Promise<LoadedObject | { error: string }> {
    const tries = m.deleted
      ? [`/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`]
      : [`/proc/${pid}/root${m.pathname}`, m.pathname, `/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`];
    let buf: Buffer | undefined;
    let lastErr = '';
    for (const t of tries) {
      try {
        buf = await readFileBytes(this.host, t);
        break;
      } catch (err) {
        lastErr = err instanceof Error ? err.message : String(err);
      }
    }
    if (!buf) return { error: lastErr };
    let elf: ElfInfo;
    try {
      elf = parseElf(buf, m.pathname);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
    if (elf.hasSymtab) return { elf, symbols: elf.symbols, source: 'symtab' };
    for (const cand of debugFileCandidates(m.pathname, elf, this.debugRoot)) {
      try {
        const dbg = parseElf(await readFileBytes(this.host, cand), cand);
        if (dbg.symbols.length === 0) continue;
        if (elf.buildId && dbg.buildId && dbg.buildId !== elf.buildId) continue;
        this.debugFilesUsed.add(cand);
        return { elf, symbols: mergeSymbols(dbg.symbols, elf.symbols), source: 'debug', debugFile: cand };
      } catch {
        /* not there */
      }
    }
    this.strippedFiles.add(m.pathname);
    return { elf, symbols: elf.symbols, source: elf.symbols.length > 0 ? 'dynsym' : 'none' };
  }

  /** Names user-space addresses of `pid` (innermost first, as the stack map keeps them). */
  async symbolize(pid: number, addrs: readonly bigint[]): Promise<UserFrame[]> {
    const view = await this.snapshot(pid);
    if (!view) return addrs.map(() => ({ name: unknownFrame(UNKNOWN.exited), module: '', known: false }));
    const out: UserFrame[] = [];
    for (let i = 0; i < addrs.length; i++) {
      // Return addresses point after the call: look up addr - 1 for every frame but the first.
      const a = addrs[i]! - (i > 0 ? 1n : 0n);
      out.push(await this.frame(pid, view, a));
    }
    return out;
  }

  private async frame(pid: number, view: ProcessView, a: bigint): Promise<UserFrame> {
    const m = findMap(view.maps, a);
    const addr = Number(a);
    if (!m || m.kind !== 'file' || !m.pathname.startsWith('/')) {
      const jit = view.perfMap ? lookupPerfMap(view.perfMap, addr) : undefined;
      if (jit !== undefined) return { name: jit, module: '[jit]', known: true };
      if (!m) return { name: unknownFrame(UNKNOWN.unmapped), module: '', known: false };
      if (m.pathname === '[vdso]') return { name: '[vdso]', module: '[vdso]', known: true };
      return { name: unknownFrame(UNKNOWN.anon), module: m.pathname || '[anon]', known: false };
    }
    const obj = await this.load(pid, m);
    const module = base(m.pathname);
    if ('error' in obj) return { name: unknownFrame(UNKNOWN.unreadable), module, known: false };
    const fileOffset = Number(a - m.start + m.offset);
    const vaddr = fileOffsetToVaddr(obj.elf, fileOffset) ?? fileOffset;
    const s = lookupSymbol(obj.symbols, vaddr);
    if (s) return { name: s.name, module, known: true };
    const jit = view.perfMap ? lookupPerfMap(view.perfMap, addr) : undefined;
    if (jit !== undefined) return { name: jit, module: '[jit]', known: true };
    return { name: unknownFrame(UNKNOWN.stripped), module, known: false };
  }
}

export function findMap(maps: readonly MapEntry[], a: bigint): MapEntry | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid]!;
    if (a < m.start) hi = mid - 1;
    else if (a >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** Functions at which a complete user stack starts (its outermost frame). */
const ROOT_FUNCTIONS = new Set(['_start', '__libc_start_main', '__libc_start_call_main', 'start_thread', 'clone', 'clone3', '__clone', '__clone3', '_dl_start_user', 'thread_start', '__thread_start']);

/**
 * Whether a symbolised user stack (innermost first) reaches the process's entry: when its outermost
 * frame is not a thread or process entry, the unwinder lost the chain (code without frame pointers).
 */
export function userStackComplete(frames: readonly UserFrame[]): boolean {
  const last = frames[frames.length - 1];
  return last !== undefined && ROOT_FUNCTIONS.has(last.name);
}
