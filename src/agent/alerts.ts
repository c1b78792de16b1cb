/**
 * Alert rules, evaluated by the agent on every collection. A rule has a kind (what it measures), a
 * threshold, a `forS` (how long the condition must hold before it fires) and optionally a diagnosis to
 * run when it fires (so the evidence is captured while the problem is live). Rules come from the config
 * file (`rules`: entries override the defaults by id; `"enabled": false` turns one off).
 *
 * An instance is a rule plus its labels (the cgroup for per-container rules, the log kind for
 * kernel-log rules). Events are emitted on transitions only: `firing` when an instance has held for
 * `forS`, `resolved` when it stops. Each event carries its message in every UI language (`messages`,
 * from the `agent.alert.*` catalog entries); `message` is the English one.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AlertEvent } from '../console/protocol.js';
import { SeveritySchema } from '../contract/common.js';
import { LEVELS, LevelSchema } from '../contract/inspect.js';
import { type Lang, LANGS, t } from '../report/i18n/index.js';
import { DEFAULT_THRESHOLDS } from '../diagnose/thresholds.js';
import type { Snapshot } from './collect.js';

const base = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  enabled: z.boolean().default(true),
  severity: SeveritySchema.default('warning'),
  forS: z.number().min(0).max(86400).default(60),
  autoDiagnose: z.object({ diagnosis: z.string(), params: z.record(z.unknown()).default({}) }).strict().optional(),
  /**
   * A triggered profile: when the rule fires, the agent profiles on-CPU for intervalS at hz and sends the
   * window (marked with the rule) with its next sample, at most once per cooldownS per rule
   * (src/agent/profiler.ts TriggeredProfiler). Works whether continuous profiling is on or off.
   */
  profile: z
    .object({
      intervalS: z.number().min(1).max(300).default(30),
      hz: z.number().int().min(1).max(999).default(49),
      cooldownS: z.number().min(0).max(86400).default(600),
    })
    .strict()
    .optional(),
};

