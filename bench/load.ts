/**
 * `oscope load` on a host with 2,000 more tasks (issue 15: under 1 s beyond the interval): a C program
 * (built with cc) forks 20 processes of 100 threads each, all named `oscope-test-ld` and asleep
 * (busy threads would take the CPUs from oscope itself and measure that instead), then `oscope load -i 1 --json` runs with them and
 * without them, in rotating rounds; the wall time of the whole command (Node.js start included) minus
 * the interval is what a user waits beyond it. `--no-bpf` (the /proc walk) and `ps -eLo` (one pass of
 * the peer a user would reach for) are timed next to it. The tasks are removed after each round (their
 * process group is killed); the load average is printed before and after.
 *
 * OSCOPE_BENCH_LOAD_ROUNDS sets the rounds (default 5), OSCOPE_BENCH_LOAD_TASKS the tasks (default 2000).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadDocument } from '../src/contract/load.js';
import type { Bench } from './benches.js';
import { median, sleep } from './util.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');
const COMM = 'oscope-test-ld';
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const SPAWNER = String.raw`
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
static volatile unsigned long sink;
static void *sleeper(void *a) { (void)a; for (;;) pause(); return 0; }
static void *busy(void *a) { (void)a; for (;;) sink++; return 0; }
int main(int argc, char **argv) {
  int procs = atoi(argv[1]), threads = atoi(argv[2]), busyN = atoi(argv[3]);
  int fds[2];
  if (pipe(fds)) return 1;
  prctl(PR_SET_NAME, "${COMM}");
  for (int p = 0; p < procs; p++) {
    if (fork() == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      pthread_attr_t at;
      pthread_attr_init(&at);
      pthread_attr_setstacksize(&at, 64 * 1024);
      for (int t = 1; t < threads; t++) {
        pthread_t th;
        if (pthread_create(&th, &at, (p == 0 && t <= busyN) ? busy : sleeper, 0)) _exit(2);
      }
      char c = 1;
      if (write(fds[1], &c, 1) != 1) _exit(3);
      for (;;) pause();
    }
  }
  for (int p = 0; p < procs; p++) { char c; if (read(fds[0], &c, 1) != 1) return 4; }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
`;

function countComm(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== COMM) continue;
      n += readdirSync(`/proc/${pid}/task`).length;
    } catch {
      /* gone */
    }
  }
  return n;
}

async function startTasks(bin: string, tasks: number): Promise<ChildProcess> {
  const procs = 20;
  const child = spawn(bin, [String(procs), String(Math.ceil(tasks / procs)), '0'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the task spawner exited ${code}`)));
  });
  return child;
}

async function stopTasks(child: ChildProcess): Promise<void> {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 100 && countComm() > 0; i++) await sleep(100);
}

function timed(argv: string[]): { s: number; stdout: string; code: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, stdout: r.stdout ?? '', code: r.status };
}

export const loadBench: Bench = {
  name: 'load',
  description: 'oscope load -i 1 with 2,000 more tasks on the host: time beyond the interval (target < 1 s), vs --no-bpf and ps -eLo',
  run: async () => {
    if (process.geteuid?.() !== 0) throw new Error('needs root');
    if (spawnSync('sh', ['-c', 'command -v cc'], { stdio: 'ignore' }).status !== 0) throw new Error('needs cc (apt install gcc)');
    const rounds = Number(process.env.OSCOPE_BENCH_LOAD_ROUNDS ?? 5);
    const tasks = Number(process.env.OSCOPE_BENCH_LOAD_TASKS ?? 2000);
    const dir = mkdtempSync('/tmp/oscope-bench-load-');
    const load0 = loadavg();
    try {
      writeFileSync(join(dir, 's.c'), SPAWNER);
      const bin = join(dir, 'spawner');
      const cc = spawnSync('cc', ['-O1', '-pthread', '-o', bin, join(dir, 's.c')], { encoding: 'utf8' });
      if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
      const res = { bpf: [] as number[], proc: [] as number[], ps: [] as number[], bpfBase: [] as number[], nodeBase: [] as number[] };
      let seen = 0;
      let samples = 0;
      let hostTasks = 0;
      const oscope = (extra: string[]): { s: number; doc?: LoadDocument } => {
        const r = timed([process.execPath, BIN, 'load', '-i', '1', '--json', ...extra]);
        if (r.code !== 0) throw new Error(`oscope load exited ${r.code}`);
        return { s: r.s, doc: JSON.parse(r.stdout) as LoadDocument };
      };
      for (let round = 0; round < rounds; round++) {
        // Rotating: with the tasks (bpf, --no-bpf, ps in turn), then without them (bpf, node's own start).
        const child = await startTasks(bin, tasks);
        try {
          hostTasks = Number(spawnSync('sh', ['-c', 'ls -d /proc/[0-9]*/task/[0-9]* | wc -l'], { encoding: 'utf8' }).stdout.trim());
          seen = countComm();
          const order = ['bpf', 'proc', 'ps'] as const;
          for (let k = 0; k < order.length; k++) {
            const v = order[(k + round) % order.length]!;
            if (v === 'bpf') {
              const r = oscope([]);
              res.bpf.push(r.s - 1);
              samples = r.doc?.samples ?? 0;
            } else if (v === 'proc') res.proc.push(oscope(['--no-bpf']).s - 1);
            else res.ps.push(timed(['ps', '-eLo', 'pid,tid,stat,wchan:32,comm']).s);
          }
        } finally {
          await stopTasks(child);
        }
        res.bpfBase.push(oscope([]).s - 1);
        res.nodeBase.push(timed([process.execPath, '-e', '0']).s);
      }
      const f = (xs: number[]): string => `${median(xs).toFixed(2)} s (rounds ${xs.map((x) => x.toFixed(2)).join(' ')})`;
      console.log(`   ${seen} ${COMM} tasks (20 processes, asleep) on a host with ${hostTasks} tasks in all, ${availableParallelism()} CPUs; ${rounds} rotating rounds, medians; ${samples} task samples per run`);
      console.log(`   oscope load -i 1, beyond the interval: ${f(res.bpf)} with the tasks  (target < 1 s)`);
      console.log(`                                          ${f(res.bpfBase)} without them`);
      console.log(`   oscope load -i 1 --no-bpf (/proc walk), beyond: ${f(res.proc)}`);
      console.log(`   node -e 0 (Node.js start alone): ${f(res.nodeBase)};  ps -eLo pid,tid,stat,wchan (one pass): ${f(res.ps)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      console.log(`   load average before: ${load0}, after: ${loadavg()}`);
    }
  },
};
