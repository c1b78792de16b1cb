/**
 * /proc/iomem — the physical address map: RAM, reserved areas, ROMs, PCI windows, device registers,
 * nested as a tree (kernel/resource.c, r_show(); Documentation/filesystems/proc.rst "iomem").
 *
 *   00100000-bfffffff : System RAM
 *     01000000-02276f47 : Kernel code
 *
 * Each line is `START-END : NAME` with inclusive hex addresses, indented by two spaces per nesting level.
 * Top-level "System RAM" ranges are the RAM the kernel knows (usable RAM per the firmware map, before
 * the kernel's own reservations), so their sum is a good "physical RAM" figure; it is larger than
 * meminfo MemTotal by the reserved memory (crashkernel, memmap, firmware tables, struct pages, ...).
 *
 * Since 4.6 (commit 51d7b120418e) a reader without CAP_SYS_ADMIN sees every address as 0: the tree is
 * still there but `addressesHidden` is true and sizes are unknown. Then use the boot log's
 * "Memory: …K/…K available" line (`parseBootMemoryLine`) or meminfo.
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const IOMEM_PATH = '/proc/iomem';

export interface IomemRange {
  /** Inclusive physical addresses. */
  start: number;
  end: number;
  /** end - start + 1, in bytes (0 when addresses are hidden). */
  sizeBytes: number;
  name: string;
  /** 0 for top-level ranges. */
  depth: number;
  line: number;
  children: IomemRange[];
}

export interface Iomem {
  /** Top-level ranges, each with its nested children. */
  roots: IomemRange[];
  /** Every range, in file order. */
  all: IomemRange[];
  /** True when every address reads 0 (unprivileged reader): sizes are meaningless. */
  addressesHidden: boolean;
}

function hex(s: string, file: string, line: number): number {
  if (s.length > 13) throw new ParseError(file, line, `address ${s} is out of range`);
  return parseInt(s, 16);
}

export function parseIomem(text: string, file = IOMEM_PATH): Iomem {
  const roots: IomemRange[] = [];
  const all: IomemRange[] = [];
  const stack: IomemRange[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const m = /^( *)([0-9a-f]+)-([0-9a-f]+) : (.*)$/.exec(line);
    if (!m) throw new ParseError(file, ln, `expected "START-END : NAME", got ${JSON.stringify(line)}`);
    if (m[1]!.length % 2 !== 0) throw new ParseError(file, ln, 'indentation is not a multiple of two spaces');
    const depth = m[1]!.length / 2;
    if (depth > stack.length) throw new ParseError(file, ln, `nesting jumps to depth ${depth} under depth ${stack.length - 1}`);
    const start = hex(m[2]!, file, ln);
    const end = hex(m[3]!, file, ln);
    if (end < start) throw new ParseError(file, ln, 'range ends before it starts');
    const r: IomemRange = { start, end, sizeBytes: end - start + 1, name: m[4]!, depth, line: ln, children: [] };
    stack.length = depth;
    if (depth === 0) roots.push(r);
    else stack[depth - 1]!.children.push(r);
    stack.push(r);
    all.push(r);
  }
  if (all.length === 0) throw new ParseError(file, 1, 'no ranges');
  const addressesHidden = all.every((r) => r.start === 0 && r.end === 0);
  if (addressesHidden) for (const r of all) r.sizeBytes = 0;
  return { roots, all, addressesHidden };
}

export async function readIomem(host: Host): Promise<Iomem> {
  return parseIomem(await host.readText(IOMEM_PATH));
}

/** Sum of top-level "System RAM" ranges in bytes; undefined when addresses are hidden (not root). */
export function systemRamBytes(tree: Iomem): number | undefined {
  if (tree.addressesHidden) return undefined;
  let sum = 0;
  for (const r of tree.roots) if (r.name === 'System RAM') sum += r.sizeBytes;
  return sum;
}

/**
 * The boot-time memory summary printed by mm/mm_init.c (mem_init_print_info(), formerly
 * mm/page_alloc.c), found in dmesg / the journal:
 *
 *   Memory: 3218180K/25165432K available (18907K kernel code, 2544K rwdata, 10292K rodata, 3732K init,
 *           1168K bss, 496564K reserved, 0K cma-reserved)
 *
 * `available` is what the buddy allocator got at that point (with deferred struct-page init it can be
 * far below the total, as in the example), `total` the physical pages present; the parenthesised items
 * are sizes of the kernel image sections, reserved and CMA memory. Older kernels use lowercase `k` and
 * may add "absent" or "highmem". Returns bytes; undefined when the text has no such line (e.g. the
 * ring buffer wrapped). Takes the last match (a kexec'ed kernel logs its own).
 */
export interface BootMemory {
  availableBytes: number;
  totalBytes: number;
  /** Every "<n>K <name>" item in the parentheses, by name ("kernel code", "reserved", ...), in bytes. */
  items: Map<string, number>;
  reservedBytes?: number;
}

export function parseBootMemoryLine(text: string): BootMemory | undefined {
  const re = /Memory: (\d+)[kK]\/(\d+)[kK] available(?: \(([^)]*)\))?/g;
  let last: RegExpExecArray | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) last = m;
  if (!last) return undefined;
  const items = new Map<string, number>();
  for (const part of (last[3] ?? '').split(',')) {
    const im = /^\s*(\d+)[kK] (.+?)\s*$/.exec(part);
    if (im) items.set(im[2]!, Number(im[1]) * 1024);
  }
  const out: BootMemory = { availableBytes: Number(last[1]) * 1024, totalBytes: Number(last[2]) * 1024, items };
  const reserved = items.get('reserved');
  if (reserved !== undefined) out.reservedBytes = reserved;
  return out;
}

/**
 * Usable RAM from the firmware's e820 map as the kernel logs it at boot ("BIOS-e820: [mem 0x…-0x…]
 * usable", x86 only), in bytes; undefined when no such line is present.
 */
export function parseE820UsableBytes(text: string): number | undefined {
  const re = /BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable/g;
  let sum: number | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    sum = (sum ?? 0) + (parseInt(m[2]!, 16) - parseInt(m[1]!, 16) + 1);
  }
  return sum;
}
