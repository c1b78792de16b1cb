/**
 * The BPF side of `oscope runlatency` (bpf/runlatency.bpf.c): the TypeScript mirror of bpf/runlatency.h
 * and the tracer that loads, configures and attaches the programs.
 *
 * Programs are tp_btf (raw_tp when the kernel has no tp_btf) plus one perf_event program on a software
 * cpu-clock event per CPU, and for irqoff, where the CPU has a PMU (x86-64), the hardware NMI watchdog:
 * a perf_event program on a pinned cycles event per CPU. All of it is fd-scoped: a `kill -9` at any
 * moment leaves nothing attached.
 */
import { type BpfObject, type PerfEvent, findBpfObject, openCpuClockPerCpu, openNmiWatchdogPerCpu, openObject, readStack } from '../../kernel/bpf/index.js';
import { cString } from '../../kernel/bpf/selftest.js';
import { isNativeError, requireNative } from '../../kernel/native.js';
import type { CoverageEntry, KindThresholds } from './types.js';

export const RUNLATENCY_OBJECT = 'runlatency';

/** enum rl_kind */
export const RL_KIND = { runqueue: 1, nosched: 2, irqoff: 3, softirqDelay: 4, softirqRun: 5, hardirq: 6 } as const;
export type RlKind = keyof typeof RL_KIND;

/** Offsets of struct rl_event (120 bytes). */
export const RL_EVENT_LAYOUT = {
  tsNs: 0,
  latencyNs: 8,
  cgroupId: 16,
  kind: 24,
  cpu: 28,
  pid: 32,
  tgid: 36,
  culpritPid: 40,
  culpritTgid: 44,
  stackId: 48,
  extra: 52,
  comm: 56,
  culpritComm: 72,
  name: 88,
  commLen: 16,
  nameLen: 32,
  size: 120,
} as const;

export const RL_HIST_SLOTS = 32;
/** struct rl_hist: slots[32], count, sum_ns, max_ns. */
export const RL_HIST_SIZE = (RL_HIST_SLOTS + 3) * 8;

/** Softirq vector names (enum in include/linux/interrupt.h), stable since 2.6.x. */
export const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'] as const;

export interface RawLatencyEvent {
  kind: RlKind;
  /** CLOCK_MONOTONIC (bpf_ktime_get_ns) when the delay ended. */
  tsNs: bigint;
  latencyNs: number;
  cgroupId: bigint;
  cpu: number;
  pid: number;
  tgid: number;
  culpritPid: number;
  culpritTgid: number;
  stackId: number;
  /** Softirq vector or IRQ number. */
  extra: number;
  comm: string;
  culpritComm: string;
  /** IRQ handler name. */
  name: string;
  /**
   * irqoff (cpu-clock): the interrupted stack's first words when the unwinder stopped within a couple of
   * frames (struct rl_scan in bpf/runlatency.h); the symboliser picks the kernel text addresses.
   */
  scan?: bigint[];
}

/** The words of a struct rl_scan value, trailing zeros dropped. */
export function decodeScan(value: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let off = 0; off + 8 <= value.length; off += 8) out.push(value.readBigUInt64LE(off));
  while (out.length && out[out.length - 1] === 0n) out.pop();
  return out;
}

export function decodeLatencyEvent(b: Buffer): RawLatencyEvent {
  const L = RL_EVENT_LAYOUT;
  if (b.length < L.size) throw new Error(`runlatency event is ${b.length} bytes, expected ${L.size}`);
  const code = b.readUInt32LE(L.kind);
  const kind = (Object.keys(RL_KIND) as RlKind[]).find((k) => RL_KIND[k] === code);
  if (!kind) throw new Error(`runlatency event has unknown kind ${code}`);
  return {
    kind,
    tsNs: b.readBigUInt64LE(L.tsNs),
    latencyNs: Number(b.readBigUInt64LE(L.latencyNs)),
    cgroupId: b.readBigUInt64LE(L.cgroupId),
    cpu: b.readUInt32LE(L.cpu),
    pid: b.readUInt32LE(L.pid),
    tgid: b.readUInt32LE(L.tgid),
    culpritPid: b.readUInt32LE(L.culpritPid),
    culpritTgid: b.readUInt32LE(L.culpritTgid),
    stackId: b.readInt32LE(L.stackId),
    extra: b.readUInt32LE(L.extra),
    comm: cString(b, L.comm, L.commLen),
    culpritComm: cString(b, L.culpritComm, L.commLen),
    name: cString(b, L.name, L.nameLen),
  };
}

