/**
 * Load scenarios: what makes the load average high, on resources the scenario owns.
 *
 *   load-d-state --tasks N   a FUSE file system mounted on /dev/fuse by a helper that never answers,
 *                            not even FUSE_INIT; N children (osc-d-blocked) each stat its root and
 *                            sleep in fuse_get_req (TASK_KILLABLE, shown as D and counted by the load
 *                            average) until the helper goes: closing /dev/fuse aborts the connection
 *                            and the children get ENOTCONN and exit. A crash of the helper therefore
 *                            releases them by itself; cleanup unmounts the dead mount.
 *   fork-storm --rate R      a parent (osc-fork-storm, a small C program built with cc, SCHED_FIFO 1 so
 *                            that the rate holds on a busy host) forking R children per second, each
 *                            exiting at once (paced on the clock; a late fork is made up at once).
 *   cpu-throttle --quota-pct P
 *                            a cpu cgroup (v1 `cpu` controller, else cgroup v2 cpu.max) with a quota of
 *                            P % of one CPU (period 100 ms) and a busy loop (osc-cpu-hog) in it: the
 *                            cgroup is throttled in nearly every period, nr_throttled grows by ~10/s.
 *
 * The FUSE mount point is under /run (which file walkers skip): processes that stat it while the
 * scenario runs block like the children, killably, until it ends.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { hasCommand, startHelper } from './runq-hog.js';

export const LOAD_D_BLOCKED = 'osc-d-blocked';
export const LOAD_D_SERVER = 'osc-fuse-mute';
export const FORK_STORM_PARENT = 'osc-fork-storm';
export const CPU_HOG = 'osc-cpu-hog';

const FUSE_MUTE = String.raw`
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
if libc.mount(b"oscope-sim", cfg["mnt"].encode(), b"fuse.oscope-sim", 0, opts.encode()) != 0:
    out({"error": "mount of the FUSE file system failed: " + os.strerror(ctypes.get_errno())}); sys.exit(1)
kids = []
for i in range(int(cfg["tasks"])):
    pid = os.fork()
    if pid == 0:
        os.close(fd)
        try: libc.prctl(15, cfg["blocked"].encode()[:15], 0, 0, 0)
        except Exception: pass
        # The root itself: GETATTR, so every child waits in fuse_get_req (a lookup of names in the root
        # would queue all but the first on the directory's inode mutex: fuse_lock_inode).
        try: os.stat(cfg["mnt"])
        except OSError: pass
        os._exit(0)
    kids.append(pid)
def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f: return f.read().rsplit(")", 1)[1].split()[0]
    except OSError: return "?"
end = time.time() + 10
while time.time() < end and any(state(p) != "D" for p in kids): time.sleep(0.02)
bad = [p for p in kids if state(p) != "D"]
if bad: out({"error": "children %s did not block in D state on the FUSE mount" % bad}); sys.exit(1)
out({"ready": True, "pid": os.getpid(), "blocked": " ".join(map(str, kids)), "since": time.time()})
while True:
    time.sleep(0.2); check()
    for p in kids:
        try: os.waitpid(p, os.WNOHANG)
        except ChildProcessError: pass
`;

/**
 * The forker, in C (compiled with cc at start): a Python fork costs a millisecond of CPU and on a busy
 * host falls far behind R; fork + _exit of a small C program costs tens of microseconds. Paced on
 * CLOCK_MONOTONIC (a late fork is made up at once, so the rate holds over any second), children reaped
 * as it goes; exits when the process that started it is gone.
 */
const FORKER_C = String.raw`#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  double rate = atof(argv[1]);
  pid_t starter = (pid_t)atoi(argv[2]);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("{\"ready\": true, \"pid\": %d}\n", (int)getpid());
  fflush(stdout);
  for (long n = 1;; n++) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    if (n % 32 == 0 && getppid() != starter) return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
    double w = (double)n / rate - el;
    if (w > 0) {
      struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
      nanosleep(&ts, NULL);
    }
  }
}
`;

/** Python side: replace itself (same pid, already recorded) with the compiled forker. */
const EXEC_FORKER = String.raw`
os.execv(cfg["bin"], [cfg["comm"], str(cfg["rate"]), str(starter)])
`;

const HOG = String.raw`
with open(cfg["procs"], "w") as f: f.write(str(os.getpid()))
out({"ready": True, "pid": os.getpid()})
i = 0
while True:
    i += 1
    if i % 200000 == 0: check()
`;

export const loadDState: Scenario = {
  name: 'load-d-state',
  area: 'load',
  description: `N tasks (${LOAD_D_BLOCKED}) in D state on a FUSE file system whose server (${LOAD_D_SERVER}) never answers; they are released when it ends`,
  sizeFlag: '--tasks',
  options: [{ key: 'tasks', flag: '--tasks <n>', type: 'count', description: 'how many tasks to block (1 to 256)', default: 4 }],
  memoryBytes: (o) => (o.tasks ?? 4) * 8 * 1024 * 1024,
  check: (o) => {
    if (!Number.isInteger(o.tasks) || o.tasks! < 1 || o.tasks! > 256) return '--tasks must be a whole number from 1 to 256';
    if (!existsSync('/dev/fuse')) return 'this scenario needs /dev/fuse (modprobe fuse, or a kernel with CONFIG_FUSE_FS)';
    if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return 'this scenario needs root (it mounts a FUSE file system)';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const dir = ctx.track({ kind: 'dir', path: join('/run', ctx.name('fuse')) });
    mkdirSync(dir.path);
    ctx.track({ kind: 'mount', path: dir.path });
    const v = await startHelper(ctx, 'fuse server', [], FUSE_MUTE, { comm: LOAD_D_SERVER, blocked: LOAD_D_BLOCKED, mnt: dir.path, tasks: ctx.opts.tasks! });
    return {
      count: ctx.opts.tasks!,
      unit: 'tasks',
      bytes: 0,
      details: { mount: dir.path, server: LOAD_D_SERVER, serverPid: Number(v.pid), blocked: LOAD_D_BLOCKED, blockedPids: String(v.blocked), since: Number(v.since), waitIn: 'fuse_get_req' },
    };
  },
};

