/**
 * Alert rules, evaluated by the agent on every collection. A rule has a kind (what it measures), a
 * threshold, a `forS` (how long the condition must hold before it fires) and optionally a diagnosis to
 * run when it fires (so the evidence is captured while the problem is live). Rules come from the config
 * file (`rules`: entries override the defaults by id; `"enabled": false` turns one off).
 *
 * An instance is a rule plus its labels (the cgroup for per-container rules). Events are emitted on
 * transitions only: `firing` when an instance has held for `forS`, `resolved` when it stops.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AlertEvent } from '../console/protocol.js';
import type { Snapshot } from './collect.js';

const base = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  enabled: z.boolean().default(true),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  forS: z.number().min(0).max(86400).default(60),
  autoDiagnose: z.object({ diagnosis: z.string(), params: z.record(z.unknown()).default({}) }).strict().optional(),
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
]);
export type Rule = z.infer<typeof RuleSchema>;

export const DEFAULT_RULES: Rule[] = [
  { id: 'memory-usage-high', kind: 'memory_usage', thresholdPct: 90, forS: 60, severity: 'warning', enabled: true, autoDiagnose: { diagnosis: 'mem', params: { kpage: false } } },
  { id: 'container-near-limit', kind: 'container_near_limit', thresholdPct: 90, fileSharePct: 50, forS: 60, severity: 'warning', enabled: true },
  { id: 'shmem-growth', kind: 'shmem_growth', thresholdBytes: 1024 ** 3, windowS: 600, forS: 0, severity: 'warning', enabled: true },
  { id: 'slab-growth', kind: 'slab_growth', thresholdBytes: 1024 ** 3, windowS: 600, forS: 0, severity: 'warning', enabled: true },
  { id: 'zombie-cgroups', kind: 'zombie_cgroups', thresholdCount: 1000, thresholdBytes: 1024 ** 3, forS: 300, severity: 'warning', enabled: true },
  { id: 'memory-pressure', kind: 'memory_pressure', thresholdPct: 20, forS: 60, severity: 'critical', enabled: true },
];

/** Defaults overlaid with the file's rules (same id replaces, new id adds). Throws a ZodError on a bad rule. */
export function resolveRules(fileRules: unknown[] = []): Rule[] {
  const out = new Map(DEFAULT_RULES.map((r) => [r.id, r]));
  for (const raw of fileRules) {
    const r = RuleSchema.parse(raw);
    out.set(r.id, r);
  }
  return [...out.values()];
}

interface Observation {
  key: string;
  labels: Record<string, string>;
  value: number;
  message: string;
}

const GiB = (n: number): string => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/** The instances of a rule whose condition holds in this snapshot (history for growth rules). */
function observe(rule: Rule, s: Snapshot, history: readonly Snapshot[]): Observation[] {
  const m = s.memory;
  const past = (windowS: number): Snapshot | undefined => {
    // The oldest snapshot still inside the window.
    const from = s.ts - windowS * 1000;
    return history.find((h) => h.ts >= from && h.ts < s.ts);
  };
  switch (rule.kind) {
    case 'memory_usage': {
      if (m.totalBytes <= 0) return [];
      const pct = ((m.totalBytes - m.availableBytes) / m.totalBytes) * 100;
      return pct >= rule.thresholdPct ? [{ key: '', labels: {}, value: pct, message: `memory in use is ${pct.toFixed(1)} % of ${GiB(m.totalBytes)} (threshold ${rule.thresholdPct} %)` }] : [];
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
            message: `${who} uses ${pct.toFixed(1)} % of its ${GiB(c.limitBytes)} limit, ${filePct.toFixed(0)} % of it page cache`,
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
      const what = rule.kind === 'shmem_growth' ? 'shared memory' : 'unreclaimable slab';
      return grew >= rule.thresholdBytes
        ? [{ key: '', labels: {}, value: grew, message: `${what} grew by ${GiB(grew)} in ${Math.round((s.ts - p.ts) / 1000)} s, to ${GiB(pick(s))}` }]
        : [];
    }
    case 'zombie_cgroups': {
      const z = s.zombies;
      if (!z) return [];
      const byCount = z.count !== undefined && z.count >= rule.thresholdCount;
      const byBytes = rule.thresholdBytes !== undefined && z.bytes >= rule.thresholdBytes;
      return byCount || byBytes ? [{ key: '', labels: {}, value: z.count ?? 0, message: `${z.count ?? 'unknown'} zombie memory cgroups hold ${GiB(z.bytes)}` }] : [];
    }
    case 'memory_pressure': {
      const some = s.psi.find((p) => p.resource === 'memory')?.some;
      return some && some.avg10 >= rule.thresholdPct
        ? [{ key: '', labels: {}, value: some.avg10, message: `tasks stalled on memory ${some.avg10.toFixed(1)} % of the last 10 s (threshold ${rule.thresholdPct} %)` }]
        : [];
    }
  }
}

interface InstanceState {
  since: number;
  firing: boolean;
  eventLabels: Record<string, string>;
}

export interface FiredEvent extends AlertEvent {
  /** The rule that fired (for autoDiagnose). */
  ruleDef: Rule;
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
      if (st.firing && rule) events.push(this.event(rule, 'resolved', s.ts, `resolved: ${rule.id}${st.eventLabels.cgroup ? ` (${st.eventLabels.cgroup})` : ''}`, st.eventLabels));
    }
    this.history.push(s);
    while (this.history.length > 0 && this.history[0]!.ts < s.ts - this.maxWindowMs) this.history.shift();
    return events;
  }

  private event(rule: Rule, state: 'firing' | 'resolved', ts: number, message: string, data: Record<string, unknown>): FiredEvent {
    return { id: randomUUID(), rule: rule.id, severity: rule.severity, state, ts: new Date(ts).toISOString(), message, data: { kind: rule.kind, ...data }, ruleDef: rule };
  }
}
