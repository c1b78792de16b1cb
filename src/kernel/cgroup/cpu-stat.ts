/**
 * CPU bandwidth control counters of a cgroup (Documentation/scheduler/sched-bwc.rst,
 * Documentation/admin-guide/cgroup-v2.rst "cpu"):
 *
 *   v1 cpu.stat:  nr_periods N / nr_throttled N / throttled_time NS [/ nr_bursts N / burst_time NS]
 *                 cpu.cfs_quota_us (-1: unlimited), cpu.cfs_period_us; usage from cpuacct.usage (ns)
 *   v2 cpu.stat:  usage_usec N / user_usec / system_usec [/ nr_periods / nr_throttled / throttled_usec /
 *                 nr_bursts / burst_usec] (the bandwidth lines only when the cpu controller is enabled)
 *                 cpu.max: "QUOTA|max PERIOD"
 *
 * Normalised to one shape: throttled time in µs, usage in µs (null when unknown).
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export interface CgroupCpuStat {
  nrPeriods: number;
  nrThrottled: number;
  throttledUs: number;
  /** CPU used by the cgroup since it was created, µs; null when not in this file (v1: cpuacct.usage). */
  usageUs: number | null;
}

/** `key value` lines; keys may carry dots (v2 `core_sched.force_idle_usec`). */
function parseKeyed(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const m = /^([a-z0-9_.]+) (\d+)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "key value", got ${JSON.stringify(line)}`);
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) throw new ParseError(file, i + 1, `${m[1]} is out of range: ${m[2]}`);
    out.set(m[1]!, n);
  }
  return out;
}

export function parseCpuStatV1(text: string, file = 'cpu.stat'): CgroupCpuStat {
  const m = parseKeyed(text, file);
  const get = (k: string): number => {
    const v = m.get(k);
    if (v === undefined) throw new ParseError(file, 1, `${k} is missing`);
    return v;
  };
  return { nrPeriods: get('nr_periods'), nrThrottled: get('nr_throttled'), throttledUs: Math.round(get('throttled_time') / 1000), usageUs: null };
}

export function parseCpuStatV2(text: string, file = 'cpu.stat'): CgroupCpuStat {
  const m = parseKeyed(text, file);
  const usage = m.get('usage_usec');
  if (usage === undefined) throw new ParseError(file, 1, 'usage_usec is missing');
  return { nrPeriods: m.get('nr_periods') ?? 0, nrThrottled: m.get('nr_throttled') ?? 0, throttledUs: m.get('throttled_usec') ?? 0, usageUs: usage };
}

/** The quota in CPUs (quota / period), null when unlimited. v1: cpu.cfs_quota_us + cpu.cfs_period_us; v2: cpu.max. */
export function parseCpuMax(text: string, file = 'cpu.max'): number | null {
  const m = /^(max|\d+) (\d+)\s*$/.exec(text.trim());
  if (!m || Number(m[2]) === 0) throw new ParseError(file, 1, `expected "QUOTA|max PERIOD", got ${JSON.stringify(text.trim())}`);
  return m[1] === 'max' ? null : Number(m[1]) / Number(m[2]);
}

export function parseCfsQuota(quotaText: string, periodText: string, file = 'cpu.cfs_quota_us'): number | null {
  const q = quotaText.trim();
  const p = periodText.trim();
  if (!/^-?\d+$/.test(q) || !/^\d+$/.test(p) || Number(p) === 0) throw new ParseError(file, 1, `expected a quota and a period in µs, got ${JSON.stringify(q)} / ${JSON.stringify(p)}`);
  return Number(q) < 0 ? null : Number(q) / Number(p);
}

export interface CgroupCpu {
  stat: CgroupCpuStat;
  quotaCpus: number | null;
}

/** Reads a cgroup directory's CPU bandwidth state (v1 cpu controller dir, or v2 dir). */
export async function readCgroupCpu(host: Host, dir: string, version: 1 | 2, cpuacctDir?: string): Promise<CgroupCpu> {
  if (version === 2) {
    const stat = parseCpuStatV2(await host.readText(`${dir}/cpu.stat`), `${dir}/cpu.stat`);
    const max = await host.tryReadText(`${dir}/cpu.max`);
    return { stat, quotaCpus: max === undefined ? null : parseCpuMax(max, `${dir}/cpu.max`) };
  }
  const stat = parseCpuStatV1(await host.readText(`${dir}/cpu.stat`), `${dir}/cpu.stat`);
  const quota = await host.tryReadText(`${dir}/cpu.cfs_quota_us`);
  const period = await host.tryReadText(`${dir}/cpu.cfs_period_us`);
  const usage = await host.tryReadText(`${cpuacctDir ?? dir}/cpuacct.usage`);
  if (usage !== undefined && /^\d+\s*$/.test(usage)) stat.usageUs = Math.round(Number(usage.trim()) / 1000);
  return { stat, quotaCpus: quota !== undefined && period !== undefined ? parseCfsQuota(quota, period, `${dir}/cpu.cfs_quota_us`) : null };
}
