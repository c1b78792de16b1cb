/**
 * Every threshold a diagnosis uses, in one place. Users override them with `--threshold key=value`
 * (repeatable) or a JSON file (`--config FILE`, else /etc/oscope/config.json when present) holding
 * `{"thresholds": {"key": value}}`; the agent's diagnoses take the same keys in their `thresholds`
 * parameter. Keys are the dotted names below, prefixed by the area that reads them (mem., memleak.,
 * lat., inspect.). The inspect.* keys had their own table before (src/diagnose/inspect/checks-config.ts,
 * `oscope inspect --threshold` only); their names did not change, so old command lines keep working.
 */
import { z } from 'zod';

export const DEFAULT_THRESHOLDS = {
  /** mem.usage.high: MemAvailable below this percent of MemTotal. critical below half of it. */
  'mem.availableLowPct': 10,
  /** mem.filecache.high (host): page cache above this percent of MemTotal. */
  'mem.filecacheHighPct': 50,
  /** mem.filecache.high (cgroup): a cgroup's file cache above this percent of its limit, or of MemTotal if unlimited. */
  'mem.cgroupFilecacheHighPct': 50,
  /** mem.filecache.high (cgroup): and at least this much file cache. */
  'mem.cgroupFilecacheMinBytes': 512 * 1024 * 1024,
  /** mem.shmem.leak: shmem above this percent of MemTotal ... */
  'mem.shmemHighPct': 5,
  /** ... or one tmpfs directory holding at least this many files ... */
  'mem.shmemDirMinFiles': 1000,
  /** ... whose average size is at most this (the "many small files" pattern) ... */
  'mem.shmemSmallFileMaxBytes': 1024 * 1024,
  /** ... and at least this many bytes in all. */
  'mem.shmemDirMinBytes': 64 * 1024 * 1024,
  /** mem.sysv.orphan: a SysV segment with nattch 0 of at least this size. */
  'mem.sysvOrphanMinBytes': 1024 * 1024,
  /** mem.slab.reclaimable-high: SReclaimable above this percent of MemTotal. */
  'mem.slabReclaimableHighPct': 10,
  /** mem.dentry.negative-high: at least this many negative dentries ... */
  'mem.negativeDentryMin': 1_000_000,
  /** ... or negative dentries using more than this percent of MemTotal (at ~192 bytes each). */
  'mem.negativeDentryHighPct': 2,
  /** mem.cgroup.zombie: at least this many zombie (dying) memory cgroups ... */
  'mem.zombieCgroupMin': 100,
  /** ... or zombies holding at least this many bytes. */
  'mem.zombieMinBytes': 64 * 1024 * 1024,
  /** mem.unaccounted.high: memory no counter explains above this percent of MemTotal. */
  'mem.unaccountedHighPct': 5,
  /** mem.kernel.leak-suspect: SUnreclaim above this percent of MemTotal ... */
  'mem.slabUnreclaimableHighPct': 10,
  /** ... or vmalloc above this percent of MemTotal. */
  'mem.vmallocHighPct': 10,
  /** mem.cgroup.near-limit: workingset above this percent of the cgroup's limit. */
  'mem.cgroupNearLimitPct': 90,
  /** memleak -c: SUnreclaim above this percent of MemTotal is reported as a possible slab leak. */
  'memleak.checkSlabUnreclaimablePct': 10,
  /** memleak -c: vmalloc'ed memory above this percent of MemTotal is reported as a possible vmalloc leak. */
  'memleak.checkVmallocPct': 5,
  /** memleak -c: kernel pages no counter explains above this percent of MemTotal (possible page leak). */
  'memleak.checkUnaccountedPct': 5,
  /** Growth watch: a cache/caller/counter must grow at least this fast (bytes per second) ... */
  'memleak.minRateBytesPerS': 32 * 1024,
  /** ... and by at least this much over the window ... */
  'memleak.minGrowthBytes': 1024 * 1024,
  /** ... with at least this percent of its non-zero sample-to-sample changes being increases ... */
  'memleak.minMonotonicPct': 85,
  /** ... and a linear fit this good (R² in percent): growth that is sustained, not a burst. */
  'memleak.minFitPct': 80,
  /** Tracing: keep one allocation in this many (1 = all); raise it on hosts with very many allocations. */
  'memleak.sampleEvery': 1,
  /** runlatency: irqoff: interrupts off (a cpu-clock sample this late) longer than this (ms); 0 = off. */
  'lat.irqoffMs': 10,
  /** runlatency: softirq: raise-to-run delay or run time of one softirq longer than this (ms); 0 = off. */
  'lat.softirqMs': 10,
  /** runlatency: hardirq: one IRQ handler running longer than this (ms); 0 = off. */
  'lat.hardirqMs': 5,
  /** runlatency: nosched: a task in kernel mode not scheduling for longer than this while others wait (ms); 0 = off. */
  'lat.noschedMs': 10,
  /** runlatency: runqueue: wakeup-to-run delay longer than this (ms); 0 = off. */
  'lat.runqueueMs': 50,
  /** runlatency: cpu-clock sampling period of the irqoff/nosched watchdog (ms); the NMI watchdog samples at 1000 / this per second. */
  'lat.samplePeriodMs': 1,
  /**
   * runlatency irqoff method: 1 = the hardware NMI watchdog where the CPU has a PMU that samples
   * (x86-64), else cpu-clock late samples; 0 = always cpu-clock; 2 = only the NMI watchdog.
   */
  'lat.irqoffNmi': 1,
  // inspect: the indicator, configuration and hardware checks of `oscope inspect` (src/diagnose/inspect/checks.ts).
  /** inspect indicator.mem-available-low: MemAvailable below this percent of MemTotal (warning) … */
  'inspect.memAvailableLowPct': 10,
  /** … and below this (critical). */
  'inspect.memAvailableCriticalPct': 5,
  /** inspect indicator.alloc-stall: direct-reclaim allocation stalls per hour of uptime. */
  'inspect.allocStallPerHour': 100,
  /** inspect indicator.psi-*: "some" pressure avg60 at or above this percent (warning) … */
  'inspect.psiSomeAvg60Pct': 20,
  /** … "full" pressure avg60 (memory, io) at or above this (warning) … */
  'inspect.psiFullAvg60Pct': 5,
  /** … and "full" at or above this (critical). */
  'inspect.psiFullCriticalPct': 20,
  /** inspect indicator.fragmentation: free memory in blocks of at least 2^order pages … */
  'inspect.fragOrder': 4,
  /** … below this percent of all free memory … */
  'inspect.fragHighOrderPct': 5,
  /** … while at least this much is free (else it is a shortage, not fragmentation). */
  'inspect.fragMinFreeBytes': 256 * 1024 * 1024,
  /** inspect indicator.cgroups-many: memory cgroups counted in /proc/cgroups. */
  'inspect.cgroupsMax': 10_000,
  /** inspect indicator.zombie-memcgs: memory cgroups removed but still held by the kernel (dying). */
  'inspect.zombieMemcgs': 1000,
  /** inspect indicator.dentry-high: dentries. */
  'inspect.dentryMax': 20_000_000,
  /** inspect indicator.sunreclaim-high: SUnreclaim above this percent of MemTotal. */
  'inspect.sunreclaimPct': 10,
  /** inspect indicator.load-high: 5-minute load per CPU (warning) … */
  'inspect.loadPerCpu': 2,
  /** … (critical). */
  'inspect.loadPerCpuCritical': 4,
  /** inspect indicator.dstate-tasks: tasks in uninterruptible sleep. */
  'inspect.dstateTasks': 10,
  /** inspect indicator.zombies: zombie processes. */
  'inspect.zombies': 50,
  /** inspect indicator.disk-full / inode-full: used percent (warning) … */
  'inspect.diskUsedPct': 90,
  /** … (critical). */
  'inspect.diskUsedCriticalPct': 97,
  /** inspect indicator.fd-exhaustion / pid-exhaustion: used percent of the limit. */
  'inspect.limitUsedPct': 80,
  /** inspect config.min-free-kbytes: below this percent of RAM is too little for atomic allocations … */
  'inspect.minFreeLowPct': 0.1,
  /** … above this percent wastes memory and triggers early reclaim. */
  'inspect.minFreeHighPct': 5,
  /** log items of kind SEGFAULT: how many make a storm (also in the rules: minCount). */
  'inspect.segfaultStorm': 10,
  /** filecache.deleted.cached: files deleted but still cached (held open or mapped) holding at least this much: info ... */
  'filecache.deletedMinBytes': 1024 * 1024,
  /** ... and a warning from this much on (the space and the memory come back only when the holders close them). */
  'filecache.deletedWarnBytes': 256 * 1024 * 1024,
  /** filecache.dirty.high: dirty + writeback pages of the listed files at least this much ... */
  'filecache.dirtyMinBytes': 64 * 1024 * 1024,
  /** ... and at least this percent of their cache: info; ... */
  'filecache.dirtyHighPct': 10,
  /** ... a warning from this much dirty + writeback on. */
  'filecache.dirtyWarnBytes': 1024 * 1024 * 1024,
  /** filecache.container.dominant (host-wide): one container or pod holds at least this percent of the listed files' cache ... */
  'filecache.containerDominantPct': 50,
  /** ... and at least this much. */
  'filecache.containerDominantMinBytes': 256 * 1024 * 1024,
  /** filecache.shmem.unreclaimable: listed tmpfs/memfd/SysV files hold at least this much (not reclaimable: only deleting or swapping frees it): info ... */
  'filecache.shmemMinBytes': 64 * 1024 * 1024,
  /** ... and a warning from this much on. */
  'filecache.shmemWarnBytes': 1024 * 1024 * 1024,
  /** io: a request slower than this (queue + sched + device) is listed in slow[] (ms). */
  'io.slowMs': 50,
  /** io.hang: a request in flight longer than this (s); also a disk with requests in flight and no completion for this long. */
  'io.hangS': 5,
  /** io.latency.device / io.latency.queue: a disk's mean request latency (queue + sched + device) above this (ms) ... */
  'io.latencyMs': 20,
  /** ... over at least this many requests in the interval. */
  'io.minRequests': 5,
  /** io.latency.wake: mean time from completion to the waiting task running again above this (ms). */
  'io.wakeMs': 5,
  /** io.util.saturated: a disk with requests in flight for at least this share of the interval (%). */
  'io.utilPct': 90,
  /** profile.function.hot: one function holds at least this share of the samples (self, %). */
  'profile.hotFunctionPct': 20,
  /** profile.kernel.high: at least this share of the on-CPU samples is in the kernel (%). */
  'profile.kernelPct': 30,
  /** profile.symbols.missing: at least this share of the samples has a frame that could not be named (%). */
  'profile.unknownPct': 10,
  /** profile.samples.few: fewer samples than this are not a profile to draw conclusions from. */
  'profile.minSamples': 100,
  /** profile.diff.hotter: a function whose self share grew by at least this many points. */
  'profile.diffPoints': 5,
  /** io.traffic.dominant: one process or cgroup doing at least this share of the bytes read and written (%) ... */
  'io.dominantPct': 70,
  /** ... when everyone together moves at least this many bytes per second. */
  'io.dominantMinBytesPerS': 10 * 1024 * 1024,
  /** io.iowait.high: a task asleep in iowait for at least this share of the interval, or PSI io "some" avg10 at least this (%). */
  'io.iowaitPct': 30,
  /** load.runnable.high: runnable threads (running + waiting for a CPU), averaged over the samples, per CPU at least this; critical at twice it. */
  'load.runnablePerCpu': 1.5,
  /** load.uninterruptible.high: threads in D state, averaged over the samples, at least this many ... */
  'load.uninterruptibleMin': 2,
  /** ... critical when one has been blocked at least this long (ms; the hung-task detector's default is 120 s). */
  'load.dWaitCriticalMs': 120_000,
  /** load.fork-storm: at least this many new processes per second (/proc/stat processes, threads included). */
  'load.forksPerS': 100,
  /** load.cpu.throttled: a cgroup throttled in at least this share of its CFS periods during the interval (%) ... */
  'load.throttledPct': 20,
  /** ... and in at least this many periods. */
  'load.throttledMinPeriods': 5,
  /** load.cpu.imbalance: the busiest CPU with at least this many runnable threads on average ... */
  'load.imbalanceRunnable': 2,
  /** ... while another CPU is idle at least this share of the interval (%). */
  'load.imbalanceIdlePct': 50,
  /** load.sys.high: time in the kernel (system, not irq/softirq) at least this share of all CPU time (%). */
  'load.sysPct': 30,
  /** net.drop.high: at least this many dropped packets (skb:kfree_skb, every reason) over the interval ... */
  'net.dropMin': 100,
  /** ... or at least this many per second (a critical from 10× on). */
  'net.dropPerS': 10,
  /** net.retrans.high: TCP retransmitted segments at least this share of the segments sent (%) ... */
  'net.retransPct': 1,
  /** ... over at least this many retransmits in the interval. */
  'net.retransMin': 10,
  /** net.listen.overflow: listen queue overflows (TcpExt ListenOverflows + ListenDrops) at least this many over the interval. */
  'net.listenOverflowMin': 1,
  /** net.latency.*: a stage whose p99 is above this (ms). */
  'net.latencyMs': 10,
  /** net.socket.memory-high: TCP buffer memory at least this share of tcp_mem's pressure threshold (%) ... */
  'net.tcpMemPct': 80,
  /** ... or one socket with at least this many bytes unread in its Recv-Q (SysAK skcheck's default is 1 MiB on the queues). */
  'net.recvQBytes': 1024 * 1024,
  /** net.socket.leak: at least this many TCP sockets (not TIME_WAIT) that no file descriptor holds, in one namespace (skcheck: 1000) ... */
  'net.unownedSockets': 1000,
  /** ... or one process holding at least this many sockets (skcheck's per-process default). */
  'net.processSockets': 10000,
  // --- health scores (src/diagnose/health/score.ts; README "Health scores" has the formula) ---
  /** Weights of the four sub-scores in the node's score. */
  'health.weightErrors': 35,
  'health.weightLatency': 20,
  'health.weightLoad': 15,
  'health.weightSaturation': 30,
  /** The score is at most the worst sub-score plus this: one failing area is never averaged away. */
  'health.maxGapPts': 20,
  /** Levels: healthy at or above this score … */
  'health.healthyMin': 90,
  /** … at risk at or above this … */
  'health.atRiskMin': 70,
  /** … warning at or above this; error below. */
  'health.warningMin': 40,
  /** Points a signal takes off its sub-score at its warning threshold, rising linearly to … */
  'health.warnPts': 20,
  /** … this at its critical threshold (and beyond). */
  'health.critPts': 60,
  /** Kernel-log reports (errors): points per report of level critical/fatal, error, warning … */
  'health.logCriticalPts': 30,
  'health.logErrorPts': 15,
  'health.logWarningPts': 5,
  /** … at most this many points per signal (finding group: oom, hang, oops, hardware, fs, io, …) … */
  'health.logSignalMaxPts': 70,
  /** … counting the reports of the last this many hours. */
  'health.errorWindowH': 24,
  /** latency: run-queue p99 (ms) warning and critical. */
  'health.runqueueP99WarnMs': 10,
  'health.runqueueP99CritMs': 100,
  /** latency: PSI io "full" avg10 (%) warning and critical. */
  'health.psiIoFullWarnPct': 5,
  'health.psiIoFullCritPct': 30,
  /** load: 5-minute load per CPU warning and critical. */
  'health.loadPerCpuWarn': 1.5,
  'health.loadPerCpuCrit': 4,
  /** load: PSI cpu "some" avg10 (%) warning and critical. */
  'health.psiCpuSomeWarnPct': 25,
  'health.psiCpuSomeCritPct': 80,
  /** saturation: memory in use (100 − MemAvailable%) warning and critical. */
  'health.memUsedWarnPct': 90,
  'health.memUsedCritPct': 97,
  /** saturation: PSI memory "some" avg10 (%) warning and critical. */
  'health.psiMemSomeWarnPct': 10,
  'health.psiMemSomeCritPct': 50,
  /** saturation: the fullest file system (space or inodes, %) warning and critical. */
  'health.diskUsedWarnPct': 90,
  'health.diskUsedCritPct': 98,
  /** saturation: open files of fs.file-max, and threads of min(pid_max, threads-max) (%) warning and critical. */
  'health.fdUsedWarnPct': 80,
  'health.fdUsedCritPct': 95,
  'health.pidsUsedWarnPct': 80,
  'health.pidsUsedCritPct': 95,
  /** containers: memory usage of the cgroup's limit (%) warning and critical. */
  'health.cgroupMemWarnPct': 90,
  'health.cgroupMemCritPct': 98,
  /** console: an alert fires when a node's score drops by at least this many points … */
  'health.dropAlertPts': 15,
  /** config-diff: a difference in MemTotal is marked when it is at least this percent of the larger one (a few MB always differ with firmware reservations). */
  'configDiff.memTotalDiffPct': 5,
} as const;

