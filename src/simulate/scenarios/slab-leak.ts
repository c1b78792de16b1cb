/**
 * slab-leak: a process that keeps kernel objects of one slab cache alive at a chosen rate: epoll items
 * (struct epitem, cache `eventpoll_epi`). A python3 holder makes 1,000 dup()s of one eventfd and adds
 * them to epoll instances, a new epoll every 1,000 items, so that N items cost about N/1000 + 1,000
 * descriptors (its RLIMIT_NOFILE soft limit is raised to the hard one). Each item also allocates one
 * `eventpoll_pwq` (64 bytes, half as fast). Killing the holder frees everything.
 *
 * This file also holds the small holder-process runner the page-leak and vmalloc-leak scenarios use.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { procIdentity } from '../proc.js';
import { findPython } from '../worker.js';

const HOLDER = String.raw`
import sys, os, json, time, signal, resource, fcntl, select, ctypes, struct
cfg = json.loads(sys.argv[1]); kind = cfg["kind"]; total = int(cfg["count"]); rate = float(cfg["rate"])
try:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
except Exception: pass
sys.stdin.readline()
held = []; t0 = time.monotonic(); last = t0
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
def pace(done):
    global last
    if rate > 0:
        d = t0 + done / rate - time.monotonic()
        if d > 0: time.sleep(d)
    now = time.monotonic()
    if now - last > 0.25: out({"progress": done}); last = now
try:
    if kind == "epoll":
        base = os.eventfd(0); per = 1000
        dups = [os.dup(base) for _ in range(min(per, max(1, total)))]
        held.append(base); held.extend(dups); ep = None
        for i in range(total):
            if i % per == 0:
                ep = select.epoll(); held.append(ep)
            ep.register(dups[i % per], select.EPOLLIN)
            if i % 64 == 63: pace(i + 1)
    elif kind == "pipe":
        per = int(cfg["perPipe"]); chunk = b"\x5a" * 4096; w = None; n = 0
        for i in range(total):
            if n == 0:
                r, w = os.pipe(); held.extend([r, w])
                fcntl.fcntl(w, 1031, per * 4096)
            os.write(w, chunk); n = (n + 1) % per
            pace(i + 1)
    elif kind == "bpfmap":
        libc = ctypes.CDLL(None, use_errno=True); libc.syscall.restype = ctypes.c_long
        nr = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
        for i in range(total):
            attr = ctypes.create_string_buffer(struct.pack("IIIIIII16s", 2, 4, int(cfg["valueSize"]), int(cfg["entries"]), 0, 0, 0, b"oscope_sim").ljust(128, b"\0"), 128)
            fd = libc.syscall(nr, 0, attr, 128)
            if fd < 0:
                e = ctypes.get_errno(); raise OSError(e, "bpf(BPF_MAP_CREATE): " + os.strerror(e))
            held.append(fd); pace(i + 1)
    else:
        raise ValueError("unknown kind " + kind)
except Exception as e:
    out({"error": str(e)}); sys.exit(1)
out({"done": total})
sys.stdout.close()
while True: signal.pause()
`;

/**
 * Starts the holder, records it (pid + start time) before it creates anything, lets it work at its
 * pace and resolves when it has created everything. It then keeps the objects until cleanup kills it.
 */
export async function runHolder(ctx: ScenarioContext, role: string, cfg: Record<string, string | number>, unit: string, unitBytes: number): Promise<void> {
  const python = findPython();
  if (!python) throw new SimulateError('this scenario needs python3, which is not installed', 'unsupported');
  const child = spawn(python, ['-u', '-c', HOLDER, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const id = child.pid !== undefined ? procIdentity(child.pid) : undefined;
  if (!id) {
    child.kill('SIGKILL');
    throw new SimulateError(`the python3 holder (${python}) exited at once`, 'failure');
  }
  ctx.track({ kind: 'process', pid: id.pid, startTime: id.startTime, role });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2000);
  });
  child.stdin.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const onAbort = (): void => reject(new SimulateError('interrupted', 'interrupted'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (err?: Error): void => {
      ctx.signal.removeEventListener('abort', onAbort);
      rl.close();
      if (err) reject(err);
      else resolve();
    };
    rl.on('line', (line) => {
      let m: { progress?: number; done?: number; error?: string };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.progress !== undefined) ctx.progress({ count: m.progress, unit, bytes: m.progress * unitBytes });
      else if (m.error !== undefined) finish(new SimulateError(`${role}: ${m.error}`, 'failure'));
      else if (m.done !== undefined) finish();
    });
    child.once('exit', (code, sig) => finish(new SimulateError(`the ${role} exited (${sig ?? `code ${code}`})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`, 'failure')));
    child.stdin.write('go\n');
  });
  child.removeAllListeners('exit');
  child.stdin.end();
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
}

