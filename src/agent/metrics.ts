/**
 * Prometheus metrics (prom-client), named by the Prometheus conventions: `oscope_` prefix, base units
 * (`_bytes`, `_seconds`), `_total` for counters, `_ratio` for 0–1 values. Per-cgroup series carry
 * `cgroup` plus `container`, `pod` and `namespace` labels (empty when not a container). Series of a
 * cgroup that disappeared are dropped at the next collection.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type DiskSnapshot, MEMORY_COMPONENTS, type NetSnapshot, type Snapshot } from './collect.js';
import { PROM_LE_S, regroup } from './runqueue.js';

/**
 * A histogram whose buckets are set from counts kept elsewhere (the kernel's BPF map), not observed
 * one value at a time: prom-client's Histogram with its export replaced. Values are cumulative.
 */
class PresetHistogram<L extends string> extends Histogram<L> {
  private series = new Map<string, { labels: Record<L, string>; buckets: number[]; sum: number; count: number }>();

  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    private readonly bounds: readonly number[],
    private readonly labelKeys: readonly L[],
    registers: Registry[],
  ) {
    super({ name: metricName, help: helpText, labelNames: [...labelKeys], buckets: [...bounds], registers });
  }

  /** Sets one series: per-bucket counts (not cumulative; one more than the bounds, for +Inf) and their sum. */
  setSeries(labels: Record<L, string>, buckets: number[], sum: number): void {
    this.series.set(this.labelKeys.map((k) => labels[k]).join('\u0000'), { labels, buckets, sum, count: buckets.reduce((a, b) => a + b, 0) });
  }

  clearSeries(): void {
    this.series.clear();
  }

  override get(): ReturnType<Histogram<L>['get']> {
    const name = this.metricName;
    const values: Awaited<ReturnType<Histogram<L>['get']>>['values'] = [];
    const order = (a: string, b: string): number => {
      const [x, y] = [a.split('\u0000'), b.split('\u0000')];
      for (let i = 0; i < x.length; i++) {
        const c = Number(x[i]) - Number(y[i]) || x[i]!.localeCompare(y[i]!);
        if (c) return c;
      }
      return 0;
    };
    for (const [, s] of [...this.series].sort((a, b) => order(a[0], b[0]))) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le } as never, value: acc });
      });
      values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' } as never, value: s.count });
      values.push({ metricName: `${name}_sum`, labels: s.labels as never, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: s.labels as never, value: s.count });
    }
    // prom-client types MetricType as a numeric enum; at run time the registry wants the string.
    return Promise.resolve({ name, help: this.helpText, type: 'histogram' as never, aggregator: 'sum', collect: undefined as never, values });
  }

  /** What the registry calls for the text format. */
  getForPromString(): ReturnType<Histogram<L>['get']> {
    return this.get();
  }
}

/** Per-CPU run-queue series up to this many CPUs; above it, one series with cpu="all". */
export const MAX_CPU_SERIES = 64;

