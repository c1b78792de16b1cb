/**
 * Outstanding-allocation tracing with BPF (bpf/memleak.bpf.c): the TypeScript mirror of bpf/memleak.h,
 * the tracer the run drives, and the pure grouping of live allocations by stack.
 *
 * Programs are tp_btf (BTF-typed tracepoint arguments): they need neither tracefs nor kprobes, and
 * their links are fds, so a `kill -9` at any moment leaves nothing attached. Only the programs of the
 * traced kind are loaded. Memory is bounded by the map sizes (65,536 live allocations, 16,384 stacks).
 */
import type { Host } from '../../host/host.js';
import { type BpfObject, findBpfObject, openObject, readStack, sumPerCpuU64 } from '../../kernel/bpf/index.js';
import { loadNative } from '../../kernel/native.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import type { Callsite, Coverage } from './analyze.js';
import type { LeakTracer, TraceTarget } from './run.js';
import type { LeakType } from './sample.js';

export const MEMLEAK_OBJECT = 'memleak';
export const MEMLEAK_NAME_LEN = 32;
export const MEMLEAK_MAX_TRACKED = 65536;
export const MEMLEAK_MODE: Record<LeakType, number> = { slab: 1, page: 2, vmalloc: 3 };
export const STAT_INDEX = { seen: 0, tracked: 1, full: 2, freed: 3 } as const;

/** Offsets of struct memleak_alloc (24 bytes). */
export const ALLOC_INFO_LAYOUT = { size: 0, tsNs: 8, stackId: 16, bytes: 24 } as const;

/** Programs per kind (name → tracepoint), as in bpf/memleak.bpf.c. */
export const MEMLEAK_PROGRAMS: Record<LeakType, Record<string, string>> = {
  slab: { oscope_ml_kmalloc: 'kmalloc', oscope_ml_cache: 'kmem_cache_alloc', oscope_ml_kfree: 'kfree', oscope_ml_cfree: 'kmem_cache_free' },
  page: { oscope_ml_palloc: 'mm_page_alloc', oscope_ml_pfree: 'mm_page_free', oscope_ml_pfreeb: 'mm_page_free_batched' },
  vmalloc: { oscope_ml_valloc: 'alloc_vmap_area', oscope_ml_vfree: 'free_vmap_area_noflush' },
};

export interface LiveAlloc {
  address: bigint;
  sizeBytes: number;
  tsNs: bigint;
  stackId: number;
}

export function decodeAlloc(key: Buffer, value: Buffer): LiveAlloc {
  return {
    address: key.readBigUInt64LE(0),
    sizeBytes: Number(value.readBigUInt64LE(ALLOC_INFO_LAYOUT.size)),
    tsNs: value.readBigUInt64LE(ALLOC_INFO_LAYOUT.tsNs),
    stackId: value.readInt32LE(ALLOC_INFO_LAYOUT.stackId),
  };
}

/** Allocator and tracing frames skipped when naming the call site. */
const ALLOCATOR =
  /^(bpf_|__bpf_|trace_|__trace|perf_|kmalloc|__kmalloc|kmem_cache_alloc|__kmem_cache|slab_|__slab|___slab|new_slab|allocate_slab|alloc_slab|alloc_pages|__alloc_pages|alloc_frozen|__alloc_frozen|get_page_from_freelist|rmqueue|post_alloc_hook|prep_new_page|folio_alloc|__folio_alloc|alloc_pages_mpol|__get_free_pages|get_zeroed_page|alloc_vmap_area|__get_vm_area|get_vm_area|__vmalloc|vmalloc|vzalloc|kvmalloc|__kvmalloc|kvzalloc|krealloc|kmemdup|kstrdup|kzalloc|kcalloc|kmalloc_|alloc_pages_bulk|__alloc_pages_bulk|vm_area_alloc_pages|__vmalloc_area_node|__vmalloc_node)/;

function frameName(text: string): string {
  return text.split('+')[0]!.split(' ')[0]!;
}

/** The first frame that is not the allocator or the tracing machinery. */
export function callsiteOf(stack: readonly string[]): string {
  for (const f of stack) if (!ALLOCATOR.test(frameName(f))) return f;
  return stack[0] ?? '(no stack)';
}

/**
 * Live allocations older than minAgeS at `nowNs`, grouped by stack, biggest first. `stackOf` returns
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
    g.outstandingBytes += a.sizeBytes;
    g.count++;
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

export interface TracerOptions {
  sampleEvery?: number;
}

/**
 * A BPF tracer, or one sentence saying why there cannot be one here (no addon, program not built,
 * not root). Load and attach errors come later, from `start()`.
 */