export interface RawHistogram {
  cgroupId: bigint;
  cpu: number;
  /** Counts per log2-µs slot. */
  slots: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}

export function decodeHistogram(key: Buffer, value: Buffer): RawHistogram {
  if (key.length < 16 || value.length < RL_HIST_SIZE) throw new Error('runlatency histogram entry is too short');
  const slots: number[] = [];
  for (let i = 0; i < RL_HIST_SLOTS; i++) slots.push(Number(value.readBigUInt64LE(i * 8)));
  const o = RL_HIST_SLOTS * 8;
  return {
    cgroupId: key.readBigUInt64LE(0),
    cpu: key.readUInt32LE(8),
    slots,
    count: Number(value.readBigUInt64LE(o)),
    sumNs: Number(value.readBigUInt64LE(o + 8)),
    maxNs: Number(value.readBigUInt64LE(o + 16)),
  };
}

/** Tracepoint programs: name (tp_btf) → tracepoint; the raw_tp twin is `${name}_r`. */
export const RL_TRACEPOINTS: Record<string, { tp: string; kinds: Array<keyof KindThresholds> }> = {
  oscope_rl_wake: { tp: 'sched_wakeup', kinds: ['runqueue'] },
  oscope_rl_wnew: { tp: 'sched_wakeup_new', kinds: ['runqueue'] },
  oscope_rl_switch: { tp: 'sched_switch', kinds: ['runqueue', 'nosched'] },
  oscope_rl_sraise: { tp: 'softirq_raise', kinds: ['softirq'] },
  oscope_rl_sentry: { tp: 'softirq_entry', kinds: ['softirq'] },
  oscope_rl_sexit: { tp: 'softirq_exit', kinds: ['softirq'] },
  oscope_rl_hentry: { tp: 'irq_handler_entry', kinds: ['hardirq', 'irqoff'] },
  oscope_rl_hexit: { tp: 'irq_handler_exit', kinds: ['hardirq'] },
  oscope_rl_ltimer: { tp: 'local_timer_entry', kinds: ['irqoff'] },
};
/** Programs whose attach failure only makes a detector less precise (x86-only tracepoints). */
const OPTIONAL = new Set(['oscope_rl_ltimer']);
export const RL_TICK_PROGRAM = 'oscope_rl_tick';
export const RL_NMI_PROGRAM = 'oscope_rl_nmi';

/**
 * How irqoff is measured: `auto` uses the hardware NMI watchdog where the CPU has a PMU that samples
 * (x86-64) and the cpu-clock late-sample method elsewhere; `nmi` only the NMI watchdog (irqoff is
 * unavailable without it); `cpu-clock` never the PMU.
 */
export type IrqoffMethod = 'auto' | 'nmi' | 'cpu-clock';

export interface TracerOptions {
  thresholds: KindThresholds;
  /** cpu-clock sampling period for irqoff/nosched (ms). */
  samplePeriodMs: number;
  /** Only this process (tgid). */
  pid?: number;
  /** Only this cgroup (kernfs id = directory inode) of the hierarchy `cgroupSsid` says. */
  cgroupId?: bigint;
  /** The hierarchy of cgroup ids (filter, events, histograms): undefined = cgroup v2, else the v1 hierarchy of the controller with this subsystem id. */
  cgroupSsid?: number;
  /** Only this CPU. */
  cpu?: number;
  /** irqoff method (default auto). */
  irqoffMethod?: IrqoffMethod;
  /**
   * @internal Tests on hosts without a PMU: run the NMI watchdog program on cpu-clock events, with the
   * interrupted context's interrupt flag set by `nmiSelftestIrqs()` ('flag-map'), or read from the
   * registers as on the real NMI ('registers': the timer interrupt only comes with interrupts on, so
   * nothing may be reported).
   */
  nmiSelftest?: 'flag-map' | 'registers';
  /** Collect wakeup-to-run histograms (default true). */
  histograms?: boolean;
  /** Histograms per (cgroup, CPU) (default true); false: per CPU only, a few map entries. */
  histogramsByCgroup?: boolean;
  onEvent: (e: RawLatencyEvent) => void;
}

