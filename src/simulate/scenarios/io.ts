/**
 * I/O scenarios on block devices of their own (never the host's disks), built from what a kernel without
 * dm-delay, null_blk, scsi_debug or ublk still has: loop devices, FUSE and the cgroup I/O controller.
 *
 * io-slow and io-hang put a loop device on a one-file FUSE filesystem served by a helper of the run
 * (`osc-io-fused`, the raw FUSE protocol over /dev/fuse, no libfuse needed):
 *
 *   victim (O_DIRECT 4 KiB reads) ─► /dev/loopN ─► <mount>/disk (FUSE, FOPEN_DIRECT_IO) ─► osc-io-fused
 *
 * The file is opened with FOPEN_DIRECT_IO, so every request the loop device takes becomes one FUSE READ
 * that the helper answers itself (zeros: the device costs no memory). The loop request is dispatched
 * (block_rq_issue) before the loop worker asks FUSE and completes when the helper answers, so whatever
 * the helper waits is *device* time to the block layer — like a slow disk or a slow hypervisor backend —
 * for every request, at any latency (no 100 ms throttle slices).
 *
 *   io-slow --latency-ms N   each READ is answered N ms after it arrived (a heap of due times, so
 *                            concurrent requests each take N ms, as dm-delay would do).
 *   io-hang                  READs are not answered while the run holds (its --duration, or until
 *                            Ctrl-C / `oscope simulate cleanup`): the victim's read stays in flight, the
 *                            victim in D state behind it. Release is graceful — the helper answers the
 *                            held reads when the run's hold file disappears (the first thing cleanup
 *                            removes) or when the process that started it is gone (a crash), so no I/O
 *                            error reaches the kernel log.
 *
 * io-burst puts an ext4 filesystem (no journal, so the disk bytes are the data) on a loop device backed
 * by a file in /dev/shm and runs, each in a cgroup of its own (v1 blkio, or v2 with io delegated):
 *   osc-io-writer  buffered writes at --rate bytes/s (the page cache is dirtied; the disk writes are done by
 *                  the flusher kworker, which a third helper, osc-io-flush, wakes with syncfs(2) on this
 *                  filesystem only, every half second — the host's dirty_expire is never changed);
 *   osc-io-reader  reads at --rate bytes/s from a file whose page cache it drops (POSIX_FADV_DONTNEED)
 *                  before each pass, with readahead off (POSIX_FADV_RANDOM), so it reads what it asks for.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Resource } from '../state.js';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { hasCommand, startHelper } from './runq-hog.js';

export const IO_VICTIM = 'osc-io-victim';
export const IO_FUSED = 'osc-io-fused';
export const IO_WRITER = 'osc-io-writer';
export const IO_READER = 'osc-io-reader';
export const IO_FLUSHER = 'osc-io-flush';
const BLKIO = '/sys/fs/cgroup/blkio';
/** Size of the FUSE-backed device (it holds no data: reads return zeros). */
const FUSE_DEVICE_BYTES = 1024 ** 3;
/** io-burst: each helper's file, and the filesystem that holds both. */
const BURST_FILE_BYTES = 32 * 1024 * 1024;
const BURST_FS_BYTES = 160 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * A one-file FUSE server: mounts itself, answers LOOKUP/GETATTR/OPEN/READ for `disk`, and delays (slow)
 * or holds (hang) each READ. Exits when the filesystem is unmounted or its starter is gone.
 */