export const RuleSchema = z.discriminatedUnion('kind', [
  /** Host memory in use ((MemTotal − MemAvailable) / MemTotal) at or above thresholdPct. */
  z.object({ ...base, kind: z.literal('memory_usage'), thresholdPct: z.number().min(0).max(100) }).strict(),
  /** A cgroup with a limit at or above thresholdPct of it, with at least fileSharePct of its usage page cache. */
  z.object({ ...base, kind: z.literal('container_near_limit'), thresholdPct: z.number().min(0).max(100), fileSharePct: z.number().min(0).max(100).default(0) }).strict(),
  /** Shmem grew by at least thresholdBytes within windowS. */
  z.object({ ...base, kind: z.literal('shmem_growth'), thresholdBytes: z.number().min(0), windowS: z.number().min(1).max(86400) }).strict(),
  /** Unreclaimable slab grew by at least thresholdBytes within windowS. */
  z.object({ ...base, kind: z.literal('slab_growth'), thresholdBytes: z.number().min(0), windowS: z.number().min(1).max(86400) }).strict(),
  /** At least thresholdCount zombie (dying) memory cgroups, or at least thresholdBytes held by them. */
  z.object({ ...base, kind: z.literal('zombie_cgroups'), thresholdCount: z.number().int().min(0), thresholdBytes: z.number().min(0).optional() }).strict(),
  /** Memory pressure: PSI memory "some" avg10 at or above thresholdPct. */
  z.object({ ...base, kind: z.literal('memory_pressure'), thresholdPct: z.number().min(0).max(100) }).strict(),
  /**
   * Kernel-log anomalies (inspect's rules, live): at least thresholdCount reports of one kind at one of
   * `levels` within windowS; `kinds` (inspect kinds such as OOM, HANG, IO-ERROR) narrows it. One instance
   * per kind; it resolves once the window holds no more such reports.
   */
  z
    .object({
      ...base,
      forS: z.number().min(0).max(86400).default(0),
      kind: z.literal('kernel_log'),
      levels: z.array(LevelSchema).min(1).default(['fatal', 'critical']),
      kinds: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).max(100).optional(),
      thresholdCount: z.number().int().min(1).default(1),
      windowS: z.number().min(1).max(86400).default(300),
    })
    .strict(),
  /**
   * Run-queue latency spike: the interval's p99 wakeup-to-run latency (all CPUs, log2 buckets, ±50 %) at
   * or above thresholdMs, with at least minCount wakeups in the interval (a p99 of a handful is noise).
   */
  z.object({ ...base, kind: z.literal('runqueue_latency'), thresholdMs: z.number().positive().max(600_000), minCount: z.number().int().min(1).default(100) }).strict(),
  /**
   * Slow disk: a disk's mean request time over the interval (iostat await: queue + scheduler + device,
   * from /proc/diskstats, so it works without BPF) at or above thresholdMs, over at least minRequests
   * requests. One instance per disk; the BPF histogram, when it runs, adds the stage that dominates.
   */
  z.object({ ...base, kind: z.literal('io_latency'), thresholdMs: z.number().positive().max(600_000), minRequests: z.number().int().min(1).default(DEFAULT_THRESHOLDS['io.minRequests']) }).strict(),
  /** Hung I/O: a disk with requests in flight and none completed for at least thresholdS (one instance per disk). */
  z.object({ ...base, forS: z.number().min(0).max(86400).default(0), kind: z.literal('io_hang'), thresholdS: z.number().positive().max(86400) }).strict(),
  /** Saturated disk: requests in flight at least thresholdPct of the interval (iostat %util), one instance per disk. */
  z.object({ ...base, kind: z.literal('disk_saturated'), thresholdPct: z.number().min(0).max(100) }).strict(),
  /** Packet drops (the host namespace's drop counters and the softnet backlog) at or above thresholdPerS over the last interval. */
  z.object({ ...base, kind: z.literal('net_drops'), thresholdPerS: z.number().positive() }).strict(),
  /** TCP retransmits at or above thresholdPct of the segments sent over the last interval, with at least minRetransmits. */
  z.object({ ...base, kind: z.literal('net_retrans'), thresholdPct: z.number().positive().max(100), minRetransmits: z.number().int().min(1).default(DEFAULT_THRESHOLDS['net.retransMin']) }).strict(),
  /** Listen queue overflows (TcpExt.ListenOverflows) at least thresholdCount over the last interval. */
  z.object({ ...base, kind: z.literal('net_listen_overflow'), thresholdCount: z.number().int().min(1) }).strict(),
  /** System (kernel) CPU time at or above thresholdPct of all CPUs over the last interval. */
  z.object({ ...base, kind: z.literal('cpu_sys_high'), thresholdPct: z.number().min(0).max(100) }).strict(),
  /** The 1-minute load average at or above thresholdPerCpu × the CPU count. */
  z.object({ ...base, kind: z.literal('load_high'), thresholdPerCpu: z.number().positive().max(1000) }).strict(),
  /** A cgroup (container) using at least thresholdCpus CPUs over the last interval; one instance per cgroup. */
  z.object({ ...base, kind: z.literal('container_cpu_high'), thresholdCpus: z.number().positive().max(10000) }).strict(),
]);
export type Rule = z.infer<typeof RuleSchema>;

