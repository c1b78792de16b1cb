/**
 * Outstanding-allocation tracing with BPF (bpf/memleak.bpf.c): the TypeScript mirror of bpf/memleak.h,
 * the tracer the run drives, and the pure grouping of live allocations by stack.
 *
 * Attach method, chosen by probing: tp_btf (BTF-typed tracepoint arguments) first, else raw_tp (the
 * raw tracepoint arguments by position, kernels 4.17+ or tracepoints whose prototype differs from the
 * one tp_btf was written against). Neither needs tracefs or kprobes, and their links are fds, so a
 * `kill -9` at any moment leaves nothing attached. `OSCOPE_MEMLEAK_ATTACH=raw_tp` (or the `attach`
 * option) skips tp_btf, which is how tests exercise the fallback on a kernel that has both.
 * vmalloc has two more methods for kernels before 6.3, which have no vmap-area tracepoints: fentry (an
 * fexit program on alloc_vmap_area and an fentry program on free_vmap_area_noflush, the functions the
 * tracepoints were later put in: the same areas, sized the same way, one program per side; needs BTF and
 * trampolines, 5.5+, and alloc_vmap_area within the six arguments an x86 trampoline took before 6.5),
 * then kprobe (a kprobe/kretprobe pair on __vmalloc_node_range plus a kprobe on vfree: vmalloc's areas
 * only, an entry map per thread, a trap per call). Both are fd-scoped links; only vmalloc has them.
 *
 * Overhead is bounded by design: only the programs the filter needs are attached; the suspect cache is
 * filtered in the kernel before any map access; sampling adapts so that about `budgetPerS` allocations
 * a second are tracked whatever the allocation rate (see the header of bpf/memleak.bpf.c); and memory
 * is bounded by the map sizes (`maxLive` live allocations, default 65,536; 16,384 stacks). Sampled
 * counts and bytes are scaled back by each allocation's sampling stride, and the report says so.
 */
import type { Host } from '../../host/host.js';
import { BPF_EXIST, type BpfObject, type MapEntry, findBpfObject, openObject, readStack, sumPerCpuU64 } from '../../kernel/bpf/index.js';
import { readKallsyms } from '../../kernel/syms/kallsyms.js';
import type { Callsite, Coverage } from './analyze.js';
import type { LeakTracer, TraceTarget } from './run.js';
import { MEMLEAK_DEFAULT_BUDGET_PER_S, MEMLEAK_MAX_TRACKED } from './params.js';
import type { LeakType } from './sample.js';

export const MEMLEAK_OBJECT = 'memleak';
export const MEMLEAK_NAME_LEN = 32;
/** Default size of the live-allocation map (`--max-live`) and the sampling budget: ./params.ts. */
export { MEMLEAK_DEFAULT_BUDGET_PER_S, MEMLEAK_MAX_TRACKED };
export const MEMLEAK_MAX_SHIFT = 20;
export const MEMLEAK_MODE: Record<LeakType, number> = { slab: 1, page: 2, vmalloc: 3 };
export const STAT_INDEX = { seen: 0, tracked: 1, full: 2, freed: 3, raised: 4 } as const;
export const CONTROL = { state: 0, shift: 1, freeShift: 2 } as const;
export const STATE = { off: 0, track: 1, calibrate: 2, frees: 3 } as const;
/** The kernel's rate window of the adaptive sampling (window_ns in the program). */
const WINDOW_MS = 100;
/** Calibration before tracking starts: allocations counted, the shift settles, none stored. */
const CALIBRATE_MS = 1000;

/** Offsets of struct memleak_alloc (24 bytes). */
export const ALLOC_INFO_LAYOUT = { size: 0, tsNs: 8, stackId: 16, shift: 20, bytes: 24 } as const;

export type AttachMethod = 'tp_btf' | 'raw_tp' | 'fentry' | 'kprobe';
export const ATTACH_METHODS: readonly AttachMethod[] = ['tp_btf', 'raw_tp', 'fentry', 'kprobe'];

/** What a program does, so the loader attaches only those the filter needs. */
type Role = 'kmalloc' | 'kfree' | 'cache' | 'cfree' | 'alloc' | 'free';

export interface MemleakProgram {
  name: string;
  tracepoint: string;
  role: Role;
  /** Attached when the kernel has the tracepoint (the pre-6.1 NUMA variants). */
  optional?: boolean;
  /** kprobe method: the kernel functions to try, in order (renamed across versions), and whether it is a kretprobe. */
  kprobe?: { functions: readonly string[]; ret: boolean };
}

