/**
 * The cachestat walk (walkFiles + cachestatFiles, what `oscope filecache` does without BPF) over a tree
 * of 100,000 small cached files, against util-linux `fincore` (fed by `find | xargs`) and `vmtouch`
 * (which walks itself) on the same tree in the same run; files per second and ratios, best of 3.
 * vmtouch is installed with apt when missing. The tree is made under /var/tmp and removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveProbe } from '../src/kernel/pagecache/probe.js';
import { walkFiles } from '../src/kernel/pagecache/walk.js';
import type { Bench } from './benches.js';

const FILES = 100_000;
const PER_DIR = 1000;
const RUNS = 3;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function timeShell(script: string): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`\`${script}\` failed: ${r.stderr.toString().trim().split('\n')[0]}`);
  return ms;
}

export const filecacheBench: Bench = {
  name: 'filecache',
  description: `cachestat walk over ${FILES.toLocaleString('en')} cached files vs fincore and vmtouch, best of ${RUNS}`,
  run: async () => {
    const st = liveProbe();
    if (!st.available) throw new Error(st.reason);
    const probe = st.probe;
    if (!have('vmtouch')) spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vmtouch >/dev/null 2>&1']);
    const root = join('/var/tmp', `oscope-bench-filecache-${process.pid}`);
    const page = Buffer.alloc(4096, 7);
    try {
      for (let d = 0; d < FILES / PER_DIR; d++) {
        const dir = join(root, `d${d}`);
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < PER_DIR; f++) writeFileSync(join(dir, `f${f}`), page);
      }
      const ours = async (): Promise<{ ms: number; files: number; cached: number }> => {
        let files = 0;
        let cached = 0;
        const t0 = performance.now();
        await walkFiles([root], async (paths) => {
          const rows = await probe.measure(paths);
          files += rows.length;
          for (const r of rows) if (r.cachePages > 0) cached++;
        });
        return { ms: performance.now() - t0, files, cached };
      };
      await ours(); // warm-up: dentries and inodes in cache for everyone alike
      const peers: { name: string; script: string }[] = [];
      if (have('fincore')) peers.push({ name: 'fincore (find | xargs)', script: `find ${root} -type f -print0 | xargs -0 fincore --noheadings --bytes > /dev/null` });
      else console.log('   fincore: not installed (util-linux >= 2.30)');
      if (have('vmtouch')) peers.push({ name: 'vmtouch', script: `vmtouch -q ${root}` });
      else console.log('   vmtouch: not installed and apt-get install vmtouch failed');
      let best = Infinity;
      let last = { ms: 0, files: 0, cached: 0 };
      const bestPeer = new Map<string, number>();
      for (let i = 0; i < RUNS; i++) {
        last = await ours();
        best = Math.min(best, last.ms);
        for (const p of peers) bestPeer.set(p.name, Math.min(bestPeer.get(p.name) ?? Infinity, timeShell(p.script)));
      }
      const rate = (ms: number): number => (FILES / ms) * 1000;
      console.log(`   files measured      ${last.files} (${last.cached} cached), method ${probe.method}`);
      console.log(`   oscope walk         ${best.toFixed(0)} ms, ${rate(best).toFixed(0)} files/s`);
      for (const [name, ms] of bestPeer) {
        console.log(`   ${name.padEnd(19)} ${ms.toFixed(0)} ms, ${rate(ms).toFixed(0)} files/s; oscope/${name.split(' ')[0]} ${(ms / best).toFixed(2)}x (target >= 1.00x)`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      probe.close();
    }
  },
};