export const DEFAULT_RULES: Rule[] = [
  { id: 'memory-usage-high', kind: 'memory_usage', thresholdPct: 90, forS: 60, severity: 'warning', enabled: true, autoDiagnose: { diagnosis: 'mem', params: { kpage: false } } },
  { id: 'container-near-limit', kind: 'container_near_limit', thresholdPct: 90, fileSharePct: 50, forS: 60, severity: 'warning', enabled: true },
  { id: 'shmem-growth', kind: 'shmem_growth', thresholdBytes: 1024 ** 3, windowS: 600, forS: 0, severity: 'warning', enabled: true },
  { id: 'slab-growth', kind: 'slab_growth', thresholdBytes: 1024 ** 3, windowS: 600, forS: 0, severity: 'warning', enabled: true },
  { id: 'zombie-cgroups', kind: 'zombie_cgroups', thresholdCount: 1000, thresholdBytes: 1024 ** 3, forS: 300, severity: 'warning', enabled: true },
  { id: 'memory-pressure', kind: 'memory_pressure', thresholdPct: 20, forS: 60, severity: 'critical', enabled: true },
  // Oops, panics, lockups, hung tasks, RCU stalls, OOM kills, machine checks, read-only filesystems.
  { id: 'kernel-log-critical', kind: 'kernel_log', levels: ['fatal', 'critical'], thresholdCount: 1, windowS: 300, forS: 0, severity: 'critical', enabled: true },
  // I/O and filesystem errors, NIC TX timeouts, lockdep, conntrack full, …
  { id: 'kernel-log-errors', kind: 'kernel_log', levels: ['error'], thresholdCount: 1, windowS: 300, forS: 0, severity: 'warning', enabled: true },
  { id: 'runqueue-latency-high', kind: 'runqueue_latency', thresholdMs: 50, minCount: 100, forS: 60, severity: 'warning', enabled: true },
  // The I/O rules use the thresholds of `oscope io`'s findings (io.latencyMs, io.minRequests, io.hangS,
  // io.utilPct) and run `io` on the disk while the problem is live.
  {
    id: 'io-latency-high',
    kind: 'io_latency',
    thresholdMs: DEFAULT_THRESHOLDS['io.latencyMs'],
    minRequests: DEFAULT_THRESHOLDS['io.minRequests'],
    forS: 60,
    severity: 'warning',
    enabled: true,
    autoDiagnose: { diagnosis: 'io', params: { intervalS: 10 } },
  },
  { id: 'io-hang', kind: 'io_hang', thresholdS: DEFAULT_THRESHOLDS['io.hangS'], forS: 0, severity: 'critical', enabled: true, autoDiagnose: { diagnosis: 'io', params: { intervalS: 5 } } },
  // The net rules use the thresholds of `oscope net`'s findings and run `net` while the problem is live.
  { id: 'net-drops-high', kind: 'net_drops', thresholdPerS: DEFAULT_THRESHOLDS['net.dropPerS'], forS: 60, severity: 'warning', enabled: true, autoDiagnose: { diagnosis: 'net', params: { intervalS: 10 } } },
  {
    id: 'net-retrans-high',
    kind: 'net_retrans',
    thresholdPct: DEFAULT_THRESHOLDS['net.retransPct'],
    minRetransmits: DEFAULT_THRESHOLDS['net.retransMin'],
    forS: 60,
    severity: 'warning',
    enabled: true,
    autoDiagnose: { diagnosis: 'net', params: { intervalS: 10 } },
  },
  { id: 'net-listen-overflow', kind: 'net_listen_overflow', thresholdCount: DEFAULT_THRESHOLDS['net.listenOverflowMin'], forS: 0, severity: 'warning', enabled: true, autoDiagnose: { diagnosis: 'net', params: { intervalS: 5 } } },
  // CPU rules (the thresholds of `oscope load`'s findings): each takes a 30 s profile at 49 Hz when it
  // fires (at most once per 10 minutes per rule), so the console has the flame graph of the moment.
  { id: 'cpu-sys-high', kind: 'cpu_sys_high', thresholdPct: DEFAULT_THRESHOLDS['load.sysPct'], forS: 60, severity: 'warning', enabled: true, profile: { intervalS: 30, hz: 49, cooldownS: 600 } },
  { id: 'load-high', kind: 'load_high', thresholdPerCpu: DEFAULT_THRESHOLDS['load.runnablePerCpu'], forS: 120, severity: 'warning', enabled: true, profile: { intervalS: 30, hz: 49, cooldownS: 600 } },
  { id: 'container-cpu-high', kind: 'container_cpu_high', thresholdCpus: 2, forS: 120, severity: 'info', enabled: false, profile: { intervalS: 30, hz: 49, cooldownS: 600 } },
  { id: 'disk-saturated', kind: 'disk_saturated', thresholdPct: DEFAULT_THRESHOLDS['io.utilPct'], forS: 120, severity: 'warning', enabled: true, autoDiagnose: { diagnosis: 'io', params: { intervalS: 10 } } },
];