const FUSED = String.raw`
import struct, select, heapq, errno
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR | os.O_NONBLOCK)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,max_read=131072" % fd
if libc.mount(cfg["source"].encode(), cfg["mount"].encode(), b"fuse", 6, opts.encode()) != 0:
    out({"error": "mount -t fuse %s: %s" % (cfg["mount"], os.strerror(ctypes.get_errno()))}); sys.exit(1)
SIZE = int(cfg["bytes"]); DELAY = cfg["latencyMs"] / 1000.0; HANG = cfg["mode"] == "hang"; HOLD = cfg["hold"]
def attr(ino):
    mode, size, nlink = (0o40755, 0, 2) if ino == 1 else (0o100444, SIZE, 1)
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0, mode, nlink, 0, 0, 0, 4096, 0)
def reply(unique, err=0, payload=b""):
    try: os.write(fd, struct.pack("<IiQ", 16 + len(payload), -err, unique) + payload)
    except OSError: pass  # the request was interrupted meanwhile
pending = []; held = []; seq = 0
def release():
    global held
    for u, n in held: reply(u, 0, bytes(n))
    held = []
out({"ready": True, "pid": os.getpid()})
while True:
    now = time.monotonic()
    while pending and pending[0][0] <= now:
        _, _, u, n = heapq.heappop(pending); reply(u, 0, bytes(n))
    if os.getppid() != starter:
        release(); os._exit(0)
    if HANG and not os.path.exists(HOLD):
        HANG = False; release()
    timeout = 0.05 if HANG or held else 0.5
    if pending: timeout = min(timeout, max(0.0, pending[0][0] - now))
    r, _, _ = select.select([fd], [], [], timeout)
    if not r: continue
    try: data = os.read(fd, 135168)
    except OSError as e:
        if e.errno == errno.ENODEV: os._exit(0)
        continue
    length, op, unique, node = struct.unpack_from("<IIQQ", data)
    body = data[40:length]
    if op == 26:  # INIT
        ra = struct.unpack_from("<IIII", body)[2]
        reply(unique, 0, struct.pack("<IIIIHHIIHHII", 7, 31, ra, 0, 16, 12, 131072, 1, 32, 0, 0, 0) + bytes(24))
    elif op == 1:  # LOOKUP
        if node == 1 and body.rstrip(b"\0") == b"disk": reply(unique, 0, struct.pack("<QQQQII", 2, 0, 3600, 3600, 0, 0) + attr(2))
        else: reply(unique, errno.ENOENT)
    elif op == 3: reply(unique, 0, struct.pack("<QII", 3600, 0, 0) + attr(node))  # GETATTR
    elif op == 14: reply(unique, 0, struct.pack("<QII", 1, 1, 0))  # OPEN, FOPEN_DIRECT_IO
    elif op == 27: reply(unique, 0, struct.pack("<QII", 0, 0, 0))  # OPENDIR
    elif op == 28: reply(unique, 0)  # READDIR: empty
    elif op in (18, 20, 25, 29): reply(unique, 0)  # RELEASE FSYNC FLUSH RELEASEDIR
    elif op == 17: reply(unique, 0, struct.pack("<QQQQQIIII6I", SIZE // 4096, 0, 0, 2, 0, 4096, 255, 4096, 0, 0, 0, 0, 0, 0, 0))  # STATFS
    elif op == 15:  # READ
        off, size = struct.unpack_from("<QQI", body)[1:3]
        n = max(0, min(size, SIZE - off))
        if HANG: held.append((unique, n))
        else:
            seq += 1; heapq.heappush(pending, (now + DELAY, seq, unique, n))
    elif op in (2, 36, 42): pass  # FORGET INTERRUPT BATCH_FORGET: no reply
    elif op == 38: os._exit(0)  # DESTROY
    else: reply(unique, errno.ENOSYS)
`;

/** Reads the device with O_DIRECT, 4 KiB at a time, forever (errors are retried after a pause). */
const VICTIM = String.raw`
import mmap
fd = os.open(cfg["device"], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
size = int(cfg["bytes"]); off = 0
out({"ready": True, "pid": os.getpid(), "issuedAt": time.time()})
while True:
    try: os.preadv(fd, [buf], off)
    except OSError: time.sleep(0.1)
    off = (off + 4096) % size
    check()
`;

