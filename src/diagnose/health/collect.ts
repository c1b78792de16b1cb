/**
 * One-shot collection for `oscope health` when no agent runs: the inspect checks' data (procfs, PSI,
 * statfs of the real file systems, fs.file-nr, pid limits) and the kernel-log reports of the last
 * `health.errorWindowH` hours, read with inspect's sources and rules (so the same titles and groups).
 */
import type { Host } from '../../host/host.js';
import type { CheckData } from '../inspect/checks.js';
import { collectCheckData, cpuListCount, readMountUsage } from '../inspect/checks.js';
import type { LogReport } from '../inspect/engine.js';
import { scanLogSources } from '../inspect/inspect.js';
import { loadRules } from '../inspect/rules.js';
import type { Thresholds } from '../thresholds.js';
import type { HealthCapture, HealthLogCount } from './score.js';

/** Reports → counts per (kind, level), newest title kept. */
export function logCounts(reports: Pick<LogReport, 'kind' | 'level' | 'finding' | 'title'>[]): HealthLogCount[] {
  const m = new Map<string, HealthLogCount>();
  for (const r of reports) {
    const k = `${r.kind}\u0000${r.level}`;
    const c = m.get(k) ?? { kind: r.kind, group: r.finding, level: r.level, count: 0 };
    c.count++;
    c.title = r.title;
    m.set(k, c);
  }
  return [...m.values()];
}

/** The capture's procfs part from the inspect checks' data. */
export function captureFromChecks(d: CheckData): Omit<HealthCapture, 'log' | 'runqueueP99Ms' | 'cgroups'> {
  return {
    cpus: d.cpus,
    load5: d.loadavg?.load5,
    psi: { cpuSome: d.psi.cpu?.some?.avg10, memSome: d.psi.memory?.some?.avg10, memFull: d.psi.memory?.full?.avg10, ioFull: d.psi.io?.full?.avg10 },
    memTotalBytes: d.meminfo?.bytes('MemTotal'),
    memAvailableBytes: d.meminfo?.bytes('MemAvailable'),
    mounts: d.mounts.map((m) => ({ mount: m.mountpoint, usedPct: m.usedPct, inodesUsedPct: m.inodesUsedPct ?? null })),
    fileNr: d.fileNr,
    threads: d.loadavg?.total,
    pidMax: d.pidMax,
    threadsMax: d.threadsMax,
  };
}

export async function collectHealth(host: Host, t: Thresholds, nowMs = Date.now()): Promise<HealthCapture> {
  const checks = await collectCheckData(host);
  let log: HealthCapture['log'];
  try {
    const rules = loadRules([]);
    const { reports, sources } = await scanLogSources(host, rules, { sinceMs: nowMs - t['health.errorWindowH'] * 3_600_000 });
    log = sources.some((s) => s.status === 'used') ? logCounts(reports) : undefined;
  } catch {
    log = undefined;
  }
  // Containers are scored from the agent's cgroup data (its collector already walks them); one-shot: host only.
  return { ...captureFromChecks(checks), log };
}

/**
 * The few gauges the agent does not collect for itself, read every tick (a handful of small procfs
 * files and one statfs per real file system): load, CPUs, PSI cpu and io, open files, thread limits, disks.
 */
export async function collectGauges(host: Host): Promise<Pick<HealthCapture, 'cpus' | 'load5' | 'fileNr' | 'threads' | 'pidMax' | 'threadsMax' | 'mounts'>> {
  const num = async (path: string): Promise<number | undefined> => {
    const v = await host.tryReadText(path);
    const n = v === undefined ? NaN : Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  };
  const online = await host.tryReadText('/sys/devices/system/cpu/online');
  const la = await host.tryReadText('/proc/loadavg');
  const laM = la ? /^\S+\s+(\S+)\s+\S+\s+\d+\/(\d+)/.exec(la) : null;
  const fileNrText = await host.tryReadText('/proc/sys/fs/file-nr');
  const fileNrM = fileNrText ? /^(\d+)\s+\d+\s+(\d+)/.exec(fileNrText.trim()) : null;
  let mounts: HealthCapture['mounts'];
  try {
    mounts = (await readMountUsage(host)).map((m) => ({ mount: m.mountpoint, usedPct: m.usedPct, inodesUsedPct: m.inodesUsedPct ?? null }));
  } catch {
    mounts = undefined;
  }
  return {
    cpus: online ? cpuListCount(online) : undefined,
    load5: laM ? Number(laM[1]) : undefined,
    threads: laM ? Number(laM[2]) : undefined,
    fileNr: fileNrM ? { allocated: Number(fileNrM[1]), max: Number(fileNrM[2]) } : undefined,
    pidMax: await num('/proc/sys/kernel/pid_max'),
    threadsMax: await num('/proc/sys/kernel/threads-max'),
    mounts,
  };
}