/** The rule kinds whose instances are disks: their autoDiagnose of `io` is narrowed to that disk. */
export const DISK_RULE_KINDS: ReadonlySet<Rule['kind']> = new Set(['io_latency', 'io_hang', 'disk_saturated']);

/** Defaults overlaid with the file's rules (same id replaces, new id adds). Throws a ZodError on a bad rule. */
export function resolveRules(fileRules: unknown[] = []): Rule[] {
  const out = new Map(DEFAULT_RULES.map((r) => [r.id, r]));
  for (const raw of fileRules) {
    const r = RuleSchema.parse(raw);
    out.set(r.id, r);
  }
  return [...out.values()];
}

/** A message in any UI language. */
export type LocalizedMessage = (lang: Lang) => string;

interface Observation {
  key: string;
  labels: Record<string, string>;
  value: number;
  message: LocalizedMessage;
}

/** `agent.alert.<key>` from the catalog, with params. */
const msg =
  (key: string, params: Record<string, string | number>): LocalizedMessage =>
  (lang) =>
    t(lang, `agent.alert.${key}`, params);

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** The instances of a rule whose condition holds in this snapshot (history for growth and log rules). */
function observe(rule: Rule, s: Snapshot, history: readonly Snapshot[]): Observation[] {
  const m = s.memory;
  const past = (windowS: number): Snapshot | undefined => {
    // The oldest snapshot still inside the window.
    const from = s.ts - windowS * 1000;
    return history.find((h) => h.ts >= from && h.ts < s.ts);
  };
  // The previous snapshot with net counters: the net rules compare over the last interval.
  const prevNet = (): { n: NonNullable<Snapshot['net']>; dtS: number } | undefined => {
    for (let i = history.length - 1; i >= 0; i--) {
      const h = history[i]!;
      if (h.ts < s.ts && h.net) return { n: h.net, dtS: Math.max(1e-3, (s.ts - h.ts) / 1000) };
    }
    return undefined;
  };
  const d = (a: number, b: number): number => Math.max(0, b - a);
  switch (rule.kind) {
    case 'net_drops': {
      const p = prevNet();
      if (!s.net || !p) return [];
      let drops = d(p.n.softnetDropped, s.net.softnetDropped);
      let top = 'softnet.backlog';
      let topN = drops;
      for (const [k, v] of Object.entries(s.net.drops)) {
        const x = d(p.n.drops[k] ?? v, v);
        drops += x;
        if (x > topN) {
          top = k;
          topN = x;
        }
      }
      const perS = drops / p.dtS;
      return perS >= rule.thresholdPerS ? [{ key: '', labels: {}, value: perS, message: msg('net_drops', { perS: round1(perS), drops, counter: top, counterDrops: topN, thresholdPerS: rule.thresholdPerS }) }] : [];
    }
    case 'net_retrans': {
      const p = prevNet();
      if (!s.net || !p) return [];
      const retr = d(p.n.retransSegs, s.net.retransSegs);
      const sent = d(p.n.outSegs, s.net.outSegs);
      const pct = sent > 0 ? (retr / sent) * 100 : 0;
      return retr >= rule.minRetransmits && pct >= rule.thresholdPct ? [{ key: '', labels: {}, value: pct, message: msg('net_retrans', { retransmits: retr, segments: sent, retransPct: round1(pct), thresholdPct: rule.thresholdPct }) }] : [];
    }
    case 'net_listen_overflow': {
      const p = prevNet();
      if (!s.net || !p) return [];
      const ov = d(p.n.listenOverflows, s.net.listenOverflows);
      return ov >= rule.thresholdCount ? [{ key: '', labels: {}, value: ov, message: msg('net_listen_overflow', { overflows: ov, listenDrops: d(p.n.listenDrops, s.net.listenDrops), seconds: Math.round(p.dtS) }) }] : [];
    }
    case 'cpu_sys_high': {
      const sp = s.cpu?.split;
      if (!sp || sp.sysPct < rule.thresholdPct) return [];
      return [{ key: '', labels: {}, value: sp.sysPct, message: msg('cpu_sys_high', { sysPct: sp.sysPct, userPct: sp.userPct, thresholdPct: rule.thresholdPct }) }];
    }
    case 'load_high': {
      const c = s.cpu;
      if (!c || c.load1 < rule.thresholdPerCpu * c.cpus) return [];
      return [{ key: '', labels: {}, value: c.load1, message: msg('load_high', { load1: c.load1, cpus: c.cpus, perCpu: round1(c.load1 / c.cpus), thresholdPerCpu: rule.thresholdPerCpu }) }];
    }
    case 'container_cpu_high': {
      const prev = history.at(-1);
      if (!prev || prev.ts >= s.ts) return [];
      const before = new Map(prev.cgroups.map((c) => [c.path, c.cpuUsageUs]));
      const dtUs = (s.ts - prev.ts) * 1000;
      const out: Observation[] = [];
      for (const c of s.cgroups) {
        const b = before.get(c.path);
        if (c.cpuUsageUs === undefined || b === undefined) continue;
        const cpus = Math.max(0, c.cpuUsageUs - b) / dtUs;
        if (cpus < rule.thresholdCpus) continue;
        const who = c.container?.podName ?? c.container?.name ?? c.path;
        out.push({
          key: c.path,
          labels: { cgroup: c.path, container: c.container?.name ?? '', pod: c.container?.podName ?? '', namespace: c.container?.podNamespace ?? '' },
          value: round1(cpus),
          message: msg('container_cpu_high', { who, cpus: round1(cpus), thresholdCpus: rule.thresholdCpus }),
        });
      }
      return out;
    }
    case 'memory_usage': {
      if (m.totalBytes <= 0) return [];
      const pct = ((m.totalBytes - m.availableBytes) / m.totalBytes) * 100;
      return pct >= rule.thresholdPct
        ? [{ key: '', labels: {}, value: pct, message: msg('memory_usage', { usedPct: round1(pct), totalBytes: m.totalBytes, thresholdPct: rule.thresholdPct }) }]
        : [];
    }
    case 'container_near_limit': {
      const out: Observation[] = [];
      for (const c of s.cgroups) {
        if (c.limitBytes === null || c.limitBytes <= 0) continue;
        const pct = (c.usageBytes / c.limitBytes) * 100;
        const filePct = c.usageBytes > 0 ? (c.fileBytes / c.usageBytes) * 100 : 0;
        if (pct >= rule.thresholdPct && filePct >= rule.fileSharePct) {
          const who = c.container?.podName ?? c.container?.name ?? c.path;
          out.push({
            key: c.path,
            labels: { cgroup: c.path, container: c.container?.name ?? '', pod: c.container?.podName ?? '', namespace: c.container?.podNamespace ?? '' },
            value: pct,
            message: msg('container_near_limit', { who, usedPct: round1(pct), limitBytes: c.limitBytes, filePct: Math.round(filePct) }),
          });
        }
      }
      return out;
    }
    case 'shmem_growth':
    case 'slab_growth': {
      const p = past(rule.windowS);
      if (!p) return [];
      const pick = (x: Snapshot): number => (rule.kind === 'shmem_growth' ? x.memory.components.shmem : x.memory.components.slab_unreclaimable);
      const grew = pick(s) - pick(p);
      return grew >= rule.thresholdBytes
        ? [{ key: '', labels: {}, value: grew, message: msg(rule.kind, { grewBytes: grew, seconds: Math.round((s.ts - p.ts) / 1000), nowBytes: pick(s) }) }]
        : [];
    }
    case 'zombie_cgroups': {
      const z = s.zombies;
      if (!z) return [];
      const byCount = z.count !== undefined && z.count >= rule.thresholdCount;
      const byBytes = rule.thresholdBytes !== undefined && z.bytes >= rule.thresholdBytes;
      if (!byCount && !byBytes) return [];
      const message = z.count !== undefined ? msg('zombie_cgroups', { count: z.count, zombieBytes: z.bytes }) : msg('zombie_cgroups.noCount', { zombieBytes: z.bytes });
      return [{ key: '', labels: {}, value: z.count ?? 0, message }];
    }
    case 'memory_pressure': {
      const some = s.psi.find((p) => p.resource === 'memory')?.some;
      return some && some.avg10 >= rule.thresholdPct
        ? [{ key: '', labels: {}, value: some.avg10, message: msg('memory_pressure', { stallPct: round1(some.avg10), thresholdPct: rule.thresholdPct }) }]
        : [];
    }
    case 'kernel_log': {
      // Reports of the wanted levels (and kinds) per kind, within the window, this snapshot included.
      const from = s.ts - rule.windowS * 1000;
      const per = new Map<string, { count: number; level: (typeof LEVELS)[number]; title: string }>();
      for (const x of [...history.filter((h) => h.ts > from && h.ts < s.ts), s]) {
        const a = x.logAnomalies;
        if (!a) continue;
        for (const c of a.counts) {
          if (!rule.levels.includes(c.level) || (rule.kinds && !rule.kinds.includes(c.rule))) continue;
          const e = per.get(c.rule) ?? { count: 0, level: c.level, title: '' };
          e.count += c.count;
          if (LEVELS.indexOf(c.level) < LEVELS.indexOf(e.level)) e.level = c.level;
          const latest = [...a.recent].reverse().find((r) => r.rule === c.rule && r.level === c.level);
          if (latest) e.title = latest.title;
          per.set(c.rule, e);
        }
      }
      const out: Observation[] = [];
      for (const [kind, e] of per) {
        if (e.count < rule.thresholdCount) continue;
        const params = { count: e.count, logKind: kind, seconds: rule.windowS, title: e.title };
        out.push({
          key: kind,
          labels: { logKind: kind, level: e.level },
          value: e.count,
          message: (lang) => t(lang, e.title ? 'agent.alert.kernel_log' : 'agent.alert.kernel_log.noTitle', { ...params, level: t(lang, `agent.level.${e.level}`) }),
        });
      }
      return out;
    }
    case 'runqueue_latency': {
      const r = s.runqueue?.interval;
      if (!r || r.count < rule.minCount || r.p99Ms === null || r.p99Ms < rule.thresholdMs) return [];
      return [
        {
          key: '',
          labels: {},
          value: r.p99Ms,
          message: msg('runqueue_latency', { p99Ms: r.p99Ms, maxMs: r.maxMs ?? r.p99Ms, count: r.count, thresholdMs: rule.thresholdMs }),
        },
      ];
    }
    case 'io_latency': {
      const out: Observation[] = [];
      const lat = new Map((s.ioLatency?.interval ?? []).map((d) => [d.disk, d]));
      for (const d of s.disks ?? []) {
        if (d.intervalS <= 0 || d.iops * d.intervalS < rule.minRequests || d.awaitMs < rule.thresholdMs) continue;
        const l = lat.get(d.name);
        // The stage with the largest mean share, when the BPF histogram saw this disk.
        let stage: string | undefined;
        let stageMs = 0;
        for (const [k, v] of Object.entries(l?.stages ?? {})) if (v.meanMs !== null && v.meanMs > stageMs) [stage, stageMs] = [k, v.meanMs];
        const params = { disk: d.name, awaitMs: d.awaitMs, iops: d.iops, thresholdMs: rule.thresholdMs };
        out.push({
          key: d.name,
          labels: { disk: d.name },
          value: d.awaitMs,
          message: stage ? (lang) => t(lang, 'agent.alert.io_latency.stage', { ...params, stage: t(lang, `agent.ioStage.${stage}`), stageMs }) : msg('io_latency', params),
        });
      }
      return out;
    }
    case 'io_hang':
      return (s.disks ?? [])
        .filter((d) => d.stalledS >= rule.thresholdS)
        .map((d) => ({ key: d.name, labels: { disk: d.name }, value: d.stalledS, message: msg('io_hang', { disk: d.name, inflight: d.inflight, seconds: Math.round(d.stalledS) }) }));
    case 'disk_saturated':
      return (s.disks ?? [])
        .filter((d) => d.intervalS > 0 && d.utilPct >= rule.thresholdPct)
        .map((d) => ({
          key: d.name,
          labels: { disk: d.name },
          value: d.utilPct,
          message: msg('disk_saturated', { disk: d.name, utilPct: d.utilPct, queueDepth: d.queueDepth, iops: d.iops, thresholdPct: rule.thresholdPct }),
        }));
  }
}

