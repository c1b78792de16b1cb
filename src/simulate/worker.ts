/**
 * A small helper process that does, on command, what Node cannot do itself or should not do in-process:
 * join a cgroup (so its page cache is charged there, not to us), write/read files at a rate, create SysV
 * shm segments (shmget/shmat/memset/shmdt through python3's ctypes: no native build needed) and stat()
 * nonexistent names in a tight loop. It speaks JSON lines on stdin/stdout.
 *
 * Crash safety: the worker creates nothing until it gets a command, and the framework records its pid and
 * start time before sending one; if we die first, its stdin closes and it exits. After `park` it stops
 * reading stdin and keeps its open files until it is killed (the filecache holder).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const SCRIPT = String.raw`
import sys, os, json, time, ctypes, signal
def reply(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
def pace(done, rate, t0):
    if rate > 0:
        d = t0 + done / rate - time.monotonic()
        if d > 0: time.sleep(d)
libc = None
held = []
line_buf = (b"2026-01-01T00:00:00.000Z INFO oscope-sim filecache log line, padding to a round size ........\n" * 11000)[: 1 << 20]
for line in sys.stdin:
    try:
        c = json.loads(line); op = c["op"]
        if op == "join":
            with open(c["procs"], "w") as f: f.write(str(os.getpid()))
            reply({"ok": True})
        elif op == "write":
            n = int(c["bytes"]); rate = float(c.get("rate", 0)); done = 0; t0 = time.monotonic(); last = t0
            mv = memoryview(line_buf)
            with open(c["path"], "wb") as f:
                while done < n:
                    k = min(len(mv), n - done); f.write(mv[:k]); done += k; pace(done, rate, t0)
                    now = time.monotonic()
                    if now - last > 0.2: reply({"progress": done}); last = now
            reply({"ok": True, "bytes": done})
        elif op == "read":
            total = 0
            with open(c["path"], "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b: break
                    total += len(b)
            reply({"ok": True, "bytes": total})
        elif op == "hold":
            held.append(open(c["path"], "rb")); reply({"ok": True})
        elif op == "shm":
            if libc is None:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]; libc.shmget.restype = ctypes.c_int
                libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]; libc.shmat.restype = ctypes.c_void_p
                libc.shmdt.argtypes = [ctypes.c_void_p]; libc.shmdt.restype = ctypes.c_int
            n = int(c["bytes"])
            sid = libc.shmget(int(c["key"]), n, 0o1000 | 0o2000 | 0o600)
            if sid < 0:
                e = ctypes.get_errno(); reply({"ok": False, "errno": e, "error": os.strerror(e)}); continue
            addr = libc.shmat(sid, None, 0)
            if addr is None or addr == ctypes.c_void_p(-1).value:
                e = ctypes.get_errno(); reply({"ok": False, "id": sid, "errno": e, "error": "shmat: " + os.strerror(e)}); continue
            ctypes.memset(addr, 0x5a, n)
            libc.shmdt(addr)
            reply({"ok": True, "id": sid})
        elif op == "stat":
            d = c["dir"]; n = int(c["count"]); rate = float(c.get("rate", 0)); t0 = time.monotonic()
            every = max(1, min(20000, int(rate / 10) if rate > 0 else 20000))
            st = os.stat; i = 0
            while i < n:
                end = min(n, i + every)
                for j in range(i, end):
                    try: st(d + "/oscope-sim-neg-" + str(j))
                    except FileNotFoundError: pass
                i = end; pace(i, rate, t0); reply({"progress": i})
            reply({"ok": True, "count": n})
        elif op == "park":
            reply({"ok": True}); sys.stdout.close(); os.close(0)
            while True: signal.pause()
        elif op == "exit":
            reply({"ok": True}); break
        else:
            reply({"ok": False, "error": "unknown op " + op})
    except Exception as e:
        reply({"ok": False, "error": str(e)})
`;

export interface WorkerReply {
  ok?: boolean;
  error?: string;
  errno?: number;
  id?: number;
  bytes?: number;
  count?: number;
  progress?: number;
}

export type WorkerCommand =
  | { op: 'join'; procs: string }
  | { op: 'write'; path: string; bytes: number; rate?: number }
  | { op: 'read'; path: string }
  | { op: 'hold'; path: string }
  | { op: 'shm'; key: number; bytes: number }
  | { op: 'stat'; dir: string; count: number; rate?: number }
  | { op: 'park' }
  | { op: 'exit' };

/** The python3 to use: Debian's own first (fast start, no shims), else the first on PATH. */
export function findPython(): string | undefined {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(`${dir}/python3`)) return `${dir}/python3`;
  }
  return undefined;
}

export class Worker {
  private readonly pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }[] = [];
  private stderrTail = '';
  private exited = false;
  onProgress: ((n: number) => void) | undefined;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      let msg: WorkerReply;
      try {
        msg = JSON.parse(line) as WorkerReply;
      } catch {
        return;
      }
      if (msg.progress !== undefined && msg.ok === undefined) {
        this.onProgress?.(msg.progress);
        return;
      }
      this.pending.shift()?.resolve(msg);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    child.on('exit', (code, sig) => {
      this.exited = true;
      const why = `the python3 helper exited (${sig ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').pop()}` : ''}`;
      for (const p of this.pending.splice(0)) p.reject(new Error(why));
    });
  }

  /** Starts python3 with the helper script in its own session (Ctrl-C on the terminal does not reach it). */
  static spawn(python: string): Worker {
    const child = spawn(python, ['-u', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    return new Worker(child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends one command and waits for its reply; rejects on `signal` abort (the caller then kills us). */
  request(cmd: WorkerCommand, signal?: AbortSignal): Promise<WorkerReply> {
    if (this.exited) return Promise.reject(new Error('the python3 helper is not running'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new Error('interrupted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push({
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  /** Like request, but a reply without ok:true becomes an Error with the helper's message. */
  async must(cmd: WorkerCommand, signal?: AbortSignal): Promise<WorkerReply> {
    const r = await this.request(cmd, signal);
    if (r.ok !== true) throw new Error(`${cmd.op} failed: ${r.error ?? 'unknown error'}`);
    return r;
  }

  /** Waits for the helper to exit (after `exit`). */
  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Lets Node exit while the helper keeps running (a parked holder). */
  detachHandles(): void {
    this.child.stdin.end();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.child.unref();
  }

  kill(): void {
    if (!this.exited) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
