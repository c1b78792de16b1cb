/**
 * perf_event_open(2) events, fd-scoped: the event disappears when the fd closes or the process dies.
 * Used as BPF attach points (a cpu-clock sampler per CPU runs a perf_event program on each tick), and
 * on their own without BPF: open with `mmapPages` and a `sampleType`, then `readSamples()` from a timer
 * decodes the kernel's sample ring (ip, pid/tid, time, cpu, period, call chains).
 */
import { type FdHandle, type NativeAddon, type PerfEventOptions, requireNative } from '../native.js';
import { readFileSync } from 'node:fs';
import { PERF_COUNT_HW_CPU_CYCLES, PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE } from './constants.js';

export class PerfEvent {
  private handle: FdHandle | undefined;

  constructor(
    private readonly native: NativeAddon,
    handle: FdHandle,
    readonly options: PerfEventOptions,
  ) {
    this.handle = handle;
  }

  static open(opts: PerfEventOptions): PerfEvent {
    const native = requireNative();
    return new PerfEvent(native, native.perfEventOpen(opts), opts);
  }

  /** @internal */
  get nativeHandle(): FdHandle {
    if (!this.handle) throw new Error('the perf event is closed');
    return this.handle;
  }

  get fd(): number {
    return this.native.fdNumber(this.nativeHandle);
  }

  /** The records in the sample ring since the last read, decoded per the event's sampleType. */
  readSamples(): PerfRecords {
    return decodePerfRecords(this.native.perfEventReadRing(this.nativeHandle), Number(this.options.sampleType ?? 0));
  }

  enable(): void {
    this.native.perfEventEnable(this.nativeHandle);
  }

  disable(): void {
    this.native.perfEventDisable(this.nativeHandle);
  }

  close(): void {
    if (!this.handle) return;
    this.native.fdClose(this.handle);
    this.handle = undefined;
  }
}

/** Opens one event per CPU; CPUs that are offline (ENODEV) are left out. All or nothing otherwise. */
function openPerCpu(cpus: readonly number[], opts: (cpu: number) => PerfEventOptions): Array<{ cpu: number; event: PerfEvent }> {
  const out: Array<{ cpu: number; event: PerfEvent }> = [];
  try {
    for (const cpu of cpus) {
      try {
        out.push({ cpu, event: PerfEvent.open(opts(cpu)) });
      } catch (err) {
        if ((err as { code?: string }).code === 'ENODEV') continue;
        throw err;
      }
    }
  } catch (err) {
    for (const e of out) e.event.close();
    throw err;
  }
  return out;
}

/**
 * One software cpu-clock sampler per CPU (all tasks), firing every `periodNs` of CPU time. CPUs that
 * are offline (ENODEV) are left out; the list says which CPU each event is on.
 */
export function openCpuClockPerCpu(periodNs: number, cpus: readonly number[]): Array<{ cpu: number; event: PerfEvent }> {
  return openPerCpu(cpus, (cpu) => ({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, cpu, pid: -1, samplePeriod: periodNs }));
}

/**
 * One sampler per CPU (all tasks) at `freqHz` samples per second of CPU time, for profiling: hardware
 * CPU cycles when `event` is `cycles` (throws ENOENT/EOPNOTSUPP without a PMU, as in most VMs), the
 * cpu-clock software timer when `cpu-clock` (always there). Frequency mode: the kernel adjusts the period.
 */
export function openSamplerPerCpu(event: 'cycles' | 'cpu-clock', freqHz: number, cpus: readonly number[]): Array<{ cpu: number; event: PerfEvent }> {
  const hw = event === 'cycles';
  return openPerCpu(cpus, (cpu) => ({
    type: hw ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE,
    config: hw ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK,
    cpu,
    pid: -1,
    sampleFreq: freqHz,
  }));
}

export const PERF_MAX_SAMPLE_RATE_PATH = '/proc/sys/kernel/perf_event_max_sample_rate';

/**
 * One pinned hardware CPU-cycles sampler per CPU (all tasks) at `freqHz` samples per second of busy
 * CPU, capped at kernel.perf_event_max_sample_rate: on x86 the PMU's overflow interrupt is an NMI, so
 * the samples also land where interrupts are off (the irq-off watchdog). Pinned: the counter is never
 * multiplexed away, so the samples have no holes. Throws when the CPU has no PMU (ENOENT, as in most
 * VMs without a virtual PMU), the PMU cannot sample (EOPNOTSUPP) or its counters are taken.
 */
export function openCyclesPerCpu(freqHz: number, cpus: readonly number[]): { freqHz: number; events: Array<{ cpu: number; event: PerfEvent }> } {
  let cap = Infinity;
  try {
    const v = Number(readFileSync(PERF_MAX_SAMPLE_RATE_PATH, 'utf8').trim());
    if (Number.isFinite(v) && v > 0) cap = v;
  } catch {
    /* no such sysctl: the kernel says EINVAL if the rate is too high */
  }
  const freq = Math.max(1, Math.min(Math.round(freqHz), cap));
  const events = openPerCpu(cpus, (cpu) => ({ type: PERF_TYPE_HARDWARE, config: PERF_COUNT_HW_CPU_CYCLES, cpu, pid: -1, sampleFreq: freq, pinned: true }));
  return { freqHz: freq, events };
}

