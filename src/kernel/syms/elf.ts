/**
 * A small ELF reader for symbolisation (no npm ELF parser we looked at is maintained and reads
 * .gnu_debuglink and build ids): the function symbols of .symtab and .dynsym, the PT_LOAD segments
 * (to turn a file offset into the address the symbols use), the GNU build id and .gnu_debuglink.
 * ELF64 and ELF32, little- and big-endian. Every offset is bounds-checked: a truncated or malformed
 * file gives an ElfError naming the file, never an out-of-range read or a crash.
 *
 * Layouts: include/uapi/linux/elf.h (Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr, Elf64_Sym) and the 32-bit twins.
 */
import type { Host } from '../../host/host.js';

export class ElfError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ElfError';
  }
}

export interface ElfSymbol {
  /** st_value: the symbol's address in the file's own address space (what PT_LOAD p_vaddr uses). */
  address: number;
  /** st_size (0 for symbols without one: such a symbol covers up to the next one). */
  size: number;
  name: string;
}

export interface ElfSegment {
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  executable: boolean;
}

export interface ElfInfo {
  /** ET_EXEC 2, ET_DYN 3 (shared objects and PIE), ET_REL 1, ET_CORE 4. */
  type: number;
  machine: number;
  /** Lower-case hex of NT_GNU_BUILD_ID, when the file has one. */
  buildId?: string;
  /** .gnu_debuglink: the separate debug file's name and its CRC32. */
  debugLink?: { name: string; crc: number };
  segments: ElfSegment[];
  /** .symtab present (an unstripped file); .dynsym alone is what strip leaves. */
  hasSymtab: boolean;
  hasDynsym: boolean;
  /** Function symbols (STT_FUNC, STT_GNU_IFUNC) of both tables, sorted by address, one per address. */
  symbols: ElfSymbol[];
}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PF_X = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;
/** A symbol table larger than this many entries is not believed (a corrupt sh_size). */
const MAX_SYMBOLS = 20_000_000;

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly file: string,
    readonly le: boolean,
    readonly is64: boolean,
  ) {}

  check(off: number, len: number, what: string): void {
    if (!Number.isSafeInteger(off) || off < 0 || len < 0 || off + len > this.buf.length) throw new ElfError(this.file, `${what} lies outside the file (offset ${off}, ${len} bytes of ${this.buf.length})`);
  }

  u8(off: number): number {
    this.check(off, 1, 'a field');
    return this.buf[off]!;
  }

  u16(off: number): number {
    this.check(off, 2, 'a field');
    return this.le ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }

  u32(off: number): number {
    this.check(off, 4, 'a field');
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }

  u64(off: number): number {
    this.check(off, 8, 'a field');
    const v = this.le ? this.buf.readBigUInt64LE(off) : this.buf.readBigUInt64BE(off);
    // Addresses and offsets above 2^53 do not occur in user-space files; clamp rather than lose precision silently.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  /** A native-width word (u32 in ELF32, u64 in ELF64). */
  word(off: number): number {
    return this.is64 ? this.u64(off) : this.u32(off);
  }

  cstr(off: number, limit: number): string {
    if (off < 0 || off >= limit || off >= this.buf.length) return '';
    let end = off;
    const max = Math.min(limit, this.buf.length);
    while (end < max && this.buf[end] !== 0) end++;
    return this.buf.toString('latin1', off, end);
  }
}

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** Parses an ELF file held in memory. */
export function parseElf(buf: Buffer, file = 'ELF file'): ElfInfo {
  if (buf.length < 52 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) throw new ElfError(file, 'not an ELF file (no \\x7fELF magic)');
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(file, `unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(file, `unknown ELF data encoding ${data}`);
  const is64 = cls === 2;
  const r = new Reader(buf, file, data === 1, is64);
  const type = r.u16(16);
  const machine = r.u16(18);
  const phoff = is64 ? r.u64(32) : r.u32(28);
  const shoff = is64 ? r.u64(40) : r.u32(32);
  const phentsize = r.u16(is64 ? 54 : 42);
  const phnum = r.u16(is64 ? 56 : 44);
  const shentsize = r.u16(is64 ? 58 : 46);
  let shnum = r.u16(is64 ? 60 : 48);
  let shstrndx = r.u16(is64 ? 62 : 50);

  const segments: ElfSegment[] = [];
  let buildId: string | undefined;
  const notes: Array<{ offset: number; size: number }> = [];
  if (phoff > 0 && phnum > 0) {
    if (phentsize < (is64 ? 56 : 32)) throw new ElfError(file, `program header entries of ${phentsize} bytes are too small`);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      r.check(o, phentsize, `program header ${i}`);
      const ptype = r.u32(o);
      const seg = is64
        ? { flags: r.u32(o + 4), offset: r.u64(o + 8), vaddr: r.u64(o + 16), filesz: r.u64(o + 32), memsz: r.u64(o + 40) }
        : { offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16), memsz: r.u32(o + 20), flags: r.u32(o + 24) };
      if (ptype === PT_LOAD) segments.push({ offset: seg.offset, vaddr: seg.vaddr, filesz: seg.filesz, memsz: seg.memsz, executable: (seg.flags & PF_X) !== 0 });
      if (ptype === PT_NOTE) notes.push({ offset: seg.offset, size: seg.filesz });
    }
  }

  const sections: Section[] = [];
  if (shoff > 0) {
    if (shentsize < (is64 ? 64 : 40)) throw new ElfError(file, `section header entries of ${shentsize} bytes are too small`);
    // Extended numbering: e_shnum 0 / e_shstrndx SHN_XINDEX keep the real values in section 0.
    if (shnum === 0) shnum = is64 ? r.u64(shoff + 32) : r.u32(shoff + 20);
    if (shstrndx === 0xffff) shstrndx = r.u32(shoff + (is64 ? 44 : 28));
    if (shnum > 65536 * 16) throw new ElfError(file, `${shnum} sections is not believable`);
    r.check(shoff, shnum * shentsize, 'the section header table');
    const raw: Array<Omit<Section, 'name'> & { nameOff: number }> = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      raw.push(
        is64
          ? { nameOff: r.u32(o), type: r.u32(o + 4), offset: r.u64(o + 24), size: r.u64(o + 32), link: r.u32(o + 40), entsize: r.u64(o + 56) }
          : { nameOff: r.u32(o), type: r.u32(o + 4), offset: r.u32(o + 16), size: r.u32(o + 20), link: r.u32(o + 24), entsize: r.u32(o + 36) },
      );
    }
    const strtab = raw[shstrndx];
    for (const s of raw) {
      const name = strtab && strtab.type !== SHT_NOBITS ? r.cstr(strtab.offset + s.nameOff, strtab.offset + strtab.size) : '';
      sections.push({ name, type: s.type, offset: s.offset, size: s.size, link: s.link, entsize: s.entsize });
    }
  }
  for (const s of sections) if (s.type === SHT_NOTE) notes.push({ offset: s.offset, size: s.size });

  for (const n of notes) {
    if (buildId) break;
    let o = n.offset;
    const end = Math.min(n.offset + n.size, buf.length);
    while (o + 12 <= end) {
      const namesz = r.u32(o);
      const descsz = r.u32(o + 4);
      const ntype = r.u32(o + 8);
      const nameStart = o + 12;
      const descStart = nameStart + align4(namesz);
      if (descStart + descsz > end) break;
      if (ntype === NT_GNU_BUILD_ID && namesz === 4 && buf.toString('latin1', nameStart, nameStart + 3) === 'GNU' && descsz > 0) {
        buildId = buf.toString('hex', descStart, descStart + descsz);
        break;
      }
      o = descStart + align4(descsz);
    }
  }

  let debugLink: ElfInfo['debugLink'];
  const dl = sections.find((s) => s.name === '.gnu_debuglink' && s.type !== SHT_NOBITS);
  if (dl && dl.size >= 8) {
    r.check(dl.offset, dl.size, '.gnu_debuglink');
    const name = r.cstr(dl.offset, dl.offset + dl.size);
    const crcOff = dl.offset + align4(name.length + 1);
    if (name !== '' && crcOff + 4 <= dl.offset + dl.size) debugLink = { name, crc: r.u32(crcOff) };
  }

  const symbols: ElfSymbol[] = [];
  let hasSymtab = false;
  let hasDynsym = false;
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
    const strtab = sections[s.link];
    if (!strtab || strtab.type === SHT_NOBITS) continue;
    if (s.type === SHT_SYMTAB) hasSymtab = true;
    else hasDynsym = true;
    const entsize = s.entsize || (is64 ? 24 : 16);
    if (entsize < (is64 ? 24 : 16)) throw new ElfError(file, `symbol entries of ${entsize} bytes are too small in ${s.name}`);
    if (s.type === SHT_SYMTAB && s.size === 0) hasSymtab = false;
    const count = Math.floor(s.size / entsize);
    if (count > MAX_SYMBOLS) throw new ElfError(file, `${s.name} claims ${count} symbols`);
    r.check(s.offset, count * entsize, s.name);
    r.check(strtab.offset, strtab.size, `the string table of ${s.name}`);
    const strEnd = strtab.offset + strtab.size;
    for (let i = 1; i < count; i++) {
      const o = s.offset + i * entsize;
      const info = is64 ? buf[o + 4]! : buf[o + 12]!;
      const stt = info & 0xf;
      if (stt !== STT_FUNC && stt !== STT_GNU_IFUNC) continue;
      const shndx = r.u16(o + (is64 ? 6 : 14));
      if (shndx === 0) continue; // undefined: an import
      const address = is64 ? r.u64(o + 8) : r.u32(o + 4);
      const size = is64 ? r.u64(o + 16) : r.u32(o + 8);
      if (address === 0) continue;
      const name = r.cstr(strtab.offset + r.u32(o), strEnd);
      if (name === '') continue;
      symbols.push({ address, size, name });
    }
  }
  symbols.sort((a, b) => a.address - b.address || b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const unique: ElfSymbol[] = [];
  for (const s of symbols) {
    const last = unique[unique.length - 1];
    if (last && last.address === s.address) continue;
    unique.push(s);
  }
  return { type, machine, ...(buildId !== undefined ? { buildId } : {}), ...(debugLink ? { debugLink } : {}), segments, hasSymtab, hasDynsym, symbols: unique };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The address (in the file's own terms) of a byte at `fileOffset`: through the PT_LOAD segment that
 * holds it; undefined when no segment does.
 */
export function fileOffsetToVaddr(elf: Pick<ElfInfo, 'segments'>, fileOffset: number): number | undefined {
  for (const s of elf.segments) {
    if (fileOffset >= s.offset && fileOffset < s.offset + Math.max(s.filesz, 1)) return fileOffset - s.offset + s.vaddr;
  }
  return undefined;
}

/** The function containing `vaddr`: the last symbol at or below it, within its size (or, sizeless, up to the next). */
export function lookupSymbol(symbols: readonly ElfSymbol[], vaddr: number): { name: string; offset: number } | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (symbols[mid]!.address <= vaddr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  const s = symbols[found]!;
  const offset = vaddr - s.address;
  if (s.size > 0 && offset >= s.size) return undefined;
  if (s.size === 0 && offset >= 1 << 20) return undefined;
  return { name: s.name, offset };
}

/** Merges symbol lists (a debug file's .symtab with the binary's .dynsym), one symbol per address. */
export function mergeSymbols(...lists: ReadonlyArray<readonly ElfSymbol[]>): ElfSymbol[] {
  const all = lists.flat().slice().sort((a, b) => a.address - b.address || b.size - a.size);
  const out: ElfSymbol[] = [];
  for (const s of all) if (out[out.length - 1]?.address !== s.address) out.push(s);
  return out;
}

/** Reads a whole file through the Host (ELF files are read once per profile and cached). */
export async function readFileBytes(host: Host, path: string, maxBytes = 1 << 30): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  await host.scanFile(path, 1 << 20, (chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw new ElfError(path, `larger than ${maxBytes} bytes`);
    parts.push(Buffer.from(chunk));
  });
  return Buffer.concat(parts, total);
}

/** Reads and parses an ELF file through the Host. */
export async function readElf(host: Host, path: string): Promise<ElfInfo> {
  return parseElf(await readFileBytes(host, path), path);
}

/** Where a separate debug file may be (GDB's rules): by build id, then by .gnu_debuglink next to the file. */
export function debugFileCandidates(binaryPath: string, elf: Pick<ElfInfo, 'buildId' | 'debugLink'>, debugRoot = '/usr/lib/debug'): string[] {
  const out: string[] = [];
  if (elf.buildId && elf.buildId.length > 2) out.push(`${debugRoot}/.build-id/${elf.buildId.slice(0, 2)}/${elf.buildId.slice(2)}.debug`);
  if (elf.debugLink) {
    const dir = binaryPath.slice(0, binaryPath.lastIndexOf('/')) || '';
    out.push(`${dir}/${elf.debugLink.name}`, `${dir}/.debug/${elf.debugLink.name}`, `${debugRoot}${dir}/${elf.debugLink.name}`);
  }
  return out.filter((p) => p !== binaryPath);
}
