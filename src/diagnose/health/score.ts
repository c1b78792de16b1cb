/**
 * The health score: a pure function from a typed capture (what one collection saw) to a score 0–100,
 * a level and four sub-scores, each explained by the signals that lowered it.
 *
 * Formula (README "Health scores"; every number is a `health.*` key of the one threshold table):
 * - Each sub-score (errors, latency, load, saturation) starts at 100 and loses the points of its
 *   signals, never below 0.
 * - A gauge signal (memory in use, run-queue p99, load per CPU, PSI, disk, fds, pids) costs nothing below
 *   its warning threshold, `warnPts` at it, rising linearly to `critPts` at its critical threshold and
 *   staying there beyond.
 * - The errors sub-score counts kernel-log reports of the last `errorWindowH` hours, grouped by their
 *   finding group (the rules' kindInfo: oom, hang, oops, hardware, fs, io, …): `logCriticalPts`,
 *   `logErrorPts` or `logWarningPts` per report by its level, at most `logSignalMaxPts` per group.
 * - score = min(weighted mean of the sub-scores, worst sub-score + maxGapPts), rounded.
 * - level: healthy ≥ healthyMin > at-risk ≥ atRiskMin > warning ≥ warningMin > error.
 * A signal that could not be read costs nothing and is listed in `missing`.
 */
import type { ContainerHealth, HealthLevel, HealthReason, HealthSummary, SubscoreName, Subscores } from '../../contract/health.js';
import type { Params } from '../../contract/common.js';
import type { Thresholds } from '../thresholds.js';

/** One kernel-log anomaly kind seen in the window. */
export interface HealthLogCount {
  /** Inspect kind (OOM, HANG, MCE, …). */
  kind: string;
  /** Its finding group (rules' kindInfo: oom, hang, oops, hardware, fs, io, …). */
  group: string;
  level: 'fatal' | 'critical' | 'error' | 'warning' | 'info';
  count: number;
  /** The newest title, for the explanation. */
  title?: string;
}

/** What the score is computed from. Every field may be missing: then it lowers nothing. */
export interface HealthCapture {
  cpus?: number;
  load5?: number;
  /** PSI avg10 in percent. */
  psi: { cpuSome?: number; memSome?: number; memFull?: number; ioFull?: number };
  memTotalBytes?: number;
  memAvailableBytes?: number;
  /** Run-queue latency p99 of the last interval (the agent's BPF histogram), ms. */
  runqueueP99Ms?: number;
  /** Mounted real file systems: used space and inodes in percent. */
  mounts?: { mount: string; usedPct: number; inodesUsedPct: number | null }[];
  fileNr?: { allocated: number; max: number };
  threads?: number;
  pidMax?: number;
  threadsMax?: number;
  /** Kernel-log anomalies of the window; undefined when no kernel log could be read. */
  log?: HealthLogCount[];
  /** Memory cgroups with a limit (containers and pods first). */
  cgroups?: { path: string; container: string | null; usageBytes: number; limitBytes: number | null }[];
}

/** A reason before localization: a catalog key `health.signal.<signal>` fills `detail` (report/health.ts). */
export interface RawHealthReason extends Omit<HealthReason, 'detail'> {
  params: Params;
}

export interface HealthAnalysis extends Omit<HealthSummary, 'reasons'> {
  reasons: RawHealthReason[];
  containers: (Omit<ContainerHealth, 'reasons'> & { reasons: RawHealthReason[] })[];
  missing: string[];
  weights: Record<string, number>;
}

/** Points of a gauge: 0 below warn, warnPts at warn, linear to critPts at crit, critPts beyond. */
export function rampPts(value: number, warn: number, crit: number, warnPts: number, critPts: number): number {
  if (!(value >= warn)) return 0;
  if (value >= crit || crit <= warn) return critPts;
  return warnPts + ((critPts - warnPts) * (value - warn)) / (crit - warn);
}

