/**
 * kernel-busy: a user-triggerable long kernel-mode path that does not schedule. A helper pinned to one
 * CPU creates (and closes again) a BPF stack-trace map of a chosen number of entries every interval:
 * the kernel fills the map's per-CPU free list (pcpu_freelist_populate) in one loop without
 * cond_resched(), so on kernels without full preemption the helper holds the CPU in kernel mode for
 * tens of milliseconds while a victim pinned to the same CPU waits. `oscope runlatency` should report
 * nosched events with culprit `osc-kbusy` and that stack; the helper appends each syscall's duration
 * (ms) to a log file recorded with the run.
 *
 * Needs root (CAP_BPF) and about entries × 1 KiB of memory for the moment each map exists.
 */
import { availableParallelism } from 'node:os';
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../framework.js';
import { startHelper } from './runq-hog.js';

export const KERNEL_BUSY_CULPRIT = 'osc-kbusy';
export const KERNEL_BUSY_VICTIM = 'osc-kbusy-vict';
/** Bytes one stack-trace map entry takes (127 frames × 8 bytes + the bucket header). */
const ENTRY_BYTES = 1016 + 16;

const BUSY = String.raw`
import struct
libc = ctypes.CDLL(None, use_errno=True); libc.syscall.restype = ctypes.c_long
nr = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
attr = ctypes.create_string_buffer(struct.pack("IIIIIII16s", 7, 4, 127 * 8, int(cfg["entries"]), 0, 0, 0, b"oscope_kbusy").ljust(128, b"\0"), 128)
def once():
    t = time.monotonic(); fd = libc.syscall(nr, 0, attr, 128); d = time.monotonic() - t
    if fd < 0:
        e = ctypes.get_errno(); out({"error": "bpf(BPF_MAP_CREATE): " + os.strerror(e)}); sys.exit(1)
    os.close(fd)
    with open(cfg["log"], "a") as f: f.write("%.3f\n" % (d * 1000))
    return d
first = once()
out({"ready": True, "pid": os.getpid(), "firstMs": first * 1000})
while True:
    time.sleep(cfg["intervalMs"] / 1000.0); check()
    once()
`;

const VICTIM = String.raw`
out({"ready": True, "pid": os.getpid()})
i = 0
while True:
    time.sleep(0.001); i += 1
    if i % 200 == 0: check()
`;

export const kernelBusy: Scenario = {
  name: 'kernel-busy',
  area: 'latency',
  description: `a long kernel path without scheduling (${KERNEL_BUSY_CULPRIT}: BPF stack map creation) on one CPU, next to a victim (${KERNEL_BUSY_VICTIM})`,
  sizeFlag: '--entries',
  options: [
    { key: 'cpu', flag: '--cpu <n>', type: 'count', description: 'the CPU both are pinned to (default: the last one)', default: Math.max(0, availableParallelism() - 1) },
    { key: 'entries', flag: '--entries <n>', type: 'count', description: 'entries of each map (the kernel path grows with it)', default: 262144 },
    { key: 'intervalMs', flag: '--interval-ms <ms>', type: 'count', description: 'pause between two long kernel paths, in ms', default: 500 },
  ],
  memoryBytes: (o) => (o.entries ?? 0) * ENTRY_BYTES,
  check: (o) => {
    if (o.entries! < 1024 || o.entries! > 4_000_000) return '--entries must be between 1024 and 4000000';
    if (o.intervalMs! < 50) return '--interval-ms must be at least 50';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const o = ctx.opts;
    const cpu = String(o.cpu);
    const victim = await startHelper(ctx, 'victim', ['taskset', '-c', cpu], VICTIM, { comm: KERNEL_BUSY_VICTIM });
    // Each long syscall's duration (ms), one per line: what a test compares the reported latency with.
    const log = ctx.track({ kind: 'file', path: `/tmp/${ctx.name('busy')}.log` }).path;
    const busy = await startHelper(ctx, 'busy', ['taskset', '-c', cpu], BUSY, { comm: KERNEL_BUSY_CULPRIT, entries: o.entries!, intervalMs: o.intervalMs!, log });
    return {
      count: 2,
      unit: 'processes',
      bytes: o.entries! * ENTRY_BYTES,
      details: { cpu: o.cpu!, log, entries: o.entries!, firstBusyMs: Math.round(Number(busy.firstMs) * 100) / 100, victimPid: Number(victim.pid), busyPid: Number(busy.pid), victim: KERNEL_BUSY_VICTIM, culprit: KERNEL_BUSY_CULPRIT },
    };
  },
};
