/**
 * The agent's health score (src/diagnose/health/score.ts), computed every tick from what the agent
 * already collected (memory, PSI, run-queue latency, cgroups, kernel-log reports) plus a few gauges
 * read then (load, open files, thread limits, disks: src/diagnose/health/collect.ts collectGauges).
 * Kernel-log reports are kept per tick for the last `health.errorWindowH` hours (a few bytes a tick),
 * so a report keeps lowering the score for that long after it was printed. The newest document is
 * served on the local socket (`oscope health` reads it) and its compact form goes into each sample.
 */
import { containerLabel } from '../contract/label.js';
import type { HealthDocument } from '../contract/health.js';
import type { Host } from '../host/host.js';
import { collectGauges } from '../diagnose/health/collect.js';
import { type HealthAnalysis, type HealthCapture, type HealthLogCount, scoreHealth } from '../diagnose/health/score.js';
import { type RuleSet, loadRules } from '../diagnose/inspect/rules.js';
import { type Thresholds, resolveThresholds } from '../diagnose/thresholds.js';
import { healthDocument } from '../report/health.js';
import type { Snapshot } from './collect.js';

export class AgentHealth {
  private readonly window: { ts: number; counts: HealthLogCount[] }[] = [];
  private readonly t: Thresholds;
  private rules: RuleSet | undefined;
  private last: { analysis: HealthAnalysis; doc: HealthDocument } | undefined;
  /** Whether the kernel log is followed at all (else the errors signal is missing, not zero). */
  private logUp = false;

  constructor(
    private readonly host: Host,
    thresholds?: Thresholds,
  ) {
    this.t = thresholds ?? resolveThresholds();
  }

  private groupOf(kind: string): string {
    this.rules ??= loadRules([]);
    return this.rules.kindInfo[kind]?.finding ?? 'other';
  }

  /** Pure part: the capture of a snapshot, the gauges and the log window. */
  captureOf(snap: Snapshot, gauges: Awaited<ReturnType<typeof collectGauges>>): HealthCapture {
    if (snap.logAnomalies) {
      this.logUp = true;
      const titles = new Map(snap.logAnomalies.recent.map((r) => [`${r.rule}\u0000${r.level}`, r.title]));
      const counts = snap.logAnomalies.counts.filter((c) => c.count > 0).map((c) => ({ kind: c.rule, group: this.groupOf(c.rule), level: c.level, count: c.count, title: titles.get(`${c.rule}\u0000${c.level}`) }));
      if (counts.length > 0) this.window.push({ ts: snap.ts, counts });
    }
    const since = snap.ts - this.t['health.errorWindowH'] * 3_600_000;
    while (this.window.length > 0 && this.window[0]!.ts < since) this.window.shift();
    const merged = new Map<string, HealthLogCount>();
    for (const w of this.window)
      for (const c of w.counts) {
        const k = `${c.kind}\u0000${c.level}`;
        const m = merged.get(k);
        if (m) {
          m.count += c.count;
          m.title = c.title ?? m.title;
        } else merged.set(k, { ...c });
      }
    const psi = (r: string): Snapshot['psi'][number] | undefined => snap.psi.find((p) => p.resource === r);
    return {
      ...gauges,
      psi: { cpuSome: psi('cpu')?.some?.avg10, memSome: psi('memory')?.some?.avg10, memFull: psi('memory')?.full?.avg10, ioFull: psi('io')?.full?.avg10 },
      memTotalBytes: snap.memory.totalBytes,
      memAvailableBytes: snap.memory.availableBytes,
      runqueueP99Ms: snap.runqueue?.interval.p99Ms ?? undefined,
      log: this.logUp ? [...merged.values()] : undefined,
      cgroups: snap.cgroups.map((c) => ({ path: c.path, container: c.container ? containerLabel(c.container) : null, usageBytes: c.workingsetBytes, limitBytes: c.limitBytes })),
    };
  }

  async update(snap: Snapshot): Promise<HealthAnalysis> {
    const gauges = await collectGauges(this.host);
    const analysis = scoreHealth(this.captureOf(snap, gauges), this.t);
    const info = this.host.info();
    this.last = { analysis, doc: healthDocument(analysis, { hostname: info.hostname, kernel: info.kernel, capturedAt: new Date(snap.ts).toISOString() }, 'agent', 'en') };
    return analysis;
  }

  latest(): { analysis: HealthAnalysis; doc: HealthDocument } | undefined {
    return this.last;
  }
}