/** Writes (buffered) or reads at a rate, in 64 KiB chunks, over one file, wrapping around. */
const PACED = String.raw`
with open(cfg["procs"], "w") as f: f.write(str(os.getpid()))
rate = float(cfg["rate"]); size = int(cfg["bytes"]); chunk = int(cfg["chunk"])
writer = cfg["mode"] == "write"
fd = os.open(cfg["path"], os.O_WRONLY if writer else os.O_RDONLY)
if not writer: os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
data = b"\xa5" * chunk
out({"ready": True, "pid": os.getpid()})
start = time.monotonic(); done = 0; off = 0
while True:
    if off == 0 and not writer: os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    if writer: os.pwrite(fd, data, off)
    else: os.pread(fd, chunk, off)
    done += chunk; off = (off + chunk) % size
    wait = start + done / rate - time.monotonic()
    if wait > 0: time.sleep(wait)
    check()
`;

/** Asks the flusher to write this filesystem's dirty pages back, every half second (syncfs(2)). */
const FLUSHER = String.raw`
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(cfg["mount"], os.O_RDONLY | os.O_DIRECTORY)
out({"ready": True, "pid": os.getpid()})
while True:
    libc.syncfs(fd); time.sleep(0.5); check()
`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new SimulateError(`${cmd} is not available: ${r.error.message}`, 'unsupported');
  if (r.status !== 0) throw new SimulateError(`${cmd} ${args.join(' ')} failed: ${(r.stderr ?? '').trim()}`, 'failure');
  return r.stdout.trim();
}

function fuseCheck(): string | undefined {
  if (!hasCommand('losetup')) return 'this scenario needs losetup (apt install util-linux)';
  if (!existsSync('/dev/fuse')) return 'this scenario needs FUSE (/dev/fuse is missing: CONFIG_FUSE_FS or modprobe fuse)';
  if (!readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.trim().endsWith('\tfuse') || /\bfuse$/.test(l.trim()))) return 'this scenario needs the fuse filesystem type (not in /proc/filesystems)';
  return undefined;
}

interface FuseDisk {
  device: string;
  mount: string;
  hold: string;
  fusedPid: number;
}

/** Mount point, FUSE helper, loop device on its file; in hang mode the hold file the helper watches. */
async function fuseDisk(ctx: ScenarioContext, mode: 'slow' | 'hang', latencyMs: number): Promise<FuseDisk> {
  const mount = ctx.track({ kind: 'dir', path: `/run/${ctx.name('fuse')}` }).path;
  mkdirSync(mount, { mode: 0o700 });
  const hold = ctx.track({ kind: 'file', path: `/run/${ctx.name('hold')}` }).path;
  writeFileSync(hold, `${process.pid}\n`);
  ctx.track({ kind: 'mount', path: mount });
  const f = await startHelper(ctx, 'fuse server', [], FUSED, { comm: IO_FUSED, source: ctx.name(), mount, bytes: FUSE_DEVICE_BYTES, latencyMs, mode, hold });
  const backing = join(mount, 'disk');
  const loop = ctx.track<Extract<Resource, { kind: 'loop' }>>({ kind: 'loop', backing });
  loop.device = run('losetup', ['-r', '-f', '--show', backing]);
  ctx.save();
  return { device: loop.device, mount, hold, fusedPid: Number(f.pid) };
}