/**
 * The irq-off NMI watchdog's events (openCyclesPerCpu), or one sentence on why this host has none:
 * only x86 takes the PMU overflow as an NMI whose saved registers say whether interrupts were on
 * (arm64 masks them with the GIC priority under pseudo-NMI, which BPF's registers do not show).
 */
export function openNmiWatchdogPerCpu(freqHz: number, cpus: readonly number[]): ReturnType<typeof openCyclesPerCpu> | { unavailable: string } {
  if (process.arch !== 'x64') return { unavailable: `the NMI watchdog reads x86 EFLAGS.IF; this is ${process.arch}` };
  try {
    return openCyclesPerCpu(freqHz, cpus);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return {
      unavailable:
        code === 'ENOENT' || code === 'EOPNOTSUPP'
          ? `no hardware PMU that samples CPU cycles (perf_event_open: ${code}; common in VMs without a virtual PMU)`
          : `perf_event_open of a pinned cycles event failed (${err instanceof Error ? err.message.split('\n')[0]! : String(err)})`,
    };
  }
}

/** perf_event_attr.sample_type bits this decoder understands. */
export const PERF_SAMPLE = {
  IP: 1 << 0,
  TID: 1 << 1,
  TIME: 1 << 2,
  ADDR: 1 << 3,
  ID: 1 << 6,
  CPU: 1 << 7,
  PERIOD: 1 << 8,
  CALLCHAIN: 1 << 5,
} as const;

const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** Call chain context markers (enum perf_callchain_context), as unsigned 64-bit values. */
const PERF_CONTEXT_KERNEL = 0xffffffffffffff80n;
const PERF_CONTEXT_USER = 0xfffffffffffffe00n;
const PERF_CONTEXT_MAX = 0xfffffffffffff001n;

export interface PerfSample {
  ip?: bigint;
  pid?: number;
  tid?: number;
  timeNs?: bigint;
  addr?: bigint;
  id?: bigint;
  cpu?: number;
  period?: bigint;
  /** Kernel frames of the call chain, innermost first. */
  kernelStack?: bigint[];
  /** User frames of the call chain, innermost first. */
  userStack?: bigint[];
}

export interface PerfRecords {
  samples: PerfSample[];
  /** Samples the kernel dropped because the ring was full (PERF_RECORD_LOST). */
  lost: number;
  /** Records of other types (mmap, comm, ...), skipped. */
  other: number;
}

/** Decodes raw perf ring records (perf_event_header + body) for a given sample_type. */
export function decodePerfRecords(buf: Buffer, sampleType: number): PerfRecords {
  const known = Object.values(PERF_SAMPLE).reduce((a, b) => a | b, 0);
  if ((sampleType & ~known) !== 0) throw new Error(`sample_type 0x${sampleType.toString(16)} has fields this decoder does not read`);
  const out: PerfRecords = { samples: [], lost: 0, other: 0 };
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf.readUInt32LE(off);
    const size = buf.readUInt16LE(off + 6);
    if (size < 8 || off + size > buf.length) break;
    const end = off + size;
    let p = off + 8;
    const u64 = (): bigint => {
      if (p + 8 > end) throw new Error('truncated perf record');
      const v = buf.readBigUInt64LE(p);
      p += 8;
      return v;
    };
    if (type === PERF_RECORD_LOST) {
      u64();
      out.lost += Number(u64());
    } else if (type === PERF_RECORD_SAMPLE) {
      const s: PerfSample = {};
      if (sampleType & PERF_SAMPLE.IP) s.ip = u64();
      if (sampleType & PERF_SAMPLE.TID) {
        const v = u64();
        s.pid = Number(v & 0xffffffffn);
        s.tid = Number(v >> 32n);
      }
      if (sampleType & PERF_SAMPLE.TIME) s.timeNs = u64();
      if (sampleType & PERF_SAMPLE.ADDR) s.addr = u64();
      if (sampleType & PERF_SAMPLE.ID) s.id = u64();
      if (sampleType & PERF_SAMPLE.CPU) s.cpu = Number(u64() & 0xffffffffn);
      if (sampleType & PERF_SAMPLE.PERIOD) s.period = u64();
      if (sampleType & PERF_SAMPLE.CALLCHAIN) {
        const nr = Number(u64());
        let ctx: 'kernel' | 'user' | 'other' = 'other';
        s.kernelStack = [];
        s.userStack = [];
        for (let i = 0; i < nr; i++) {
          const ip = u64();
          if (ip >= PERF_CONTEXT_MAX) {
            ctx = ip === PERF_CONTEXT_KERNEL ? 'kernel' : ip === PERF_CONTEXT_USER ? 'user' : 'other';
          } else if (ctx === 'kernel') {
            s.kernelStack.push(ip);
          } else if (ctx === 'user') {
            s.userStack.push(ip);
          }
        }
      }
      out.samples.push(s);
    } else {
      out.other++;
    }
    off = end;
  }
  return out;
}