export interface LatencyTracer {
  /** How each kind is measured, for the report. */
  readonly method: Record<string, string>;
  readonly coverage: CoverageEntry[];
  histograms(): RawHistogram[];
  /** Kernel stack addresses of a stack id ([] when unknown). */
  stack(id: number): bigint[];
  lostEvents(): number;
  /** Late cpu-clock samples with task switches or IRQs during the gap (irqs were on: not irq-off). */
  timerGaps(): number;
  /** @internal With `nmiSelftest`: what the NMI program reads as the interrupt flag from now on. */
  nmiSelftestIrqs?(on: boolean): void;
  close(): void;
}

/** The NMI watchdog's events, or why there are none. */
type NmiPlan = { events: Array<{ cpu: number; event: PerfEvent }>; freqHz: number; selftest: 'flag-map' | 'registers' | undefined } | { why: string };

/** Opens the NMI watchdog's per-CPU events when the method and the CPU allow it. */
function planNmi(o: TracerOptions, cpus: number[]): NmiPlan | undefined {
  const method = o.irqoffMethod ?? 'auto';
  if (o.thresholds.irqoff <= 0 || method === 'cpu-clock') return undefined;
  const freqHz = 1000 / o.samplePeriodMs;
  if (o.nmiSelftest) {
    try {
      return { events: openCpuClockPerCpu(Math.round(o.samplePeriodMs * 1e6), cpus), freqHz, selftest: o.nmiSelftest };
    } catch (err) {
      return { why: `cpu-clock perf events: ${errText(err)}` };
    }
  }
  const r = openNmiWatchdogPerCpu(freqHz, cpus);
  return 'unavailable' in r ? { why: r.unavailable } : { events: r.events, freqHz: r.freqHz, selftest: undefined };
}

const ms2ns = (ms: number): bigint => BigInt(Math.round(ms * 1e6));

/** What loadWith needs to know about irqoff: which program measures it, and whether it runs at all. */
interface IrqoffSetup {
  on: boolean;
  nmi: boolean;
  nmiPeriodNs: bigint;
  selftest: boolean;
}

