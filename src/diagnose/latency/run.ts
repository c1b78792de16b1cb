/**
 * The one-shot run of `oscope runlatency -i SECONDS`: start the tracer, hand each event over as it
 * arrives, sample /proc/stat steal to tell hypervisor steal apart from irq-off, and at the end read the
 * histograms and analyse. Also the cgroup (v2, and v1 controller hierarchies) lookups the filters and
 * histograms need, and the long-lived `LatencySession` the background monitor and the agent keep open.
 */
import { isAbsolute, join } from 'node:path';
import { identifyContainer } from '../../containers/identify.js';
import type { Host } from '../../host/host.js';
import { scannedFrames } from '../../kernel/bpf/stacks.js';
import { type CgroupLayout, readCgroupHierarchies, v1ControllerHierarchies } from '../../kernel/cgroup/hierarchies.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import type { Thresholds } from '../thresholds.js';
import { analyzeLatency, buildHistograms, toLatencyEvent } from './analyze.js';
import { type IrqoffMethod, type LatencyTracer, type RawLatencyEvent, RL_HIST_SLOTS, type TracerOptions, startBpfTracer } from './bpf.js';
import { PROC_STAT_PATH, type StealSample, isStealGap, parseStatSteal } from './steal.js';
import { LATENCY_KINDS, type CoverageEntry, type KindThresholds, type LatencyAnalysis, type LatencyEvent, type LatencyKind } from './types.js';
import { abortableSleep } from '../../util/sleep.js';

/** The irqoff method the `lat.irqoffNmi` setting asks for (1 auto, 0 cpu-clock, 2 NMI only). */
export function irqoffMethodFrom(t: Thresholds): IrqoffMethod {
  const v = t['lat.irqoffNmi'];
  if (v === 0) return 'cpu-clock';
  if (v === 1) return 'auto';
  if (v === 2) return 'nmi';
  throw new Error(`lat.irqoffNmi is 0 (cpu-clock), 1 (NMI watchdog where the CPU has one) or 2 (NMI watchdog only), got ${v}`);
}

/** The per-kind thresholds (ms) from the configurable lat.* thresholds. */
export function kindThresholds(t: Thresholds): KindThresholds {
  return { irqoff: t['lat.irqoffMs'], softirq: t['lat.softirqMs'], hardirq: t['lat.hardirqMs'], nosched: t['lat.noschedMs'], runqueue: t['lat.runqueueMs'] };
}

export interface LatencyFilters {
  pid?: number;
  /**
   * A cgroup: a cgroup v2 path, relative to the cgroup2 mount ("/system.slice/x.service") or absolute
   * under it; or a cgroup v1 one, as `controller:/path` ("memory:/x") or absolute under a v1 controller
   * mount ("/sys/fs/cgroup/memory/x").
   */
  cgroup?: string;
  /** A container id (prefix of at least 4 characters) or systemd service name. */
  container?: string;
  cpu?: number;
}

export interface RunOptions {
  durationS: number;
  thresholds: KindThresholds;
  samplePeriodMs: number;
  /** How irqoff is measured (default auto: the hardware NMI watchdog where the CPU has one). */
  irqoffMethod?: IrqoffMethod;
  filters?: LatencyFilters;
  signal?: AbortSignal;
  /** Each event as it happens (after steal filtering and symbolisation). */
  onEvent?: (e: LatencyEvent) => void;
  /** For tests: another tracer factory. */
  startTracer?: (o: TracerOptions) => { tracer: LatencyTracer } | { unavailable: string };
}

/** What a long-lived session (monitor, agent) can ask for besides RunOptions. */
export interface SessionOptions extends Omit<RunOptions, 'durationS' | 'signal'> {
  /** Keep at most this many events (the worst ones when full). Default 10000. */
  maxEvents?: number;
  /** Only these detectors run (the others are off whatever their threshold). Default: all with a threshold > 0. */
  kinds?: readonly LatencyKind[];
  /**
   * Only the run-queue histograms: no events, no symbols, no steal sampler, and one histogram per CPU
   * (not per cgroup) unless `histogramsByCgroup`. What the agent keeps open for its Prometheus
   * histogram; read it with `runqueueHistogram()`.
   */
  histogramsOnly?: boolean;
  /** Histograms per (cgroup, CPU) (default true, false with histogramsOnly). */
  histogramsByCgroup?: boolean;
}