const CG_LABELS = ['cgroup', 'container', 'pod', 'namespace'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly total: Gauge;
  private readonly available: Gauge;
  private readonly free: Gauge;
  private readonly used: Gauge<'component'>;
  private readonly shmem: Gauge;
  private readonly slab: Gauge<'reclaimable'>;
  private readonly cgUsage: Gauge<(typeof CG_LABELS)[number]>;
  private readonly cgWorkingset: Gauge<(typeof CG_LABELS)[number]>;
  private readonly cgLimit: Gauge<(typeof CG_LABELS)[number]>;
  private readonly cgFile: Gauge<(typeof CG_LABELS)[number]>;
  private readonly cgShmem: Gauge<(typeof CG_LABELS)[number]>;
  private readonly zombies: Gauge;
  private readonly zombieBytes: Gauge;
  private readonly psiTotal: Counter<'resource' | 'kind'>;
  private readonly psiAvg10: Gauge<'resource' | 'kind'>;
  private readonly duration: Histogram;
  readonly collectErrors: Counter<'source'>;
  /** The node's health score 0–100 (src/diagnose/health/score.ts). */
  readonly healthScore: Gauge;
  /** CPU time of the agent process while it computed the health score (the cost of `health`, bench/agent.ts). */
  readonly healthCpu: Counter;
  readonly alertFiring: Gauge<'rule' | 'severity'>;
  readonly outboxItems: Gauge;
  readonly tasksTotal: Counter<'diagnosis' | 'status'>;
  private readonly lastPsiUs = new Map<string, number>();
  private readonly runqueue: PresetHistogram<'cpu'>;
  private readonly diskLatency: PresetHistogram<'disk' | 'stage'>;
  private readonly diskIops: Gauge<'disk'>;
  private readonly diskAwait: Gauge<'disk'>;
  private readonly diskUtil: Gauge<'disk'>;
  private readonly diskInflight: Gauge<'disk'>;
  private readonly diskQueueDepth: Gauge<'disk'>;
  private readonly diskStalled: Gauge<'disk'>;
  private readonly diskReadBytes: Counter<'disk'>;
  private readonly diskWrittenBytes: Counter<'disk'>;
  private readonly diskIos: Counter<'disk' | 'op'>;
  private readonly diskIoTime: Counter<'disk'>;
  private readonly cgIoRead: Counter<(typeof CG_LABELS)[number]>;
  private readonly cgIoWritten: Counter<(typeof CG_LABELS)[number]>;
  private readonly logAnomalies: Counter<'rule' | 'severity'>;
  readonly collectorUp: Gauge<'source'>;
  private readonly dropped: Counter<'kind'>;
  private readonly netDrops: Counter<'reason'>;
  private readonly netRetrans: Counter;
  private readonly netOutSegs: Counter;
  private readonly netListenOverflows: Counter;
  private readonly netListenDrops: Counter;
  private readonly netSoftnetDropped: Counter;
  private readonly netSoftnetSqueezed: Counter;
  private readonly netIfErrors: Counter<'interface' | 'direction'>;
  private readonly netIfDropped: Counter<'interface' | 'direction'>;
  private readonly netTcpMem: Gauge;
  private readonly netTcpSockets: Gauge;
  private readonly droppedSeen: Record<string, number> = {};

  constructor(opts: { processMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.healthScore = new Gauge({ name: 'oscope_health_score', help: 'Health score 0-100 of the node (oscope health): errors, latency, load and saturation sub-scores combined.', registers: r });
    this.healthCpu = new Counter({ name: 'oscope_health_cpu_seconds_total', help: 'CPU time (user + system) of the agent process while it computed the health score.', registers: r });
    this.total = new Gauge({ name: 'oscope_memory_total_bytes', help: 'MemTotal: usable RAM.', registers: r });
    this.available = new Gauge({ name: 'oscope_memory_available_bytes', help: 'MemAvailable: memory available for new work without swapping.', registers: r });
    this.free = new Gauge({ name: 'oscope_memory_free_bytes', help: 'MemFree: completely unused memory.', registers: r });
    this.used = new Gauge({ name: 'oscope_memory_used_bytes', help: 'Used memory by component, from /proc/meminfo.', labelNames: ['component'], registers: r });
    this.shmem = new Gauge({ name: 'oscope_memory_shmem_bytes', help: 'Shared memory: tmpfs, SysV and POSIX shm, memfd.', registers: r });
    this.slab = new Gauge({ name: 'oscope_memory_slab_bytes', help: 'Kernel slab memory.', labelNames: ['reclaimable'], registers: r });
    this.cgUsage = new Gauge({ name: 'oscope_cgroup_memory_usage_bytes', help: 'Memory charged to the cgroup, kernel memory included.', labelNames: CG_LABELS, registers: r });
    this.cgWorkingset = new Gauge({ name: 'oscope_cgroup_memory_workingset_bytes', help: 'Anonymous plus active file memory of the cgroup.', labelNames: CG_LABELS, registers: r });
    this.cgLimit = new Gauge({ name: 'oscope_cgroup_memory_limit_bytes', help: 'Memory limit of the cgroup (only cgroups with a limit below RAM).', labelNames: CG_LABELS, registers: r });
    this.cgFile = new Gauge({ name: 'oscope_cgroup_memory_file_bytes', help: 'Page cache charged to the cgroup.', labelNames: CG_LABELS, registers: r });
    this.cgShmem = new Gauge({ name: 'oscope_cgroup_memory_shmem_bytes', help: 'Shared memory charged to the cgroup.', labelNames: CG_LABELS, registers: r });
    this.zombies = new Gauge({ name: 'oscope_memcg_zombies', help: 'Memory cgroups removed but still alive in the kernel (dying).', registers: r });
    this.zombieBytes = new Gauge({ name: 'oscope_memcg_zombie_bytes', help: 'Memory still charged to dying memory cgroups (estimate).', registers: r });
    this.psiTotal = new Counter({ name: 'oscope_pressure_stalled_seconds_total', help: 'Pressure stall time (PSI).', labelNames: ['resource', 'kind'], registers: r });
    this.psiAvg10 = new Gauge({ name: 'oscope_pressure_avg10_ratio', help: 'Share of the last 10 s with stalled tasks (PSI avg10 / 100).', labelNames: ['resource', 'kind'], registers: r });
    this.duration = new Histogram({
      name: 'oscope_agent_collect_duration_seconds',
      help: 'Time one collection took.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    this.collectErrors = new Counter({ name: 'oscope_agent_collect_errors_total', help: 'Collections where a source failed.', labelNames: ['source'], registers: r });
    this.alertFiring = new Gauge({ name: 'oscope_alert_firing', help: 'Alert rules currently firing on this node (1 per firing instance).', labelNames: ['rule', 'severity'], registers: r });
    this.outboxItems = new Gauge({ name: 'oscope_agent_outbox_items', help: 'Results, alerts and samples waiting for the console.', registers: r });
    this.tasksTotal = new Counter({ name: 'oscope_agent_tasks_total', help: 'Diagnoses run by this agent.', labelNames: ['diagnosis', 'status'], registers: r });
    this.runqueue = new PresetHistogram(
      'oscope_runqueue_latency_seconds',
      `Run-queue latency (wakeup to running) per CPU, from BPF, since the agent started; cpu="all" above ${MAX_CPU_SERIES} CPUs.`,
      PROM_LE_S,
      ['cpu'],
      r,
    );
    this.diskLatency = new PresetHistogram(
      'oscope_disk_latency_seconds',
      'Block request latency per disk and stage, from BPF, since the agent started: queue (bio submitted → request in the I/O scheduler), sched (→ dispatched), device (→ completed), wake (→ the waiting task runs).',
      PROM_LE_S,
      ['disk', 'stage'],
      r,
    );
    const d = ['disk'] as const;
    this.diskIops = new Gauge({ name: 'oscope_disk_iops', help: 'Requests completed per second over the last interval (reads, writes, discards, flushes; iostat r/s + w/s + d/s + f/s).', labelNames: d, registers: r });
    this.diskAwait = new Gauge({ name: 'oscope_disk_await_seconds', help: 'Mean time of a completed request over the last interval, queue included (iostat await).', labelNames: d, registers: r });
    this.diskUtil = new Gauge({ name: 'oscope_disk_util_ratio', help: 'Share of the last interval the disk had requests in flight (iostat %util / 100).', labelNames: d, registers: r });
    this.diskInflight = new Gauge({ name: 'oscope_disk_inflight_requests', help: 'Requests in flight at the last reading (/sys/block/DISK/inflight).', labelNames: d, registers: r });
    this.diskQueueDepth = new Gauge({ name: 'oscope_disk_queue_depth', help: 'Mean requests in flight over the last interval (iostat aqu-sz).', labelNames: d, registers: r });
    this.diskStalled = new Gauge({ name: 'oscope_disk_stalled_seconds', help: 'Requests in flight and none completed for this long (a lower bound; 0 when the disk makes progress).', labelNames: d, registers: r });
    this.netDrops = new Counter({ name: 'oscope_net_drops_total', help: 'Packets dropped since boot in the host network namespace, by the kernel counter that counts them (reason: TcpExt.ListenDrops, TcpExt.TCPBacklogDrop, Ip.InDiscards, Udp.RcvbufErrors, …).', labelNames: ['reason'], registers: r });
    this.netRetrans = new Counter({ name: 'oscope_net_tcp_retransmits_total', help: 'TCP segments retransmitted since boot (Tcp.RetransSegs).', registers: r });
    this.netOutSegs = new Counter({ name: 'oscope_net_tcp_out_segments_total', help: 'TCP segments sent since boot (Tcp.OutSegs).', registers: r });
    this.netListenOverflows = new Counter({ name: 'oscope_net_listen_overflows_total', help: 'Connections refused because an accept queue was full (TcpExt.ListenOverflows).', registers: r });
    this.netListenDrops = new Counter({ name: 'oscope_net_listen_drops_total', help: 'SYNs dropped at a listener (TcpExt.ListenDrops).', registers: r });
    this.netSoftnetDropped = new Counter({ name: 'oscope_net_softnet_dropped_total', help: 'Packets dropped because a CPU receive backlog was full (softnet_stat, all CPUs).', registers: r });
    this.netSoftnetSqueezed = new Counter({ name: 'oscope_net_softnet_squeezed_total', help: 'Times net_rx_action ran out of budget with work left (softnet_stat time_squeeze, all CPUs).', registers: r });
    this.netIfErrors = new Counter({ name: 'oscope_net_interface_errors_total', help: 'Interface errors since boot (/proc/net/dev), by direction (rx, tx).', labelNames: ['interface', 'direction'], registers: r });
    this.netIfDropped = new Counter({ name: 'oscope_net_interface_dropped_total', help: 'Interface drops since boot (/proc/net/dev), by direction (rx, tx).', labelNames: ['interface', 'direction'], registers: r });
    this.netTcpMem = new Gauge({ name: 'oscope_net_tcp_memory_bytes', help: 'TCP socket buffer memory in use (sockstat TCP mem pages × page size).', registers: r });
    this.netTcpSockets = new Gauge({ name: 'oscope_net_tcp_sockets', help: 'TCP sockets in use (sockstat TCP inuse).', registers: r });
    this.diskReadBytes = new Counter({ name: 'oscope_disk_read_bytes_total', help: 'Bytes read from the disk since boot (/proc/diskstats sectors read × 512).', labelNames: d, registers: r });
    this.diskWrittenBytes = new Counter({ name: 'oscope_disk_written_bytes_total', help: 'Bytes written to the disk since boot (/proc/diskstats sectors written × 512).', labelNames: d, registers: r });
    this.diskIos = new Counter({ name: 'oscope_disk_ios_total', help: 'Requests completed since boot, by op (read, write, discard, flush).', labelNames: ['disk', 'op'], registers: r });
    this.diskIoTime = new Counter({ name: 'oscope_disk_io_time_seconds_total', help: 'Time the disk had requests in flight since boot (io_ticks; its rate is the utilisation).', labelNames: d, registers: r });
    this.cgIoRead = new Counter({ name: 'oscope_cgroup_io_read_bytes_total', help: 'Bytes the cgroup and its descendants read from block devices (blkio v1 / io.stat v2).', labelNames: CG_LABELS, registers: r });
    this.cgIoWritten = new Counter({ name: 'oscope_cgroup_io_written_bytes_total', help: 'Bytes the cgroup and its descendants wrote to block devices (blkio v1 / io.stat v2).', labelNames: CG_LABELS, registers: r });
    this.logAnomalies = new Counter({
      name: 'oscope_kernel_log_anomalies_total',
      help: 'Kernel-log reports found since the agent started, by inspect kind (rule) and level (severity).',
      labelNames: ['rule', 'severity'],
      registers: r,
    });
    this.collectorUp = new Gauge({ name: 'oscope_collector_up', help: 'Whether an optional collector works on this host (1) or not (0; see /healthz for why).', labelNames: ['source'], registers: r });
    this.dropped = new Counter({ name: 'oscope_agent_outbox_dropped_total', help: 'Outbox items dropped because the outbox was full while the console was away.', labelNames: ['kind'], registers: r });
    // The event-loop lag monitor samples every 10 ms by default: 100 wake-ups a second, about 0.3 % of a
    // CPU for an agent that otherwise sleeps 15 s. 100 ms is plenty to see a blocked loop.
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'oscope_agent_', eventLoopMonitoringPrecision: 100 });
  }

  update(s: Snapshot): void {
    this.total.set(s.memory.totalBytes);
    this.available.set(s.memory.availableBytes);
    this.free.set(s.memory.freeBytes);
    for (const c of MEMORY_COMPONENTS) this.used.set({ component: c }, s.memory.components[c]);
    this.shmem.set(s.memory.components.shmem);
    this.slab.set({ reclaimable: 'true' }, s.memory.components.slab_reclaimable);
    this.slab.set({ reclaimable: 'false' }, s.memory.components.slab_unreclaimable);

    for (const g of [this.cgUsage, this.cgWorkingset, this.cgLimit, this.cgFile, this.cgShmem]) g.reset();
    for (const c of s.cgroups) {
      const l = { cgroup: c.path, container: c.container?.name ?? c.container?.id ?? '', pod: c.container?.podName ?? '', namespace: c.container?.podNamespace ?? '' };
      this.cgUsage.set(l, c.usageBytes);
      this.cgWorkingset.set(l, c.workingsetBytes);
      if (c.limitBytes !== null) this.cgLimit.set(l, c.limitBytes);
      this.cgFile.set(l, c.fileBytes);
      this.cgShmem.set(l, c.shmemBytes);
    }
    if (s.zombies) {
      if (s.zombies.count !== undefined) this.zombies.set(s.zombies.count);
      this.zombieBytes.set(s.zombies.bytes);
    }
    for (const p of s.psi) {
      for (const kind of ['some', 'full'] as const) {
        const line = p[kind];
        if (!line) continue;
        const key = `${p.resource}/${kind}`;
        const prev = this.lastPsiUs.get(key);
        // The counter starts at the stall time so far (PSI totals count from boot).
        const delta = prev === undefined ? line.totalUs : line.totalUs - prev;
        if (delta > 0) this.psiTotal.inc({ resource: p.resource, kind }, delta / 1e6);
        this.lastPsiUs.set(key, line.totalUs);
        this.psiAvg10.set({ resource: p.resource, kind }, line.avg10 / 100);
      }
    }
    if (s.runqueue) {
      const per = s.runqueue.perCpu;
      const boundsUs = PROM_LE_S.map((x) => x * 1e6);
      this.runqueue.clearSeries();
      if (per.length <= MAX_CPU_SERIES) {
        for (const c of per) this.runqueue.setSeries({ cpu: String(c.cpu) }, regroup(c.slots, boundsUs), c.sumNs / 1e9);
      } else {
        const slots: number[] = [];
        for (const c of per) c.slots.forEach((n, i) => (slots[i] = (slots[i] ?? 0) + n));
        this.runqueue.setSeries({ cpu: 'all' }, regroup(slots, boundsUs), per.reduce((a, c) => a + c.sumNs, 0) / 1e9);
      }
    }
    if (s.disks) this.updateDisks(s.disks);
    if (s.ioLatency) {
      const boundsUs = PROM_LE_S.map((x) => x * 1e6);
      this.diskLatency.clearSeries();
      for (const h of s.ioLatency.cumulative) this.diskLatency.setSeries({ disk: h.disk, stage: h.stage }, regroup(h.slots, boundsUs), h.sumNs / 1e9);
    }
    // Cumulative kernel counters: the series is set to the kernel's value (reset, then one increment).
    this.cgIoRead.reset();
    this.cgIoWritten.reset();
    for (const c of s.cgroups) {
      if (!c.io) continue;
      const l = { cgroup: c.path, container: c.container?.name ?? c.container?.id ?? '', pod: c.container?.podName ?? '', namespace: c.container?.podNamespace ?? '' };
      this.cgIoRead.inc(l, c.io.readBytes);
      this.cgIoWritten.inc(l, c.io.writeBytes);
    }
    if (s.logAnomalies) for (const c of s.logAnomalies.counts) this.logAnomalies.inc({ rule: c.rule, severity: c.level }, c.count);
    if (s.net) this.updateNet(s.net);
    this.duration.observe(s.durationMs / 1000);
    for (const src of Object.keys(s.errors)) this.collectErrors.inc({ source: src });
  }

  /** Kernel counters since boot: each series is reset and set to the value read (a counter resets with the host). */
  private updateNet(n: NetSnapshot): void {
    for (const m of [this.netDrops, this.netRetrans, this.netOutSegs, this.netListenOverflows, this.netListenDrops, this.netSoftnetDropped, this.netSoftnetSqueezed, this.netIfErrors, this.netIfDropped]) m.reset();
    for (const [reason, v] of Object.entries(n.drops)) this.netDrops.inc({ reason }, v);
    this.netDrops.inc({ reason: 'softnet.backlog' }, n.softnetDropped);
    this.netRetrans.inc(n.retransSegs);
    this.netOutSegs.inc(n.outSegs);
    this.netListenOverflows.inc(n.listenOverflows);
    this.netListenDrops.inc(n.listenDrops);
    this.netSoftnetDropped.inc(n.softnetDropped);
    this.netSoftnetSqueezed.inc(n.softnetSqueezed);
    for (const i of n.interfaces) {
      this.netIfErrors.inc({ interface: i.name, direction: 'rx' }, i.rxErrors);
      this.netIfErrors.inc({ interface: i.name, direction: 'tx' }, i.txErrors);
      this.netIfDropped.inc({ interface: i.name, direction: 'rx' }, i.rxDropped);
      this.netIfDropped.inc({ interface: i.name, direction: 'tx' }, i.txDropped);
    }
    if (n.tcpMemBytes !== null) this.netTcpMem.set(n.tcpMemBytes);
    if (n.tcpSockets !== null) this.netTcpSockets.set(n.tcpSockets);
  }

  private updateDisks(disks: DiskSnapshot[]): void {
    for (const m of [this.diskIops, this.diskAwait, this.diskUtil, this.diskInflight, this.diskQueueDepth, this.diskStalled, this.diskReadBytes, this.diskWrittenBytes, this.diskIos, this.diskIoTime]) m.reset();
    for (const d of disks) {
      const disk = d.name;
      if (d.intervalS > 0) {
        this.diskIops.set({ disk }, d.iops);
        this.diskAwait.set({ disk }, d.awaitMs / 1000);
        this.diskUtil.set({ disk }, d.utilPct / 100);
        this.diskQueueDepth.set({ disk }, d.queueDepth);
      }
      this.diskInflight.set({ disk }, d.inflight);
      this.diskStalled.set({ disk }, d.stalledS);
      this.diskReadBytes.inc({ disk }, d.readBytesTotal);
      this.diskWrittenBytes.inc({ disk }, d.writtenBytesTotal);
      for (const op of ['read', 'write', 'discard', 'flush'] as const) this.diskIos.inc({ disk, op }, d.ios[op]);
      this.diskIoTime.inc({ disk }, d.ioTimeMs / 1000);
    }
  }

  /**
   * Creates the kernel-log series at 0 for the kinds the rules know, so that the first report of a kind
   * is an increase Prometheus sees (a series born at 1 is not).
   */
  initLogKinds(kinds: { rule: string; level: string }[]): void {
    for (const k of kinds) this.logAnomalies.inc({ rule: k.rule, severity: k.level }, 0);
  }

  /** Follows the client's drop counts (cumulative) into the counter. */
  outboxDropped(counts: Record<string, number>): void {
    for (const [kind, n] of Object.entries(counts)) {
      const d = n - (this.droppedSeen[kind] ?? 0);
      if (d > 0) this.dropped.inc({ kind }, d);
      this.droppedSeen[kind] = n;
    }
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
