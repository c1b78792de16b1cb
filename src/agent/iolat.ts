/**
 * The agent's always-on block I/O latency histogram: bpf/iolat.bpf.c kept attached for the agent's life
 * (links and maps are fd-scoped: a SIGKILL detaches them), its per-CPU (disk, stage) log2 histograms read
 * every interval. This file is also the TypeScript mirror of bpf/iolat.h.
 *
 * The kernel side counts cumulatively since attach. Prometheus gets those cumulative counts regrouped
 * into the run-queue histogram's buckets (`PROM_LE_S`, every fourth power of two from 16 µs to ~4.2 s);
 * the console sample gets, per disk and stage, this interval's count, mean and log2-bucket percentiles
 * (±50 %, the rule of `oscope io` and `oscope runlatency`).
 *
 * Stages (as in `oscope io`): queue = bio submitted → request inserted into the I/O scheduler (or issued,
 * without one); sched = inserted → dispatched; device = dispatched → completed; wake = completed → the
 * task asleep in iowait for it running again.
 *
 * Without the wake stage (the agent's default) the device stage comes from the dispatch time the block
 * layer stamps on each request, read at completion (one program for every request), and the queue and
 * sched stages from a sample of 1 request in 4 whose counts stand for 4 (bpf/iolat.bpf.c, "the stamped
 * path"): on this VM's virtio disk about half the classic path's BPF time per request (bench/io.ts).
 */
import { type BpfObject, findBpfObject, openObject, perCpu } from '../kernel/bpf/index.js';
import { isNativeError, requireNative } from '../kernel/native.js';
import { histogramOf } from '../diagnose/latency/analyze.js';
import { IO_STAGES, type IoStageName } from '../contract/io.js';

export const IOLAT_OBJECT = 'iolat';
export const IOLAT_HIST_SLOTS = 32;
/** The map's key: the kernel dev_t (u32). */
export const IOLAT_KEY_SIZE = 4;
/** struct iolat_hist: slots[32], count, sum_ns, max_ns (one CPU's share of one stage). */
export const IOLAT_HIST_SIZE = (IOLAT_HIST_SLOTS + 3) * 8;
/** struct iolat_disk: one iolat_hist per stage (one CPU's share of one disk). */
export const IOLAT_DISK_SIZE = IOLAT_HIST_SIZE * 4;
/** enum iolat_stage, in order (the same names and order as oscope.io/v1's stages). */
export const IOLAT_STAGES: readonly IoStageName[] = IO_STAGES;

/** Program name (tp_btf) → tracepoint; the raw_tp twin is `${name}_r`. */
export const IOLAT_TRACEPOINTS: Record<string, string> = {
  oscope_iolat_bioq: 'block_bio_queue',
  oscope_iolat_insert: 'block_rq_insert',
  oscope_iolat_bioq_s: 'block_bio_queue',
  oscope_iolat_insert_s: 'block_rq_insert',
  oscope_iolat_issue_s: 'block_rq_issue',
  oscope_iolat_issue: 'block_rq_issue',
  oscope_iolat_done: 'block_rq_complete',
  oscope_iolat_switch: 'sched_switch',
};

/** One (disk, stage) histogram, all CPUs summed, cumulative since attach. */
export interface DiskStageCumulative {
  /** Kernel dev_t (major << 20 | minor). */
  dev: number;
  stage: IoStageName;
  /** Per log2-µs slot (slot i = [2^i, 2^(i+1)) µs). */
  slots: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}

/**
 * Decodes one map entry: the disk (key) and the per-CPU value (one struct iolat_disk per possible CPU),
 * into one histogram per stage that has counts (CPUs summed, max of the maxima).
 */
export function decodeIolatEntry(key: Buffer, value: Buffer): DiskStageCumulative[] {
  if (key.length < IOLAT_KEY_SIZE || value.length < IOLAT_DISK_SIZE) throw new Error('iolat histogram entry is too short');
  const dev = key.readUInt32LE(0);
  const out = IOLAT_STAGES.map((stage): DiskStageCumulative => ({ dev, stage, slots: new Array<number>(IOLAT_HIST_SLOTS).fill(0), count: 0, sumNs: 0, maxNs: 0 }));
  for (const v of perCpu(value, IOLAT_DISK_SIZE)) {
    out.forEach((h, si) => {
      const base = si * IOLAT_HIST_SIZE;
      for (let i = 0; i < IOLAT_HIST_SLOTS; i++) h.slots[i]! += Number(v.readBigUInt64LE(base + i * 8));
      const o = base + IOLAT_HIST_SLOTS * 8;
      h.count += Number(v.readBigUInt64LE(o));
      h.sumNs += Number(v.readBigUInt64LE(o + 8));
      h.maxNs = Math.max(h.maxNs, Number(v.readBigUInt64LE(o + 16)));
    });
  }
  return out.filter((h) => h.count > 0);
}