export const forkStorm: Scenario = {
  name: 'fork-storm',
  area: 'load',
  description: `a parent (${FORK_STORM_PARENT}) forking R short-lived children per second`,
  sizeFlag: '--rate',
  options: [{ key: 'rate', flag: '--rate <per-second>', type: 'count', description: 'children per second (1 to 2000)', default: 200 }],
  memoryBytes: () => 32 * 1024 * 1024,
  check: (o) => {
    if (!Number.isInteger(o.rate) || o.rate! < 1 || o.rate! > 2000) return '--rate must be a whole number of forks per second from 1 to 2000';
    if (!hasCommand('cc')) return 'fork-storm compiles its forker with cc, which is not installed (apt install gcc)';
    if (!hasCommand('chrt')) return 'fork-storm needs chrt (apt install util-linux)';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const dir = ctx.track({ kind: 'dir', path: join(tmpdir(), ctx.name('bin')) });
    mkdirSync(dir.path, { mode: 0o700 });
    const src = join(dir.path, 'forker.c');
    const bin = join(dir.path, FORK_STORM_PARENT);
    writeFileSync(src, FORKER_C);
    const cc = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
    if (cc.status !== 0) throw new SimulateError(`cc could not build the forker: ${(cc.stderr ?? '').trim().split('\n').find((l) => l.includes('error')) ?? `exit status ${String(cc.status)}`}`, 'failure');
    // SCHED_FIFO 1: the rate holds on a busy host. The forker sleeps between forks and needs a few % of
    // a CPU; its children inherit the policy and only _exit, so nobody is starved (and RT throttling
    // would cap it at 95 % anyway).
    const v = await startHelper(ctx, 'forker', ['chrt', '-f', '1'], EXEC_FORKER, { comm: FORK_STORM_PARENT, rate: ctx.opts.rate!, bin });
    return { count: ctx.opts.rate!, unit: 'forks/s', bytes: 0, details: { parent: FORK_STORM_PARENT, parentPid: Number(v.pid), rate: ctx.opts.rate! } };
  },
};

interface CpuCgroupRoot {
  version: 1 | 2;
  root: string;
}

/** Where a cpu cgroup can be made: the v1 `cpu` mount, else a cgroup2 root that delegates cpu. */
export function cpuCgroupRoot(): CpuCgroupRoot | string {
  let mounts = '';
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return 'cannot read /proc/self/mounts';
  }
  let v2: string | undefined;
  for (const line of mounts.split('\n')) {
    const [, mnt, type, opts] = line.split(' ');
    if (type === 'cgroup' && opts?.split(',').includes('cpu') && mnt) return { version: 1, root: mnt };
    if (type === 'cgroup2' && mnt && v2 === undefined) v2 = mnt;
  }
  if (v2 !== undefined) {
    try {
      if (readFileSync(join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) return { version: 2, root: v2 };
    } catch {
      /* fall through */
    }
    return `the cgroup v2 root ${v2} does not delegate the cpu controller (cgroup.subtree_control), and no cgroup v1 cpu hierarchy is mounted`;
  }
  return 'no cgroup hierarchy with the cpu controller is mounted';
}

export const cpuThrottle: Scenario = {
  name: 'cpu-throttle',
  area: 'load',
  description: `a cpu cgroup with a quota of P % of one CPU and a busy loop (${CPU_HOG}) in it, throttled in nearly every period`,
  sizeFlag: '--quota-pct',
  options: [{ key: 'quotaPct', flag: '--quota-pct <percent>', type: 'count', description: 'the quota, in percent of one CPU per 100 ms period (1 to 90)', default: 20 }],
  memoryBytes: () => 32 * 1024 * 1024,
  check: (o) => {
    if (!Number.isInteger(o.quotaPct) || o.quotaPct! < 1 || o.quotaPct! > 90) return '--quota-pct must be a whole number from 1 to 90';
    const r = cpuCgroupRoot();
    return typeof r === 'string' ? r : undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const r = cpuCgroupRoot();
    if (typeof r === 'string') throw new SimulateError(r, 'unsupported');
    const cg = ctx.track({ kind: 'cgroup', path: join(r.root, ctx.name('cpu')) });
    mkdirSync(cg.path);
    const quotaUs = Math.round(ctx.opts.quotaPct! * 1000);
    if (r.version === 1) {
      writeFileSync(join(cg.path, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(cg.path, 'cpu.cfs_quota_us'), String(quotaUs));
    } else writeFileSync(join(cg.path, 'cpu.max'), `${quotaUs} 100000`);
    const v = await startHelper(ctx, 'hog', [], HOG, { comm: CPU_HOG, procs: join(cg.path, 'cgroup.procs') });
    const rel = cg.path.slice(r.root.length);
    return { count: 1, unit: 'cgroup', bytes: 0, details: { cgroup: cg.path, path: rel, version: r.version, quotaPct: ctx.opts.quotaPct!, hog: CPU_HOG, hogPid: Number(v.pid) } };
  },
};
