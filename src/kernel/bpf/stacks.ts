/**
 * Stack trace maps (BPF_MAP_TYPE_STACK_TRACE): a stack id from bpf_get_stackid() → its frames.
 * Kernel frames are symbolised with kallsyms (src/kernel/syms/).
 */
import type { KallsymsTable, SymbolizedFrame } from '../syms/kallsyms.js';
import type { BpfMap } from './map.js';

/** The addresses of one stack map value: u64 instruction pointers, ended by the first zero. */
export function decodeStack(value: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let off = 0; off + 8 <= value.length; off += 8) {
    const ip = value.readBigUInt64LE(off);
    if (ip === 0n) break;
    out.push(ip);
  }
  return out;
}

/**
 * The frames of stack `id`, innermost first; [] when the id is negative (bpf_get_stackid failed:
 * -EEXIST on a hash collision, -EFAULT, ...) or no longer in the map.
 */
export function readStack(stacks: BpfMap, id: number): bigint[] {
  if (!Number.isInteger(id) || id < 0) return [];
  const key = Buffer.alloc(4);
  key.writeUInt32LE(id);
  const v = stacks.lookup(key);
  return v ? decodeStack(v) : [];
}

/** readStack + symbolisation through a kallsyms table. */
export function readKernelStack(stacks: BpfMap, id: number, syms: KallsymsTable): SymbolizedFrame[] {
  return syms.symbolize(readStack(stacks, id));
}

/**
 * The kernel text addresses among raw stack words, innermost first, as "? name+0x1a" frames (the kernel's
 * own mark for a frame found by scanning, not by unwinding). For where the unwinder stops early: a word
 * counts when it falls inside a text symbol past its first byte (a return address never points at a
 * function's entry); repeats of the frame before are dropped. At most `max` frames.
 */
export function scannedFrames(words: readonly bigint[], syms: KallsymsTable, max = 16): SymbolizedFrame[] {
  const out: SymbolizedFrame[] = [];
  for (const w of words) {
    if (out.length >= max) break;
    if (w < 0xffff800000000000n) continue;
    const s = syms.lookup(w);
    if (!s || s.offset === 0n || !/^[tT]$/.test(s.type)) continue;
    const f = syms.symbolize([w])[0]!;
    if (out.length && out[out.length - 1]!.address === w) continue;
    out.push({ ...f, text: `? ${f.text}` });
  }
  return out;
}