/** "major:minor" of the kernel's internal dev_t (MINORBITS = 20). */
export function majMinOf(dev: number): string {
  return `${dev >>> 20}:${dev & 0xfffff}`;
}

/** One stage of one disk over the interval. */
export interface StageInterval {
  count: number;
  meanMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Exact when the cumulative max grew this interval, else the top of the highest non-empty bucket. */
  maxMs: number | null;
}

export interface DiskLatencyInterval {
  /** Kernel name (`vda`), or `major:minor` when /proc/diskstats does not list it. */
  disk: string;
  majMin: string;
  stages: Record<IoStageName, StageInterval>;
}

export interface IoLatencyReading {
  /** Cumulative (for the Prometheus histograms), with disk names. */
  cumulative: (DiskStageCumulative & { disk: string })[];
  /** This interval, per disk (disks without requests this interval left out). */
  interval: DiskLatencyInterval[];
}

const r3 = (n: number): number => Math.round(n * 1000) / 1000;
const EMPTY: StageInterval = { count: 0, meanMs: null, p50Ms: null, p99Ms: null, maxMs: null };

/** The interval between two cumulative readings of one (disk, stage). Counters that went backwards count as zero. Pure. */
export function stageInterval(prev: DiskStageCumulative | undefined, cur: DiskStageCumulative): StageInterval {
  const slots = cur.slots.map((n, i) => Math.max(0, n - (prev?.slots[i] ?? 0)));
  const count = slots.reduce((a, b) => a + b, 0);
  if (count === 0) return { ...EMPTY };
  const sumNs = Math.max(0, cur.sumNs - (prev?.sumNs ?? 0));
  let top = slots.length - 1;
  while (top > 0 && !slots[top]) top--;
  const maxNs = cur.maxNs > (prev?.maxNs ?? 0) ? cur.maxNs : Math.min(2 ** (top + 1) * 1000, cur.maxNs || Infinity);
  const h = histogramOf(slots, sumNs, maxNs);
  return { count, meanMs: r3(sumNs / count / 1e6), p50Ms: h.p50Ms, p99Ms: h.p99Ms, maxMs: r3(maxNs / 1e6) };
}

/** Per-disk intervals from two readings; `names` maps "major:minor" to the kernel name. Pure. */
export function intervalsOf(prev: readonly DiskStageCumulative[], cur: readonly DiskStageCumulative[], names: ReadonlyMap<string, string>): DiskLatencyInterval[] {
  const key = (h: DiskStageCumulative): string => `${h.dev}/${h.stage}`;
  const before = new Map(prev.map((h) => [key(h), h]));
  const per = new Map<number, DiskLatencyInterval>();
  for (const h of cur) {
    const st = stageInterval(before.get(key(h)), h);
    let d = per.get(h.dev);
    if (!d) {
      const majMin = majMinOf(h.dev);
      d = { disk: names.get(majMin) ?? majMin, majMin, stages: { queue: { ...EMPTY }, sched: { ...EMPTY }, device: { ...EMPTY }, wake: { ...EMPTY } } };
      per.set(h.dev, d);
    }
    d.stages[h.stage] = st;
  }
  return [...per.values()].filter((d) => IOLAT_STAGES.some((s) => d.stages[s].count > 0)).sort((a, b) => a.disk.localeCompare(b.disk));
}

/** What the source needs from a tracer. */
export interface IolatTracer {
  readonly method: string;
  histograms(): DiskStageCumulative[];
  close(): void;
}

