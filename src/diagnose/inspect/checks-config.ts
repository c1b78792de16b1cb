/**
 * Thresholds of `oscope inspect`'s indicator, configuration and hardware checks, in one place.
 * (The memory panorama's thresholds live in src/diagnose/thresholds.ts; these are inspection's own.)
 * Users override them with `oscope inspect --threshold key=value` (repeatable).
 */
export const INSPECT_THRESHOLDS = {
  /** indicator.mem-available-low: MemAvailable below this percent of MemTotal (warning) … */
  'inspect.memAvailableLowPct': 10,
  /** … and below this (critical). */
  'inspect.memAvailableCriticalPct': 5,
  /** indicator.alloc-stall: direct-reclaim allocation stalls per hour of uptime. */
  'inspect.allocStallPerHour': 100,
  /** indicator.psi-*: "some" pressure avg60 at or above this percent (warning) … */
  'inspect.psiSomeAvg60Pct': 20,
  /** … "full" pressure avg60 (memory, io) at or above this (warning) … */
  'inspect.psiFullAvg60Pct': 5,
  /** … and "full" at or above this (critical). */
  'inspect.psiFullCriticalPct': 20,
  /** indicator.fragmentation: free memory in blocks of at least 2^order pages … */
  'inspect.fragOrder': 4,
  /** … below this percent of all free memory … */
  'inspect.fragHighOrderPct': 5,
  /** … while at least this much is free (else it is a shortage, not fragmentation). */
  'inspect.fragMinFreeBytes': 256 * 1024 * 1024,
  /** indicator.cgroups-many: memory cgroups counted in /proc/cgroups. */
  'inspect.cgroupsMax': 10_000,
  /** indicator.zombie-memcgs: memory cgroups removed but still held by the kernel (dying). */
  'inspect.zombieMemcgs': 1000,
  /** indicator.dentry-high: dentries. */
  'inspect.dentryMax': 20_000_000,
  /** indicator.sunreclaim-high: SUnreclaim above this percent of MemTotal. */
  'inspect.sunreclaimPct': 10,
  /** indicator.load-high: 5-minute load per CPU (warning) … */
  'inspect.loadPerCpu': 2,
  /** … (critical). */
  'inspect.loadPerCpuCritical': 4,
  /** indicator.dstate-tasks: tasks in uninterruptible sleep. */
  'inspect.dstateTasks': 10,
  /** indicator.zombies: zombie processes. */
  'inspect.zombies': 50,
  /** indicator.disk-full / inode-full: used percent (warning) … */
  'inspect.diskUsedPct': 90,
  /** … (critical). */
  'inspect.diskUsedCriticalPct': 97,
  /** indicator.fd-exhaustion / pid-exhaustion: used percent of the limit. */
  'inspect.limitUsedPct': 80,
  /** config.min-free-kbytes: below this percent of RAM is too little for atomic allocations … */
  'inspect.minFreeLowPct': 0.1,
  /** … above this percent wastes memory and triggers early reclaim. */
  'inspect.minFreeHighPct': 5,
  /** log items of kind SEGFAULT: how many make a storm (also in the rules: minCount). */
  'inspect.segfaultStorm': 10,
} as const;

export type InspectThresholdKey = keyof typeof INSPECT_THRESHOLDS;
export type InspectThresholds = Record<InspectThresholdKey, number>;

export function resolveInspectThresholds(overrides: Record<string, unknown> = {}): InspectThresholds {
  const out: InspectThresholds = { ...INSPECT_THRESHOLDS };
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(INSPECT_THRESHOLDS, k)) throw new Error(`unknown threshold "${k}"`);
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`threshold ${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    out[k as InspectThresholdKey] = n;
  }
  return out;
}
