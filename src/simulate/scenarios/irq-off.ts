/**
 * irq-off: a real stretch of kernel code that runs with hard interrupts disabled, triggered from user
 * space without a module. Reading /proc/pagetypeinfo (root only) walks every buddy free list of every
 * zone with zone->lock held and interrupts off (mm/vmstat.c, pagetypeinfo_showfree_print(): one list
 * per lock hold, capped at 100,000 entries, spin_unlock_irq() between lists). A helper pinned to one
 * CPU first fragments free memory so that the order-0 free list is long: it maps and touches `size`
 * bytes of anonymous memory, then gives every other 4 KiB page back (MADV_DONTNEED) in a random order,
 * so the freed pages cannot merge with their buddies and the list is in random physical order (each
 * step of the walk is a cache miss). It keeps the rest mapped and then reads /proc/pagetypeinfo every
 * interval: each read holds interrupts off for the walk of the long list (about 15 ms for 100,000
 * entries on the development VM). The helper appends one line per read() to a log file: the CPU time
 * the thread spent in it and its wall-clock duration (ms, "cpu wall"). The irq-off section is inside
 * the read, so its CPU time is an independent upper bound for what `oscope runlatency` reports (kind
 * irqoff, culprit `osc-irqoff`, stack _raw_spin_unlock_irq < pagetypeinfo_show); the wall time also
 * counts waits at the cond_resched() between lists when other tasks want the CPU.
 *
 * Needs root (/proc/pagetypeinfo is 0400) and `size` bytes of memory (half of it is given back).
 */
import { availableParallelism } from 'node:os';
import { accessSync, constants } from 'node:fs';
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../framework.js';
import { hasCommand, startHelper } from './runq-hog.js';

export const IRQ_OFF_CULPRIT = 'osc-irqoff';
export const PAGETYPEINFO = '/proc/pagetypeinfo';

const READER = String.raw`
import mmap, random
size = int(cfg["size"]) & ~8191
libc = ctypes.CDLL(None, use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
m = mmap.mmap(-1, size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
buf = (ctypes.c_char * size).from_buffer(m)
base = ctypes.addressof(buf)
for off in range(0, size, 4096):
    m[off] = 1
    if off % (64 << 20) == 0: check()
offs = list(range(0, size, 8192))
random.shuffle(offs)
for off in offs:
    if libc.madvise(base + off, 4096, 4) != 0:
        out({"error": "madvise(MADV_DONTNEED): " + os.strerror(ctypes.get_errno())}); sys.exit(1)
try:
    fd = os.open("/proc/pagetypeinfo", os.O_RDONLY)
except OSError as e:
    out({"error": "/proc/pagetypeinfo: " + e.strerror}); sys.exit(1)
def once():
    os.lseek(fd, 0, 0)
    c = time.thread_time_ns(); t = time.monotonic_ns()
    data = os.read(fd, 1 << 17)
    d = (time.monotonic_ns() - t) / 1e6; dc = (time.thread_time_ns() - c) / 1e6
    with open(cfg["log"], "a") as f: f.write("%.3f %.3f\n" % (dc, d))
    return dc, data
first, data = once()
longest = 0
for line in data.decode("ascii", "replace").split("\n"):
    if ", type " not in line: continue
    for w in line.split()[6:]:
        w = w.lstrip(">")
        if w.isdigit(): longest = max(longest, int(w))
out({"ready": True, "pid": os.getpid(), "firstMs": first, "longestList": longest})
while True:
    time.sleep(cfg["intervalMs"] / 1000.0); check()
    once()
`;

export const irqOff: Scenario = {
  name: 'irq-off',
  area: 'latency',
  description: `real irq-off sections: ${IRQ_OFF_CULPRIT} fragments free memory, then reads ${PAGETYPEINFO} (free-list walks with interrupts off) on one CPU`,
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'anonymous memory to map and fragment (half is given back as order-0 free pages)', default: 2 * 1024 ** 3 },
    { key: 'cpu', flag: '--cpu <n>', type: 'count', description: 'the CPU the reader is pinned to (default: the last one)', default: Math.max(0, availableParallelism() - 1) },
    { key: 'intervalMs', flag: '--interval-ms <ms>', type: 'count', description: 'pause between two reads, in ms', default: 100 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: (o) => {
    if (!hasCommand('taskset')) return 'irq-off needs taskset (apt install util-linux)';
    try {
      accessSync(PAGETYPEINFO, constants.R_OK);
    } catch {
      return `irq-off reads ${PAGETYPEINFO}, which only root can read (or this kernel lacks it)`;
    }
    if (o.size! < 64 * 1024 ** 2) return '--size must be at least 64MiB';
    if (o.intervalMs! < 20) return '--interval-ms must be at least 20, so that the CPU runs other work between the irq-off sections';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const o = ctx.opts;
    // One line per read(): "cpuMs wallMs"; the irq-off sections are inside these.
    const log = ctx.track({ kind: 'file', path: `/tmp/${ctx.name('irqoff')}.log` }).path;
    const reader = await startHelper(ctx, 'reader', ['taskset', '-c', String(o.cpu)], READER, { comm: IRQ_OFF_CULPRIT, size: o.size!, intervalMs: o.intervalMs!, log });
    return {
      count: 1,
      unit: 'processes',
      bytes: Math.floor(o.size! / 2),
      details: {
        cpu: o.cpu!,
        log,
        readerPid: Number(reader.pid),
        culprit: IRQ_OFF_CULPRIT,
        firstReadMs: Math.round(Number(reader.firstMs) * 100) / 100,
        longestFreeList: Number(reader.longestList),
      },
    };
  },
};