export function createBpfTracer(host: Host, opts: TracerOptions = {}): { tracer: LeakTracer } | { unavailable: string } {
  if (host.kind !== 'live') return { unavailable: 'tracing needs a live host' };
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return { unavailable: 'BPF tracing needs root' };
  const native = loadNative();
  if (!native.available) return { unavailable: native.reason };
  const found = findBpfObject(MEMLEAK_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  return { tracer: new BpfLeakTracer(host, found.path, opts) };
}

class BpfLeakTracer implements LeakTracer {
  private obj: BpfObject | undefined;
  private target: TraceTarget | undefined;
  private syms: KallsymsTable | undefined;
  private detail = '';
  private attached: string[] = [];

  constructor(
    private readonly host: Host,
    private readonly path: string,
    private readonly opts: TracerOptions,
  ) {}

  async start(target: TraceTarget): Promise<void> {
    this.target = target;
    const obj = openObject(this.path);
    this.obj = obj;
    try {
      obj.setRodata('mode', MEMLEAK_MODE[target.type]);
      obj.setRodata('sample_every', Math.max(1, Math.floor(this.opts.sampleEvery ?? 1)));
      if (target.type === 'slab' && target.name !== undefined) {
        if (/^(dma-)?kmalloc-/.test(target.name)) {
          obj.setRodata('trace_cache', false);
          if (target.objSizeBytes) obj.setRodata('filter_size', target.objSizeBytes);
          this.detail = `kmalloc() of ${target.objSizeBytes ?? '?'} bytes`;
        } else {
          obj.setRodata('trace_kmalloc', false);
          const name = Buffer.alloc(MEMLEAK_NAME_LEN);
          name.write(target.name.slice(0, MEMLEAK_NAME_LEN - 1), 'utf8');
          obj.setRodata('filter_name', name);
          if (target.objSizeBytes) obj.setRodata('filter_size', target.objSizeBytes);
          this.detail = `kmem_cache_alloc() of cache ${target.name} (frees through kmem_cache_free only)`;
        }
      } else if (target.type === 'page') this.detail = 'non-movable pages';
      else if (target.type === 'vmalloc') this.detail = `vmap areas${target.name ? ` (stacks through ${target.name})` : ''}`;
      else this.detail = 'all slab allocations';
      const mine = { ...MEMLEAK_PROGRAMS[target.type] };
      // Attach only what the filter needs: every attached program costs on every call of its tracepoint.
      if (target.type === 'slab' && target.name !== undefined) {
        if (/^(dma-)?kmalloc-/.test(target.name)) {
          delete mine.oscope_ml_cache;
          delete mine.oscope_ml_cfree;
        } else {
          // A named cache's objects go back through kmem_cache_free(); kfree() of them is legal on
          // recent kernels but rare, and watching every kfree() would cost on the hottest free path.
          delete mine.oscope_ml_kmalloc;
          delete mine.oscope_ml_kfree;
        }
      }
      this.attached = Object.values(mine);
      for (const p of obj.programs()) obj.setAutoload(p.name, Object.hasOwn(mine, p.name));
      obj.load();
      this.syms = await readKallsyms(this.host);
      const one = Buffer.alloc(4);
      one.writeUInt32LE(1);
      obj.map('control').update(Buffer.alloc(4), one);
      for (const p of Object.keys(mine)) obj.program(p).attachTrace();
    } catch (err) {
      this.close();
      throw new Error(`BPF tracing could not start: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  stopAllocations(): void {
    if (!this.obj) return;
    try {
      this.obj.map('control').update(Buffer.alloc(4), Buffer.alloc(4));
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
    const stats = obj.map('stats');
    const stat = (i: number): number => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(i);
      const v = stats.lookup(k);
      return v ? Number(sumPerCpuU64(v)) : 0;
    };
    const seen = stat(STAT_INDEX.seen);
    const full = stat(STAT_INDEX.full);
    const stacksMap = obj.map('stack_traces');
    const syms = this.syms;
    const cache = new Map<number, string[]>();
    const stackOf = (id: number): string[] => {
      let s = cache.get(id);
      if (!s) {
        const addrs = readStack(stacksMap, id);
        s = syms ? syms.symbolize(addrs).map((f) => f.text) : addrs.map((a) => `0x${a.toString(16)}`);
        cache.set(id, s);
      }
      return s;
    };
    const focus = target.type === 'vmalloc' ? target.name : undefined;
    const callsites = groupOutstanding(allocs, nowNs, minAgeS, stackOf, focus);
    const coverage: Coverage[] = [];
    if (full > 0) coverage.push({ section: 'tracing', status: 'partial', reason: `${full} of ${seen} allocations were not tracked: the live-allocation map (${MEMLEAK_MAX_TRACKED}) was full` });
    else coverage.push({ section: 'tracing', status: 'complete' });
    if (syms?.restrictedReason) coverage.push({ section: 'symbols', status: 'unavailable', reason: syms.restrictedReason });
    const sample = Math.max(1, Math.floor(this.opts.sampleEvery ?? 1));
    const method = `BPF tp_btf on ${this.attached.join(', ')}; ${this.detail}; ${sample > 1 ? `1 in ${sample} sampled` : 'no sampling'}; ${seen} allocations seen, ${allocs.length} still live`;
    this.close();
    if (sample > 1) for (const c of callsites) {
      c.outstandingBytes *= sample;
      c.count *= sample;
    }
    return { callsites: callsites.slice(0, 20), method, coverage };
  }

  close(): void {
    this.obj?.close();
    this.obj = undefined;
  }
}
