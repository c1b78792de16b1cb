/**
 * runq-hog: a real-time (SCHED_FIFO) busy loop pinned to one CPU, in bursts of a chosen length, next to
 * a victim pinned to the same CPU that wakes every millisecond. During each burst the victim waits on
 * the run queue for the whole burst: `oscope runlatency` should report runqueue events of about the
 * burst length, victim `osc-rq-victim`, culprit `osc-rq-hog`.
 *
 * Both are python3 processes started through util-linux (`taskset -c CPU chrt -f PRIO python3 ...`),
 * recorded (pid + start time) before they do anything. Bursts are bounded (at most 500 ms, with the
 * CPU given back for at least as long between bursts) so that the helpers of a small VM never starve;
 * each helper also exits by itself when the process that started it goes away.
 *
 * This file also holds `startHelper`, which the softirq-storm and kernel-busy scenarios use.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { procIdentity } from '../proc.js';
import { findPython } from '../worker.js';

/** Python prelude: name the process (comm), wait for "go", exit when the starter is gone. */
export const HELPER_PRELUDE = String.raw`
import sys, os, json, time, ctypes
cfg = json.loads(sys.argv[1])
try: ctypes.CDLL(None).prctl(15, cfg["comm"].encode()[:15], 0, 0, 0)
except Exception: pass
starter = os.getppid()
if sys.stdin.readline().strip() != "go": sys.exit(0)
def check():
    # Exit when the process that started us is gone (no helper thread: it would share our policy).
    if os.getppid() != starter: os._exit(0)
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
`;

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts `prefix... python3 -c PRELUDE+body cfg`, records it before it does anything, says "go" and
 * resolves at its first output line ({"ready": ...}). It keeps running until cleanup kills it.
 */
export async function startHelper(ctx: ScenarioContext, role: string, prefix: string[], body: string, cfg: Record<string, string | number>): Promise<Record<string, unknown>> {
  const python = findPython();
  if (!python) throw new SimulateError('this scenario needs python3, which is not installed', 'unsupported');
  const argv = [...prefix, python, '-u', '-c', HELPER_PRELUDE + body, JSON.stringify(cfg)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const id = child.pid !== undefined ? procIdentity(child.pid) : undefined;
  if (!id) {
    child.kill('SIGKILL');
    throw new SimulateError(`the ${role} (${argv[0]}) exited at once`, 'failure');
  }
  ctx.track({ kind: 'process', pid: id.pid, startTime: id.startTime, role });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2000);
  });
  child.stdin.on('error', () => undefined);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const onAbort = (): void => reject(new SimulateError('interrupted', 'interrupted'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const done = (err: Error | undefined, v?: Record<string, unknown>): void => {
      ctx.signal.removeEventListener('abort', onAbort);
      rl.close();
      if (err) reject(err);
      else resolve(v ?? {});
    };
    rl.on('line', (line) => {
      try {
        const m = JSON.parse(line) as Record<string, unknown>;
        if (typeof m.error === 'string') done(new SimulateError(`${role}: ${m.error}`, 'failure'));
        else done(undefined, m);
      } catch {
        /* not ours */
      }
    });
    child.once('exit', (code, sig) => done(new SimulateError(`the ${role} exited (${sig ?? `code ${code}`})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`, 'failure')));
    child.stdin.write('go\n');
  });
  child.removeAllListeners('exit');
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  // stdin stays open: the helper reads nothing more, but keeping the pipe lets it outlive nothing.
  return ready;
}

const VICTIM = String.raw`
out({"ready": True, "pid": os.getpid()})
i = 0
while True:
    time.sleep(cfg["sleepMs"] / 1000.0); i += 1
    if i % 200 == 0: check()
`;

const HOG = String.raw`
burst = cfg["burstMs"] / 1000.0; gap = cfg["gapMs"] / 1000.0
out({"ready": True, "pid": os.getpid(), "policy": os.sched_getscheduler(0)})
while True:
    end = time.monotonic() + burst
    while time.monotonic() < end: pass
    time.sleep(gap); check()
`;

export const RUNQ_HOG_VICTIM = 'osc-rq-victim';
export const RUNQ_HOG_CULPRIT = 'osc-rq-hog';

export const runqHog: Scenario = {
  name: 'runq-hog',
  area: 'latency',
  description: `a SCHED_FIFO busy loop (${RUNQ_HOG_CULPRIT}) in bursts on one CPU, next to a victim (${RUNQ_HOG_VICTIM}) pinned to the same CPU`,
  sizeFlag: '--burst-ms',
  options: [
    { key: 'cpu', flag: '--cpu <n>', type: 'count', description: 'the CPU both are pinned to (default: the last one)', default: Math.max(0, availableParallelism() - 1) },
    { key: 'burstMs', flag: '--burst-ms <ms>', type: 'count', description: 'length of each busy burst, in ms (at most 500)', default: 50 },
    { key: 'gapMs', flag: '--gap-ms <ms>', type: 'count', description: 'pause between bursts, in ms (at least the burst)', default: 200 },
    { key: 'priority', flag: '--priority <1-99>', type: 'count', description: 'SCHED_FIFO priority of the hog', default: 10 },
  ],
  memoryBytes: () => 64 * 1024 * 1024,
  check: (o) => {
    for (const c of ['taskset', 'chrt']) if (!hasCommand(c)) return `runq-hog needs ${c} (apt install util-linux)`;
    if (o.burstMs! < 1 || o.burstMs! > 500) return '--burst-ms must be between 1 and 500';
    if (o.gapMs! < o.burstMs!) return '--gap-ms must be at least --burst-ms, so that the CPU is given back between bursts';
    if (o.priority! < 1 || o.priority! > 99) return '--priority must be between 1 and 99';
    if (!Number.isInteger(o.cpu) || !readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(',').some((r) => {
      const [a, b] = r.split('-').map(Number);
      return o.cpu! >= a! && o.cpu! <= (b ?? a!);
    })) return `CPU ${o.cpu} is not online`;
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const o = ctx.opts;
    const cpu = String(o.cpu);
    const victim = await startHelper(ctx, 'victim', ['taskset', '-c', cpu], VICTIM, { comm: RUNQ_HOG_VICTIM, sleepMs: 1 });
    const hog = await startHelper(ctx, 'hog', ['taskset', '-c', cpu, 'chrt', '-f', String(o.priority)], HOG, { comm: RUNQ_HOG_CULPRIT, burstMs: o.burstMs!, gapMs: o.gapMs! });
    return {
      count: 2,
      unit: 'processes',
      bytes: 0,
      details: { cpu: o.cpu!, burstMs: o.burstMs!, gapMs: o.gapMs!, victimPid: Number(victim.pid), hogPid: Number(hog.pid), victim: RUNQ_HOG_VICTIM, culprit: RUNQ_HOG_CULPRIT },
    };
  },
};