/** One CPU's cumulative wakeup-to-run histogram since the session started. */
export interface RunqueueCpuHistogram {
  cpu: number;
  /** Wakeups per log2-µs slot: slot i counts [2^i, 2^(i+1)) µs; upper bounds in RUNQUEUE_SLOT_LE_MS. */
  slots: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}

/** Upper bound (ms) of each histogram slot: 2^(i+1) µs (the last slot also takes everything above). */
export const RUNQUEUE_SLOT_LE_MS: readonly number[] = Array.from({ length: RL_HIST_SLOTS }, (_, i) => 2 ** (i + 1) / 1000);

/** Where cgroup ids come from: the cgroup v2 hierarchy, or one v1 controller's. */
export interface CgroupHierarchy {
  version: 1 | 2;
  /** Mount point of the hierarchy. */
  mount: string;
  /** v1: the controller and its subsystem id (its index in /proc/cgroups). */
  controller?: string;
  ssid?: number;
}

export interface ResolvedCgroup {
  /** The cgroup's id: the kernfs node id (= the directory's inode) in its hierarchy. */
  id: bigint;
  /** Path relative to the hierarchy's mount ('/' = its root). */
  path: string;
  hierarchy: CgroupHierarchy;
}

export class LatencyUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LatencyUnavailableError';
  }
}

/** The host's cgroup hierarchies; an empty layout when mountinfo cannot be read. */
async function layoutOf(host: Host): Promise<CgroupLayout> {
  try {
    return await readCgroupHierarchies(host);
  } catch {
    return { mode: 'none', hierarchies: [], v2: undefined, controllers: new Map() };
  }
}

/** The cgroup2 mount point (src/kernel/cgroup/hierarchies.ts); undefined without cgroup v2. */
export async function cgroup2Mount(host: Host): Promise<string | undefined> {
  return (await layoutOf(host)).v2?.mountPoint;
}

