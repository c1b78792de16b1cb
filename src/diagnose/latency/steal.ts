/**
 * Hypervisor steal time per CPU, from /proc/stat, to tell a stolen vCPU apart from guest irq-off: both
 * delay the cpu-clock hrtimer the same way, but only steal advances the CPU's `steal` counter.
 */
import { ParseError } from '../../kernel/errors.js';

export const PROC_STAT_PATH = '/proc/stat';
/** USER_HZ: /proc/stat counts in 1/100 s on every architecture Linux exports it for. */
export const USER_HZ = 100;

/**
 * Steal time per CPU (ms), from the `cpuN` lines of /proc/stat (user nice system idle iowait irq softirq
 * steal ...); kernels before 2.6.11 have no steal column and give 0.
 */
export function parseStatSteal(text: string, file = PROC_STAT_PATH): Map<number, number> {
  const out = new Map<number, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!/^cpu\d/.test(line)) continue;
    const f = line.trim().split(/\s+/);
    const cpu = Number(f[0]!.slice(3));
    const nums = f.slice(1).map(Number);
    if (!Number.isInteger(cpu) || nums.length < 4 || nums.some((n) => !Number.isFinite(n) || n < 0)) {
      throw new ParseError(file, i + 1, `expected "cpuN user nice system idle ...", got ${JSON.stringify(line.slice(0, 120))}`);
    }
    out.set(cpu, ((nums[7] ?? 0) * 1000) / USER_HZ);
  }
  if (out.size === 0) throw new ParseError(file, 1, 'no cpuN lines');
  return out;
}

export interface StealSample {
  /** CLOCK_MONOTONIC ms when read. */
  atMs: number;
  stealMs: Map<number, number>;
}

/**
 * Steal time of `cpu` during [fromMs, toMs] (CLOCK_MONOTONIC ms), from the samples around it: the
 * steal delta of the smallest sampled window that contains the interval (0 when not covered).
 */
export function stealDuring(samples: readonly StealSample[], cpu: number, fromMs: number, toMs: number): number {
  let before: StealSample | undefined;
  let after: StealSample | undefined;
  for (const s of samples) {
    if (s.atMs <= fromMs) before = s;
    if (s.atMs >= toMs && !after) after = s;
  }
  if (!before || !after) return 0;
  return Math.max(0, (after.stealMs.get(cpu) ?? 0) - (before.stealMs.get(cpu) ?? 0));
}

/** True when the CPU was stolen for at least half of a gap of `latencyMs` ending at `endMs`. */
export function isStealGap(samples: readonly StealSample[], cpu: number, endMs: number, latencyMs: number): boolean {
  // /proc/stat counts in 10 ms ticks: allow one tick of rounding.
  return stealDuring(samples, cpu, endMs - latencyMs, endMs) + 1000 / USER_HZ >= latencyMs / 2 && stealDuring(samples, cpu, endMs - latencyMs, endMs) > 0;
}
