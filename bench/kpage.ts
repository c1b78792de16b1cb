/**
 * kpageflags + kpagecgroup full scan against the kernel's floor: `cat` reading the same two files to
 * /dev/null (the kernel formats every entry on read; that cost is the same for any reader).
 */
import { spawnSync } from 'node:child_process';
import { LiveHost } from '../src/host/live.js';
import { KPAGECGROUP_PATH, KPAGEFLAGS_PATH, scanKpages } from '../src/kernel/kpage/scan.js';
import type { Bench } from './benches.js';

const RUNS = 3;

function catMs(): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `cat ${KPAGEFLAGS_PATH} ${KPAGECGROUP_PATH} > /dev/null`]);
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`cat failed: ${r.stderr.toString().trim()}`);
  return ms;
}

export const kpageBench: Bench = {
  name: 'kpage',
  description: 'scanKpages (flags + cgroups) vs `cat /proc/kpageflags /proc/kpagecgroup > /dev/null`, best of 3',
  run: async () => {
    if (typeof process.geteuid === 'function' && process.geteuid() !== 0) throw new Error('needs root');
    const host = new LiveHost();
    // Warm-up: page size lookup, JIT, first-touch of the read buffer.
    let scan = await scanKpages(host, { cgroups: true });
    let bestCat = Infinity;
    let bestScan = Infinity;
    // Interleave the two so that host noise hits both alike.
    for (let i = 0; i < RUNS; i++) {
      bestCat = Math.min(bestCat, catMs());
      const t0 = performance.now();
      scan = await scanKpages(host, { cgroups: true });
      bestScan = Math.min(bestScan, performance.now() - t0);
    }
    const gib = (scan.pfns * scan.pageSizeBytes) / 2 ** 30;
    console.log(`   PFNs scanned        ${scan.pfns} (${gib.toFixed(1)} GiB of PFN space), ${scan.byCgroup?.size ?? 0} cgroups`);
    console.log(`   cat (floor)         ${bestCat.toFixed(0)} ms`);
    console.log(`   scanKpages          ${bestScan.toFixed(0)} ms`);
    console.log(`   ratio scan/cat      ${(bestScan / bestCat).toFixed(2)}x (target ≤ 1.30x)`);
  },
};