const p = (name: string, tracepoint: string, role: Role, optional = false): MemleakProgram => ({ name, tracepoint, role, ...(optional ? { optional } : {}) });
/** The vmalloc entry point: `__vmalloc_node_range_noprof` since 6.10 (allocation profiling), before that `__vmalloc_node_range`. */
const VMALLOC_FNS = ['__vmalloc_node_range_noprof', '__vmalloc_node_range'] as const;
const k = (name: string, role: Role, functions: readonly string[], ret: boolean): MemleakProgram => ({ name, tracepoint: functions[functions.length - 1]!, role, kprobe: { functions, ret } });

/** Programs per attach method and kind, as in bpf/memleak.bpf.c. */
export const MEMLEAK_PROGRAMS: Record<AttachMethod, Record<LeakType, MemleakProgram[]>> = {
  tp_btf: {
    slab: [p('oscope_ml_kmall', 'kmalloc', 'kmalloc'), p('oscope_ml_cache', 'kmem_cache_alloc', 'cache'), p('oscope_ml_kfree', 'kfree', 'kfree'), p('oscope_ml_cfree', 'kmem_cache_free', 'cfree')],
    page: [p('oscope_ml_palloc', 'mm_page_alloc', 'alloc'), p('oscope_ml_pfree', 'mm_page_free', 'free'), p('oscope_ml_pfreeb', 'mm_page_free_batched', 'free')],
    vmalloc: [p('oscope_ml_valloc', 'alloc_vmap_area', 'alloc'), p('oscope_ml_vfree', 'free_vmap_area_noflush', 'free')],
  },
  raw_tp: {
    slab: [
      p('oscope_mlr_km', 'kmalloc', 'kmalloc'),
      p('oscope_mlr_kmn', 'kmalloc_node', 'kmalloc', true),
      p('oscope_mlr_kc', 'kmem_cache_alloc', 'cache'),
      p('oscope_mlr_kcn', 'kmem_cache_alloc_node', 'cache', true),
      p('oscope_mlr_kf', 'kfree', 'kfree'),
      p('oscope_mlr_kcf', 'kmem_cache_free', 'cfree'),
    ],
    page: [p('oscope_mlr_pa', 'mm_page_alloc', 'alloc'), p('oscope_mlr_pf', 'mm_page_free', 'free'), p('oscope_mlr_pfb', 'mm_page_free_batched', 'free')],
    vmalloc: [p('oscope_mlr_va', 'alloc_vmap_area', 'alloc'), p('oscope_mlr_vf', 'free_vmap_area_noflush', 'free')],
  },
  fentry: {
    slab: [],
    page: [],
    vmalloc: [p('oscope_mlf_va', 'alloc_vmap_area (fexit)', 'alloc'), p('oscope_mlf_vf', 'free_vmap_area_noflush (fentry)', 'free')],
  },
  kprobe: {
    slab: [],
    page: [],
    vmalloc: [k('oscope_mlk_va', 'alloc', VMALLOC_FNS, false), k('oscope_mlk_var', 'alloc', VMALLOC_FNS, true), k('oscope_mlk_vf', 'free', ['vfree'], false)],
  },
};

export interface LiveAlloc {
  address: bigint;
  sizeBytes: number;
  tsNs: bigint;
  stackId: number;
  /** Sampled 1 in 2^shift: the entry stands for 2^shift allocations (0 or missing: not sampled). */
  shift?: number;
}

