/**
 * I/O scenarios on block devices of their own (never the host's disks), built from what every kernel
 * has: loop devices and the cgroup I/O throttle (v1 blkio.throttle.*; cgroup v2 io.max is the same
 * code, block/blk-throttle.c).
 *
 *   backing file in /dev/shm ─► lower loop device ─► upper loop device (direct I/O on the lower)
 *
 * A victim process in a cgroup of its own reads the UPPER device with O_DIRECT; the cgroup's throttle is
 * set on the LOWER device. The upper device's worker reads the lower one on behalf of the victim's
 * cgroup (loop charges its I/O to the cgroup of the original bio), so the throttle holds back the
 * lower bio while the upper request is issued and in flight: to the upper device the delay is device
 * time, like a slow disk or a slow hypervisor backend. (Throttling the device the victim reads directly
 * would hold the bio before the block layer sees it: invisible, and no request in flight.)
 *
 *   io-slow --latency-ms N   read_iops_device = 1000/N: one 4 KiB request per N ms, so each of the
 *                            victim's synchronous reads takes N ms in the device stage. blk-throttle
 *                            works in 100 ms slices and lets a slice's allowance through at once, so
 *                            N must be at least 100 (and divide 1000) for every request to wait N ms.
 *   io-hang --hang-s S       read_bps_device = 4096/S: the victim's one 4 KiB read stays in flight on
 *                            the upper device for S seconds, the victim in D state behind it. Cleanup
 *                            lifts the throttle first; if nobody cleans up, the read still completes
 *                            by itself after S seconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Resource } from '../state.js';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { hasCommand, startHelper } from './runq-hog.js';

export const IO_VICTIM = 'osc-io-victim';
const BLKIO = '/sys/fs/cgroup/blkio';
const DEVICE_BYTES = 64 * 1024 * 1024;

/** Reads the device with O_DIRECT, 4 KiB at a time, forever (or once with `once`), timing each read. */
const READER = String.raw`
import mmap
with open(cfg["procs"], "w") as f: f.write(str(os.getpid()))
fd = os.open(cfg["device"], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
size = int(cfg["bytes"]); off = 0
out({"ready": True, "pid": os.getpid(), "issuedAt": time.time()})
while True:
    os.preadv(fd, [buf], off)
    off = (off + 4096) % size
    check()
    if cfg["once"]:
        while True:
            time.sleep(0.5); check()
`;

function ioCheck(): string | undefined {
  if (!hasCommand('losetup')) return 'this scenario needs losetup (apt install util-linux)';
  if (!existsSync(`${BLKIO}/blkio.throttle.read_iops_device`)) return `this scenario needs the cgroup v1 blkio controller with throttling at ${BLKIO} (cgroup v2 io.max is not supported by it yet)`;
  if (!existsSync('/dev/shm')) return 'this scenario needs /dev/shm for its backing file';
  return undefined;
}

