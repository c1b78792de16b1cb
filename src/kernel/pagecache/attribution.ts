/**
 * Pure helpers for what the sampled pages of a file say: which memory cgroups they are charged to and
 * how many are on the active LRU list, scaled from the sample to the file's cached size.
 *
 * Inputs are what the live probe (./probe.ts) reads: for each sampled resident page its /proc/kpageflags
 * word and its /proc/kpagecgroup inode. A page charged to a cgroup that was removed but still lives in
 * the kernel (a "dying" memcg) has no directory; page_cgroup_ino() then reports its nearest live
 * ancestor, so such pages show under that parent. Inode 0 means "not charged to any memory cgroup"
 * (the root cgroup on most kernels): reported as the root path `/`.
 */
import { KPF } from '../kpage/kpageflags.js';

export interface PageSample {
  /** kpageflags words of the sampled pages (0n where the PFN could not be read). */
  flags: BigUint64Array;
  /** kpagecgroup inode of each sampled page (undefined when kpagecgroup is not available). */
  cgroupInos?: Float64Array;
}

export interface SampleAttribution {
  sampled: number;
  /** Share of the sampled pages on the active list (PG_active), 0..1; undefined when nothing was sampled. */
  activeShare?: number;
  /** Bytes per cgroup path, scaled so that they sum to `cachedBytes`; largest first. */
  cgroups: { path: string; bytes: number }[];
  /** Sampled pages whose cgroup inode names no live cgroup we know (a cgroup created after our walk). */
  unknownInodes: number;
}

const ACTIVE = 1n << BigInt(KPF.ACTIVE);

/**
 * Attributes the file's cached bytes by the sample. `pathOfIno` maps a cgroup directory inode to its
 * path (relative to the hierarchy root); inode 0 maps to `/`; inodes not in the map are kept as
 * `ino:<n>` so the bytes are not lost.
 */
export function attributeSample(sample: PageSample, cachedBytes: number, pathOfIno: ReadonlyMap<number, string>): SampleAttribution {
  const n = sample.flags.length;
  if (n === 0) return { sampled: 0, cgroups: [], unknownInodes: 0 };
  let active = 0;
  for (let i = 0; i < n; i++) if ((sample.flags[i]! & ACTIVE) !== 0n) active++;
  const counts = new Map<string, number>();
  let unknownInodes = 0;
  if (sample.cgroupInos) {
    for (let i = 0; i < sample.cgroupInos.length; i++) {
      const ino = sample.cgroupInos[i]!;
      let path = ino === 0 ? '/' : pathOfIno.get(ino);
      if (path === undefined) {
        unknownInodes++;
        path = `ino:${ino}`;
      }
      counts.set(path, (counts.get(path) ?? 0) + 1);
    }
  }
  const total = sample.cgroupInos?.length ?? 0;
  const cgroups = scaleCounts(counts, total, cachedBytes);
  return { sampled: n, activeShare: active / n, cgroups, unknownInodes };
}

/**
 * Splits `totalBytes` over the keys in proportion to their counts, in whole pages of 4096 bytes where
 * possible, so that the parts sum to the total exactly (largest remainder). Largest first.
 */
export function scaleCounts(counts: ReadonlyMap<string, number>, sampleTotal: number, totalBytes: number): { path: string; bytes: number }[] {
  if (sampleTotal <= 0 || counts.size === 0) return [];
  const entries = [...counts.entries()].map(([path, c]) => {
    const exact = (c / sampleTotal) * totalBytes;
    return { path, bytes: Math.floor(exact), rem: exact - Math.floor(exact) };
  });
  let left = Math.round(totalBytes - entries.reduce((s, e) => s + e.bytes, 0));
  for (const e of [...entries].sort((a, b) => b.rem - a.rem)) {
    if (left <= 0) break;
    e.bytes++;
    left--;
  }
  return entries.map(({ path, bytes }) => ({ path, bytes })).sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path));
}

/** How many pages to sample and at what stride so that at most `maxPages` spread over all `resident`. */
export function sampleStride(residentPages: number, maxPages: number): number {
  if (maxPages <= 0 || residentPages <= maxPages) return 1;
  return Math.ceil(residentPages / maxPages);
}

/** Whether `path` is `scope` or below it (cgroup paths, `/` is everything). */
export function cgroupWithin(path: string, scope: string): boolean {
  if (scope === '/' || path === scope) return true;
  return path.startsWith(scope.endsWith('/') ? scope : `${scope}/`);
}
