/**
 * With a tree of 100,000 small cached files under /var/tmp, in the same run, best of 3:
 *
 * - the cachestat walk (walkFiles + cachestatFiles, what `oscope filecache` does without BPF) against
 *   util-linux `fincore` (fed by `find | xargs`) and `vmtouch` (which walks itself) on the same tree:
 *   files per second and ratios;
 * - `oscope filecache` with the BPF in-core inode walk: the whole host's top 30 (which sees the 100,000
 *   files without reading a directory), in process (runFileCache) and as the command a user runs
 *   (node bin/oscope filecache --json), against the same peers on the tree alone; and the walk alone.
 *
 * vmtouch is installed with apt when missing. The tree has an `oscope-test-` name and is removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFileCache } from '../src/diagnose/filecache/run.js';
import { LiveHost } from '../src/host/live.js';
import { liveInodeWalker } from '../src/kernel/pagecache/inode-walk.js';
import { liveProbe } from '../src/kernel/pagecache/probe.js';
import { walkFiles } from '../src/kernel/pagecache/walk.js';
import type { Bench } from './benches.js';

/** bin/oscope of this checkout (dist/bench/filecache.js → ../../bin). */
const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');

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
    const root = join('/var/tmp', `oscope-test-bench-filecache-${process.pid}`);
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

      // Method 1: the BPF in-core inode walk, whole host.
      const walker = liveInodeWalker();
      if (!walker.available) {
        console.log(`   BPF inode walk: skipped (${walker.reason})`);
        return;
      }
      let bestWalk = Infinity;
      let walkFilesSeen = 0;
      let bestRun = Infinity;
      let bestCli = Infinity;
      let discovery = '';
      let inTree = 0;
      for (let i = 0; i < RUNS; i++) {
        const w = await walker.walker.walk();
        bestWalk = Math.min(bestWalk, w.durationMs);
        walkFilesSeen = w.files.length;
        inTree = w.files.filter((f) => f.path?.startsWith(`${root}/`)).length;
        const t0 = performance.now();
        const a = await runFileCache(new LiveHost(), probe, { top: 30 });
        bestRun = Math.min(bestRun, performance.now() - t0);
        discovery = a.method.discovery;
        bestCli = Math.min(bestCli, timeShell(`${process.execPath} ${BIN} filecache --json`));
      }
      console.log(`   BPF inode walk      ${bestWalk.toFixed(0)} ms: ${walkFilesSeen} cached inodes on the host, ${inTree} of them in the tree`);
      console.log(`   oscope filecache    ${bestRun.toFixed(0)} ms in process, ${bestCli.toFixed(0)} ms as a command (whole host, top 30, discovery ${discovery}; target < 1000 ms)`);
      for (const [name, ms] of bestPeer) {
        console.log(`   ${name.padEnd(19)} ${ms.toFixed(0)} ms on the tree alone; ${name.split(' ')[0]}/oscope-bpf ${(ms / bestRun).toFixed(2)}x in process, ${(ms / bestCli).toFixed(2)}x as a command`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      probe.close();
    }
  },
};