function losetup(args: string[]): string {
  const r = spawnSync('losetup', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new SimulateError(`losetup ${args.join(' ')} failed: ${(r.stderr ?? '').trim()}`, 'failure');
  return r.stdout.trim();
}

interface Stack {
  cgroup: string;
  lower: string;
  upper: string;
  lowerMajMin: string;
  throttleFile: (kind: 'iops' | 'bps') => string;
}

/** Backing file → lower loop → upper loop (direct I/O), and the victim's blkio cgroup. */
function buildStack(ctx: ScenarioContext): Stack {
  const file = ctx.track({ kind: 'file', path: `/dev/shm/${ctx.name()}.img`, bytes: DEVICE_BYTES });
  writeFileSync(file.path, '');
  truncateSync(file.path, DEVICE_BYTES);
  const lowerRes = ctx.track<Extract<Resource, { kind: 'loop' }>>({ kind: 'loop', backing: file.path });
  lowerRes.device = losetup(['-f', '--show', file.path]);
  ctx.save();
  const upperRes = ctx.track<Extract<Resource, { kind: 'loop' }>>({ kind: 'loop', backing: lowerRes.device });
  upperRes.device = losetup(['-f', '--show', '--direct-io=on', lowerRes.device]);
  ctx.save();
  const dio = readFileSync(`/sys/block/${basename(upperRes.device)}/loop/dio`, 'utf8').trim();
  if (dio !== '1') throw new SimulateError(`${upperRes.device} did not take direct I/O on ${lowerRes.device}: reads would hit the page cache, not the throttle`, 'unsupported');
  const cg = ctx.track({ kind: 'cgroup', path: join(BLKIO, ctx.name()) });
  mkdirSync(cg.path);
  const lowerMajMin = readFileSync(`/sys/block/${basename(lowerRes.device)}/dev`, 'utf8').trim();
  return { cgroup: cg.path, lower: lowerRes.device, upper: upperRes.device, lowerMajMin, throttleFile: (k) => join(cg.path, `blkio.throttle.read_${k}_device`) };
}

function throttle(ctx: ScenarioContext, s: Stack, kind: 'iops' | 'bps', value: number): void {
  const file = s.throttleFile(kind);
  ctx.track({ kind: 'io-throttle', file, majMin: s.lowerMajMin });
  writeFileSync(file, `${s.lowerMajMin} ${value}\n`);
}

export const ioSlow: Scenario = {
  name: 'io-slow',
  area: 'io',
  description: `a loop device whose every 4 KiB read takes a known time in the device stage, and a victim (${IO_VICTIM}) reading it with O_DIRECT`,
  sizeFlag: '--latency-ms',
  options: [{ key: 'latencyMs', flag: '--latency-ms <ms>', type: 'count', description: 'the time each request takes (100 to 1000, dividing 1000: 100, 125, 200, 250, 500, 1000)', default: 100 }],
  memoryBytes: () => DEVICE_BYTES,
  check: (o) => {
    const n = o.latencyMs!;
    if (!Number.isInteger(n) || n < 100 || n > 1000 || 1000 % n !== 0) return '--latency-ms must be 100, 125, 200, 250, 500 or 1000 (blk-throttle lets a 100 ms slice\'s allowance through at once, so shorter delays are not per request)';
    return ioCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const s = buildStack(ctx);
    const iops = 1000 / ctx.opts.latencyMs!;
    throttle(ctx, s, 'iops', iops);
    const v = await startHelper(ctx, 'victim', [], READER, { comm: IO_VICTIM, procs: join(s.cgroup, 'cgroup.procs'), device: s.upper, bytes: DEVICE_BYTES, once: 0 });
    // Lifted first at cleanup, so the victim is never stuck in D state when it is killed.
    ctx.track({ kind: 'io-throttle', file: s.throttleFile('iops'), majMin: s.lowerMajMin });
    return {
      count: 1,
      unit: 'device',
      bytes: 0,
      details: { device: s.upper, disk: basename(s.upper), lower: s.lower, latencyMs: ctx.opts.latencyMs!, iops, victim: IO_VICTIM, victimPid: Number(v.pid), cgroup: s.cgroup },
    };
  },
};

export const ioHang: Scenario = {
  name: 'io-hang',
  area: 'io',
  description: `one 4 KiB read that stays in flight on a loop device of its own for a known time, with the reader (${IO_VICTIM}) in D state behind it`,
  sizeFlag: '--hang-s',
  options: [{ key: 'hangS', flag: '--hang-s <seconds>', type: 'count', description: 'how long the read stays in flight (it completes by itself then, even if nobody cleans up; cleanup releases it at once)', default: 30 }],
  memoryBytes: () => DEVICE_BYTES,
  check: (o) => {
    if (!Number.isInteger(o.hangS) || o.hangS! < 1 || o.hangS! > 3600) return '--hang-s must be a whole number of seconds from 1 to 3600';
    return ioCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const s = buildStack(ctx);
    const bps = Math.max(1, Math.floor(4096 / ctx.opts.hangS!));
    throttle(ctx, s, 'bps', bps);
    const v = await startHelper(ctx, 'victim', [], READER, { comm: IO_VICTIM, procs: join(s.cgroup, 'cgroup.procs'), device: s.upper, bytes: DEVICE_BYTES, once: 1 });
    ctx.track({ kind: 'io-throttle', file: s.throttleFile('bps'), majMin: s.lowerMajMin });
    return {
      count: 1,
      unit: 'request',
      bytes: 4096,
      details: { device: s.upper, disk: basename(s.upper), lower: s.lower, hangS: ctx.opts.hangS!, victim: IO_VICTIM, victimPid: Number(v.pid), issuedAt: Number(v.issuedAt), cgroup: s.cgroup },
    };
  },
};