interface InstanceState {
  since: number;
  firing: boolean;
  eventLabels: Record<string, string>;
}

export interface FiredEvent extends AlertEvent {
  /** The message in each UI language (`message` is the English one). */
  messages: Record<Lang, string>;
  /** The rule that fired (for autoDiagnose). */
  ruleDef: Rule;
}

/** Every language's text of a message, each cut to the 2000 characters the console accepts. */
export function localize(m: LocalizedMessage): Record<Lang, string> {
  const out = {} as Record<Lang, string>;
  for (const l of LANGS) {
    const text = m(l);
    out[l] = text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
  }
  return out;
}

export class AlertEvaluator {
  private readonly state = new Map<string, InstanceState>();
  private readonly history: Snapshot[] = [];
  private readonly maxWindowMs: number;

  constructor(readonly rules: Rule[]) {
    this.maxWindowMs = Math.max(0, ...rules.map((r) => ('windowS' in r ? r.windowS * 1000 : 0))) + 60_000;
  }

  /** Instances firing now: `rule id → severity` per instance. */
  firing(): { rule: string; severity: string }[] {
    const out: { rule: string; severity: string }[] = [];
    for (const [k, st] of this.state) {
      if (!st.firing) continue;
      const rule = this.rules.find((r) => r.id === k.split('\u0000')[0]);
      if (rule) out.push({ rule: rule.id, severity: rule.severity });
    }
    return out;
  }

