/**
 * vmalloc-leak: BPF array maps created at a rate and kept open. An array map larger than 32 KiB is
 * vmalloc'ed by array_map_alloc() (through bpf_map_area_alloc), so /proc/vmallocinfo shows one area per
 * map with that caller. A python3 holder creates them with bpf(BPF_MAP_CREATE) through ctypes and keeps
 * their fds (no pins, so a crash or kill -9 of the holder frees them; cleanup kills it).
 */
import { existsSync } from 'node:fs';
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../framework.js';
import { runHolder } from './slab-leak.js';

const PAGE = 4096;
export const VMALLOC_LEAK_CALLER = 'array_map_alloc';
const VALUE_SIZE = 1024;
const ENTRIES = 256;
/** What one map's vmalloc area owns: the array (256 × 1 KiB) plus its header, rounded up to pages. */
export const MAP_AREA_BYTES = Math.ceil((ENTRIES * VALUE_SIZE + 512) / PAGE) * PAGE;

export const vmallocLeak: Scenario = {
  name: 'vmalloc-leak',
  area: 'memory',
  description: `BPF array maps (vmalloc'ed by ${VMALLOC_LEAK_CALLER}) created at a rate and kept open by a python3 process until cleanup`,
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'bytes of vmalloc memory to leak in all', default: 64 * 1024 ** 2 },
    { key: 'rate', flag: '--rate <size/s>', type: 'size', description: 'bytes leaked per second (0 = as fast as possible)', default: 1024 ** 2 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: () => (existsSync('/sys/fs/bpf') || existsSync('/proc/sys/kernel/unprivileged_bpf_disabled') ? undefined : 'this kernel has no bpf() system call'),
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const maps = Math.max(1, Math.floor((ctx.opts.size ?? 0) / MAP_AREA_BYTES));
    const rate = (ctx.opts.rate ?? 0) / MAP_AREA_BYTES;
    await runHolder(ctx, 'BPF map holder', { kind: 'bpfmap', count: maps, rate, valueSize: VALUE_SIZE, entries: ENTRIES }, 'maps', MAP_AREA_BYTES);
    return {
      count: maps,
      unit: 'BPF maps',
      bytes: maps * MAP_AREA_BYTES,
      details: { caller: VMALLOC_LEAK_CALLER, mapBytes: MAP_AREA_BYTES, rateBytesPerS: ctx.opts.rate ?? 0 },
    };
  },
};
