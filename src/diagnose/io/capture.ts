/**
 * `oscope.io-capture/v1`: everything `oscope io` read or measured on the live host, as plain JSON, so
 * the analysis (./analyze.ts, pure) can run again elsewhere: `oscope capture` keeps it in a bundle and
 * `oscope io --from BUNDLE` analyses it. Both reads of /proc/diskstats, PSI io, /proc/PID/io and the
 * cgroups' own I/O counters, the block devices, the D-state tasks, and the BPF tracer's aggregates
 * (stage histograms, slow requests, requests in flight, iowait sleeps, per-file and per-process
 * traffic) with every kernel id already named (disks, cgroups, files, stacks).
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, bytes } from '../../contract/common.js';
import { IO_STAGES } from '../../contract/io.js';

export const IO_CAPTURE_SCHEMA = 'oscope.io-capture/v1';

const count = z.number().int().nonnegative();
const num = z.number().nonnegative();

export const DiskStatSchema = z.object({
  major: count,
  minor: count,
  name: z.string(),
  reads: num,
  readsMerged: num,
  sectorsRead: num,
  readTicksMs: num,
  writes: num,
  writesMerged: num,
  sectorsWritten: num,
  writeTicksMs: num,
  inFlight: num,
  ioTicksMs: num,
  timeInQueueMs: num,
  discards: num.optional(),
  discardsMerged: num.optional(),
  sectorsDiscarded: num.optional(),
  discardTicksMs: num.optional(),
  flushes: num.optional(),
  flushTicksMs: num.optional(),
});

export const BlockDeviceSchema = z.object({
  name: z.string(),
  scheduler: z.object({ active: z.string(), available: z.array(z.string()) }).optional(),
  rotational: z.boolean().optional(),
  model: z.string().optional(),
  inflight: z.object({ reads: count, writes: count }).optional(),
});

const PsiLineSchema = z.object({ avg10: num, avg60: num, avg300: num, totalUs: num, totalMs: num });
export const PsiSchema = z.object({ some: PsiLineSchema.optional(), full: PsiLineSchema.optional() });

export const CapturedProcessSchema = z.object({
  pid: count,
  comm: z.string(),
  io: z.object({ rchar: num, wchar: num, syscr: num, syscw: num, readBytes: num, writeBytes: num, cancelledWriteBytes: num }),
  /** CLOCK_MONOTONIC ms when /proc/PID/io was read (live hosts), so each process's delta has its own span. */
  ioAtMs: num.optional(),
  /** Its cgroup in the io hierarchy (v1 blkio, else v2). */
  cgroup: z.string(),
  container: ContainerRefSchema.optional(),
});
export type CapturedProcess = z.infer<typeof CapturedProcessSchema>;

export const CapturedSlowSchema = z.object({
  at: z.string(),
  disk: z.string(),
  op: z.string(),
  sector: count.nullable(),
  sizeBytes: bytes,
  queueMs: num.nullable(),
  schedMs: num,
  deviceMs: num,
  wakeMs: num.nullable(),
  pid: count,
  tid: count,
  comm: z.string(),
  cgroup: z.string(),
  container: ContainerRefSchema.optional(),
  /** The file of the request's first page, resolved to a path (or "dev:ino (unresolved)"); null when none. */
  file: z.string().nullable().default(null),
});
export type CapturedSlow = z.infer<typeof CapturedSlowSchema>;

export const CapturedInflightSchema = z.object({ disk: z.string(), ageS: num, sector: count.nullable(), op: z.string(), pid: count, comm: z.string() });
export type CapturedInflight = z.infer<typeof CapturedInflightSchema>;

export const CapturedWaitSchema = z.object({ pid: count, tid: count, comm: z.string(), totalMs: num, count, maxMs: num, stack: z.array(z.string()), cgroup: z.string() });
export type CapturedWait = z.infer<typeof CapturedWaitSchema>;

export const CapturedDTaskSchema = z.object({ pid: count, tid: count, comm: z.string(), stack: z.array(z.string()) });
export type CapturedDTask = z.infer<typeof CapturedDTaskSchema>;

