/**
 * `oscope.io/v1`: why is I/O slow, and who does all this I/O. Disks as `iostat -x` shows them over the
 * interval, request latency by stage (queue, I/O scheduler, device, wake) per disk with the slow
 * requests, traffic per process/cgroup/file, hung requests and D-state tasks, and iowait per task.
 * The diagnosis is src/diagnose/io/; sections it could not fill are present and empty, and `coverage`
 * says why.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, MethodSchema, bytes, ms } from './common.js';

export const IO_SCHEMA = 'oscope.io/v1';

const count = z.number().int().nonnegative();
const rate = z.number().nonnegative();

/** One whole disk over the interval (what `iostat -x` prints), from /proc/diskstats and /sys/block. */
export const IoDiskSchema = z
  .object({
    /** Kernel name (`vda`, `nvme0n1`, `loop3`). */
    name: z.string(),
    /** `major:minor`. */
    majMin: z.string(),
    /** /sys/block/NAME/device/model when the device has one. */
    model: z.string().optional(),
    /** The active I/O scheduler (`mq-deadline`, `none`, …); `none` also for devices without a queue/scheduler file. */
    scheduler: z.string(),
    rotational: z.boolean(),
    /** Completed reads + writes + discards + flushes per second. */
    iops: rate,
    readBytesPerS: rate,
    writeBytesPerS: rate,
    /** Mean time a completed request took, queue included (iostat's await), ms; 0 without requests. */
    awaitMs: ms,
    /** Share of the interval the device had requests in flight (iostat's %util), 0..100. */
    utilPct: z.number().nonnegative(),
    /** Mean number of requests in flight (iostat's aqu-sz). */
    queueDepth: rate,
    /** Requests in flight at the end of the interval (/sys/block/NAME/inflight, reads + writes). */
    inflight: count,
  })
  .strict();
export type IoDisk = z.infer<typeof IoDiskSchema>;

/** A log2 histogram of one stage: bucket i counts [2^i, 2^(i+1)) µs; p50/p99 are bucket middles. */
export const IoStageSchema = z
  .object({
    count,
    p50Ms: ms,
    p99Ms: ms,
    maxMs: ms,
    meanMs: ms,
    /** Counts per log2-µs bucket, trailing empty buckets dropped. */
    histogram: z.array(count),
  })
  .strict();
export type IoStage = z.infer<typeof IoStageSchema>;

export const IO_STAGES = ['queue', 'sched', 'device', 'wake'] as const;
export type IoStageName = (typeof IO_STAGES)[number];

export const IoDiskLatencySchema = z
  .object({
    disk: z.string(),
    /**
     * queue: bio submitted → the request entered the I/O scheduler (or was issued, when it bypassed it):
     *   waiting for a request tag, plugging, throttling inside the block layer;
     * sched: inserted into the I/O scheduler → dispatched to the driver;
     * device: dispatched → completed (on a VM this includes the hypervisor's storage backend);
     * wake: completed → the task that waited for it running again (only tasks asleep in iowait).
     */
    stages: z.object({ queue: IoStageSchema, sched: IoStageSchema, device: IoStageSchema, wake: IoStageSchema }).strict(),
    /** The stage that holds most of the mean latency of a request (wake counted as a stage too). */
    dominant: z.enum(IO_STAGES).nullable(),
  })
  .strict();
export type IoDiskLatency = z.infer<typeof IoDiskLatencySchema>;

export const IoSlowRequestSchema = z
  .object({
    /** ISO 8601 time of completion. */
    at: z.string().datetime(),
    disk: z.string(),
    /** read, write, flush, discard, write-zeroes, other. */
    op: z.string(),
    /** null for requests without one (flush). */
    sector: z.number().int().nonnegative().nullable(),
    sizeBytes: bytes,
    /** queue + sched + device (wake not included). */
    totalMs: ms,
    queueMs: ms,
    schedMs: ms,
    deviceMs: ms,
    /** null when the issuing task was not waiting for it (asynchronous or writeback I/O). */
    wakeMs: ms.nullable(),
    /** The task that submitted the bio (for writeback: the flusher), its process and cgroup. */
    pid: count,
    tid: count,
    comm: z.string(),
    cgroup: z.string(),
    container: ContainerRefSchema.optional(),
    /** The file, where the kernel lets us name it; null otherwise. */
    file: z.string().nullable(),
  })
  .strict();