export function decodeAlloc(key: Buffer, value: Buffer): LiveAlloc {
  return {
    address: key.readBigUInt64LE(0),
    sizeBytes: Number(value.readBigUInt64LE(ALLOC_INFO_LAYOUT.size)),
    tsNs: value.readBigUInt64LE(ALLOC_INFO_LAYOUT.tsNs),
    stackId: value.readInt32LE(ALLOC_INFO_LAYOUT.stackId),
    shift: value.readUInt32LE(ALLOC_INFO_LAYOUT.shift),
  };
}
/** Allocator and tracing frames skipped when naming the call site. */
const ALLOCATOR =
  /^(bpf_|__bpf_|trace_|__trace|perf_|kmalloc|__kmalloc|kmem_cache_alloc|__kmem_cache|slab_|__slab|___slab|new_slab|allocate_slab|alloc_slab|alloc_pages|__alloc_pages|alloc_frozen|__alloc_frozen|get_page_from_freelist|rmqueue|post_alloc_hook|prep_new_page|folio_alloc|__folio_alloc|alloc_pages_mpol|__get_free_pages|get_zeroed_page|alloc_vmap_area|__get_vm_area|get_vm_area|__vmalloc|vmalloc|vzalloc|kvmalloc|__kvmalloc|kvzalloc|krealloc|kmemdup|kstrdup|kzalloc|kcalloc|kmalloc_|alloc_pages_bulk|__alloc_pages_bulk|vm_area_alloc_pages|__vmalloc_area_node|__vmalloc_node)/;

function frameName(text: string): string {
  return text.split('+')[0]!.split(' ')[0]!;
}

/** The tracing machinery at the top of a stack: our own program and the tracepoint dispatch to it. */
const TRACING_FRAME = /^(bpf_prog_[0-9a-f]+_\w+|bpf_trace_run\d+|__bpf_trace_\w+|__traceiter_\w+|bpf_dispatcher_\w+|__bpf_prog_enter\w*|__bpf_prog_exit\w*)$/;

/**
 * A stack as people read it: without the frames of this tool's own BPF program and the tracepoint
 * dispatch that called it (they are at the top of every stack the program records and say nothing about
 * the allocation). A stack made only of such frames is kept as it is.
 */
export function withoutTracingFrames(stack: readonly string[]): string[] {
  let i = 0;
  while (i < stack.length && TRACING_FRAME.test(frameName(stack[i]!))) i++;
  return i < stack.length ? stack.slice(i) : [...stack];
}

/** The first frame that is not the allocator or the tracing machinery. */
export function callsiteOf(stack: readonly string[]): string {
  for (const f of stack) if (!ALLOCATOR.test(frameName(f))) return f;
  return stack[0] ?? '(no stack)';
}

/**
 * Live allocations older than minAgeS at `nowNs`, grouped by stack, biggest first; a sampled allocation
 * counts for 2^shift allocations of its size (an estimate). `stackOf` returns
 * the symbolised frames of a stack id ([] when unknown). `focus` keeps only groups whose stack has this
 * function (e.g. the vmalloc caller), unless none has it.
 */
export function groupOutstanding(
  allocs: readonly LiveAlloc[],
  nowNs: bigint,
  minAgeS: number,
  stackOf: (id: number) => string[],
  focus?: string,
): Callsite[] {
  const minNs = BigInt(Math.round(minAgeS * 1e9));
  const by = new Map<number, Callsite>();
  for (const a of allocs) {
    const age = nowNs - a.tsNs;
    if (age < minNs) continue;
    let g = by.get(a.stackId);
    if (!g) {
      const stack = stackOf(a.stackId);
      g = { symbol: callsiteOf(stack), stack, outstandingBytes: 0, count: 0, oldestAgeS: 0 };
      by.set(a.stackId, g);
    }
    const weight = 2 ** Math.min(a.shift ?? 0, 30);
    g.outstandingBytes += a.sizeBytes * weight;
    g.count += weight;
    g.oldestAgeS = Math.max(g.oldestAgeS, Math.round(Number(age) / 1e8) / 10);
  }
  let out = [...by.values()];
  if (focus !== undefined) {
    const f = focus.split(' ')[0]!;
    const hit = out.filter((c) => c.stack.some((x) => frameName(x) === f));
    if (hit.length > 0) out = hit;
  }
  return out.sort((a, b) => b.outstandingBytes - a.outstandingBytes || b.count - a.count);
}


/** CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses. */
function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** A kmalloc-N (or dma-kmalloc-N) cache: its objects come from kmalloc() and go back through kfree(). */
export function isKmallocCache(name: string): boolean {
  return /^(dma-)?kmalloc-/.test(name);
}

/**
 * The programs to attach for a target: only what the filter needs, since every attached program costs
 * on every call of its tracepoint. A named cache's objects go back through kmem_cache_free(); kfree()
 * of them is legal on recent kernels but rare, and watching every kfree() would cost on the hottest
 * free path. kmalloc-N caches are the opposite.
 */
