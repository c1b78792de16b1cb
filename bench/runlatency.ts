/**
 * `oscope runlatency` against the tools a user would pick instead, on the same injection in one run:
 * a runq-hog (SCHED_FIFO bursts of 50 ms on one CPU next to a victim) traced at the same time by
 * oscope (all detectors on), runqslower -P and runqlat (libbpf-tools) and cyclictest (rt-tests, a
 * measuring thread of lower RT priority on that CPU). Prints events found, median/max latency, ratios
 * and who names the culprit. Then the overhead: `perf bench sched messaging` with and without oscope.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupRun, runScenario } from '../src/simulate/index.js';
import type { Bench } from './benches.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');
const CPU = 1;
const BURST_MS = 50;

function collect(cmd: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString('utf8')));
  child.stderr!.on('data', () => undefined);
  return { child, out: () => text };
}

const done = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const which = (c: string): string | undefined => ['/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/'].map((d) => d + c).find((p) => existsSync(p));

/**
 * One `perf bench sched messaging` run under `perf stat -e task-clock`: its wall time and the CPU time
 * of its tasks. The detectors' BPF programs run in the context of the switching and waking tasks, so
 * the CPU time carries their cost and is far less sensitive than wall time to other load on a shared VM.
 */
function messaging(): { wallS: number; cpuS: number } {
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'perf', 'bench', 'sched', 'messaging', '-g', '10', '-l', '400'], { encoding: 'utf8' });
  const m = /Total time: ([\d.]+) \[sec\]/.exec(r.stdout ?? '');
  const c = /^([\d.]+),msec,task-clock/m.exec(r.stderr ?? '');
  if (r.status !== 0 || !m || !c) throw new Error(`perf bench sched messaging failed: ${(r.stderr || r.stdout || '').trim().split('\n').at(-1) ?? ''}`);
  return { wallS: Number(m[1]), cpuS: Number(c[1]) / 1000 };
}

export const runlatencyBench: Bench = {
  name: 'runlatency',
  description: 'injected 50 ms run-queue delay: oscope vs runqslower/runqlat/cyclictest; overhead on perf bench sched messaging',
  run: async () => {
    if (process.geteuid?.() !== 0) throw new Error('needs root');
    const rs = which('runqslower');
    const rl = which('runqlat');
    const ct = which('cyclictest');
    const run = await runScenario('runq-hog', { cpu: CPU, burstMs: BURST_MS, gapMs: 200 });
    const victim = Number(run.created.details?.victimPid);
    try {
      const secs = 5;
      const osc = collect(process.execPath, [BIN, 'runlatency', '-i', String(secs), '--cpu', String(CPU), '--pid', String(victim), '--threshold', 'runqueue=30ms', '--json']);
      const slower = rs ? collect('timeout', ['-s', 'INT', String(secs + 1), rs, '-P', '-p', String(victim), '30000']) : undefined;
      const lat = rl ? collect(rl, ['-p', String(victim), '-m', String(secs), '1']) : undefined;
      const cyc = ct ? collect(ct, ['-a', String(CPU), '-t', '1', '-p', '5', '-i', '1000', '-D', `${secs}s`, '-q']) : undefined;
      await Promise.all([osc, slower, lat, cyc].filter((x) => x !== undefined).map((x) => done(x.child)));

      const doc = JSON.parse(osc.out()) as { events: Array<{ kind: string; comm: string; latencyMs: number; culprit: { comm: string } | null }> };
      const oe = doc.events.filter((e) => e.kind === 'runqueue' && e.comm === 'osc-rq-victim');
      const oMed = median(oe.map((e) => e.latencyMs));
      const named = oe.filter((e) => e.culprit?.comm === 'osc-rq-hog').length;
      console.log(`   injected: ${BURST_MS} ms SCHED_FIFO bursts on CPU ${CPU} every ${BURST_MS + 200} ms for ~${secs} s`);
      console.log(`   oscope runlatency   ${String(oe.length).padStart(3)} events, median ${oMed.toFixed(2)} ms, max ${Math.max(...oe.map((e) => e.latencyMs)).toFixed(2)} ms, culprit osc-rq-hog named in ${named}/${oe.length}`);
      if (slower) {
        // TIME COMM TID LAT(us) PREV-COMM PREV-TID
        const rows = slower.out().split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === 'osc-rq-victim');
        const lats = rows.map((f) => Number(f[3]) / 1000).filter((x) => Number.isFinite(x));
        const prevHog = rows.filter((f) => f[4] === 'osc-rq-hog').length;
        const m = median(lats);
        console.log(`   runqslower -P       ${String(lats.length).padStart(3)} events, median ${m.toFixed(2)} ms (prev task = hog in ${prevHog}/${rows.length})  ratio oscope/runqslower median ${(oMed / m).toFixed(3)}x, events ${(oe.length / Math.max(1, lats.length)).toFixed(2)}x`);
      } else console.log('   runqslower          not installed (apt install libbpf-tools)');
      if (lat) {
        const rows = lat.out().split('\n').filter((l) => /^\s*\d+ -> \d+\s*:\s*\d+/.test(l));
        const top = rows.filter((l) => Number(/:\s*(\d+)/.exec(l)![1]) > 0).at(-1)?.trim() ?? '(empty)';
        console.log(`   runqlat -p -m       highest non-empty bucket: ${top} (no culprit)`);
      } else console.log('   runqlat             not installed (apt install libbpf-tools)');
      if (cyc) {
        const m = /Max:\s+(\d+)/.exec(cyc.out());
        console.log(`   cyclictest -p 5     max ${m ? (Number(m[1]) / 1000).toFixed(2) : '?'} ms on CPU ${CPU} (no victim/culprit, its own thread only)`);
      } else console.log('   cyclictest          not installed (apt install rt-tests)');
    } finally {
      await cleanupRun(run.runId);
    }

    // Overhead with all detectors on: 5 rounds, each a run alone then a run with the tracer attached
    // (interleaved, so drifting load on the VM hits both), medians of wall and CPU time.
    try {
      const alone: { wallS: number; cpuS: number }[] = [];
      const traced: { wallS: number; cpuS: number }[] = [];
      for (let round = 0; round < 5; round++) {
        alone.push(messaging());
        const tracer = spawn(process.execPath, [BIN, 'runlatency', '-i', '120', '--json'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 2500));
        try {
          traced.push(messaging());
        } finally {
          tracer.kill('SIGINT');
          await done(tracer);
        }
      }
      const pct = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)} %`;
      const w0 = median(alone.map((x) => x.wallS));
      const w1 = median(traced.map((x) => x.wallS));
      const c0 = median(alone.map((x) => x.cpuS));
      const c1 = median(traced.map((x) => x.cpuS));
      console.log(`   perf bench sched messaging, median of 5 interleaved rounds: ${w0.toFixed(3)} s alone, ${w1.toFixed(3)} s with oscope runlatency (all detectors): wall ${pct(w0, w1)}; CPU time of the workload ${c0.toFixed(2)} s → ${c1.toFixed(2)} s: ${pct(c0, c1)} (target ≤ 3 %)`);
      console.log(`   per round (alone → traced, wall s): ${alone.map((a, i) => `${a.wallS.toFixed(2)}→${traced[i]!.wallS.toFixed(2)}`).join(', ')}`);
    } catch (err) {
      console.log(`   overhead: skipped (${(err as Error).message})`);
    }
  },
};
