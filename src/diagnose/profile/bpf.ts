/**
 * The BPF side of `oscope profile` (bpf/profile.bpf.c): the TypeScript mirror of bpf/profile.h and the
 * sampler that loads, configures and attaches it. On-CPU: a perf_event program on one sampler per CPU,
 * hardware cycles where a PMU exists, the cpu-clock software event where not. Off-CPU: sched_switch
 * (tp_btf, raw_tp as the fallback). Everything is fd-scoped: a `kill -9` leaves nothing attached.
 */
import { type BpfObject, type PerfEvent, findBpfObject, openObject, openSamplerPerCpu, readStack } from '../../kernel/bpf/index.js';
import { cString } from '../../kernel/bpf/selftest.js';
import { isNativeError, requireNative } from '../../kernel/native.js';
import type { Coverage } from '../../contract/common.js';

export const PROFILE_OBJECT = 'profile';
/** struct prof_key (16 bytes) and struct prof_value (32 bytes). */
export const PROFILE_KEY_LAYOUT = { tgid: 0, kstack: 4, ustack: 8, size: 16 } as const;
export const PROFILE_VALUE_LAYOUT = { count: 0, cgroupId: 8, comm: 16, commLen: 16, size: 32 } as const;
/** bpf_get_stackid's "no such part": user mode has no kernel stack, a kernel thread no user stack. */
export const EFAULT = -14;

export interface RawProfileCount {
  tgid: number;
  /** Stack map ids; negative: the bpf_get_stackid error. */
  kstack: number;
  ustack: number;
  /** Samples (on-CPU) or nanoseconds blocked (off-CPU). */
  count: number;
  cgroupId: bigint;
  comm: string;
}

export function decodeProfileCount(key: Buffer, value: Buffer): RawProfileCount {
  const K = PROFILE_KEY_LAYOUT;
  const V = PROFILE_VALUE_LAYOUT;
  if (key.length < K.size || value.length < V.size) throw new Error('profile count entry is too short');
  return {
    tgid: key.readUInt32LE(K.tgid),
    kstack: key.readInt32LE(K.kstack),
    ustack: key.readInt32LE(K.ustack),
    count: Number(value.readBigUInt64LE(V.count)),
    cgroupId: value.readBigUInt64LE(V.cgroupId),
    comm: cString(value, V.comm, V.commLen),
  };
}

export interface SamplerOptions {
  hz: number;
  offCpu: boolean;
  /** Only this process (filtered in the kernel). */
  pid?: number;
}

export interface SamplerTotals {
  total: number;
  idle: number;
  dropped: number;
  stackErrors: number;
}

export interface Sampler {
  /** `cycles`, `cpu-clock` or `sched_switch`. */
  readonly event: string;
  readonly method: Record<string, string>;
  readonly coverage: Coverage[];
  counts(): RawProfileCount[];
  stack(id: number): bigint[];
  totals(): SamplerTotals;
  close(): void;
}

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function load(path: string, o: SamplerOptions, switchFlavour: 'tp_btf' | 'raw_tp'): BpfObject {
  const obj = openObject(path);
  try {
    obj.setAutoload('oscope_prof_sample', !o.offCpu);
    obj.setAutoload('oscope_prof_switch', o.offCpu && switchFlavour === 'tp_btf');
    obj.setAutoload('oscope_prof_switch_r', o.offCpu && switchFlavour === 'raw_tp');
    obj.setRodata('targ_tgid', o.pid ?? 0);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

/** Loads and attaches the sampler, or says in one sentence why it cannot run here. */
export function startSampler(o: SamplerOptions): { sampler: Sampler } | { unavailable: string } {
  const found = findBpfObject(PROFILE_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  let native;
  try {
    native = requireNative();
  } catch (err) {
    return { unavailable: errText(err) };
  }
  let obj: BpfObject | undefined;
  let event = 'sched_switch';
  const method: Record<string, string> = {};
  const coverage: Coverage[] = [];
  const events: PerfEvent[] = [];
  try {
    if (o.offCpu) {
      let first: unknown;
      for (const f of ['tp_btf', 'raw_tp'] as const) {
        try {
          obj = load(found.path, o, f);
          if (f === 'tp_btf') obj.program('oscope_prof_switch').attachTrace();
          else obj.program('oscope_prof_switch_r').attachRawTracepoint('sched_switch');
          method.sampling = `${f} sched_switch: a task leaving the CPU while not runnable records the time and its kernel and user stacks (stack map); the time until it runs again is added to its (process, kernel stack, user stack) bucket in a BPF hash map`;
          break;
        } catch (err) {
          obj?.close();
          obj = undefined;
          first ??= err;
        }
      }
      if (!obj) return { unavailable: `the off-CPU BPF program did not load or attach (${errText(first)})` };
    } else {
      obj = load(found.path, o, 'tp_btf');
      const cpus = Array.from({ length: native.numPossibleCpus() }, (_, i) => i);
      let perCpu: Array<{ cpu: number; event: PerfEvent }>;
      try {
        perCpu = openSamplerPerCpu('cycles', o.hz, cpus);
        event = 'cycles';
      } catch (err) {
        perCpu = openSamplerPerCpu('cpu-clock', o.hz, cpus);
        event = 'cpu-clock';
        coverage.push({ section: 'event', status: 'partial', reason: `no hardware PMU that samples CPU cycles (${errText(err)}; common in VMs): sampled with the cpu-clock software timer, which cannot see code that runs with interrupts off` });
      }
      for (const p of perCpu) {
        events.push(p.event);
        obj.program('oscope_prof_sample').attachPerfEvent(p.event);
      }
      method.sampling = `perf_event ${event} at ${o.hz} Hz on each of ${perCpu.length} CPUs: a BPF program takes the kernel and user stacks (bpf_get_stackid, frame-pointer unwinding) and counts samples per (process, kernel stack, user stack) in a BPF hash map`;
    }
  } catch (err) {
    for (const e of events) e.close();
    obj?.close();
    return { unavailable: `the profile BPF program did not load or attach (${errText(err)})` };
  }
  const loaded = obj;
  let closed = false;
  const bss = (name: string): number => {
    const off = loaded.globals().find((g) => g.name === name)?.offset;
    if (closed || off === undefined) return 0;
    const v = loaded.map('.bss').lookup(Buffer.alloc(4));
    return v && v.length >= off + 8 ? Number(v.readBigUInt64LE(off)) : 0;
  };
  const sampler: Sampler = {
    event,
    method,
    coverage,
    counts: () => (closed ? [] : loaded.map('counts').dump().entries.map((e) => decodeProfileCount(e.key, e.value))),
    stack: (id) => (closed ? [] : readStack(loaded.map('stacks'), id)),
    totals: () => ({ total: bss('total_samples'), idle: bss('idle_samples'), dropped: bss('dropped'), stackErrors: bss('stack_errors') }),
    close: () => {
      if (closed) return;
      closed = true;
      loaded.close();
      for (const e of events) e.close();
    },
  };
  return { sampler };
}
