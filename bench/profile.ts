/**
 * `oscope profile` and the agent's continuous profiling against the peers a user would pick instead,
 * in one run (`node dist/bench/run.js profile`):
 *
 *   agreement  cpu-hog profiled by pid for the same time at the same rate (199 Hz) by oscope, `perf record -g`
 *              + `perf report` (apt linux-perf) and bcc `profile-bpfcc` (bpfcc-tools; bcc compiles its
 *              program at run time and needs the kernel's headers: where it cannot, the row says so):
 *              the top 10 functions (self) of each and their shares side by side (target: the same
 *              functions, shares within 5 points).
 *   overhead   a CPU-bound workload (a busy loop of a fixed amount of work, pinned to one CPU at SCHED_FIFO
 *              so the host's other load cannot take its CPU, see workload()) timed alone, under
 *              `oscope profile --hz 49` on every CPU, under `perf record -F 49 -a -g` (and under
 *              profile-bpfcc -F 49 where it runs), in rotating rounds, medians. Targets: at most 1 %
 *              slowdown and at most half of perf's. Next to it, from one more round with
 *              kernel.bpf_stats_enabled on, the sampler's own BPF time per sample and as a share of the
 *              CPUs (what the busy loop loses to it, independent of how loaded the host is), and the CPU
 *              time of each profiler's process.
 *   off-cpu    a sleeper (10 ms nanosleeps) traced by `oscope profile --off-cpu --pid` and by
 *              libbpf-tools `offcputime -p` at the same time: its blocked time against the wall clock;
 *              and a context-switch-heavy workload (a pipe ping-pong) alone, under each, rotating rounds.
 *   agent      two agents at the same time, with `--profile-hz 19` and without (today's agent), over
 *              rounds of one profile window (60 s) each: the difference of their CPU % (target ≤ 1 %),
 *              plus the sampler's BPF time (bpf_stats on for this part).
 *
 * The host's load average is printed before and after. OSCOPE_BENCH_PROFILE_S sets the seconds per
 * profile/workload (default 8), OSCOPE_BENCH_PROFILE_ROUNDS the rounds (default 5),
 * OSCOPE_BENCH_PROFILE_PARTS a subset (agreement,overhead,offcpu,agent), OSCOPE_BENCH_PROFILE_AGENT_ROUNDS
 * the agent's 60 s rounds (default 3). Needs root, cc, the BPF objects and perf; skips saying which is missing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileDocument } from '../src/contract/profile.js';
import { cleanupRun, runScenario } from '../src/simulate/index.js';
import type { Bench } from './benches.js';
import { attached, median, sleep, which } from './util.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');
const TICK = 100;
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function cpuTicks(pid: number, children = true): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0); // utime stime [cutime cstime]
  } catch {
    return 0;
  }
}

interface Measured {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string; cpuS: number }>;
}

/** Starts a command, sampling its CPU time (children included) until just before it exits. */
function startMeasured(argv: string[]): Measured {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ticks = 0;
  const timer = setInterval(() => (ticks = Math.max(ticks, cpuTicks(child.pid!))), 100);
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string; cpuS: number }>((resolve) => {
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, cpuS: ticks / TICK });
    });
  });
  return { child, done };
}
const runMeasured = (argv: string[]): Measured['done'] => startMeasured(argv).done;

/** BPF programs held by a process: prog_id → { run_time_ns, run_cnt } (non-zero with bpf_stats on). */
function bpfProgStats(pid: number): Map<string, { ns: number; cnt: number; type: string }> {
  const out = new Map<string, { ns: number; cnt: number; type: string }>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let s: string;
    try {
      s = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = /^prog_id:\s+(\d+)/m.exec(s)?.[1];
    // Links name their program too: only the program's own fd carries its counts.
    if (!id || !/^prog_type:/m.test(s) || /^link_type:/m.test(s)) continue;
    out.set(id, { ns: Number(/^run_time_ns:\s+(\d+)/m.exec(s)?.[1] ?? 0), cnt: Number(/^run_cnt:\s+(\d+)/m.exec(s)?.[1] ?? 0), type: /^prog_type:\s+(\d+)/m.exec(s)?.[1] ?? '?' });
  }
  return out;
}

