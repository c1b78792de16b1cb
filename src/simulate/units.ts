/**
 * Parsing of the sizes, counts, rates and durations the simulate options take. Sizes use binary units
 * (`16K`, `16KiB`, `1.5G`, `512MiB` — K, M, G, T are all powers of 1024, as `dd` and `fallocate` read them).
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "16KiB" → 16384. Throws a RangeError with a one-sentence message on anything else. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text.replace(/[_,]/g, ''));
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new RangeError(`"${text}" is not a size (examples: 4096, 16KiB, 512M, 1.5G)`);
  const v = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(v)) throw new RangeError(`"${text}" is too large`);
  return v;
}

/** "1,000,000", "1e6", "50", "10k" → a non-negative number (k = 1000, m = 1,000,000 for counts). */
export function parseCount(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([km]?)\s*$/i.exec(text.replace(/[_,]/g, ''));
  if (!m) throw new RangeError(`"${text}" is not a number (examples: 50, 10k, 1,000,000)`);
  const mult = m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  const v = Number(m[1]) * mult;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`"${text}" is not a number`);
  return v;
}

/** "30", "30s", "5m", "1h" → seconds. */
export function parseSeconds(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|)\s*$/i.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration (examples: 30, 30s, 5m, 1h)`);
  const mult = { '': 1, s: 1, m: 60, h: 3600 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}