export function programsFor(method: AttachMethod, target: TraceTarget): MemleakProgram[] {
  const all = MEMLEAK_PROGRAMS[method][target.type];
  if (target.type !== 'slab' || target.name === undefined) return all;
  const roles: Role[] = isKmallocCache(target.name) ? ['kmalloc', 'kfree'] : ['cache', 'cfree'];
  return all.filter((x) => roles.includes(x.role));
}

/**
 * The sampling shift user space lowers to when the rate has dropped: the smallest shift ≥ floor at
 * which the rate would use at most a quarter of one CPU's share of the budget (the kernel raises it per
 * CPU at its share, so this leaves room and does not oscillate). Never above `current`.
 */
export function lowerShift(ratePerS: number, budgetPerS: number, nCpus: number, current: number, floor: number): number {
  if (budgetPerS <= 0) return current;
  const room = budgetPerS / Math.max(1, nCpus) / 4;
  let s = floor;
  while (s < current && ratePerS / 2 ** s > room) s++;
  return Math.min(s, current);
}

/** addr_hash() of bpf/memleak.bpf.c: the high half of the 64-bit product with the golden ratio. */
export function addrHash(addr: bigint): bigint {
  return ((addr * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn) >> 32n;
}

/**
 * Thinning the live allocations to a higher shift `to`, so that frees can be filtered at `to`: an entry
 * kept at a lower shift stays (now standing for 2^to allocations) when its address would be kept at
 * `to`, and is dropped otherwise. Addresses are hashed, so in expectation the scaled-back totals do not
 * change (the same re-sampling as raising the threshold of a sample). Entries at `to` or above stay.
 */
export function thinEntries(entries: readonly MapEntry[], to: number): { promote: MapEntry[]; drop: Buffer[] } {
  const mask = (1n << BigInt(to)) - 1n;
  const promote: MapEntry[] = [];
  const drop: Buffer[] = [];
  for (const e of entries) {
    if (e.value.readUInt32LE(ALLOC_INFO_LAYOUT.shift) >= to) continue;
    if ((addrHash(e.key.readBigUInt64LE(0)) & mask) === 0n) {
      const value = Buffer.from(e.value);
      value.writeUInt32LE(to, ALLOC_INFO_LAYOUT.shift);
      promote.push({ key: e.key, value });
    } else drop.push(e.key);
  }
  return { promote, drop };
}

/** The sampling floor for a fixed `memleak.sampleEvery` (1 = none): the next power of two's exponent. */
export function floorShift(sampleEvery: number): number {
  const n = Math.max(1, Math.floor(sampleEvery));
  return Math.min(MEMLEAK_MAX_SHIFT, Math.ceil(Math.log2(n)));
}

export interface TracerOptions {
  /** Keep at least one allocation in this many (rounded up to a power of two); default 1. */
  sampleEvery?: number;
  /** Adaptive sampling: allocations tracked per second at most, all CPUs together (0 = track every one). */
  budgetPerS?: number;
  /** Entries of the live-allocation map (default 65,536). */
  maxLive?: number;
  /** Attach methods to try, in order (default tp_btf then raw_tp; OSCOPE_MEMLEAK_ATTACH overrides). */
  attach?: readonly AttachMethod[];
}

/** Parses OSCOPE_MEMLEAK_ATTACH ("raw_tp", "tp_btf,raw_tp"); undefined when unset. */
export function attachFromEnv(v: string | undefined): AttachMethod[] | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const out = v.split(',').map((x) => x.trim());
  for (const m of out) if (!(ATTACH_METHODS as readonly string[]).includes(m)) throw new Error(`OSCOPE_MEMLEAK_ATTACH takes ${ATTACH_METHODS.join(', ')} (comma-separated), got "${m}"`);
  return out as AttachMethod[];
}

/**
 * A BPF tracer, or one sentence saying why there cannot be one here (no addon, program not built,
 * not root). Load and attach errors come later, from `start()`.
 */