/** cgroup v2 directories (relative path → cgroup id = inode), walked breadth first up to `limit`. */
export async function walkCgroup2(host: Host, mount: string, limit = 20000): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const queue = ['/'];
  while (queue.length > 0 && out.size < limit) {
    const rel = queue.shift()!;
    const abs = rel === '/' ? mount : join(mount, rel);
    try {
      out.set(rel, BigInt((await host.stat(abs)).ino));
      for (const name of await host.readDir(abs)) {
        if (name.includes('.')) {
          // Controller files have dots; cgroups may too (x.service, y.slice): keep those that are dirs.
          if (!/\.(slice|service|scope|mount|socket)$/.test(name) && !/^[0-9a-f-]{8,}/.test(name)) continue;
        }
        const child = rel === '/' ? `/${name}` : `${rel}/${name}`;
        try {
          if ((await host.stat(join(mount, child))).isDirectory) queue.push(child);
        } catch {
          /* gone meanwhile */
        }
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The cgroup v1 hierarchies of controllers: controller → mount point and subsystem id. */
export async function cgroupV1Hierarchies(host: Host): Promise<Map<string, CgroupHierarchy>> {
  return v1Of(await layoutOf(host));
}

function v1Of(layout: CgroupLayout): Map<string, CgroupHierarchy> {
  const out = new Map<string, CgroupHierarchy>();
  for (const [name, { hierarchy, controller }] of v1ControllerHierarchies(layout)) {
    out.set(name, { version: 1, mount: hierarchy.mountPoint, controller: name, ssid: controller.ssid });
  }
  return out;
}

async function cgroupDir(host: Host, h: CgroupHierarchy, rel: string, what: string): Promise<ResolvedCgroup> {
  const path = rel === '' ? '/' : rel.startsWith('/') ? rel : `/${rel}`;
  try {
    const st = await host.stat(join(h.mount, path));
    if (!st.isDirectory) throw new Error('not a directory');
    return { id: BigInt(st.ino), path, hierarchy: h };
  } catch {
    throw new LatencyUnavailableError(`no ${what} ${path} under ${h.mount}`);
  }
}

/**
 * Resolves --cgroup / --container to a cgroup id, its path and its hierarchy. `--cgroup` takes a v2
 * path (relative to or under the cgroup2 mount), `controller:/path` for a cgroup v1 controller
 * hierarchy, or an absolute path under a v1 controller mount. Throws LatencyUnavailableError.
 */
export async function resolveCgroupFilter(host: Host, f: LatencyFilters): Promise<ResolvedCgroup | undefined> {
  if (f.cgroup === undefined && f.container === undefined) return undefined;
  const layout = await layoutOf(host);
  const mount = layout.v2?.mountPoint;
  if (f.cgroup !== undefined) {
    const want = f.cgroup;
    const v1 = v1Of(layout);
    const ctl = /^([a-z_0-9]+):(\/.*)?$/.exec(want);
    if (ctl) {
      const h = v1.get(ctl[1]!);
      if (!h) {
        const known = [...v1.keys()].join(', ');
        throw new LatencyUnavailableError(`no cgroup v1 hierarchy of the ${ctl[1]} controller on this host${known ? ` (v1 controllers: ${known})` : ''}`);
      }
      return cgroupDir(host, h, ctl[2] ?? '/', `${ctl[1]} cgroup`);
    }
    if (isAbsolute(want)) {
      // An absolute path under a v1 controller mount: the longest matching mount wins.
      const under = [...v1.values()].filter((h) => want === h.mount || want.startsWith(`${h.mount}/`)).sort((x, y) => y.mount.length - x.mount.length)[0];
      if (under && !(mount && (want === mount || want.startsWith(`${mount}/`)) && mount.length > under.mount.length)) {
        return cgroupDir(host, under, want.slice(under.mount.length), `${under.controller!} cgroup`);
      }
    }
    if (!mount) throw new LatencyUnavailableError(`no cgroup v2 mount on this host: give a cgroup v1 one as controller:/path (e.g. memory:${want.startsWith('/') ? want : `/${want}`})`);
    const rel = want === mount || want.startsWith(`${mount}/`) ? want.slice(mount.length) : want;
    return cgroupDir(host, { version: 2, mount }, rel, 'cgroup v2');
  }
  if (!mount) throw new LatencyUnavailableError('--container needs cgroup v2 (no cgroup2 mount on this host)');
  const want = f.container!;
  if (want.length < 4) throw new LatencyUnavailableError('--container takes a container id of at least 4 characters or a service name');
  for (const [rel, id] of await walkCgroup2(host, mount)) {
    const c = identifyContainer(rel);
    if (c && (c.containerId.startsWith(want) || c.serviceName === want) && c.cgroupPath === rel) return { id, path: rel, hierarchy: { version: 2, mount } };
  }
  throw new LatencyUnavailableError(`no container ${want} in the cgroup v2 hierarchy at ${mount}`);
}

function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Wall clock minus CLOCK_MONOTONIC (Node's hrtime is CLOCK_MONOTONIC, like bpf_ktime_get_ns). */
export function wallOffsetMs(): number {
  return Date.now() - monoMs();
}

const sleep = abortableSleep;

/**
 * A live session: the tracer plus the steal sampler and the symboliser. Used by the one-shot run, by
 * the background monitor (which keeps one open for hours and snapshots it) and by the agent (the
 * monitor, and a histogram-only session for its Prometheus histogram).
 *
 *   const s = await LatencySession.start(host, { thresholds, samplePeriodMs, filters });
 *   await s.snapshot();   // LatencyAnalysis so far; the session keeps running
 *   s.close();            // detaches everything (BPF links and perf events are fd-scoped)
 */
export class LatencySession {
  readonly events: LatencyEvent[] = [];
  readonly startedMono = monoMs();
  readonly startedAt = new Date().toISOString();
  stealGaps = 0;
  private readonly steal: StealSample[] = [];
  private readonly pendingIrqoff: RawLatencyEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly offset = wallOffsetMs();
  private tracerCoverage: CoverageEntry[] = [];
  private closedFlag = false;

  private constructor(
    private readonly host: Host,
    readonly tracer: LatencyTracer,
    private readonly syms: KallsymsTable | undefined,
    /** The thresholds in effect (kinds that are not running are 0). */
    readonly thresholds: KindThresholds,
    private readonly onEvent: ((e: LatencyEvent) => void) | undefined,
    readonly maxEvents: number,
    /** The filters it was started with. */
    readonly filters: LatencyFilters,
    /** The hierarchy histogram and event cgroup ids come from. */
    private readonly hierarchy: CgroupHierarchy | undefined,
    private readonly byCgroup: boolean,
  ) {}

  static async start(host: Host, o: SessionOptions): Promise<LatencySession> {
    const f = o.filters ?? {};
    const cg = await resolveCgroupFilter(host, f);
    const only = o.histogramsOnly === true;
    const kinds = only ? [] : (o.kinds ?? LATENCY_KINDS);
    const thresholds = Object.fromEntries(LATENCY_KINDS.map((k) => [k, kinds.includes(k) ? o.thresholds[k] : 0])) as KindThresholds;
    const byCgroup = o.histogramsByCgroup ?? !only;
    let syms: KallsymsTable | undefined;
    if (!only) {
      try {
        syms = await readKallsyms(host);
      } catch {
        syms = undefined;
      }
    }
    const box: { session?: LatencySession } = {};
    const queued: RawLatencyEvent[] = [];
    const start = o.startTracer ?? startBpfTracer;
    const r = start({
      thresholds,
      samplePeriodMs: o.samplePeriodMs,
      ...(o.irqoffMethod ? { irqoffMethod: o.irqoffMethod } : {}),
      histograms: true,
      histogramsByCgroup: byCgroup,
      ...(f.pid !== undefined ? { pid: f.pid } : {}),
      ...(cg ? { cgroupId: cg.id } : {}),
      ...(cg?.hierarchy.ssid !== undefined ? { cgroupSsid: cg.hierarchy.ssid } : {}),
      ...(f.cpu !== undefined ? { cpu: f.cpu } : {}),
      onEvent: (e) => (box.session ? box.session.take(e) : queued.push(e)),
    });
    if ('unavailable' in r) throw new LatencyUnavailableError(r.unavailable);
    const session = new LatencySession(host, r.tracer, syms, thresholds, o.onEvent, o.maxEvents ?? 10000, f, cg?.hierarchy, byCgroup);
    box.session = session;
    session.tracerCoverage = [...r.tracer.coverage];
    if (cg) {
      const where = cg.hierarchy.version === 2 ? `cgroup v2 ${cg.path}` : `cgroup v1 ${cg.hierarchy.controller!}:${cg.path}`;
      session.tracerCoverage.push({ section: 'filter', status: 'complete', reason: where });
    }
    if (!only && (!syms || syms.restricted)) session.tracerCoverage.push({ section: 'stacks', status: 'partial', reason: syms?.restrictedReason ?? 'cannot read /proc/kallsyms: stacks are raw addresses' });
    if (thresholds.irqoff > 0) {
      await session.sampleSteal();
      session.timer = setInterval(() => void session.sampleSteal(), 200);
      session.timer.unref();
    }
    for (const e of queued) session.take(e);
    return session;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * The cumulative wakeup-to-run histogram per CPU since the start (summed over cgroups), without
   * symbolisation or cgroup names: cheap enough to read every few seconds.
   */
  runqueueHistogram(): RunqueueCpuHistogram[] {
    const by = new Map<number, RunqueueCpuHistogram>();
    for (const h of this.tracer.histograms()) {
      let c = by.get(h.cpu);
      if (!c) {
        c = { cpu: h.cpu, slots: new Array<number>(RL_HIST_SLOTS).fill(0), count: 0, sumNs: 0, maxNs: 0 };
        by.set(h.cpu, c);
      }
      for (let i = 0; i < RL_HIST_SLOTS; i++) c.slots[i]! += h.slots[i] ?? 0;
      c.count += h.count;
      c.sumNs += h.sumNs;
      c.maxNs = Math.max(c.maxNs, h.maxNs);
    }
    return [...by.values()].sort((a, b) => a.cpu - b.cpu);
  }

  private async sampleSteal(): Promise<void> {
    try {
      const text = await this.host.readText(PROC_STAT_PATH);
      this.steal.push({ atMs: monoMs(), stealMs: parseStatSteal(text) });
      if (this.steal.length > 300) this.steal.splice(0, this.steal.length - 300);
    } catch {
      /* no steal data: irqoff gaps are reported as they are */
    }
    // Decide on irqoff gaps once a steal sample after them exists.
    const last = this.steal[this.steal.length - 1];
    if (!last) return;
    for (let i = 0; i < this.pendingIrqoff.length; ) {
      const e = this.pendingIrqoff[i]!;
      const endMs = Number(e.tsNs) / 1e6;
      if (last.atMs >= endMs) {
        this.pendingIrqoff.splice(i, 1);
        if (isStealGap(this.steal, e.cpu, endMs, e.latencyNs / 1e6)) this.stealGaps++;
        else this.emit(e);
      } else i++;
    }
  }

  private take(e: RawLatencyEvent): void {
    if (e.kind === 'irqoff') this.pendingIrqoff.push(e);
    else this.emit(e);
  }

  private stackOf = (id: number, scan?: readonly bigint[]): string[] => {
    const addrs = id >= 0 ? this.tracer.stack(id) : [];
    if (!this.syms) return addrs.map((a) => `0x${a.toString(16)}`);
    const frames = this.syms.symbolize(addrs).map((f) => f.text);
    // The unwinder stopped early (an irq-enable without unwind data): the scanned frames follow.
    if (scan && frames.length < 3) frames.push(...scannedFrames(scan, this.syms).map((f) => f.text));
    return frames;
  };

  private emit(r: RawLatencyEvent): void {
    const e = toLatencyEvent(r, this.offset, this.stackOf);
    if (this.events.length < this.maxEvents) this.events.push(e);
    else {
      // Keep the worst ones when full.
      let min = 0;
      for (let i = 1; i < this.events.length; i++) if (this.events[i]!.latencyMs < this.events[min]!.latencyMs) min = i;
      if (this.events[min]!.latencyMs < e.latencyMs) this.events[min] = e;
    }
    this.onEvent?.(e);
  }

  /** Everything seen so far, analysed (the session keeps running). */
  async snapshot(): Promise<LatencyAnalysis> {
    await this.sampleSteal();
    const raw = this.tracer.histograms();
    let names = new Map<bigint, string>();
    if (raw.length > 0 && this.byCgroup) {
      const h = this.hierarchy;
      const mount = h ? h.mount : await cgroup2Mount(this.host);
      const prefix = h?.version === 1 ? `${h.controller!}:` : '';
      if (mount) names = new Map([...(await walkCgroup2(this.host, mount))].map(([p, id]) => [id, `${prefix}${p}`]));
    }
    return analyzeLatency({
      durationS: (monoMs() - this.startedMono) / 1000,
      cpus: new Set(raw.map((h) => h.cpu)).size || 0,
      thresholds: this.thresholds,
      events: [...this.events].sort((a, b) => a.at.localeCompare(b.at)),
      histograms: this.byCgroup ? buildHistograms(raw, (id) => names.get(id)) : { runqueue: { perCpu: buildHistograms(raw, () => undefined).runqueue.perCpu, perCgroup: [] } },
      stealGaps: this.stealGaps,
      timerGaps: this.tracer.timerGaps(),
      lostEvents: this.tracer.lostEvents(),
      method: this.tracer.method,
      coverage: this.tracerCoverage,
    });
  }

  /** Waits for late irqoff decisions (one steal sample), then detaches everything. */
  async finish(): Promise<LatencyAnalysis> {
    await sleep(250);
    const a = await this.snapshot();
    for (const e of this.pendingIrqoff.splice(0)) this.emit(e);
    a.events = [...this.events].sort((x, y) => x.at.localeCompare(y.at));
    this.close();
    return analyzeLatency({ ...a, durationS: a.summary.durationS, cpus: a.summary.cpus, stealGaps: this.stealGaps, timerGaps: a.summary.timerGaps, lostEvents: a.summary.lostEvents });
  }

  close(): void {
    this.closedFlag = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.tracer.close();
  }
}

/** The one-shot run: trace for durationS (or until the signal), then analyse. */
export async function runLatency(host: Host, o: RunOptions): Promise<LatencyAnalysis> {
  const s = await LatencySession.start(host, o);
  try {
    await sleep(o.durationS * 1000, o.signal);
    return await s.finish();
  } finally {
    s.close();
  }
}