/** One file's traffic over the run, with the processes that read or dirtied it. */
export const CapturedFileSchema = z.object({
  /** "major:minor" of the file's super block (of the device itself for a block device's own cache). */
  device: z.string().regex(/^\d+:\d+$/),
  /** inode: a file; bdev: a block device's own page cache (file system metadata, journal, raw device I/O). */
  kind: z.enum(['inode', 'bdev']),
  ino: count,
  /** The path (" (deleted)" when unlinked), `/dev/NAME` for a block device; null when it could not be named. */
  path: z.string().nullable(),
  /** Bytes read from disk into its page cache, plus its direct (O_DIRECT) reads. */
  readBytes: bytes,
  /** Bytes of its page cache dirtied, plus its direct (O_DIRECT) writes: what was or will be written to it. */
  dirtiedBytes: bytes,
  tasks: z.array(z.object({ pid: count, comm: z.string(), readBytes: bytes, dirtiedBytes: bytes })),
});
export type CapturedFile = z.infer<typeof CapturedFileSchema>;

/** A process's page cache dirtying and reads as BPF saw them (every file together). */
export const CapturedDirtierSchema = z.object({ pid: count, comm: z.string(), dirtiedBytes: bytes, readBytes: bytes, cgroup: z.string() });
export type CapturedDirtier = z.infer<typeof CapturedDirtierSchema>;

export const CapturedTraceSchema = z.object({
  /** Histograms per disk (kernel name; "" when no disk was known) and stage. */
  histograms: z.array(z.object({ disk: z.string(), stage: z.enum(IO_STAGES), slots: z.array(num), count: num, sumNs: num, maxNs: num })),
  slow: z.array(CapturedSlowSchema),
  inflight: z.array(CapturedInflightSchema),
  waits: z.array(CapturedWaitSchema),
  lostEvents: count,
  /** null: the per-file programs did not run. */
  files: z.array(CapturedFileSchema).nullable().default(null),
  /** null: dirtied pages were not traced (no writeback_dirty_folio/page). */
  dirtiers: z.array(CapturedDirtierSchema).nullable().default(null),
  filesDropped: count.default(0),
});
export type CapturedTrace = z.infer<typeof CapturedTraceSchema>;

/** A cgroup's own I/O counters (bytes summed over the devices in scope), at both reads. */
export const CapturedCgroupIoSchema = z.object({
  /** Path in the io hierarchy. */
  path: z.string(),
  /** The file read (io.stat, blkio.throttle.io_service_bytes_recursive, …). */
  source: z.string(),
  before: z.object({ readBytes: bytes, writeBytes: bytes }),
  after: z.object({ readBytes: bytes, writeBytes: bytes }),
  container: ContainerRefSchema.optional(),
});
export type CapturedCgroupIo = z.infer<typeof CapturedCgroupIoSchema>;

export const IoCaptureSchema = z.object({
  schema: z.literal(IO_CAPTURE_SCHEMA),
  intervalS: z.number().positive(),
  /** The disk the run is about (kernel name), when --disk was given. */
  disk: z.string().optional(),
  disksBefore: z.array(DiskStatSchema),
  disksAfter: z.array(DiskStatSchema),
  devices: z.array(BlockDeviceSchema),
  psiBefore: PsiSchema.optional(),
  psiAfter: PsiSchema.optional(),
  processesBefore: z.array(CapturedProcessSchema),
  processesAfter: z.array(CapturedProcessSchema),
  /**
   * The io hierarchy (v1 blkio or v2) and whether it charges writeback to the dirtier's cgroup (cgroup
   * v2 with the memory controller in the same hierarchy); null without one.
   */
  hierarchy: z.object({ version: z.union([z.literal(1), z.literal(2)]), mount: z.string(), writebackToDirtier: z.boolean() }).nullable().default(null),
  /** The cgroups' own counters (null: not read). */
  cgroupIo: z.array(CapturedCgroupIoSchema).nullable().default(null),
  dTasks: z.array(CapturedDTaskSchema),
  trace: CapturedTraceSchema.optional(),
  method: z.record(z.string()),
  coverage: z.array(CoverageSchema),
});
export type IoCapture = z.infer<typeof IoCaptureSchema>;
export type IoCaptureInput = z.input<typeof IoCaptureSchema>;