function loadWith(path: string, flavour: 'tp_btf' | 'raw_tp', o: TracerOptions, optional: boolean, irq: IrqoffSetup): BpfObject {
  const obj = openObject(path);
  try {
    for (const name of Object.keys(RL_TRACEPOINTS)) {
      const on = optional || !OPTIONAL.has(name);
      obj.setAutoload(name, on && flavour === 'tp_btf');
      obj.setAutoload(`${name}_r`, on && flavour === 'raw_tp');
    }
    const th = o.thresholds;
    obj
      .setRodata('runq_thresh_ns', ms2ns(th.runqueue))
      .setRodata('nosched_thresh_ns', ms2ns(th.nosched))
      .setRodata('irqoff_thresh_ns', irq.on ? ms2ns(th.irqoff) : 0n)
      .setRodata('softirq_thresh_ns', ms2ns(th.softirq))
      .setRodata('hardirq_thresh_ns', ms2ns(th.hardirq))
      .setRodata('sample_period_ns', ms2ns(o.samplePeriodMs))
      .setRodata('targ_tgid', o.pid ?? 0)
      .setRodata('targ_cgid', o.cgroupId ?? 0n)
      .setRodata('targ_ssid', o.cgroupSsid ?? -1)
      .setRodata('hist_by_cgroup', o.histogramsByCgroup ?? true)
      .setRodata('targ_cpu', o.cpu ?? -1)
      .setRodata('want_hist', o.histograms ?? true)
      .setRodata('irqoff_nmi', irq.nmi)
      .setRodata('nmi_period_ns', irq.nmiPeriodNs)
      .setRodata('nmi_selftest', irq.selftest);
    obj.setAutoload(RL_NMI_PROGRAM, irq.nmi);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** Loads and attaches the tracer, or says in one sentence why it cannot run here. */
export function startBpfTracer(o: TracerOptions): { tracer: LatencyTracer } | { unavailable: string } {
  const found = findBpfObject(RUNLATENCY_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  let native;
  try {
    native = requireNative();
  } catch (err) {
    return { unavailable: errText(err) };
  }
  const cpus = Array.from({ length: native.numPossibleCpus() }, (_, i) => i);
  const nmi = planNmi(o, cpus);
  const nmiEvents = nmi && 'events' in nmi ? nmi : undefined;
  const nmiOnly = (o.irqoffMethod ?? 'auto') === 'nmi';
  const irq: IrqoffSetup = {
    on: o.thresholds.irqoff > 0 && (!nmiOnly || nmiEvents !== undefined),
    nmi: nmiEvents !== undefined,
    nmiPeriodNs: BigInt(Math.round(1e9 / (nmiEvents?.freqHz ?? 1000))),
    selftest: nmiEvents?.selftest === 'flag-map',
  };
  const closeNmi = (): void => {
    for (const e of nmiEvents?.events ?? []) e.event.close();
  };
  let flavour: 'tp_btf' | 'raw_tp' = 'tp_btf';
  // tp_btf with the optional (arch-specific) programs, then without them, then the same with raw_tp.
  const attempts: Array<['tp_btf' | 'raw_tp', boolean]> = [['tp_btf', true], ['tp_btf', false], ['raw_tp', true], ['raw_tp', false]];
  let first: unknown;
  let loaded: BpfObject | undefined;
  let withOptional = true;
  for (const [f, opt] of attempts) {
    try {
      loaded = loadWith(found.path, f, o, opt, irq);
      flavour = f;
      withOptional = opt;
      break;
    } catch (err) {
      first ??= err;
    }
  }
  if (!loaded) {
    closeNmi();
    return { unavailable: `the runlatency BPF programs did not load (${errText(first)})` };
  }
  const obj: BpfObject = loaded;
  const coverage: CoverageEntry[] = [];
  const method: Record<string, string> = {};
  const perf: PerfEvent[] = (nmiEvents?.events ?? []).map((e) => e.event);
  const failedKinds = new Map<string, string>();
  if (o.thresholds.irqoff > 0 && !irq.on && nmi && 'why' in nmi) failedKinds.set('irqoff', `no hardware NMI watchdog (--threshold lat.irqoffNmi=2 asks for it alone): ${nmi.why}`);
  try {
    for (const name of Object.keys(RL_TRACEPOINTS)) {
      const spec = RL_TRACEPOINTS[name]!;
      if (OPTIONAL.has(name) && !withOptional) continue;
      if (spec.kinds.every((k) => o.thresholds[k] <= 0) && !(name.includes('wak') || name.includes('switch'))) continue;
      try {
        if (flavour === 'tp_btf') obj.program(name).attachTrace();
        else obj.program(`${name}_r`).attachRawTracepoint(spec.tp);
      } catch (err) {
        if (!OPTIONAL.has(name)) for (const k of spec.kinds) failedKinds.set(k, `${spec.tp}: ${errText(err)}`);
      }
    }
    if (nmiEvents) {
      try {
        const prog = obj.program(RL_NMI_PROGRAM);
        for (const e of nmiEvents.events) prog.attachPerfEvent(e.event);
      } catch (err) {
        failedKinds.set('irqoff', `NMI watchdog attach: ${errText(err)}`);
      }
    }
    const wantTick = (irq.on && !irq.nmi) || o.thresholds.nosched > 0;
    if (wantTick) {
      try {
        const events = openCpuClockPerCpu(Math.round(o.samplePeriodMs * 1e6), cpus);
        for (const e of events) perf.push(e.event);
        const tick = obj.program(RL_TICK_PROGRAM);
        for (const e of events) tick.attachPerfEvent(e.event);
      } catch (err) {
        for (const k of irq.nmi ? ['nosched'] : ['irqoff', 'nosched']) failedKinds.set(k, `cpu-clock perf events: ${errText(err)}`);
      }
    }
  } catch (err) {
    obj.close();
    for (const p of perf) p.close();
    return { unavailable: `the runlatency BPF programs did not attach (${errText(err)})` };
  }
  const tp = flavour === 'tp_btf' ? 'tp_btf' : 'raw_tp';
  method.runqueue = `${tp} sched_wakeup/sched_wakeup_new/sched_switch (wakeup-to-run; culprit = longest runner of the CPU while waiting)`;
  method.nosched = `cpu-clock perf_event every ${o.samplePeriodMs} ms (kernel mode, rq->nr_running > 1) + ${tp} sched_switch`;
  if (nmiEvents) {
    method.irqoff = nmiEvents.selftest
      ? `NMI watchdog self-test on cpu-clock events every ${o.samplePeriodMs} ms (the interrupt flag ${nmiEvents.selftest === 'flag-map' ? 'is set by the test' : 'comes from the registers'})`
      : `hardware NMI watchdog: a pinned cycles perf_event per CPU at ${nmiEvents.freqHz} Hz (runs of samples whose interrupted context had EFLAGS.IF clear; the stack is inside the section; hypervisor steal told apart with /proc/stat)`;
  } else {
    const why = nmi && 'why' in nmi ? `; no hardware NMI watchdog: ${nmi.why}` : '';
    method.irqoff = `cpu-clock perf_event every ${o.samplePeriodMs} ms (hrtimer samples later than period + threshold that land in kernel code of a non-idle task with no interrupt taken during the gap; the stack is where the section ended; hypervisor steal told apart with /proc/stat${why})`;
  }
  method.softirq = `${tp} softirq_raise/entry/exit`;
  method.hardirq = `${tp} irq_handler_entry/exit`;
  for (const k of ['irqoff', 'softirq', 'hardirq', 'nosched', 'runqueue'] as const) {
    if (k === 'runqueue' && o.thresholds[k] <= 0 && (o.histograms ?? true) && !failedKinds.has(k)) {
      coverage.push({ section: k, status: 'partial', reason: 'histograms only (no events: threshold 0)' });
      method.runqueue = `${tp} sched_wakeup/sched_wakeup_new/sched_switch (wakeup-to-run histograms only)`;
    } else if (o.thresholds[k] <= 0) {
      coverage.push({ section: k, status: 'unavailable', reason: 'turned off (threshold 0)' });
      delete method[k];
    } else if (failedKinds.has(k)) {
      coverage.push({ section: k, status: 'unavailable', reason: failedKinds.get(k)! });
      delete method[k];
    } else if (k === 'irqoff') {
      const why = nmi && 'why' in nmi ? `: no hardware NMI watchdog (${nmi.why})` : '';
      coverage.push({ section: k, status: 'complete', reason: nmiEvents ? (nmiEvents.selftest ? 'NMI watchdog self-test' : 'hardware NMI watchdog') : `cpu-clock late samples${why}` });
    } else coverage.push({ section: k, status: 'complete' });
  }
  const rb = obj.ringBuffer('events', {
    onRecords: (recs) => {
      for (const r of recs) {
        try {
          const e = decodeLatencyEvent(r);
          if (e.kind === 'irqoff' && !closed) {
            const key = Buffer.alloc(16);
            key.writeBigUInt64LE(e.tsNs, 0);
            key.writeUInt32LE(e.cpu, 8);
            const scans = obj.map('scans');
            const v = scans.lookup(key);
            if (v) {
              e.scan = decodeScan(v);
              scans.delete(key);
            }
          }
          o.onEvent(e);
        } catch {
          /* a malformed record: skip */
        }
      }
    },
  });
  rb.unref();
  const bssU64 = (name: string): number => {
    const off = obj.globals().find((g) => g.name === name)?.offset;
    if (closed || off === undefined) return 0;
    const v = obj.map('.bss').lookup(Buffer.alloc(4));
    return v && v.length >= off + 8 ? Number(v.readBigUInt64LE(off)) : 0;
  };
  let closed = false;
  const tracer: LatencyTracer = {
    method,
    coverage,
    histograms: () => {
      if (closed) return [];
      return obj.map('hists').dump().entries.map((e) => decodeHistogram(e.key, e.value));
    },
    stack: (id) => (closed ? [] : readStack(obj.map('stacks'), id)),
    lostEvents: () => bssU64('lost_events'),
    timerGaps: () => bssU64('timer_gaps'),
    nmiSelftestIrqs: (on) => {
      if (!irq.selftest) throw new Error("the tracer was not started with nmiSelftest: 'flag-map'");
      if (closed) return;
      const v = Buffer.alloc(4);
      v.writeUInt32LE(on ? 1 : 0);
      obj.map('nmi_selftest_if').update(Buffer.alloc(4), v);
    },
    close: () => {
      if (closed) return;
      closed = true;
      obj.close();
      for (const p of perf) p.close();
    },
  };
  return { tracer };
}

