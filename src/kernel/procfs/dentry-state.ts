/**
 * /proc/sys/fs/dentry-state — the dentry cache counters (fs/dcache.c, struct dentry_stat_t and
 * proc_nr_dentry(); Documentation/admin-guide/sysctl/fs.rst "dentry-state").
 *
 * Six longs: nr_dentry nr_unused age_limit want_pages nr_negative dummy
 * - nr_dentry: allocated dentries (in use + unused).
 * - nr_unused: dentries on LRU lists, not in use, reclaimable under memory pressure.
 * - age_limit: seconds after which an unused dentry may be reclaimed (a constant 45, not enforced).
 * - want_pages: pages requested by the system (always 0 today).
 * - nr_negative: negative dentries (they cache a "no such file" result). Added in 5.0 (commit
 *   af0c9af1b3f6, "fs/dcache: track & report number of negative dentries"); on older kernels this field
 *   is a dummy that is always 0, so a 0 there means "not reported", not "none". Pass the kernel release
 *   to parseDentryState (readDentryState does) to get `nr_negative: undefined` on pre-5.0 kernels.
 *   It counts negative dentries on the LRU, i.e. unused ones. Until a mid-2024 fix in fs/dcache.c
 *   (also backported to stable kernels) the count could drift upward when dentries on a shrink list turned
 *   negative or positive: treat it as an estimate on older kernels.
 * - dummy: always 0.
 * Counts are objects, not bytes: multiply by the dentry slab's objsize (/proc/slabinfo) for bytes.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const DENTRY_STATE_PATH = '/proc/sys/fs/dentry-state';

export interface DentryState {
  nr_dentry: number;
  nr_unused: number;
  age_limit: number;
  want_pages: number;
  /** undefined when the kernel is known to predate 5.0 (the field was a dummy 0). */
  nr_negative: number | undefined;
  dummy: number;
}

/** True when `release` (uname -r, e.g. "4.19.0-27-amd64") is older than major.minor. */
export function kernelOlderThan(release: string, major: number, minor: number): boolean | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return undefined;
  const [ma, mi] = [Number(m[1]), Number(m[2])];
  return ma < major || (ma === major && mi < minor);
}

/**
 * Parses the six fields. With `kernelRelease` of a pre-5.0 kernel, nr_negative is undefined (it did not
 * exist); without it, the 5th field is taken as nr_negative whatever it is.
 */
export function parseDentryState(text: string, kernelRelease?: string, file = DENTRY_STATE_PATH): DentryState {
  const lines = text.split('\n');
  if (lines.slice(1).some((l) => l.trim() !== '')) throw new ParseError(file, 2, 'expected a single line');
  const f = (lines[0] ?? '').trim().split(/\s+/);
  if (f.length !== 6) throw new ParseError(file, 1, `expected 6 fields, got ${f.length}`);
  const v = f.map((s, k) => {
    const n = parseIntField(s, file, 1, `field ${k + 1}`);
    if (n < 0) throw new ParseError(file, 1, `field ${k + 1} is negative`);
    return n;
  });
  const old = kernelRelease !== undefined && kernelOlderThan(kernelRelease, 5, 0) === true;
  return {
    nr_dentry: v[0]!,
    nr_unused: v[1]!,
    age_limit: v[2]!,
    want_pages: v[3]!,
    nr_negative: old ? undefined : v[4]!,
    dummy: v[5]!,
  };
}

export async function readDentryState(host: Host): Promise<DentryState> {
  return parseDentryState(await host.readText(DENTRY_STATE_PATH), host.info().kernel);
}
