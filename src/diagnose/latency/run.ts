/**
 * The one-shot run of `oscope runlatency -i SECONDS`: start the tracer, hand each event over as it
 * arrives, sample /proc/stat steal to tell hypervisor steal apart from irq-off, and at the end read the
 * histograms and analyse. Also the cgroup v2 lookups the filters and histograms need.
 */
import { join } from 'node:path';
import { identifyContainer } from '../../containers/identify.js';
import type { Host } from '../../host/host.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import type { Thresholds } from '../thresholds.js';
import { analyzeLatency, buildHistograms, toLatencyEvent } from './analyze.js';
import { type LatencyTracer, type RawLatencyEvent, type TracerOptions, startBpfTracer } from './bpf.js';
import { PROC_STAT_PATH, type StealSample, isStealGap, parseStatSteal } from './steal.js';
import type { CoverageEntry, KindThresholds, LatencyAnalysis, LatencyEvent } from './types.js';
import { abortableSleep } from '../../util/sleep.js';

/** The per-kind thresholds (ms) from the configurable lat.* thresholds. */
export function kindThresholds(t: Thresholds): KindThresholds {
  return { irqoff: t['lat.irqoffMs'], softirq: t['lat.softirqMs'], hardirq: t['lat.hardirqMs'], nosched: t['lat.noschedMs'], runqueue: t['lat.runqueueMs'] };
}

export interface LatencyFilters {
  pid?: number;
  /** A cgroup v2 path, relative to the cgroup2 mount ("/system.slice/x.service") or absolute under it. */
  cgroup?: string;
  /** A container id (prefix of at least 4 characters) or systemd service name. */
  container?: string;
  cpu?: number;
}

export interface RunOptions {
  durationS: number;
  thresholds: KindThresholds;
  samplePeriodMs: number;
  filters?: LatencyFilters;
  signal?: AbortSignal;
  /** Each event as it happens (after steal filtering and symbolisation). */
  onEvent?: (e: LatencyEvent) => void;
  /** For tests: another tracer factory. */
  startTracer?: (o: TracerOptions) => { tracer: LatencyTracer } | { unavailable: string };
}

export class LatencyUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LatencyUnavailableError';
  }
}

/** The cgroup2 mount point, from /proc/self/mounts; undefined without cgroup v2. */
export async function cgroup2Mount(host: Host): Promise<string | undefined> {
  const text = await host.tryReadText('/proc/self/mounts');
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2' && f[1]) return f[1].replace(/\\040/g, ' ');
  }
  return undefined;
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

/** Resolves --cgroup / --container to a cgroup v2 id and its path. Throws LatencyUnavailableError. */
export async function resolveCgroupFilter(host: Host, f: LatencyFilters): Promise<{ id: bigint; path: string } | undefined> {
  if (f.cgroup === undefined && f.container === undefined) return undefined;
  const mount = await cgroup2Mount(host);
  if (!mount) throw new LatencyUnavailableError('--cgroup and --container need cgroup v2 (no cgroup2 mount on this host)');
  if (f.cgroup !== undefined) {
    const rel = f.cgroup.startsWith(mount) ? f.cgroup.slice(mount.length) || '/' : f.cgroup;
    try {
      const st = await host.stat(join(mount, rel));
      if (!st.isDirectory) throw new Error('not a directory');
      return { id: BigInt(st.ino), path: rel.startsWith('/') ? rel : `/${rel}` };
    } catch {
      throw new LatencyUnavailableError(`no cgroup v2 ${rel} under ${mount}`);
    }
  }
  const want = f.container!;
  if (want.length < 4) throw new LatencyUnavailableError('--container takes a container id of at least 4 characters or a service name');
  for (const [rel, id] of await walkCgroup2(host, mount)) {
    const c = identifyContainer(rel);
    if (c && (c.containerId.startsWith(want) || c.serviceName === want) && c.cgroupPath === rel) return { id, path: rel };
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
 * A live session: the tracer plus the steal sampler and the symboliser. Used by the one-shot run and
 * by the background monitor (which keeps one open for hours and snapshots it).
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

  private constructor(
    private readonly host: Host,
    readonly tracer: LatencyTracer,
    private readonly syms: KallsymsTable | undefined,
    readonly thresholds: KindThresholds,
    private readonly onEvent: ((e: LatencyEvent) => void) | undefined,
    readonly maxEvents: number,
  ) {}

  static async start(host: Host, o: Omit<RunOptions, 'durationS' | 'signal'> & { maxEvents?: number }): Promise<LatencySession> {
    const f = o.filters ?? {};
    const cg = await resolveCgroupFilter(host, f);
    let syms: KallsymsTable | undefined;
    try {
      syms = await readKallsyms(host);
    } catch {
      syms = undefined;
    }
    const box: { session?: LatencySession } = {};
    const queued: RawLatencyEvent[] = [];
    const start = o.startTracer ?? startBpfTracer;
    const r = start({
      thresholds: o.thresholds,
      samplePeriodMs: o.samplePeriodMs,
      ...(f.pid !== undefined ? { pid: f.pid } : {}),
      ...(cg ? { cgroupId: cg.id } : {}),
      ...(f.cpu !== undefined ? { cpu: f.cpu } : {}),
      onEvent: (e) => (box.session ? box.session.take(e) : queued.push(e)),
    });
    if ('unavailable' in r) throw new LatencyUnavailableError(r.unavailable);
    const session = new LatencySession(host, r.tracer, syms, o.thresholds, o.onEvent, o.maxEvents ?? 10000);
    box.session = session;
    session.tracerCoverage = [...r.tracer.coverage];
    if (cg) session.tracerCoverage.push({ section: 'filter', status: 'complete', reason: `cgroup v2 ${cg.path}` });
    if (!syms || syms.restricted) session.tracerCoverage.push({ section: 'stacks', status: 'partial', reason: syms?.restrictedReason ?? 'cannot read /proc/kallsyms: stacks are raw addresses' });
    await session.sampleSteal();
    session.timer = setInterval(() => void session.sampleSteal(), 200);
    session.timer.unref();
    for (const e of queued) session.take(e);
    return session;
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

  private stackOf = (id: number): string[] => {
    const addrs = this.tracer.stack(id);
    return this.syms ? this.syms.symbolize(addrs).map((f) => f.text) : addrs.map((a) => `0x${a.toString(16)}`);
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
    if (raw.length > 0) {
      const mount = await cgroup2Mount(this.host);
      if (mount) names = new Map([...(await walkCgroup2(this.host, mount))].map(([p, id]) => [id, p]));
    }
    return analyzeLatency({
      durationS: (monoMs() - this.startedMono) / 1000,
      cpus: new Set(raw.map((h) => h.cpu)).size || 0,
      thresholds: this.thresholds,
      events: [...this.events].sort((a, b) => a.at.localeCompare(b.at)),
      histograms: buildHistograms(raw, (id) => names.get(id)),
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