  evaluate(s: Snapshot): FiredEvent[] {
    const events: FiredEvent[] = [];
    const seen = new Set<string>();
    for (const rule of this.rules) {
      if (!rule.enabled) continue;
      for (const o of observe(rule, s, this.history)) {
        const key = `${rule.id}\u0000${o.key}`;
        seen.add(key);
        let st = this.state.get(key);
        if (!st) {
          st = { since: s.ts, firing: false, eventLabels: o.labels };
          this.state.set(key, st);
        }
        if (!st.firing && s.ts - st.since >= rule.forS * 1000) {
          st.firing = true;
          events.push(this.event(rule, 'firing', s.ts, o.message, { ...o.labels, value: o.value, since: new Date(st.since).toISOString() }));
        }
      }
    }
    for (const [key, st] of this.state) {
      if (seen.has(key)) continue;
      this.state.delete(key);
      const rule = this.rules.find((r) => r.id === key.split('\u0000')[0]);
      if (!st.firing || !rule) continue;
      const what = st.eventLabels.cgroup || st.eventLabels.logKind || st.eventLabels.disk || '';
      events.push(this.event(rule, 'resolved', s.ts, what ? msg('resolved.of', { rule: rule.id, what }) : msg('resolved', { rule: rule.id }), st.eventLabels));
    }
    this.history.push(s);
    while (this.history.length > 0 && this.history[0]!.ts < s.ts - this.maxWindowMs) this.history.shift();
    return events;
  }

  private event(rule: Rule, state: 'firing' | 'resolved', ts: number, message: LocalizedMessage, data: Record<string, unknown>): FiredEvent {
    const messages = localize(message);
    return { id: randomUUID(), rule: rule.id, severity: rule.severity, state, ts: new Date(ts).toISOString(), message: messages.en, messages, data: { kind: rule.kind, ...data }, ruleDef: rule };
  }
}
