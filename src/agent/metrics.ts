/**
 * Prometheus metrics (prom-client), named by the Prometheus conventions: `oscope_` prefix, base units
 * (`_bytes`, `_seconds`), `_total` for counters, `_ratio` for 0–1 values. Per-cgroup series carry
 * `cgroup` plus `container`, `pod` and `namespace` labels (empty when not a container). Series of a
 * cgroup that disappeared are dropped at the next collection.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { MEMORY_COMPONENTS, type Snapshot } from './collect.js';
import { PROM_LE_S, regroup } from './runqueue.js';

/**
 * A histogram whose buckets are set from counts kept elsewhere (the kernel's BPF map), not observed
 * one value at a time: prom-client's Histogram with its export replaced. Values are cumulative.
 */
class PresetHistogram extends Histogram<'cpu'> {
  private series = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    private readonly bounds: readonly number[],
    registers: Registry[],
  ) {
    super({ name: metricName, help: helpText, labelNames: ['cpu'], buckets: [...bounds], registers });
  }

  /** Sets one series: per-bucket counts (not cumulative; one more than the bounds, for +Inf) and their sum. */
  setSeries(cpu: string, buckets: number[], sum: number): void {
    this.series.set(cpu, { buckets, sum, count: buckets.reduce((a, b) => a + b, 0) });
  }

  clearSeries(): void {
    this.series.clear();
  }

  override get(): ReturnType<Histogram<'cpu'>['get']> {
    const name = this.metricName;
    const values: Awaited<ReturnType<Histogram<'cpu'>['get']>>['values'] = [];
    for (const [cpu, s] of [...this.series].sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]))) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { cpu, le } as never, value: acc });
      });
      values.push({ metricName: `${name}_bucket`, labels: { cpu, le: '+Inf' } as never, value: s.count });
      values.push({ metricName: `${name}_sum`, labels: { cpu }, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: { cpu }, value: s.count });
    }
    // prom-client types MetricType as a numeric enum; at run time the registry wants the string.
    return Promise.resolve({ name, help: this.helpText, type: 'histogram' as never, aggregator: 'sum', collect: undefined as never, values });
  }

  /** What the registry calls for the text format. */
  getForPromString(): ReturnType<Histogram<'cpu'>['get']> {
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
  readonly alertFiring: Gauge<'rule' | 'severity'>;
  readonly outboxItems: Gauge;
  readonly tasksTotal: Counter<'diagnosis' | 'status'>;
  private readonly lastPsiUs = new Map<string, number>();
  private readonly runqueue: PresetHistogram;
  private readonly logAnomalies: Counter<'rule' | 'severity'>;
  readonly collectorUp: Gauge<'source'>;
  private readonly dropped: Counter<'kind'>;
  private readonly droppedSeen: Record<string, number> = {};

  constructor(opts: { processMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.healthScore = new Gauge({ name: 'oscope_health_score', help: 'Health score 0-100 of the node (oscope health): errors, latency, load and saturation sub-scores combined.', registers: r });
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
      r,
    );
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
        for (const c of per) this.runqueue.setSeries(String(c.cpu), regroup(c.slots, boundsUs), c.sumNs / 1e9);
      } else {
        const slots: number[] = [];
        for (const c of per) c.slots.forEach((n, i) => (slots[i] = (slots[i] ?? 0) + n));
        this.runqueue.setSeries('all', regroup(slots, boundsUs), per.reduce((a, c) => a + c.sumNs, 0) / 1e9);
      }
    }
    if (s.logAnomalies) for (const c of s.logAnomalies.counts) this.logAnomalies.inc({ rule: c.rule, severity: c.level }, c.count);
    this.duration.observe(s.durationMs / 1000);
    for (const src of Object.keys(s.errors)) this.collectErrors.inc({ source: src });
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
