/**
 * /proc/kallsyms: the kernel's symbol table, for symbolising kernel stacks (BPF stack maps, perf).
 *
 * Format, one symbol a line (kernel/kallsyms.c, s_show):
 *   ffffffff81000000 T _stext
 *   ffffffffc0a01000 t xfs_iget	[xfs]          (module symbols: a tab and the module in brackets)
 *   ffffffffc0123000 t bpf_prog_6deef7357e7b4530_oscope_st_btf	[bpf]
 * The type letter is nm's: T/t text, W/w weak, D/d data, B/b bss, R/r read-only, A/a absolute;
 * uppercase = global. Without CONFIG_KALLSYMS_ALL only text (and a few other) symbols are listed.
 *
 * Addresses are 64-bit, so they are bigints. When kernel.kptr_restrict hides them (or the reader is not
 * root with kptr_restrict=1) every address reads 0: the table is then `restricted`, and stacks can only
 * be shown as raw addresses — `restrictedReason` says so. Absolute symbols (A/a: per-CPU offsets and
 * constants, not code) are not used for lookup.
 *
 * Symbol sizes are not in kallsyms: an address belongs to the closest symbol at or below it, within
 * MAX_SYMBOL_SPAN bytes (past that it is shown unresolved rather than as a far-away wrong name).
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const KALLSYMS_PATH = '/proc/kallsyms';

/** Farthest an address may be from its symbol's start and still be attributed to it. */
export const MAX_SYMBOL_SPAN = 1n << 20n;

export interface KernelSymbol {
  address: bigint;
  /** nm-style type letter. */
  type: string;
  name: string;
  /** Module name for module symbols ("bpf" for BPF programs, "__builtin__ftrace" etc.). */
  module?: string;
}

export interface SymbolizedFrame {
  address: bigint;
  symbol?: string;
  offset?: bigint;
  module?: string;
  /** "name+0x1a [module]", or the hex address when unresolved. */
  text: string;
}

/** Global text first, then weak, local text, then anything else: the name a stack frame should show. */
function typeRank(t: string): number {
  switch (t) {
    case 'T':
      return 0;
    case 'W':
      return 1;
    case 't':
      return 2;
    case 'w':
      return 3;
    default:
      return 4;
  }
}

/** Addresses as two 32-bit halves: no BigInt per symbol (100,000+ of them) while parsing and sorting. */
interface SymbolColumns {
  hi: number[];
  lo: number[];
  types: string[];
  names: string[];
  modules: Array<string | undefined>;
}

interface SymbolIndex {
  hi: Uint32Array;
  lo: Uint32Array;
  names: string[];
  types: string[];
  modules: Array<string | undefined>;
}

function splitAddress(a: bigint): [number, number] {
  return [Number((a >> 32n) & 0xffffffffn), Number(a & 0xffffffffn)];
}

