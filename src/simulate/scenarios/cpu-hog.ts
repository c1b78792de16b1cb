/**
 * cpu-hog: a compiled C program (built with `cc` at run time, in a directory `oscope-sim-*` under the
 * temporary directory) whose three functions take known shares of its CPU time: `osc_hog_a`,
 * `osc_hog_b` and `osc_hog_c` run the same loop body for a%, b% and c% of the iterations of each round
 * (50/30/20 by default), so `oscope profile --pid PID` should show those self shares within a few
 * points. Built with -O0 -fno-omit-frame-pointer so that every sample's user stack unwinds through main
 * (see the comment at the cc call).
 * The program runs on one CPU (it is single-threaded), names itself `osc-cpu-hog` and exits by itself
 * when the process that started it goes away.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { procIdentity } from '../proc.js';
import { hasCommand } from './runq-hog.js';

export const CPU_HOG_COMM = 'osc-cpu-hog';
export const CPU_HOG_FUNCTIONS = ['osc_hog_a', 'osc_hog_b', 'osc_hog_c'] as const;

export const CPU_HOG_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>

volatile unsigned long osc_sink;

/* The same loop body in each function: the time each takes is in proportion to its iterations. */
#define OSC_BODY(n) for (unsigned long i = 0; i < (n); i++) osc_sink = osc_sink * 6364136223846793005UL + i;

__attribute__((noinline)) void osc_hog_a(unsigned long n) { OSC_BODY(n) }
__attribute__((noinline)) void osc_hog_b(unsigned long n) { OSC_BODY(n) }
__attribute__((noinline)) void osc_hog_c(unsigned long n) { OSC_BODY(n) }

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  unsigned long a = strtoul(argv[1], 0, 10), b = strtoul(argv[2], 0, 10), c = strtoul(argv[3], 0, 10);
  prctl(PR_SET_NAME, "osc-cpu-hog", 0, 0, 0);
  pid_t parent = getppid();
  printf("{\"ready\": true, \"pid\": %d}\n", (int)getpid());
  fflush(stdout);
  for (unsigned long round = 0;; round++) {
    osc_hog_a(a * 20000);
    osc_hog_b(b * 20000);
    osc_hog_c(c * 20000);
    if ((round & 15) == 0 && getppid() != parent) return 0;
  }
}
`;

export const cpuHog: Scenario = {
  name: 'cpu-hog',
  area: 'cpu',
  description: `a compiled busy program (${CPU_HOG_COMM}) whose functions ${CPU_HOG_FUNCTIONS.join(', ')} take known shares of its CPU time (50/30/20 % by default)`,
  sizeFlag: '--a-pct',
  options: [
    { key: 'aPct', flag: '--a-pct <n>', type: 'count', description: 'share of the CPU time in osc_hog_a (%)', default: 50 },
    { key: 'bPct', flag: '--b-pct <n>', type: 'count', description: 'share of the CPU time in osc_hog_b (%)', default: 30 },
    { key: 'cPct', flag: '--c-pct <n>', type: 'count', description: 'share of the CPU time in osc_hog_c (%)', default: 20 },
  ],
  memoryBytes: () => 8 * 1024 * 1024,
  check: (o) => {
    if (!hasCommand('cc')) return 'cpu-hog compiles a C program and needs a C compiler (apt install gcc)';
    const sum = o.aPct! + o.bPct! + o.cPct!;
    if (sum !== 100) return `--a-pct, --b-pct and --c-pct must add up to 100, got ${sum}`;
    if (![o.aPct!, o.bPct!, o.cPct!].every((x) => Number.isInteger(x) && x >= 1)) return '--a-pct, --b-pct and --c-pct must each be a whole percent of at least 1';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const o = ctx.opts;
    const dir = join(tmpdir(), ctx.name('cpu-hog'));
    ctx.track({ kind: 'dir', path: dir });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hog.c'), CPU_HOG_SOURCE);
    const bin = join(dir, 'osc-cpu-hog');
    // -O0: GCC (12, x86-64) sets up no frame at all in a leaf function that needs no stack, even with
    // -fno-omit-frame-pointer, so a frame-pointer walk from a sample in osc_hog_a would skip main.
    const cc = spawnSync('cc', ['-O0', '-fno-omit-frame-pointer', '-g0', '-o', bin, join(dir, 'hog.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new SimulateError(`cc failed to build the cpu-hog program: ${(cc.stderr || cc.error?.message || '').trim().split('\n')[0]}`, 'failure');
    const child = spawn(bin, [String(o.aPct), String(o.bPct), String(o.cPct)], { stdio: ['ignore', 'pipe', 'ignore'] });
    const id = child.pid !== undefined ? procIdentity(child.pid) : undefined;
    if (!id) {
      child.kill('SIGKILL');
      throw new SimulateError('the cpu-hog program exited at once', 'failure');
    }
    ctx.track({ kind: 'process', pid: id.pid, startTime: id.startTime, role: 'cpu-hog' });
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new SimulateError('interrupted', 'interrupted'));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.once('data', () => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      });
      child.once('exit', (code, sig) => reject(new SimulateError(`the cpu-hog program exited (${sig ?? `code ${code}`})`, 'failure')));
    });
    child.removeAllListeners('exit');
    child.stdout.destroy();
    child.unref();
    return {
      count: 1,
      unit: 'processes',
      bytes: 0,
      details: { pid: id.pid, comm: CPU_HOG_COMM, binary: bin, aPct: o.aPct!, bPct: o.bPct!, cPct: o.cPct!, functions: CPU_HOG_FUNCTIONS.join(',') },
    };
  },
};
