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