export type IoSlowRequest = z.infer<typeof IoSlowRequestSchema>;

export const IoProcessTrafficSchema = z
  .object({
    pid: count,
    comm: z.string(),
    /** Bytes the task made the block layer read for it over the interval (/proc/PID/io read_bytes). */
    readBytes: bytes,
    /** Bytes the task caused to be written to disk (dirtied pages it wrote, direct writes), minus truncated dirty pages. */
    writeBytes: bytes,
    /** Bytes of page cache the task dirtied; null when not measured. */
    dirtiedBytes: bytes.nullable(),
    cgroup: z.string(),
    container: ContainerRefSchema.optional(),
  })
  .strict();
export type IoProcessTraffic = z.infer<typeof IoProcessTrafficSchema>;

export const IoCgroupTrafficSchema = z
  .object({ path: z.string(), readBytes: bytes, writeBytes: bytes, container: ContainerRefSchema.optional() })
  .strict();
export type IoCgroupTraffic = z.infer<typeof IoCgroupTrafficSchema>;

export const IoFileTrafficSchema = z
  .object({ path: z.string(), readBytes: bytes, writeBytes: bytes, writers: z.array(z.object({ pid: count, comm: z.string() }).strict()) })
  .strict();
export type IoFileTraffic = z.infer<typeof IoFileTrafficSchema>;

export const IoHangSchema = z
  .object({
    disk: z.string(),
    /** `request`: one request oscope saw issued; `disk`: requests in flight with no completion all interval (issued before oscope looked). */
    kind: z.enum(['request', 'disk']),
    /** Age of the request (kind request), or the least the oldest in-flight request can be (kind disk), in seconds. */
    ageS: z.number().nonnegative(),
    /** How many requests (1 for kind request; in-flight count for kind disk). */
    count,
    sector: z.number().int().nonnegative().nullable(),
    op: z.string().nullable(),
    pid: count.nullable(),
    comm: z.string().nullable(),
  })
  .strict();
export type IoHang = z.infer<typeof IoHangSchema>;

/** Uninterruptible (D) tasks grouped by kernel stack. */
export const IoDTaskGroupSchema = z
  .object({
    /** Kernel stack, innermost first (/proc/PID/stack; [] when unreadable). */
    stack: z.array(z.string()),
    tasks: z.array(z.object({ pid: count, tid: count, comm: z.string() }).strict()),
  })
  .strict();
export type IoDTaskGroup = z.infer<typeof IoDTaskGroupSchema>;

export const IoWaitTaskSchema = z
  .object({
    pid: count,
    tid: count,
    comm: z.string(),
    /** Time asleep in io_schedule (in_iowait) over the interval. */
    iowaitMs: ms,
    /** That time as a share of the interval, 0..100. */
    iowaitPct: z.number().nonnegative(),
    /** Sleeps in iowait. */
    count,
    maxMs: ms,
    /** The kernel stack of its longest wait, innermost first. */
    stack: z.array(z.string()),
    cgroup: z.string(),
  })
  .strict();
export type IoWaitTask = z.infer<typeof IoWaitTaskSchema>;

export const IoPsiSchema = z
  .object({ someAvg10: z.number().nonnegative(), fullAvg10: z.number().nonnegative(), someMs: ms, fullMs: ms })
  .strict()
  .describe('PSI io: the avg10 shares at the end, and the stall time (ms) over the interval');

export const IoDocumentSchema = z
  .object({
    schema: z.literal(IO_SCHEMA),
    intervalS: z.number().positive(),
    /** The thresholds in effect (the io.* keys). */
    thresholds: z.record(z.number()),
    disks: z.array(IoDiskSchema),
    /** /proc/pressure/io over the interval; null without PSI. */
    psi: IoPsiSchema.nullable(),
    latency: z.object({ perDisk: z.array(IoDiskLatencySchema), slow: z.array(IoSlowRequestSchema), lostEvents: count }).strict(),
    traffic: z.object({ processes: z.array(IoProcessTrafficSchema), cgroups: z.array(IoCgroupTrafficSchema), files: z.array(IoFileTrafficSchema) }).strict(),
    hangs: z.array(IoHangSchema),
    dTasks: z.array(IoDTaskGroupSchema),
    iowait: z.object({ tasks: z.array(IoWaitTaskSchema) }).strict(),
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type IoDocument = z.infer<typeof IoDocumentSchema>;
