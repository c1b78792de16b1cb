/**
 * The one pure format module: numbers, sizes, shares, durations and container labels, as the CLI's
 * text, the message catalogs and the web console all print them. It imports nothing at run time, so the
 * web bundles it as it is (web/src imports it from here; there is no second copy).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** What a missing value prints as. */
export const MISSING = '–';

/** 1536 → "1.5 KiB"; binary units, three significant digits. null/undefined/NaN → `missing`. */
export function formatBytes(bytes: number | null | undefined, missing = MISSING): string {
  if (bytes === null || bytes === undefined || Number.isNaN(bytes)) return missing;
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${UNITS[u]}`;
}

/** "+1.5 KiB" for growth, "-1.5 KiB" for shrinking. */
export function formatSignedBytes(bytes: number): string {
  return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

/** A percent (0‥100, as params named …Pct carry it) → "42%", "3.5%". */
export function formatPct(pct: number): string {
  if (!Number.isFinite(pct)) return MISSING;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/** A fraction (0‥1, a share of a whole) → the same text as formatPct(fraction × 100). */
export function formatShare(fraction: number): string {
  return formatPct(fraction * 100);
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return MISSING;
  return n.toLocaleString('en-US');
}

/** 0.25 → "250 µs", 12.3 → "12.3 ms", 4200 → "4.20 s". */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return MISSING;
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/**
 * The short form, for chart axes and tight table cells: 0.006 → "6 µs", 1.5 → "1.5 ms", 33.4 → "33 ms",
 * 1234 → "1.2 s" (one decimal below 10, none above; null/undefined → `missing`).
 */
export function formatDurationMsShort(ms: number | null | undefined, missing = MISSING): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return missing;
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${Number(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** "12 s", "5 min", "3 h", "2 d": how long ago, in language-neutral units. */
export function formatAgeS(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export { containerLabel } from '../contract/label.js';