export function createBpfTracer(host: Host, opts: TracerOptions = {}): { tracer: LeakTracer } | { unavailable: string } {
  if (!host.live) return { unavailable: 'tracing needs a live host' };
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return { unavailable: 'BPF tracing needs root' };
  const native = host.live.native();
  if (!native.available) return { unavailable: native.reason };
  const found = findBpfObject(MEMLEAK_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  let attach: readonly AttachMethod[];
  try {
    attach = opts.attach ?? attachFromEnv(process.env.OSCOPE_MEMLEAK_ATTACH) ?? ATTACH_METHODS;
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  return { tracer: new BpfLeakTracer(host, found.path, { ...opts, attach }, native.addon.numPossibleCpus()) };
}

const u32key = (i: number): Buffer => {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(i);
  return k;
};

class BpfLeakTracer implements LeakTracer {
  private obj: BpfObject | undefined;
  private target: TraceTarget | undefined;
  private detail = '';
  private method: AttachMethod | undefined;
  private attached: string[] = [];
  private fellBack: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly floor: number;
  private readonly budgetPerS: number;
  private readonly maxLive: number;
  private shiftsUsed = new Set<number>();
  private lastSeen = 0;
  private lastRaised = 0;
  private lastTickMs = 0;
  private quietTicks = 0;
  private tracking = false;
  private thinned = 0;

  constructor(
    private readonly host: Host,
    private readonly path: string,
    private readonly opts: TracerOptions & { attach: readonly AttachMethod[] },
    private readonly nCpus: number,
  ) {
    this.floor = floorShift(opts.sampleEvery ?? 1);
    this.budgetPerS = Math.max(0, Math.floor(opts.budgetPerS ?? MEMLEAK_DEFAULT_BUDGET_PER_S));
    this.maxLive = Math.floor(opts.maxLive ?? MEMLEAK_MAX_TRACKED);
  }

  async start(target: TraceTarget): Promise<void> {
    this.target = target;
    const errors: string[] = [];
    // Methods with no programs for this kind (fentry and kprobe exist for vmalloc only) are not tries.
    const methods = this.opts.attach.filter((m) => MEMLEAK_PROGRAMS[m][target.type].length > 0);
    if (methods.length === 0) throw new Error(`BPF tracing could not start (no ${this.opts.attach.join(' or ')} programs for ${target.type})`);
    for (const method of methods) {
      try {
        this.open(method, target);
        this.method = method;
        this.fellBack = errors;
        break;
      } catch (err) {
        this.close();
        errors.push(`${method}: ${(err as Error).message.split('\n')[0]!}`);
      }
    }
    if (!this.obj) throw new Error(`BPF tracing could not start (${errors.join('; ')})`);
    this.lastTickMs = Date.now();
    if (this.budgetPerS > 0) {
      // Calibrate first: the kernel counts and raises the shift; tracking starts at the settled shift.
      this.setControl(CONTROL.state, STATE.calibrate);
      this.timer = setTimeout(() => this.beginTracking(), CALIBRATE_MS);
      this.timer.unref();
    } else this.beginTracking();
  }

  private open(method: AttachMethod, target: TraceTarget): void {
    const obj = openObject(this.path);
    this.obj = obj;
    obj.setRodata('mode', MEMLEAK_MODE[target.type]);
    if (this.budgetPerS > 0) {
      // Each CPU's share of the budget, per window (at least one allocation).
      obj.setRodata('budget_per_window', Math.max(1, Math.floor((this.budgetPerS * WINDOW_MS) / 1000 / Math.max(1, this.nCpus))));
      obj.setRodata('window_ns', BigInt(WINDOW_MS) * 1_000_000n);
    }
    obj.setMaxEntries('allocs', this.maxLive);
    if (target.type === 'slab' && target.name !== undefined) {
      if (isKmallocCache(target.name)) {
        if (target.objSizeBytes) obj.setRodata('filter_size', target.objSizeBytes);
        this.detail = `kmalloc() of ${target.objSizeBytes ?? '?'} bytes`;
      } else {
        const name = Buffer.alloc(MEMLEAK_NAME_LEN);
        name.write(target.name.slice(0, MEMLEAK_NAME_LEN - 1), 'utf8');
        obj.setRodata('filter_name', name);
        if (target.objSizeBytes) obj.setRodata('filter_size', target.objSizeBytes);
        this.detail = `kmem_cache_alloc() of cache ${target.name}, filtered in the kernel by its struct kmem_cache (frees through kmem_cache_free only)`;
      }
    } else if (target.type === 'page') this.detail = 'non-movable pages';
    else if (target.type === 'vmalloc') this.detail = `vmap areas${target.name ? ` (stacks through ${target.name})` : ''}`;
    else this.detail = 'all slab allocations';
    const mine = programsFor(method, target);
    if (mine.length === 0) throw new Error(`no ${method} programs for ${target.type}`);
    const names = new Set(mine.map((x) => x.name));
    for (const prog of obj.programs()) obj.setAutoload(prog.name, names.has(prog.name));
    obj.load();
    this.setControl(CONTROL.shift, this.floor);
    this.setControl(CONTROL.freeShift, this.floor);
    this.attached = [];
    for (const prog of mine) {
      try {
        if (method === 'tp_btf' || method === 'fentry') obj.program(prog.name).attachTrace();
        else if (method === 'kprobe' && prog.kprobe) {
          this.attached.push(this.attachKprobe(obj, prog.name, prog.kprobe.functions, prog.kprobe.ret));
          continue;
        } else obj.program(prog.name).attachRawTracepoint(prog.tracepoint);
        this.attached.push(prog.tracepoint);
      } catch (err) {
        if (!prog.optional) throw err;
      }
    }
  }

  /** The first of `functions` this kernel lets a kprobe attach to; its name (kretprobe: `name%return`). */
  private attachKprobe(obj: BpfObject, prog: string, functions: readonly string[], ret: boolean): string {
    const errors: string[] = [];
    for (const fn of functions) {
      try {
        obj.program(prog).attachKprobe(fn, ret);
        return ret ? `${fn}%return` : fn;
      } catch (err) {
        errors.push(`${fn}: ${(err as Error).message.split('\n')[0]!}`);
      }
    }
    throw new Error(`kprobe ${prog} did not attach (${errors.join('; ')})`);
  }

  private setControl(i: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.obj?.map('control').update(u32key(i), b);
  }

  private control(i: number): number {
    return this.obj?.map('control').lookup(u32key(i))?.readUInt32LE(0) ?? 0;
  }

  private stat(i: number): number {
    const v = this.obj?.map('stats').lookup(u32key(i));
    return v ? Number(sumPerCpuU64(v)) : 0;
  }

  private beginTracking(): void {
    if (!this.obj) return;
    try {
      // Nothing is stored yet: frees need to look only at addresses the current shift keeps.
      const shift = this.control(CONTROL.shift);
      this.setControl(CONTROL.freeShift, shift);
      this.setControl(CONTROL.state, STATE.track);
      this.tracking = true;
      this.shiftsUsed.add(shift);
      this.lastSeen = this.stat(STAT_INDEX.seen);
      this.lastRaised = this.stat(STAT_INDEX.raised);
      this.lastTickMs = Date.now();
      if (this.budgetPerS > 0) {
        this.timer = setInterval(() => this.adapt(), 1000);
        this.timer.unref();
      }
    } catch {
      /* the object is gone: nothing to start */
    }
  }

  /** Once a second: note the shifts used, and lower the shift when the rate has dropped for a while. */
  private adapt(): void {
    if (!this.obj || !this.tracking) return;
    try {
      const now = Date.now();
      const seen = this.stat(STAT_INDEX.seen);
      const raised = this.stat(STAT_INDEX.raised);
      const shift = this.control(CONTROL.shift);
      this.shiftsUsed.add(shift);
      const rate = ((seen - this.lastSeen) * 1000) / Math.max(1, now - this.lastTickMs);
      this.quietTicks = raised === this.lastRaised ? this.quietTicks + 1 : 0;
      this.lastSeen = seen;
      this.lastRaised = raised;
      this.lastTickMs = now;
      const lower = lowerShift(rate, this.budgetPerS, this.nCpus, shift, this.floor);
      const freeShift = this.control(CONTROL.freeShift);
      if (lower < shift && this.quietTicks >= 3) {
        // The free side first: it must never be above a shift an allocation was kept with.
        if (lower < freeShift) this.setControl(CONTROL.freeShift, lower);
        this.setControl(CONTROL.shift, lower);
        this.shiftsUsed.add(lower);
        this.quietTicks = 0;
      } else if (shift > freeShift && this.quietTicks >= 1) {
        // The kernel raised the shift and it held for a second (no program still runs with an older
        // one): thin what was kept at lower shifts, then filter frees at the new shift too.
        this.thin(shift);
      }
    } catch {
      /* closed meanwhile */
    }
  }

  private thin(to: number): void {
    const allocs = this.obj!.map('allocs');
    const { promote, drop } = thinEntries(allocs.dump().entries, to);
    for (const e of promote) {
      try {
        allocs.update(e.key, e.value, BPF_EXIST);
      } catch {
        /* freed meanwhile */
      }
    }
    for (const k of drop) allocs.delete(k);
    this.thinned += drop.length;
    this.setControl(CONTROL.freeShift, to);
  }

  stopAllocations(): void {
    if (!this.obj) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      if (this.tracking) this.shiftsUsed.add(this.control(CONTROL.shift));
      this.setControl(CONTROL.state, STATE.frees);
    } catch {
      /* the object is gone: nothing to stop */
    }
  }

  async finish(minAgeS: number): Promise<{ callsites: Callsite[]; method: string; coverage: Coverage[] }> {
    const obj = this.obj;
    const target = this.target;
    if (!obj || !target) return { callsites: [], method: 'none', coverage: [{ section: 'tracing', status: 'unavailable', reason: 'not started' }] };
    this.stopAllocations();
    const nowNs = monotonicNs();
    const { entries } = obj.map('allocs').dump();
    const allocs = entries.map((e) => decodeAlloc(e.key, e.value));
    const seen = this.stat(STAT_INDEX.seen);
    const tracked = this.stat(STAT_INDEX.tracked);
    const full = this.stat(STAT_INDEX.full);
    const stacksMap = obj.map('stack_traces');
    // Read now, while the programs are loaded: their own frames (bpf_prog_<tag>_oscope_ml_*) and any
    // module loaded during the run are in /proc/kallsyms only from then on.
    const syms = await readKallsyms(this.host).catch(() => undefined);
    const cache = new Map<number, string[]>();
    const stackOf = (id: number): string[] => {
      let s = cache.get(id);
      if (!s) {
        const addrs = readStack(stacksMap, id);
        s = syms ? withoutTracingFrames(syms.symbolize(addrs).map((f) => f.text)) : addrs.map((a) => `0x${a.toString(16)}`);
        cache.set(id, s);
      }
      return s;
    };
    const focus = target.type === 'vmalloc' ? target.name : undefined;
    const callsites = groupOutstanding(allocs, nowNs, minAgeS, stackOf, focus);
    const coverage: Coverage[] = [];
    if (!this.tracking) coverage.push({ section: 'tracing', status: 'partial', reason: 'the window ended during calibration: no allocation was tracked' });
    else if (full > 0) coverage.push({ section: 'tracing', status: 'partial', reason: `${full} of ${tracked + full} sampled allocations were not tracked: the live-allocation map (${this.maxLive}) was full (raise it with --max-live)` });
    else coverage.push({ section: 'tracing', status: 'complete' });
    const shifts = [...this.shiftsUsed].sort((a, b) => a - b);
    const maxShift = shifts[shifts.length - 1] ?? 0;
    const stride = (s: number): string => `1 in ${2 ** s}`;
    let sampling: string;
    if (maxShift === 0) sampling = this.budgetPerS > 0 ? `adaptive sampling (budget ${this.budgetPerS}/s): every allocation tracked` : 'no sampling';
    else {
      const range = shifts.length > 1 ? `${stride(shifts[0]!)} to ${stride(maxShift)}` : stride(maxShift);
      const thinned = this.thinned > 0 ? ` (${this.thinned} early allocations re-sampled away when the stride rose)` : '';
      sampling = `${this.budgetPerS > 0 ? `adaptive sampling (budget ${this.budgetPerS}/s)` : 'fixed sampling'}: ${range} by address${thinned}; outstanding counts and bytes scaled by each allocation's stride`;
      coverage.push({ section: 'sampling', status: 'partial', reason: `allocations were sampled ${range} to bound the overhead: outstanding counts and bytes are estimates` });
    }
    if (!syms) coverage.push({ section: 'symbols', status: 'unavailable', reason: '/proc/kallsyms could not be read: stacks are raw addresses' });
    else if (syms.restrictedReason) coverage.push({ section: 'symbols', status: 'unavailable', reason: syms.restrictedReason });
    const fallback = this.fellBack.length > 0 ? ` (after ${this.fellBack.join('; ')})` : '';
    const method = `BPF ${this.method ?? '?'}${fallback} on ${this.attached.join(', ')}; ${this.detail}; ${sampling}; ${seen} allocations seen, ${tracked} tracked, ${allocs.length} still live`;
    this.close();
    return { callsites: callsites.slice(0, 20), method, coverage };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.obj?.close();
    this.obj = undefined;
  }
}