export const ioSlow: Scenario = {
  name: 'io-slow',
  area: 'io',
  description: `a loop device on a FUSE file whose every request takes --latency-ms in the device stage, and a victim (${IO_VICTIM}) reading it with O_DIRECT`,
  sizeFlag: '--latency-ms',
  options: [{ key: 'latencyMs', flag: '--latency-ms <ms>', type: 'count', description: 'the extra time each request takes in the device (1 to 2000 ms)', default: 20 }],
  memoryBytes: () => 32 * 1024 * 1024,
  check: (o) => {
    const n = o.latencyMs!;
    if (!Number.isInteger(n) || n < 1 || n > 2000) return '--latency-ms must be a whole number of milliseconds from 1 to 2000 (a victim in D state must still die within the 5 s cleanup allows)';
    return fuseCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const d = await fuseDisk(ctx, 'slow', ctx.opts.latencyMs!);
    const v = await startHelper(ctx, 'victim', [], VICTIM, { comm: IO_VICTIM, device: d.device, bytes: FUSE_DEVICE_BYTES });
    return {
      count: 1,
      unit: 'device',
      bytes: 0,
      details: { device: d.device, disk: basename(d.device), mount: d.mount, latencyMs: ctx.opts.latencyMs!, victim: IO_VICTIM, victimPid: Number(v.pid), server: IO_FUSED, serverPid: d.fusedPid },
    };
  },
};

export const ioHang: Scenario = {
  name: 'io-hang',
  area: 'io',
  description: `a read that stays in flight on a loop device of its own (a FUSE file that does not answer) for the whole --duration, with the reader (${IO_VICTIM}) in D state behind it; released at cleanup`,
  sizeFlag: '--duration',
  options: [],
  memoryBytes: () => 32 * 1024 * 1024,
  check: () => fuseCheck(),
  start: async (ctx): Promise<ScenarioResult> => {
    const d = await fuseDisk(ctx, 'hang', 0);
    const v = await startHelper(ctx, 'victim', [], VICTIM, { comm: IO_VICTIM, device: d.device, bytes: FUSE_DEVICE_BYTES });
    // Removed first at cleanup: the helper answers the held read, so the victim can be killed.
    ctx.track({ kind: 'file', path: d.hold });
    return {
      count: 1,
      unit: 'request',
      bytes: 4096,
      details: { device: d.device, disk: basename(d.device), mount: d.mount, victim: IO_VICTIM, victimPid: Number(v.pid), issuedAt: Number(v.issuedAt), server: IO_FUSED, serverPid: d.fusedPid },
    };
  },
};

interface IoCgroupRoot {
  version: 1 | 2;
  mount: string;
}

/** Where io cgroups can be created: v1 blkio, else a cgroup2 root that already delegates io (never changed here). */
export function ioCgroupRoot(): IoCgroupRoot | string {
  if (existsSync(join(BLKIO, 'blkio.throttle.io_service_bytes'))) return { version: 1, mount: BLKIO };
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const line of mounts) {
    const m = / - cgroup2 /.exec(line);
    if (!m) continue;
    const mount = line.split(' ')[4]!;
    try {
      if (readFileSync(join(mount, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).includes('io')) return { version: 2, mount };
    } catch {
      /* unreadable */
    }
  }
  return 'io-burst needs a cgroup with the io controller: cgroup v1 blkio, or a cgroup2 root whose cgroup.subtree_control enables io';
}