/** Follows a process's BPF programs (each window loads new ones) and keeps the last counts seen per program. */
function watchBpf(pid: number, everyMs = 500): { stop: () => { ns: number; cnt: number } } {
  const seen = new Map<string, { ns: number; cnt: number; type: string }>();
  const tick = (): void => {
    for (const [id, v] of bpfProgStats(pid)) if (v.type === '7') seen.set(id, v); // BPF_PROG_TYPE_PERF_EVENT
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop: () => {
      tick();
      clearInterval(timer);
      let ns = 0;
      let cnt = 0;
      for (const v of seen.values()) {
        ns += v.ns;
        cnt += v.cnt;
      }
      return { ns, cnt };
    },
  };
}

async function withBpfStats<T>(f: () => Promise<T>): Promise<T> {
  const path = '/proc/sys/kernel/bpf_stats_enabled';
  const was = readFileSync(path, 'utf8').trim();
  writeFileSync(path, '1');
  try {
    return await f();
  } finally {
    writeFileSync(path, was);
  }
}

interface Top {
  name: string;
  pct: number;
}

function perfTop(data: string): Top[] {
  const r = spawnSync('perf', ['report', '-i', data, '--stdio', '--no-children', '-q', '-g', 'none', '--sort', 'sym'], { encoding: 'utf8' });
  const out: Top[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[[.k]\]\s+(\S+)/.exec(line);
    if (m) out.push({ name: m[2]!, pct: Number(m[1]) });
  }
  return out;
}

/** Self shares from folded stacks (`a;b;c N`, leaf last), the top first. */
function foldedTop(text: string): Top[] {
  const self = new Map<string, number>();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line.trim());
    if (!m) continue;
    const leaf = m[1]!.split(';').pop()!.replace(/_\[[kj]\]$/, '');
    self.set(leaf, (self.get(leaf) ?? 0) + Number(m[2]));
    total += Number(m[2]);
  }
  return [...self.entries()].map(([name, n]) => ({ name, pct: total ? (n / total) * 100 : 0 })).sort((a, b) => b.pct - a.pct);
}