export type StartIolatTracer = () => Promise<IolatTracer>;

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function loadWith(path: string, flavour: 'tp_btf' | 'raw_tp', wake: boolean): BpfObject {
  const obj = openObject(path);
  try {
    for (const name of Object.keys(IOLAT_TRACEPOINTS)) {
      const on = wake ? !name.endsWith('_s') : name !== 'oscope_iolat_switch';
      obj.setAutoload(name, on && flavour === 'tp_btf');
      obj.setAutoload(`${name}_r`, on && flavour === 'raw_tp');
    }
    obj.setRodata('want_wake', wake);
    obj.setRodata('sample_shift', IOLAT_SAMPLE_SHIFT);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

const STAMPED = ['oscope_iolat_done', 'oscope_iolat_bioq_s', 'oscope_iolat_insert_s', 'oscope_iolat_issue_s'] as const;
const CLASSIC = ['oscope_iolat_bioq', 'oscope_iolat_insert', 'oscope_iolat_issue', 'oscope_iolat_done', 'oscope_iolat_switch'] as const;
/** The stamped path follows 1 request in 2^IOLAT_SAMPLE_SHIFT for the queue and sched stages. */
export const IOLAT_SAMPLE_SHIFT = 2;

/**
 * The default tracer: loads bpf/iolat.bpf.o (tp_btf, else raw_tp) and attaches it. Throws one sentence
 * when it cannot (not built, no root, no BTF, the block tracepoints missing).
 *
 * Without the wake stage (the agent's default): the stamped path of bpf/iolat.bpf.c, the device stage
 * from the kernel's dispatch stamp of every request, the queue and sched stages from a sample. With it:
 * the classic path, every request followed through a map, and sched_switch.
 */
export function startIolatBpf(opts: { wake?: boolean } = {}): IolatTracer {
  const wake = opts.wake ?? true;
  const found = findBpfObject(IOLAT_OBJECT);
  if ('missing' in found) throw new Error(found.missing);
  try {
    requireNative();
  } catch (err) {
    throw new Error(errText(err));
  }
  let obj: BpfObject | undefined;
  let flavour: 'tp_btf' | 'raw_tp' = 'tp_btf';
  let first: unknown;
  for (const f of ['tp_btf', 'raw_tp'] as const) {
    try {
      obj = loadWith(found.path, f, wake);
      flavour = f;
      break;
    } catch (err) {
      first ??= err;
    }
  }
  if (!obj) throw new Error(`the iolat BPF program did not load (${errText(first)})`);
  const loaded = obj;
  const failed: string[] = [];
  const attached = new Set<string>();
  const attach = (name: string): void => {
    const tp = IOLAT_TRACEPOINTS[name]!;
    try {
      if (flavour === 'tp_btf') loaded.program(name).attachTrace();
      else loaded.program(`${name}_r`).attachRawTracepoint(tp);
      attached.add(name);
    } catch (err) {
      failed.push(`${tp}: ${errText(err)}`);
    }
  };
  for (const name of wake ? CLASSIC : STAMPED) attach(name);
  if (!attached.has('oscope_iolat_done') || (wake && !attached.has('oscope_iolat_issue'))) {
    loaded.close();
    throw new Error(`the iolat BPF program did not attach (${failed.join('; ')})`);
  }
  let closed = false;
  return {
    get method(): string {
      const missing = failed.length > 0 ? ` (not attached: ${failed.join('; ')})` : '';
      const how = wake
        ? `${flavour} block_bio_queue/block_rq_insert/block_rq_issue/block_rq_complete/sched_switch`
        : `${flavour} block_rq_complete with the kernel's dispatch stamp (device stage, every request), block_bio_queue/block_rq_insert/block_rq_issue for 1 request in ${2 ** IOLAT_SAMPLE_SHIFT} (queue and sched stages, counts scaled)`;
      return `${how}: per-CPU log2 histograms per disk and stage${missing}`;
    },
    histograms: () => (closed ? [] : loaded.map('iolat_hists').dump().entries.flatMap((e) => decodeIolatEntry(e.key, e.value))),
    close: () => {
      if (closed) return;
      closed = true;
      loaded.close();
    },
  };
}

export class IoLatencySource {
  private prev: DiskStageCumulative[] = [];

  private constructor(private readonly tracer: IolatTracer) {}

  get method(): string {
    return this.tracer.method;
  }

  /** Starts the tracer: `{source}` or `{unavailable: sentence}`. */
  static async start(start: StartIolatTracer = () => Promise.resolve(startIolatBpf())): Promise<{ source: IoLatencySource } | { unavailable: string }> {
    try {
      const tracer = await start();
      const src = new IoLatencySource(tracer);
      src.prev = tracer.histograms();
      return { source: src };
    } catch (err) {
      return { unavailable: (err as Error).message || String(err) };
    }
  }

  /** Reads the histograms now; `names` maps "major:minor" to disk names (from /proc/diskstats). */
  read(names: ReadonlyMap<string, string>): IoLatencyReading {
    const cur = this.tracer.histograms();
    const interval = intervalsOf(this.prev, cur, names);
    this.prev = cur;
    return { cumulative: cur.map((h) => ({ ...h, disk: names.get(majMinOf(h.dev)) ?? majMinOf(h.dev) })), interval };
  }

  close(): void {
    this.tracer.close();
  }
}