function joinAddress(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Sorted unique usable addresses (no zero, no absolute symbols) and, per address, the best name. */
function buildIndex(c: SymbolColumns): SymbolIndex {
  const idx: number[] = [];
  for (let i = 0; i < c.hi.length; i++) {
    if ((c.hi[i] !== 0 || c.lo[i] !== 0) && c.types[i] !== 'A' && c.types[i] !== 'a') idx.push(i);
  }
  idx.sort((a, b) => c.hi[a]! - c.hi[b]! || c.lo[a]! - c.lo[b]! || typeRank(c.types[a]!) - typeRank(c.types[b]!) || a - b);
  const out: SymbolIndex = { hi: new Uint32Array(idx.length), lo: new Uint32Array(idx.length), names: [], types: [], modules: [] };
  let n = 0;
  for (const i of idx) {
    if (n > 0 && out.hi[n - 1] === c.hi[i] && out.lo[n - 1] === c.lo[i]) continue;
    out.hi[n] = c.hi[i]!;
    out.lo[n] = c.lo[i]!;
    out.names.push(c.names[i]!);
    out.types.push(c.types[i]!);
    out.modules.push(c.modules[i]);
    n++;
  }
  out.hi = out.hi.slice(0, n);
  out.lo = out.lo.slice(0, n);
  return out;
}

export class KallsymsTable {
  private readonly index!: SymbolIndex;
  private byNameCache: Map<string, bigint> | undefined;

  /** Symbols read from the file (including aliases and absolute ones). */
  readonly count!: number;
  /** True when every address is zero: kptr_restrict (or missing privileges) hides them. */
  readonly restricted!: boolean;

  constructor(symbols: readonly KernelSymbol[]) {
    const cols: SymbolColumns = { hi: [], lo: [], types: [], names: [], modules: [] };
    for (const s of symbols) {
      const [hi, lo] = splitAddress(s.address);
      cols.hi.push(hi);
      cols.lo.push(lo);
      cols.types.push(s.type);
      cols.names.push(s.name);
      cols.modules.push(s.module);
    }
    KallsymsTable.init(this, cols);
  }

  private static init(t: KallsymsTable, cols: SymbolColumns): void {
    const w = t as unknown as { index: SymbolIndex; count: number; restricted: boolean };
    w.count = cols.hi.length;
    w.restricted = cols.hi.length > 0 && cols.hi.every((h, i) => h === 0 && cols.lo[i] === 0);
    w.index = buildIndex(cols);
  }

  /** @internal The parser's fast path: columns instead of one object per symbol. */
  static fromColumns(cols: SymbolColumns): KallsymsTable {
    const t = Object.create(KallsymsTable.prototype) as KallsymsTable;
    KallsymsTable.init(t, cols);
    return t;
  }

  /** Distinct addresses usable for lookup. */
  get size(): number {
    return this.index.names.length;
  }

  /** One sentence when addresses are hidden, else undefined. */
  get restrictedReason(): string | undefined {
    return this.restricted
      ? 'kernel symbol addresses are hidden (kernel.kptr_restrict, or not root): kernel stacks show raw addresses only'
      : undefined;
  }

  /** The symbol containing `address`, with the offset into it. */
  lookup(address: bigint): { name: string; offset: bigint; type: string; module?: string } | undefined {
    const { hi, lo } = this.index;
    const [ah, al] = splitAddress(address);
    if (address < 0n || address > 0xffffffffffffffffn) return undefined;
    let left = 0;
    let right = hi.length - 1;
    let found = -1;
    while (left <= right) {
      const mid = (left + right) >>> 1;
      if (hi[mid]! < ah || (hi[mid] === ah && lo[mid]! <= al)) {
        found = mid;
        left = mid + 1;
      } else {
        right = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const offset = address - joinAddress(hi[found]!, lo[found]!);
    if (offset >= MAX_SYMBOL_SPAN) return undefined;
    const module = this.index.modules[found];
    return { name: this.index.names[found]!, offset, type: this.index.types[found]!, ...(module !== undefined ? { module } : {}) };
  }

  /** The address of a symbol by name (first match; aliases resolve to their shared address). */
  address(name: string): bigint | undefined {
    if (!this.byNameCache) {
      const { hi, lo, names } = this.index;
      this.byNameCache = new Map();
      for (let i = 0; i < names.length; i++) {
        if (!this.byNameCache.has(names[i]!)) this.byNameCache.set(names[i]!, joinAddress(hi[i]!, lo[i]!));
      }
    }
    return this.byNameCache.get(name);
  }

  symbolize(addresses: readonly bigint[]): SymbolizedFrame[] {
    return addresses.map((address) => {
      const s = this.lookup(address);
      if (!s) return { address, text: hexAddress(address) };
      const frame: SymbolizedFrame = { address, symbol: s.name, offset: s.offset, text: '' };
      if (s.module !== undefined) frame.module = s.module;
      frame.text = formatFrame(frame);
      return frame;
    });
  }

  format(address: bigint): string {
    return this.symbolize([address])[0]!.text;
  }
}

export function hexAddress(a: bigint): string {
  return `0x${a.toString(16).padStart(16, '0')}`;
}

/** "name+0x1a [module]"; the bare hex address when unresolved. */
export function formatFrame(f: { address: bigint; symbol?: string; offset?: bigint; module?: string }): string {
  if (f.symbol === undefined) return hexAddress(f.address);
  const off = f.offset !== undefined && f.offset !== 0n ? `+0x${f.offset.toString(16)}` : '';
  return `${f.symbol}${off}${f.module !== undefined ? ` [${f.module}]` : ''}`;
}

const HEX_ADDR = /^[0-9a-fA-F]{1,16}$/;
const NAME = /^[^\s[\]]+$/;
const LETTER = /^[A-Za-z]$/;

/** Parses the text of /proc/kallsyms. Throws ParseError naming the file and line on malformed input. */
export function parseKallsyms(text: string, file: string = KALLSYMS_PATH): KallsymsTable {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new ParseError(file, 1, 'no symbols (empty file)');
  const cols: SymbolColumns = { hi: [], lo: [], types: [], names: [], modules: [] };
  // Hand-rolled split (not one regex per line): /proc/kallsyms has 100,000+ lines.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const s1 = line.indexOf(' ');
    const s2 = s1 + 2;
    const tab = line.indexOf('\t', s2);
    const addr = s1 > 0 ? line.slice(0, s1) : '';
    const type = line.charAt(s1 + 1);
    const name = tab < 0 ? line.slice(s2 + 1) : line.slice(s2 + 1, tab);
    const mod = tab < 0 ? undefined : line.slice(tab + 1);
    if (
      !HEX_ADDR.test(addr) ||
      !LETTER.test(type) ||
      line.charAt(s2) !== ' ' ||
      !NAME.test(name) ||
      (mod !== undefined && !(mod.length > 2 && mod.startsWith('[') && mod.endsWith(']') && NAME.test(mod.slice(1, -1))))
    ) {
      throw new ParseError(file, i + 1, `expected "ADDRESS TYPE NAME [\\t[MODULE]]", got ${JSON.stringify(line.slice(0, 120))}`);
    }
    cols.hi.push(addr.length > 8 ? parseInt(addr.slice(0, addr.length - 8), 16) : 0);
    cols.lo.push(parseInt(addr.length > 8 ? addr.slice(addr.length - 8) : addr, 16));
    cols.types.push(type);
    cols.names.push(name);
    cols.modules.push(mod === undefined ? undefined : mod.slice(1, -1));
  }
  return KallsymsTable.fromColumns(cols);
}

/** Reads and parses /proc/kallsyms through the Host. */
export async function readKallsyms(host: Host): Promise<KallsymsTable> {
  return parseKallsyms(await host.readText(KALLSYMS_PATH), KALLSYMS_PATH);
}

/** Symbolises kernel addresses with a freshly read table (read once and reuse it for many stacks). */
export async function symbolize(host: Host, addresses: readonly bigint[]): Promise<SymbolizedFrame[]> {
  return (await readKallsyms(host)).symbolize(addresses);
}