/** bcc's profile: the command, or why it cannot run here (it compiles at run time against the kernel's headers). */
function bccProfile(): { cmd: string } | { missing: string } {
  const cmd = which('profile-bpfcc');
  if (!cmd) return { missing: 'not installed (apt install bpfcc-tools)' };
  const r = spawnSync(cmd, ['-F', '49', '-f', '1'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0 && !/Failed to compile/.test(r.stderr)) return { cmd };
  const why = /Failed to compile|kheaders|No such file or directory.*build/.test(r.stderr) ? `cannot compile its BPF program here (no headers for kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}: /lib/modules/…/build and CONFIG_IKHEADERS are absent)` : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
  return { missing: why };
}

const WORKER = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
volatile unsigned long sink;
int main(int argc, char **argv) {
  unsigned long n = strtoul(argv[1], 0, 10);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (unsigned long i = 0; i < n; i++) sink = sink * 6364136223846793005UL + i;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
`;

/** Two processes passing a byte over pipes N times: a context switch each way (the off-CPU tracers' worst case). */
const PINGPONG = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  unsigned long n = strtoul(argv[1], 0, 10);
  int a[2], b[2];
  char c = 0;
  if (pipe(a) || pipe(b)) return 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t p = fork();
  if (p == 0) {
    for (unsigned long i = 0; i < n; i++) { if (read(a[0], &c, 1) != 1) _exit(1); if (write(b[1], &c, 1) != 1) _exit(1); }
    _exit(0);
  }
  for (unsigned long i = 0; i < n; i++) { if (write(a[1], &c, 1) != 1) return 1; if (read(b[0], &c, 1) != 1) return 1; }
  waitpid(p, 0, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
`;

function compile(dir: string, name: string, src: string): string {
  writeFileSync(join(dir, `${name}.c`), src);
  const bin = join(dir, name);
  const cc = spawnSync('cc', ['-O1', '-o', bin, join(dir, `${name}.c`)], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
  return bin;
}

/**
 * The CPU-bound workload: one busy loop pinned to the last CPU at SCHED_FIFO (chrt -f 1), so that the
 * other tenants of a shared host cannot take its CPU (their load would otherwise swamp a 1 % effect;
 * RT throttling still leaves them 5 % of it, the same in every variant). What still slows it down is
 * what runs in interrupt context on its CPU: the samplers' handlers (oscope's BPF program, perf's
 * callchain and ring-buffer write). The profilers' own processes run on the other CPUs; their CPU time
 * is reported apart. Its wall time, from the loop itself.
 */
const PIN_CPU = String(availableParallelism() - 1);
async function workload(bin: string, n: number): Promise<number> {
  const r = await runMeasured(['chrt', '-f', '1', 'taskset', '-c', PIN_CPU, bin, String(n)]);
  if (r.code !== 0) throw new Error(`the pinned SCHED_FIFO workload failed: ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}

/** A profiler started before the workload and stopped (SIGINT) after it. */
interface Tracer {
  name: string;
  argv: string[];
  /** Waits until the tracer samples. */
  ready: (pid: number) => Promise<void>;
}

async function underTracer(t: Tracer | undefined, work: () => Promise<number>, stats?: (pid: number) => { stop: () => { ns: number; cnt: number } }): Promise<{ s: number; cpuS: number; bpf?: { ns: number; cnt: number } }> {
  if (!t) return { s: await work(), cpuS: 0 };
  const m = startMeasured(t.argv);
  await t.ready(m.child.pid!);
  const w = stats?.(m.child.pid!);
  const s = await work();
  const bpf = w?.stop();
  m.child.kill('SIGINT');
  const r = await m.done;
  return { s, cpuS: r.cpuS, ...(bpf ? { bpf } : {}) };
}

const oscopeReady = async (pid: number): Promise<void> => {
  if (!(await attached(pid, 60_000))) throw new Error('oscope profile did not attach within 60 s');
  await sleep(300);
};

async function agreement(seconds: number, dir: string): Promise<void> {
  const run = await runScenario('cpu-hog', {});
  try {
    const pid = String(run.created.details!.pid);
    const bcc = bccProfile();
    const [o, p, b] = await Promise.all([
      runMeasured([process.execPath, BIN, 'profile', '--json', '--pid', pid, '-i', String(seconds), '--hz', '199']),
      runMeasured(['perf', 'record', '-F', '199', '-g', '-p', pid, '-o', join(dir, 'perf.data'), '--', 'sleep', String(seconds)]),
      'cmd' in bcc ? runMeasured([bcc.cmd, '-F', '199', '-p', pid, '-f', String(seconds)]) : Promise.resolve(undefined),
    ]);
    if (o.code !== 0) throw new Error(`oscope profile failed: ${o.stderr.trim()}`);
    if (p.code !== 0) throw new Error(`perf record failed: ${p.stderr.trim().split('\n').pop()}`);
    const doc = JSON.parse(o.stdout) as ProfileDocument;
    const ours = doc.functions.slice(0, 10).map((f) => ({ name: f.name, pct: f.selfPct }));
    const theirs = perfTop(join(dir, 'perf.data')).slice(0, 10);
    const bccTop = b && b.code === 0 ? foldedTop(b.stdout).slice(0, 10) : undefined;
    console.log(`   agreement on cpu-hog, ${seconds} s at 199 Hz: oscope ${doc.samples} samples (${doc.event}), perf record -g${bccTop ? ', profile-bpfcc' : ''}`);
    if (!('cmd' in bcc)) console.log(`   (bcc profile-bpfcc: ${bcc.missing})`);
    console.log(`   ${'function'.padEnd(34)} ${'oscope'.padStart(8)} ${'perf'.padStart(8)} ${'Δ'.padStart(7)}${bccTop ? ` ${'bcc'.padStart(8)}` : ''}`);
    const names = [...new Set([...ours, ...theirs].map((x) => x.name))];
    let worst = 0;
    for (const n of names) {
      const a = ours.find((x) => x.name === n)?.pct ?? 0;
      const q = theirs.find((x) => x.name === n)?.pct ?? 0;
      if (a >= 1 || q >= 1) worst = Math.max(worst, Math.abs(a - q));
      const c = bccTop ? ` ${(bccTop.find((x) => x.name === n)?.pct ?? 0).toFixed(2).padStart(7)}%` : '';
      console.log(`   ${n.slice(0, 34).padEnd(34)} ${a.toFixed(2).padStart(7)}% ${q.toFixed(2).padStart(7)}% ${(a - q).toFixed(2).padStart(7)}${c}`);
    }
    const sigOurs = new Set(ours.filter((x) => x.pct >= 2).map((x) => x.name));
    const sigTheirs = new Set(theirs.filter((x) => x.pct >= 2).map((x) => x.name));
    const same = [...sigOurs].every((n) => sigTheirs.has(n)) && [...sigTheirs].every((n) => sigOurs.has(n));
    console.log(`   functions above 2 % (above sampling noise): ${same ? 'the same set' : `differ (oscope ${[...sigOurs].join(',')}; perf ${[...sigTheirs].join(',')})`}; largest share difference ${worst.toFixed(2)} points (target ≤ 5)`);
  } finally {
    await cleanupRun(run.runId);
  }
}

async function overhead(seconds: number, rounds: number, dir: string): Promise<void> {
  const bin = compile(dir, 'worker', WORKER);
  // Calibrate to about `seconds` s per worker.
  const probe = await workload(bin, 50_000_000);
  const n = Math.max(1, Math.round((50_000_000 * seconds) / Math.max(probe, 0.01)));
  const bcc = bccProfile();
  const tracers: (Tracer | undefined)[] = [
    undefined,
    { name: 'oscope profile --hz 49', argv: [process.execPath, BIN, 'profile', '--json', '-i', '3600', '--hz', '49'], ready: oscopeReady },
    { name: 'perf record -F 49 -a -g', argv: ['perf', 'record', '-F', '49', '-a', '-g', '-o', join(dir, 'perf-a.data')], ready: () => sleep(1500) },
    ...('cmd' in bcc ? [{ name: 'profile-bpfcc -F 49', argv: [bcc.cmd, '-F', '49', '-f'], ready: () => sleep(8000) }] : []),
  ];
  const label = (t: Tracer | undefined): string => t?.name ?? 'alone';
  const res = new Map<string, { s: number[]; cpuS: number[] }>(tracers.map((t) => [label(t), { s: [], cpuS: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < tracers.length; k++) {
      const t = tracers[(k + r) % tracers.length];
      const x = await underTracer(t, () => workload(bin, n));
      res.get(label(t))!.s.push(x.s);
      res.get(label(t))!.cpuS.push(x.cpuS);
      rmSync(join(dir, 'perf-a.data'), { force: true });
    }
  }
  // The sampler's own BPF time, one more run with bpf_stats on (it adds two clock reads per run).
  const bpf = await withBpfStats(() => underTracer(tracers[1], () => workload(bin, n), (pid) => watchBpf(pid)));
  const base = median(res.get('alone')!.s);
  const pct = (name: string): number => ((median(res.get(name)!.s) - base) / base) * 100;
  console.log(`   overhead at 49 Hz, a busy loop pinned to CPU ${PIN_CPU} at SCHED_FIFO, profilers on all ${availableParallelism()} CPUs, ${rounds} rotating rounds (medians): workload ${base.toFixed(3)} s alone`);
  if (!('cmd' in bcc)) console.log(`   (bcc profile-bpfcc: ${bcc.missing})`);
  for (const t of tracers.slice(1)) {
    const c = res.get(t!.name)!;
    console.log(`   under ${t!.name.padEnd(26)} ${median(c.s).toFixed(3)} s (${pct(t!.name) >= 0 ? '+' : ''}${pct(t!.name).toFixed(2)} %; rounds ${c.s.map((x) => x.toFixed(3)).join(' ')}), its process ${median(c.cpuS).toFixed(2)} s CPU`);
  }
  console.log(`   alone rounds: ${res.get('alone')!.s.map((x) => x.toFixed(3)).join(' ')}`);
  const o = pct(tracers[1]!.name);
  const p = pct(tracers[2]!.name);
  console.log(`   targets: ≤ 1 % → ${o.toFixed(2)} %; ≤ half of perf's → ratio ${p > 0 ? (o / p).toFixed(2) : 'n/a (perf within noise)'}`);
  if (bpf.bpf && bpf.bpf.cnt > 0) {
    const share = bpf.bpf.ns / (bpf.s * 1e9 * availableParallelism()); // the programs run on every CPU
    console.log(`   oscope's BPF sampler (bpf_stats): ${bpf.bpf.cnt} samples, ${(bpf.bpf.ns / bpf.bpf.cnt / 1000).toFixed(1)} µs each, ${(share * 100).toFixed(3)} % of the CPUs over the workload`);
  } else console.log('   oscope BPF sampler time: not read (no perf_event program counts)');
}

function offcputimeTotalUs(text: string): number {
  // Each stack ends with "    -    comm (pid)" and then its microseconds on a line of their own.
  let total = 0;
  for (const line of text.split('\n')) if (/^\s+\d+\s*$/.test(line)) total += Number(line.trim());
  return total;
}

async function offCpu(seconds: number, rounds: number, dir: string): Promise<void> {
  const peer = which('offcputime');
  if (!peer) {
    console.log('   off-CPU: libbpf-tools offcputime is not installed (apt install libbpf-tools): skipped');
    return;
  }
  const sleeper = spawn('python3', ['-c', 'import time\nwhile True: time.sleep(0.01)'], { stdio: 'ignore' });
  try {
    await sleep(500);
    const pid = String(sleeper.pid);
    const t0 = Date.now();
    const [o, p] = await Promise.all([
      runMeasured([process.execPath, BIN, 'profile', '--off-cpu', '--json', '--pid', pid, '-i', String(seconds)]),
      runMeasured([peer, '-p', pid, String(seconds)]),
    ]);
    const wall = (Date.now() - t0) / 1000;
    if (o.code !== 0) throw new Error(`oscope profile --off-cpu failed: ${o.stderr.trim()}`);
    const doc = JSON.parse(o.stdout) as ProfileDocument;
    const ours = doc.processes.filter((x) => String(x.pid) === pid).reduce((a, x) => a + x.samples, 0);
    const theirs = offcputimeTotalUs(p.stdout);
    const inSleep = doc.stacks.filter((s) => s.frames.some((f) => /nanosleep|clock_nanosleep/.test(f))).reduce((a, s) => a + s.count, 0);
    console.log(`   off-CPU of a sleeper (10 ms sleeps), ${seconds} s: oscope ${(ours / 1e6).toFixed(2)} s blocked (${((inSleep / Math.max(ours, 1)) * 100).toFixed(1)} % in nanosleep), offcputime ${(theirs / 1e6).toFixed(2)} s (ratio ${theirs ? (ours / theirs).toFixed(3) : 'n/a'}); each traced ≈ ${seconds} s of a ${wall.toFixed(1)} s run; process CPU oscope ${o.cpuS.toFixed(2)} s, offcputime ${p.cpuS.toFixed(2)} s`);
  } finally {
    sleeper.kill('SIGKILL');
  }
  // Context-switch-heavy workload: pipe ping-pong alone, under each tracer host-wide.
  const bin = compile(dir, 'pingpong', PINGPONG);
  const one = async (n: number): Promise<number> => Number((await runMeasured(['chrt', '-f', '1', 'taskset', '-c', PIN_CPU, bin, String(n)])).stdout.trim()); // both ends on one CPU at SCHED_FIFO, as workload()
  const probe = await one(20_000);
  const n = Math.max(1000, Math.round((20_000 * Math.min(seconds, 5)) / Math.max(probe, 0.001)));
  const tracers: (Tracer | undefined)[] = [
    undefined,
    { name: 'oscope profile --off-cpu', argv: [process.execPath, BIN, 'profile', '--off-cpu', '--json', '-i', '3600'], ready: oscopeReady },
    { name: 'offcputime', argv: [peer], ready: () => sleep(2500) },
  ];
  const label = (t: Tracer | undefined): string => t?.name ?? 'alone';
  const res = new Map<string, number[]>(tracers.map((t) => [label(t), []]));
  for (let r = 0; r < rounds; r++) for (let k = 0; k < tracers.length; k++) {
    const t = tracers[(k + r) % tracers.length];
    res.get(label(t))!.push((await underTracer(t, () => one(n))).s);
  }
  const base = median(res.get('alone')!);
  const pct = (x: string): string => `${(((median(res.get(x)!) - base) / base) * 100).toFixed(1)} %`;
  console.log(`   pipe ping-pong (${(n * 4).toLocaleString('en')} context switches), ${rounds} rotating rounds: ${base.toFixed(2)} s alone, +${pct('oscope profile --off-cpu')} under oscope --off-cpu, +${pct('offcputime')} under offcputime (host-wide both)`);
}

async function agent(roundsN: number): Promise<void> {
  const windowS = 60;
  const dirs = [mkdtempSync('/tmp/oscope-bench-agentp-'), mkdtempSync('/tmp/oscope-bench-agentp-')];
  const procs: ChildProcess[] = [];
  try {
    await withBpfStats(async () => {
      const spawnAgent = (state: string, extra: string[]): ChildProcess => {
        const c = spawn(process.execPath, [BIN, 'agent', '--listen', '127.0.0.1:0', '--interval', '15s', '--state-dir', state, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
        c.stderr!.on('data', () => undefined);
        procs.push(c);
        return c;
      };
      const plain = spawnAgent(dirs[0]!, []);
      const prof = spawnAgent(dirs[1]!, ['--profile-hz', '19']);
      if (!(await attached(prof.pid!, 60_000))) throw new Error('the profiling agent did not attach its BPF programs within 60 s');
      await sleep(10_000); // both past their start-up
      const w = watchBpf(prof.pid!);
      const cpu: { plain: number[]; prof: number[] } = { plain: [], prof: [] };
      for (let r = 0; r < roundsN; r++) {
        const a0 = cpuTicks(plain.pid!, false);
        const b0 = cpuTicks(prof.pid!, false);
        const t0 = Date.now();
        await sleep(windowS * 1000);
        const el = (Date.now() - t0) / 1000;
        cpu.plain.push(((cpuTicks(plain.pid!, false) - a0) / TICK / el) * 100);
        cpu.prof.push(((cpuTicks(prof.pid!, false) - b0) / TICK / el) * 100);
      }
      const bpf = w.stop();
      const total = roundsN * windowS;
      const bpfPct = (bpf.ns / (total * 1e9)) * 100;
      const diffs = cpu.prof.map((x, i) => x - cpu.plain[i]!);
      console.log(`   agent over ${roundsN} rounds of one ${windowS} s profile window, at the same time: today's agent ${median(cpu.plain).toFixed(2)} % of a CPU (rounds ${cpu.plain.map((x) => x.toFixed(2)).join(' ')}), with --profile-hz 19 ${median(cpu.prof).toFixed(2)} % (${cpu.prof.map((x) => x.toFixed(2)).join(' ')})`);
      console.log(`   on top: ${median(diffs).toFixed(2)} % of a CPU for the process (median of the round differences), + ${bpfPct.toFixed(3)} % for its BPF sampler (${bpf.cnt} samples, ${bpf.cnt ? (bpf.ns / bpf.cnt / 1000).toFixed(1) : '-'} µs each); target ≤ 1 %`);
    });
  } finally {
    for (const c of procs) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

export const profileBench: Bench = {
  name: 'profile',
  description: 'oscope profile vs perf record -g, bcc profile and libbpf-tools offcputime: agreement, overhead at 49 Hz, off-CPU; the agent with continuous profiling at 19 Hz',
  run: async () => {
    if (process.geteuid?.() !== 0) throw new Error('needs root');
    for (const c of ['perf', 'cc']) if (!has(c)) throw new Error(`needs ${c} (apt install ${c === 'perf' ? 'linux-perf' : 'gcc'})`);
    const seconds = Number(process.env.OSCOPE_BENCH_PROFILE_S ?? 8);
    const rounds = Number(process.env.OSCOPE_BENCH_PROFILE_ROUNDS ?? 5);
    const parts = (process.env.OSCOPE_BENCH_PROFILE_PARTS ?? 'agreement,overhead,offcpu,agent').split(',');
    const dir = join(tmpdir(), `oscope-bench-profile-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    console.log(`   load average before: ${loadavg()} (${availableParallelism()} CPUs)`);
    try {
      if (parts.includes('agreement')) await agreement(seconds, dir);
      if (parts.includes('overhead')) await overhead(seconds, rounds, dir);
      if (parts.includes('offcpu')) await offCpu(seconds, rounds, dir);
      if (parts.includes('agent')) await agent(Number(process.env.OSCOPE_BENCH_PROFILE_AGENT_ROUNDS ?? 3));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      console.log(`   load average after: ${loadavg()}`);
    }
  },
};