export function levelOf(score: number, t: Thresholds): HealthLevel {
  if (score >= t['health.healthyMin']) return 'healthy';
  if (score >= t['health.atRiskMin']) return 'at-risk';
  if (score >= t['health.warningMin']) return 'warning';
  return 'error';
}

/** The diagnosis that explains a kernel-log finding group. */
const LOG_DIAGNOSIS: Record<string, string> = { oom: 'mem', memory: 'mem', latency: 'runlatency', io: 'io', net: 'net' };

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function scoreHealth(c: HealthCapture, t: Thresholds): HealthAnalysis {
  const reasons: RawHealthReason[] = [];
  const missing: string[] = [];
  const warnPts = t['health.warnPts'];
  const critPts = t['health.critPts'];
  const gauge = (subscore: SubscoreName, signal: string, value: number | undefined, warn: number, crit: number, params: Params, suggestedDiagnosis: string): void => {
    if (value === undefined || !Number.isFinite(value)) {
      missing.push(signal);
      return;
    }
    const penalty = rampPts(value, warn, crit, warnPts, critPts);
    if (penalty > 0) reasons.push({ subscore, signal, penalty: round1(penalty), suggestedDiagnosis, params: { value: round1(value), warn, crit, ...params } });
  };

  // errors: kernel-log reports of the window, by finding group.
  if (c.log === undefined) missing.push('kernel-log');
  else {
    const perLevel = (l: HealthLogCount['level']): number =>
      l === 'fatal' || l === 'critical' ? t['health.logCriticalPts'] : l === 'error' ? t['health.logErrorPts'] : l === 'warning' ? t['health.logWarningPts'] : 0;
    const groups = new Map<string, { pts: number; count: number; kinds: Set<string>; title?: string }>();
    for (const l of c.log) {
      const g = groups.get(l.group) ?? { pts: 0, count: 0, kinds: new Set<string>() };
      g.pts += perLevel(l.level) * l.count;
      g.count += l.count;
      g.kinds.add(l.kind);
      g.title ??= l.title;
      groups.set(l.group, g);
    }
    for (const [group, g] of groups) {
      const penalty = Math.min(g.pts, t['health.logSignalMaxPts']);
      if (penalty <= 0) continue;
      reasons.push({
        subscore: 'errors',
        signal: `log-${group}`,
        penalty,
        suggestedDiagnosis: LOG_DIAGNOSIS[group] ?? 'inspect',
        params: { count: g.count, kinds: [...g.kinds].sort().join(', '), hours: t['health.errorWindowH'], title: (g.title ?? '').slice(0, 160) },
      });
    }
  }

  // latency
  gauge('latency', 'runqueue-p99', c.runqueueP99Ms, t['health.runqueueP99WarnMs'], t['health.runqueueP99CritMs'], {}, 'runlatency');
  gauge('latency', 'psi-io-full', c.psi.ioFull, t['health.psiIoFullWarnPct'], t['health.psiIoFullCritPct'], {}, 'io');

  // load
  const perCpu = c.load5 !== undefined && c.cpus !== undefined && c.cpus > 0 ? c.load5 / c.cpus : undefined;
  gauge('load', 'load-per-cpu', perCpu, t['health.loadPerCpuWarn'], t['health.loadPerCpuCrit'], { load5: c.load5 ?? 0, cpus: c.cpus ?? 0 }, 'runlatency');
  gauge('load', 'psi-cpu-some', c.psi.cpuSome, t['health.psiCpuSomeWarnPct'], t['health.psiCpuSomeCritPct'], {}, 'runlatency');

  // saturation
  const memUsed = c.memTotalBytes && c.memAvailableBytes !== undefined ? 100 - (100 * c.memAvailableBytes) / c.memTotalBytes : undefined;
  gauge('saturation', 'mem-used', memUsed, t['health.memUsedWarnPct'], t['health.memUsedCritPct'], { availableBytes: c.memAvailableBytes ?? 0, totalBytes: c.memTotalBytes ?? 0 }, 'mem');
  gauge('saturation', 'psi-mem-some', c.psi.memSome, t['health.psiMemSomeWarnPct'], t['health.psiMemSomeCritPct'], {}, 'mem');
  if (c.mounts === undefined) missing.push('disk-used');
  else if (c.mounts.length > 0) {
    const fullest = c.mounts.map((m) => ({ m, pct: Math.max(m.usedPct, m.inodesUsedPct ?? 0) })).sort((a, b) => b.pct - a.pct)[0]!;
    gauge('saturation', 'disk-used', fullest.pct, t['health.diskUsedWarnPct'], t['health.diskUsedCritPct'], { mount: fullest.m.mount, what: fullest.pct === fullest.m.usedPct ? 'space' : 'inodes' }, 'inspect');
  }
  const fdPct = c.fileNr && c.fileNr.max > 0 ? (100 * c.fileNr.allocated) / c.fileNr.max : undefined;
  gauge('saturation', 'fd-used', fdPct, t['health.fdUsedWarnPct'], t['health.fdUsedCritPct'], { allocated: c.fileNr?.allocated ?? 0, max: c.fileNr?.max ?? 0 }, 'inspect');
  const pidLimit = Math.min(c.pidMax ?? Infinity, c.threadsMax ?? Infinity);
  const pidsPct = c.threads !== undefined && Number.isFinite(pidLimit) && pidLimit > 0 ? (100 * c.threads) / pidLimit : undefined;
  gauge('saturation', 'pids-used', pidsPct, t['health.pidsUsedWarnPct'], t['health.pidsUsedCritPct'], { threads: c.threads ?? 0, limit: Number.isFinite(pidLimit) ? pidLimit : 0 }, 'inspect');

  const subscores: Subscores = { errors: 100, latency: 100, load: 100, saturation: 100 };
  for (const r of reasons) subscores[r.subscore] -= r.penalty;
  for (const k of Object.keys(subscores) as SubscoreName[]) subscores[k] = Math.max(0, Math.round(subscores[k]));
  const w: Record<SubscoreName, number> = { errors: t['health.weightErrors'], latency: t['health.weightLatency'], load: t['health.weightLoad'], saturation: t['health.weightSaturation'] };
  const wsum = w.errors + w.latency + w.load + w.saturation;
  const mean = wsum > 0 ? (w.errors * subscores.errors + w.latency * subscores.latency + w.load * subscores.load + w.saturation * subscores.saturation) / wsum : 100;
  const worst = Math.min(subscores.errors, subscores.latency, subscores.load, subscores.saturation);
  const score = Math.max(0, Math.min(100, Math.round(Math.min(mean, worst + t['health.maxGapPts']))));
  reasons.sort((a, b) => b.penalty - a.penalty);

  const containers: HealthAnalysis['containers'] = [];
  for (const cg of c.cgroups ?? []) {
    if (cg.limitBytes === null || cg.limitBytes <= 0) continue;
    const pct = (100 * cg.usageBytes) / cg.limitBytes;
    const penalty = rampPts(pct, t['health.cgroupMemWarnPct'], t['health.cgroupMemCritPct'], warnPts, critPts);
    const s = Math.max(0, Math.round(100 - penalty));
    containers.push({
      path: cg.path,
      container: cg.container,
      score: s,
      level: levelOf(s, t),
      reasons: penalty > 0 ? [{ subscore: 'saturation', signal: 'cgroup-mem-used', penalty: round1(penalty), suggestedDiagnosis: 'mem', params: { value: round1(pct), usageBytes: cg.usageBytes, limitBytes: cg.limitBytes, warn: t['health.cgroupMemWarnPct'], crit: t['health.cgroupMemCritPct'] } }] : [],
    });
  }
  containers.sort((a, b) => a.score - b.score || a.path.localeCompare(b.path));

  const weights: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) if (k.startsWith('health.')) weights[k] = v;
  return { score, level: levelOf(score, t), subscores, reasons, containers, missing, weights };
}