export type ThresholdKey = keyof typeof DEFAULT_THRESHOLDS;
export type Thresholds = Record<ThresholdKey, number>;

export function isThresholdKey(k: string): k is ThresholdKey {
  return Object.hasOwn(DEFAULT_THRESHOLDS, k);
}

/** Defaults overlaid with user overrides; unknown keys and non-numbers are rejected with a sentence. */
export function resolveThresholds(overrides: Record<string, unknown> = {}): Thresholds {
  const out: Thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [k, v] of Object.entries(overrides)) {
    if (!isThresholdKey(k)) throw new Error(`unknown threshold "${k}"`);
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`threshold ${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    out[k] = n;
  }
  return out;
}

/**
 * Threshold overrides as a diagnosis parameter (`thresholds` of the agent's tasks; what the CLI makes of
 * `--config` and `--threshold`): known keys only, non-negative numbers.
 */
export const ThresholdOverridesSchema = z
  .record(z.number({ invalid_type_error: 'a threshold is a non-negative number' }).finite().nonnegative('a threshold is a non-negative number'))
  .superRefine((t, ctx) => {
    for (const k of Object.keys(t)) if (!isThresholdKey(k)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown threshold "${k}"`, path: [k] });
  });
export type ThresholdOverrides = z.infer<typeof ThresholdOverridesSchema>;