export const ioBurst: Scenario = {
  name: 'io-burst',
  area: 'io',
  description: `a writer (${IO_WRITER}, buffered: writeback does the disk I/O) and a reader (${IO_READER}, page cache dropped) at --rate each, in cgroups of their own, on an ext4 loop device of the run`,
  sizeFlag: '--rate',
  options: [{ key: 'rate', flag: '--rate <bytes/s>', type: 'size', description: 'bytes per second the writer writes and the reader reads (64KiB to 256MiB)', default: 4 * 1024 * 1024 }],
  memoryBytes: () => BURST_FS_BYTES + 2 * BURST_FILE_BYTES,
  check: (o) => {
    if (o.rate! < CHUNK || o.rate! > 256 * 1024 * 1024) return '--rate must be from 64KiB to 256MiB (per second)';
    for (const c of ['losetup', 'mkfs.ext4', 'mount', 'umount']) if (!hasCommand(c)) return `io-burst needs ${c} (apt install util-linux e2fsprogs)`;
    if (!existsSync('/dev/shm')) return 'io-burst needs /dev/shm for its backing file';
    const root = ioCgroupRoot();
    return typeof root === 'string' ? root : undefined;
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const root = ioCgroupRoot();
    if (typeof root === 'string') throw new SimulateError(root, 'unsupported');
    const rate = Math.floor(ctx.opts.rate!);
    const img = ctx.track({ kind: 'file', path: `/dev/shm/${ctx.name()}.img`, bytes: BURST_FS_BYTES }).path;
    writeFileSync(img, '');
    truncateSync(img, BURST_FS_BYTES);
    const loop = ctx.track<Extract<Resource, { kind: 'loop' }>>({ kind: 'loop', backing: img });
    loop.device = run('losetup', ['-f', '--show', img]);
    ctx.save();
    run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', '-E', 'lazy_itable_init=0,lazy_journal_init=0,nodiscard', loop.device]);
    const mount = ctx.track({ kind: 'dir', path: `/run/${ctx.name('fs')}` }).path;
    mkdirSync(mount, { mode: 0o700 });
    ctx.track({ kind: 'mount', path: mount });
    run('mount', ['-t', 'ext4', '-o', 'noatime', loop.device, mount]);
    // The files (inside the mount: removed with it). The reader's is written and synced now, the writer
    // creates its own with its 64 KiB writes (page-cache folios then match its writes, so each write
    // dirties exactly what it writes: /proc/PID/io write_bytes counts whole folios when they get dirty).
    const files = { write: join(mount, 'written'), read: join(mount, 'read') };
    writeFileSync(files.write, '');
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    const fd = openSync(files.read, 'w');
    for (let off = 0; off < BURST_FILE_BYTES; off += chunk.length) writeSync(fd, chunk, 0, chunk.length, off);
    fsyncSync(fd);
    closeSync(fd);
    const cgroups: Record<'write' | 'read', string> = { write: '', read: '' };
    for (const k of ['write', 'read'] as const) {
      cgroups[k] = ctx.track({ kind: 'cgroup', path: join(root.mount, ctx.name(k === 'write' ? 'writer' : 'reader')) }).path;
      mkdirSync(cgroups[k]);
    }
    const majMin = readFileSync(`/sys/block/${basename(loop.device)}/dev`, 'utf8').trim();
    if (root.version === 1) {
      // cgroup v1 counts blkio.throttle.io_service_bytes only on queues with a throttle configured: a
      // limit no one reaches (1 TiB/s) on this device turns the counters on, for every cgroup.
      const file = join(cgroups.read, 'blkio.throttle.read_bps_device');
      ctx.track({ kind: 'io-throttle', file, majMin });
      writeFileSync(file, `${majMin} ${2 ** 40}\n`);
    }
    const flusher = await startHelper(ctx, 'flusher', [], FLUSHER, { comm: IO_FLUSHER, mount });
    const helper = (k: 'write' | 'read'): Promise<Record<string, unknown>> =>
      startHelper(ctx, k === 'write' ? 'writer' : 'reader', [], PACED, { comm: k === 'write' ? IO_WRITER : IO_READER, procs: join(cgroups[k], 'cgroup.procs'), rate, bytes: BURST_FILE_BYTES, chunk: CHUNK, mode: k, path: files[k] });
    const w = await helper('write');
    const r = await helper('read');
    return {
      count: 2,
      unit: 'processes',
      bytes: 2 * BURST_FILE_BYTES,
      details: {
        device: loop.device,
        disk: basename(loop.device),
        majMin,
        mount,
        rateBytesPerS: rate,
        writer: IO_WRITER,
        writerPid: Number(w.pid),
        writerCgroup: cgroups.write,
        reader: IO_READER,
        readerPid: Number(r.pid),
        readerCgroup: cgroups.read,
        cgroupVersion: root.version,
        flusherPid: Number(flusher.pid),
      },
    };
  },
};
