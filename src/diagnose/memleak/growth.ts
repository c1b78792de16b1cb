/**
 * The growth watch, pure part: a run samples the kernel's counters (per slab cache, per vmalloc caller,
 * page counters) every few seconds; this module fits each series and ranks them by SUSTAINED growth, not
 * by size: a big cache that stays flat is not a leak, a small one that grows steadily is.
 *
 * For each series: the least-squares slope (bytes per second), the fit (R²), and the monotonicity (the
 * share of non-zero sample-to-sample changes that are increases; zero changes are neutral because slab
 * and page counters move in steps). A series is `sustained` when all of these pass the `memleak.*`
 * thresholds; sustained series rank by slope × monotonicity.
 */
import type { Thresholds } from '../thresholds.js';

/** One sampling pass: when (ms since the run began) and bytes per name. */
export interface GrowthSample {
  tMs: number;
  bytes: Map<string, number>;
}

export interface SeriesFit {
  name: string;
  startBytes: number;
  endBytes: number;
  /** Least-squares slope, bytes per second (negative when shrinking). */
  bytesPerS: number;
  /** R² of the linear fit, 0..1 (0 for a flat or too-short series). */
  fit: number;
  /** Increases / (increases + decreases) over consecutive samples, 0..1 (0 when it never moved). */
  monotonic: number;
  samples: number;
  /** Passes every growth threshold. */
  sustained: boolean;
}

/** Least-squares slope (per x unit) and R² of y over x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; r2: number } {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: 0, r2: 0 };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: 0, r2: 0 };
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

export function monotonicity(ys: readonly number[]): number {
  let up = 0;
  let down = 0;
  for (let i = 1; i < ys.length; i++) {
    if (ys[i]! > ys[i - 1]!) up++;
    else if (ys[i]! < ys[i - 1]!) down++;
  }
  return up + down === 0 ? 0 : up / (up + down);
}

/**
 * Running median of 3 (ends kept): removes a single-sample spike (another tool's burst of allocations
 * freed a moment later) while keeping steps and steady growth as they are.
 */
export function median3(ys: readonly number[]): number[] {
  return ys.map((y, i) => {
    if (i === 0 || i === ys.length - 1) return y;
    return [ys[i - 1]!, y, ys[i + 1]!].sort((p, q) => p - q)[1]!;
  });
}

/**
 * Fits one series (a name missing from a sample counts as 0 bytes there: created or destroyed). Slope,
 * fit and monotonicity are computed on the median-of-3 filtered series, start and end on the raw one.
 */
export function fitSeries(name: string, samples: readonly GrowthSample[], th: Thresholds): SeriesFit {
  const xs = samples.map((s) => s.tMs / 1000);
  const ys = samples.map((s) => s.bytes.get(name) ?? 0);
  const smooth = median3(ys);
  const { slope, r2 } = linearFit(xs, smooth);
  const mono = monotonicity(smooth);
  const startBytes = ys[0] ?? 0;
  const endBytes = ys[ys.length - 1] ?? 0;
  const sustained =
    samples.length >= 3 &&
    slope >= th['memleak.minRateBytesPerS'] &&
    endBytes - startBytes >= th['memleak.minGrowthBytes'] &&
    mono * 100 >= th['memleak.minMonotonicPct'] &&
    r2 * 100 >= th['memleak.minFitPct'];
  return { name, startBytes, endBytes, bytesPerS: slope, fit: r2, monotonic: mono, samples: samples.length, sustained };
}

/** Growth score used for ranking: slope weighted by how steady it is. */
export function growthScore(f: SeriesFit): number {
  return Math.max(0, f.bytesPerS) * f.monotonic;
}

/**
 * Every series seen in any sample, fitted; sustained ones first by score, then the others by slope.
 * `exclude` drops names from the ranking (e.g. reclaimable caches), they stay out of the result.
 */
export function rankGrowth(samples: readonly GrowthSample[], th: Thresholds, exclude: (name: string) => boolean = () => false): SeriesFit[] {
  const names = new Set<string>();
  for (const s of samples) for (const k of s.bytes.keys()) names.add(k);
  const fits = [...names].filter((n) => !exclude(n)).map((n) => fitSeries(n, samples, th));
  return fits.sort((a, b) => Number(b.sustained) - Number(a.sustained) || growthScore(b) - growthScore(a) || b.bytesPerS - a.bytesPerS || (a.name < b.name ? -1 : 1));
}

/** The suspect: the named series when given (even if not sustained), else the top sustained one. */
export function pickSuspect(ranked: readonly SeriesFit[], named?: string): SeriesFit | undefined {
  if (named !== undefined) return ranked.find((f) => f.name === named);
  const top = ranked[0];
  return top?.sustained ? top : undefined;
}