/** A slab cache's line in /proc/slabinfo: bytes of slab memory per object, and its name there. */
export interface SlabCacheFacts {
  /** The name /proc/slabinfo shows (the first cache of a merged group). */
  slabinfoName: string;
  objSizeBytes: number;
  /** pages per slab × page size / objects per slab. */
  slabBytesPerObject: number;
}

/** Finds `cache` in /proc/slabinfo, following SLUB merging through /sys/kernel/slab symlinks. */
export function slabCacheFacts(cache: string, pageBytes = 4096): SlabCacheFacts | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/slabinfo', 'utf8');
  } catch {
    return undefined;
  }
  const rows = new Map<string, string[]>();
  for (const l of text.split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length >= 6 && !l.startsWith('#')) rows.set(f[0]!, f);
  }
  let name = cache;
  if (!rows.has(name)) {
    let target: string | undefined;
    try {
      target = readlinkSync(`/sys/kernel/slab/${cache}`).split('/').pop();
    } catch {
      return undefined;
    }
    for (const n of rows.keys()) {
      try {
        if (readlinkSync(`/sys/kernel/slab/${n}`).split('/').pop() === target) {
          name = n;
          break;
        }
      } catch {
        /* a root cache directory: not a link */
      }
    }
  }
  const f = rows.get(name);
  if (!f) return undefined;
  const objsize = Number(f[3]);
  const perSlab = Number(f[4]);
  const pages = Number(f[5]);
  if (!(objsize > 0 && perSlab > 0 && pages > 0)) return undefined;
  return { slabinfoName: name, objSizeBytes: objsize, slabBytesPerObject: (pages * pageBytes) / perSlab };
}

export const SLAB_LEAK_CACHE = 'eventpoll_epi';

function epollItemBytes(): number {
  return slabCacheFacts(SLAB_LEAK_CACHE)?.slabBytesPerObject ?? 128;
}

export const slabLeak: Scenario = {
  name: 'slab-leak',
  area: 'memory',
  description: `epoll items kept alive at a rate (slab cache ${SLAB_LEAK_CACHE}), held by a python3 process until cleanup`,
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: `bytes of ${SLAB_LEAK_CACHE} slab to leak in all`, default: 64 * 1024 ** 2 },
    { key: 'rate', flag: '--rate <size/s>', type: 'size', description: 'bytes of that cache leaked per second (0 = as fast as possible)', default: 1024 ** 2 },
  ],
  // Each epitem (128 B) also pins an eventpoll_pwq (64 B) and, per 1000, an epoll file.
  memoryBytes: (o) => Math.ceil((o.size ?? 0) * 1.6),
  check: (o) => {
    let max: number;
    try {
      max = Number(readFileSync('/proc/sys/fs/epoll/max_user_watches', 'utf8').trim());
    } catch {
      return 'this kernel has no epoll (/proc/sys/fs/epoll/max_user_watches is missing)';
    }
    const n = Math.ceil((o.size ?? 0) / epollItemBytes());
    if (n > max) return `--size needs ${n} epoll items, more than fs.epoll.max_user_watches (${max}): choose a smaller --size`;
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const facts = slabCacheFacts(SLAB_LEAK_CACHE);
    const each = facts?.slabBytesPerObject ?? 128;
    const count = Math.max(1, Math.floor((ctx.opts.size ?? 0) / each));
    const rate = (ctx.opts.rate ?? 0) / each;
    await runHolder(ctx, 'epoll item holder', { kind: 'epoll', count, rate }, 'epoll items', each);
    return {
      count,
      unit: 'epoll items',
      bytes: count * each,
      details: { cache: facts?.slabinfoName ?? SLAB_LEAK_CACHE, objectBytes: each, rateBytesPerS: ctx.opts.rate ?? 0 },
    };
  },
};
