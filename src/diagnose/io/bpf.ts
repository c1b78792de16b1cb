/**
 * The BPF side of `oscope io` (bpf/io.bpf.c): the TypeScript mirror of bpf/io.h and the tracer that
 * loads, configures and attaches it. tp_btf programs, raw_tp as the fallback; everything is fd-scoped,
 * so a `kill -9` leaves nothing attached.
 */
import { type BpfObject, findBpfObject, kernelHasTracepoint, openObject, readStack } from '../../kernel/bpf/index.js';
import { cString } from '../../kernel/bpf/selftest.js';
import { isNativeError, requireNative } from '../../kernel/native.js';
import type { Coverage } from '../../contract/common.js';

export const IO_OBJECT = 'io';
export const IO_HIST_SLOTS = 32;
/** enum oio_stage, in order. */
export const IO_STAGE_NAMES = ['queue', 'sched', 'device', 'wake'] as const;
/** ~0ULL: a stage that is not known. */
export const UNKNOWN_NS = 0xffffffffffffffffn;

/** Offsets of struct oio_event (112 bytes). */
export const IO_EVENT_LAYOUT = {
  tsNs: 0,
  queueNs: 8,
  schedNs: 16,
  deviceNs: 24,
  wakeNs: 32,
  sector: 40,
  cgroupId: 48,
  dev: 56,
  bytes: 60,
  pid: 64,
  tgid: 68,
  op: 72,
  error: 76,
  comm: 80,
  commLen: 16,
  ino: 96,
  fdev: 104,
  fkind: 108,
  size: 112,
} as const;

/** Offsets of struct oio_req (96 bytes). */
export const IO_REQ_LAYOUT = { bioNs: 0, insertNs: 8, issueNs: 16, sector: 24, cgroupId: 32, dev: 40, bytes: 44, pid: 48, tgid: 52, op: 56, comm: 64, ino: 80, fdev: 88, fkind: 92, size: 96 } as const;
/** struct oio_file_key (16 bytes), struct oio_file (16), oio_file_task_key (24), oio_file_task (32), oio_task (40). */
export const IO_FILE_LAYOUT = { keyDev: 0, keyKind: 4, keyIno: 8, keySize: 16, readBytes: 0, dirtiedBytes: 8, size: 16, taskKeyTgid: 16, taskKeySize: 24, taskComm: 16, taskSize: 32 } as const;
export const IO_TASK_LAYOUT = { dirtiedBytes: 0, readBytes: 8, cgroupId: 16, comm: 24, size: 40 } as const;

/** enum oio_file_kind. */
export type IoFileKind = 'inode' | 'bdev';
/** A file as the kernel names it: its super block's dev_t (kernel encoding) and inode (0 for a block device's own cache). */
export interface RawFileId {
  dev: number;
  kind: IoFileKind;
  ino: number;
}

function fileIdOf(dev: number, kind: number, ino: bigint): RawFileId | null {
  if (kind === 1) return { dev, kind: 'inode', ino: Number(ino) };
  if (kind === 2) return { dev, kind: 'bdev', ino: 0 };
  return null;
}
/** Offsets of struct oio_wait (56 bytes). */
export const IO_WAIT_LAYOUT = { totalNs: 0, count: 8, maxNs: 16, cgroupId: 24, tgid: 32, maxStackId: 36, comm: 40, size: 56 } as const;
/** struct oio_hist: slots[32], count, sum_ns, max_ns. */
export const IO_HIST_SIZE = (IO_HIST_SLOTS + 3) * 8;

export interface RawIoEvent {
  tsNs: bigint;
  /** null: unknown stage. */
  queueNs: number | null;
  schedNs: number;
  deviceNs: number;
  wakeNs: number | null;
  /** null: no sector (flush; the kernel keeps -1). */
  sector: number | null;
  cgroupId: bigint;
  /** Kernel dev_t (major << 20 | minor). */
  dev: number;
  bytes: number;
  pid: number;
  tgid: number;
  op: number;
  error: number;
  comm: string;
  /** The file of the request's first page, where it has one. */
  file: RawFileId | null;
}

const ns = (b: Buffer, off: number): number | null => {
  const v = b.readBigUInt64LE(off);
  return v === UNKNOWN_NS ? null : Number(v);
};

/** A sector number, or null when it is not one (-1 for flushes, anything past 2^53). */
export function sectorOf(v: bigint): number | null {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(v);
}

export function decodeIoEvent(b: Buffer): RawIoEvent {
  const L = IO_EVENT_LAYOUT;
  if (b.length < L.size) throw new Error(`io event is ${b.length} bytes, expected ${L.size}`);
  return {
    tsNs: b.readBigUInt64LE(L.tsNs),
    queueNs: ns(b, L.queueNs),
    schedNs: Number(b.readBigUInt64LE(L.schedNs)),
    deviceNs: Number(b.readBigUInt64LE(L.deviceNs)),
    wakeNs: ns(b, L.wakeNs),
    sector: sectorOf(b.readBigUInt64LE(L.sector)),
    cgroupId: b.readBigUInt64LE(L.cgroupId),
    dev: b.readUInt32LE(L.dev),
    bytes: b.readUInt32LE(L.bytes),
    pid: b.readUInt32LE(L.pid),
    tgid: b.readUInt32LE(L.tgid),
    op: b.readUInt32LE(L.op),
    error: b.readInt32LE(L.error),
    comm: cString(b, L.comm, L.commLen),
    file: fileIdOf(b.readUInt32LE(L.fdev), b.readUInt32LE(L.fkind), b.readBigUInt64LE(L.ino)),
  };
}

/** Bytes read from disk into a file's page cache and bytes of it dirtied, over the run. */
export interface RawFileTraffic {
  file: RawFileId;
  readBytes: number;
  dirtiedBytes: number;
}

export interface RawFileTaskTraffic extends RawFileTraffic {
  tgid: number;
  comm: string;
}

export interface RawTaskTraffic {
  tgid: number;
  dirtiedBytes: number;
  readBytes: number;
  cgroupId: bigint;
  comm: string;
}

export function decodeFile(key: Buffer, v: Buffer): RawFileTraffic | undefined {
  const L = IO_FILE_LAYOUT;
  if (key.length < L.keySize || v.length < L.size) throw new Error('io file entry is too short');
  const file = fileIdOf(key.readUInt32LE(L.keyDev), key.readUInt32LE(L.keyKind), key.readBigUInt64LE(L.keyIno));
  if (!file) return undefined;
  return { file, readBytes: Number(v.readBigUInt64LE(L.readBytes)), dirtiedBytes: Number(v.readBigUInt64LE(L.dirtiedBytes)) };
}

export function decodeFileTask(key: Buffer, v: Buffer): RawFileTaskTraffic | undefined {
  const L = IO_FILE_LAYOUT;
  if (key.length < L.taskKeySize || v.length < L.taskSize) throw new Error('io file task entry is too short');
  const f = decodeFile(key, v);
  if (!f) return undefined;
  return { ...f, tgid: key.readUInt32LE(L.taskKeyTgid), comm: cString(v, L.taskComm, 16) };
}

export function decodeTask(key: Buffer, v: Buffer): RawTaskTraffic {
  const L = IO_TASK_LAYOUT;
  if (key.length < 4 || v.length < L.size) throw new Error('io task entry is too short');
  return { tgid: key.readUInt32LE(0), dirtiedBytes: Number(v.readBigUInt64LE(L.dirtiedBytes)), readBytes: Number(v.readBigUInt64LE(L.readBytes)), cgroupId: v.readBigUInt64LE(L.cgroupId), comm: cString(v, L.comm, 16) };
}

export interface RawIoHistogram {
  dev: number;
  stage: (typeof IO_STAGE_NAMES)[number];
  slots: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}

export function decodeIoHistogram(key: Buffer, value: Buffer): RawIoHistogram | undefined {
  if (key.length < 8 || value.length < IO_HIST_SIZE) throw new Error('io histogram entry is too short');
  const stage = IO_STAGE_NAMES[key.readUInt32LE(4)];
  if (!stage) return undefined;
  const slots: number[] = [];
  for (let i = 0; i < IO_HIST_SLOTS; i++) slots.push(Number(value.readBigUInt64LE(i * 8)));
  const o = IO_HIST_SLOTS * 8;
  return { dev: key.readUInt32LE(0), stage, slots, count: Number(value.readBigUInt64LE(o)), sumNs: Number(value.readBigUInt64LE(o + 8)), maxNs: Number(value.readBigUInt64LE(o + 16)) };
}

/** A request the tracer saw issued and not completed. */
export interface RawInflight {
  issueNs: bigint;
  sector: number | null;
  dev: number;
  op: number;
  pid: number;
  tgid: number;
  comm: string;
}

export function decodeInflight(v: Buffer): RawInflight | undefined {
  const L = IO_REQ_LAYOUT;
  if (v.length < L.size) throw new Error('io request entry is too short');
  const issueNs = v.readBigUInt64LE(L.issueNs);
  if (issueNs === 0n) return undefined;
  return { issueNs, sector: sectorOf(v.readBigUInt64LE(L.sector)), dev: v.readUInt32LE(L.dev), op: v.readUInt32LE(L.op), pid: v.readUInt32LE(L.pid), tgid: v.readUInt32LE(L.tgid), comm: cString(v, L.comm, 16) };
}

export interface RawIoWait {
  tid: number;
  tgid: number;
  totalNs: number;
  count: number;
  maxNs: number;
  cgroupId: bigint;
  maxStackId: number;
  comm: string;
}

export function decodeIoWait(key: Buffer, v: Buffer): RawIoWait {
  const L = IO_WAIT_LAYOUT;
  if (key.length < 4 || v.length < L.size) throw new Error('io wait entry is too short');
  return {
    tid: key.readUInt32LE(0),
    tgid: v.readUInt32LE(L.tgid),
    totalNs: Number(v.readBigUInt64LE(L.totalNs)),
    count: Number(v.readBigUInt64LE(L.count)),
    maxNs: Number(v.readBigUInt64LE(L.maxNs)),
    cgroupId: v.readBigUInt64LE(L.cgroupId),
    maxStackId: v.readInt32LE(L.maxStackId),
    comm: cString(v, L.comm, 16),
  };
}

/** dev_t as the kernel keeps it inside (MINORBITS = 20) → "major:minor". */
export function devName(dev: number): string {
  return `${dev >>> 20}:${dev & 0xfffff}`;
}

/** "major:minor" → the kernel's internal dev_t. */
export function devFromMajMin(majMin: string): number {
  const [a, b] = majMin.split(':').map(Number);
  return ((a! << 20) | b!) >>> 0;
}

/** REQ_OP_* (include/linux/blk_types.h), stable since 4.10. */
export function opName(op: number): string {
  switch (op & 0xff) {
    case 0:
      return 'read';
    case 1:
      return 'write';
    case 2:
      return 'flush';
    case 3:
      return 'discard';
    case 5:
      return 'secure-erase';
    case 9:
      return 'write-zeroes';
    default:
      return 'other';
  }
}

/** Tracepoint programs: name (tp_btf) → tracepoint; the raw_tp twin is `${name}_r`. */
export const IO_TRACEPOINTS: Record<string, string> = {
  oscope_io_bioq: 'block_bio_queue',
  oscope_io_bmerge: 'block_bio_backmerge',
  oscope_io_fmerge: 'block_bio_frontmerge',
  oscope_io_insert: 'block_rq_insert',
  oscope_io_issue: 'block_rq_issue',
  oscope_io_done: 'block_rq_complete',
  oscope_io_switch: 'sched_switch',
  oscope_io_dirty: 'writeback_dirty_folio',
  oscope_io_dio: 'iomap_dio_rw_begin',
};
/** Direct I/O per file (iomap file systems; the tracepoint is in 6.0+): loaded only where the kernel has it. */
export const IO_DIO_PROGRAM = 'oscope_io_dio';
export const IO_DIO_TRACEPOINT = 'iomap_dio_rw_begin';

/** The raw_tp-only program for kernels before 5.18 (writeback_dirty_page, one page a time). */
export const IO_DIRTY_PAGE_PROGRAM = 'oscope_io_dirtyp_r';

export interface IoTracerOptions {
  slowMs: number;
  /** Only this disk (internal dev_t). */
  dev?: number;
  /** Slow events and iowait of this process only. */
  pid?: number;
  /** The cgroup v1 hierarchy (subsystem id) cgroup ids come from; undefined = cgroup v2. */
  cgroupSsid?: number;
  /** Page size in bytes (dirtied pages → bytes; default 4096). */
  pageSize?: number;
  /** The wake stage and iowait (sched_switch work on every iowait sleep); false: block stages only (the bench measures each). */
  wake?: boolean;
  onEvent: (e: RawIoEvent) => void;
}

export interface IoTracer {
  readonly method: Record<string, string>;
  readonly coverage: Coverage[];
  histograms(): RawIoHistogram[];
  inflight(): RawInflight[];
  waits(): RawIoWait[];
  stack(id: number): bigint[];
  lostEvents(): number;
  /** Per-file traffic (empty when the file programs could not run), per (file, process), per process. */
  files(): RawFileTraffic[];
  fileTasks(): RawFileTaskTraffic[];
  tasks(): RawTaskTraffic[];
  /** Whether dirtied pages were traced (writeback_dirty_folio/page attached). */
  readonly dirtyTraced: boolean;
  /** Rows the per-file maps had no room for. */
  filesDropped(): number;
  close(): void;
}

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** How the dirtied-page program is loaded: the folio tracepoint (5.18+), the page one (older), or none. */
type DirtyVariant = 'folio' | 'page' | 'none';

function loadWith(path: string, flavour: 'tp_btf' | 'raw_tp', dirty: DirtyVariant, dio: boolean, o: IoTracerOptions): BpfObject {
  const obj = openObject(path);
  try {
    for (const name of Object.keys(IO_TRACEPOINTS)) {
      const on = name === IO_DIO_PROGRAM ? dio : name !== 'oscope_io_dirty' || dirty === 'folio';
      obj.setAutoload(name, on && flavour === 'tp_btf');
      obj.setAutoload(`${name}_r`, on && flavour === 'raw_tp');
    }
    obj.setAutoload(IO_DIRTY_PAGE_PROGRAM, flavour === 'raw_tp' && dirty === 'page');
    obj
      .setRodata('slow_ns', BigInt(Math.round(o.slowMs * 1e6)))
      .setRodata('targ_dev', o.dev ?? 0)
      .setRodata('targ_tgid', o.pid ?? 0)
      .setRodata('targ_ssid', o.cgroupSsid ?? -1)
      .setRodata('want_wake', o.wake ?? true)
      .setRodata('page_size', o.pageSize ?? 4096);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

/** Loads and attaches the tracer, or says in one sentence why it cannot run here. */
export function startIoTracer(o: IoTracerOptions): { tracer: IoTracer } | { unavailable: string } {
  const found = findBpfObject(IO_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  try {
    requireNative();
  } catch (err) {
    return { unavailable: errText(err) };
  }
  let obj: BpfObject | undefined;
  let flavour: 'tp_btf' | 'raw_tp' = 'tp_btf';
  let dirty: DirtyVariant = 'folio';
  let first: unknown;
  // tp_btf needs the tracepoint in the kernel's BTF at load time: a kernel without writeback_dirty_folio
  // (before 5.18) loads the raw_tp flavour with writeback_dirty_page; the last resort leaves dirtying out.
  const dio = kernelHasTracepoint(IO_DIO_TRACEPOINT);
  const variants: Array<['tp_btf' | 'raw_tp', DirtyVariant]> = [['tp_btf', 'folio'], ['raw_tp', 'folio'], ['raw_tp', 'page'], ['tp_btf', 'none'], ['raw_tp', 'none']];
  for (const [f, d] of variants) {
    try {
      obj = loadWith(found.path, f, d, dio, o);
      flavour = f;
      dirty = d;
      break;
    } catch (err) {
      first ??= err;
    }
  }
  if (!obj) return { unavailable: `the io BPF programs did not load (${errText(first)})` };
  const loaded = obj;
  const failed: string[] = [];
  let dirtyTraced = false;
  let dioTraced = false;
  for (const [name, tp] of Object.entries(IO_TRACEPOINTS)) {
    if (name === 'oscope_io_dirty' && dirty !== 'folio') continue;
    if (name === IO_DIO_PROGRAM && !dio) continue;
    try {
      if (flavour === 'tp_btf') loaded.program(name).attachTrace();
      else loaded.program(`${name}_r`).attachRawTracepoint(tp);
      if (name === 'oscope_io_dirty') dirtyTraced = true;
      if (name === IO_DIO_PROGRAM) dioTraced = true;
    } catch (err) {
      // The merge tracepoints only keep the bio map small; anything else is a stage we cannot measure.
      if (name === 'oscope_io_dirty' || name === IO_DIO_PROGRAM) failed.push(`${tp}: ${errText(err)}`);
      else if (!tp.includes('merge')) failed.push(`${tp}: ${errText(err)}`);
    }
  }
  if (dirty === 'page') {
    try {
      loaded.program(IO_DIRTY_PAGE_PROGRAM).attachRawTracepoint('writeback_dirty_page');
      dirtyTraced = true;
    } catch (err) {
      failed.push(`writeback_dirty_page: ${errText(err)}`);
    }
  }
  if (failed.some((f) => f.startsWith('block_rq_complete') || f.startsWith('block_rq_issue'))) {
    loaded.close();
    return { unavailable: `the io BPF programs did not attach (${failed.join('; ')})` };
  }
  const coverage: Coverage[] = [];
  const latencyFailed = failed.filter((f) => !f.startsWith('writeback_dirty') && !f.startsWith(IO_DIO_TRACEPOINT));
  if (!dioTraced) {
    const why = failed.find((f) => f.startsWith(IO_DIO_TRACEPOINT)) ?? `this kernel has no ${IO_DIO_TRACEPOINT} tracepoint (6.0+, iomap file systems)`;
    coverage.push({ section: 'traffic.files', status: 'partial', reason: `direct I/O (O_DIRECT) is not attributed to files: ${why}` });
  }
  if (latencyFailed.length > 0) coverage.push({ section: 'latency', status: 'partial', reason: latencyFailed.join('; ') });
  if (!dirtyTraced) {
    const why = failed.find((f) => f.startsWith('writeback_dirty')) ?? 'neither writeback_dirty_folio nor writeback_dirty_page could be loaded';
    coverage.push({ section: 'traffic.files', status: 'partial', reason: `dirtied pages not traced (${why}): files and processes have no dirtied bytes, only reads` });
  }
  const method: Record<string, string> = {
    latency: `${flavour} block_bio_queue/block_rq_insert/block_rq_issue/block_rq_complete: log2 histograms per disk and stage in BPF`,
    wake: `${flavour} sched_switch: threads asleep with in_iowait; completion of a request they issued → their next switch-in`,
    iowait: `${flavour} sched_switch: time asleep with in_iowait (io_schedule) per thread, with the stack of the longest sleep (stacks are sampled to keep sched_switch cheap: a thread's first sleep, a sleep after one of ≥ 1 ms, 1 in 64 others; a shorter sleep carries the one captured last before it)`,
    files: `${flavour} block_bio_queue: a read's bytes go to the file of its first page (page->mapping->host: dev, inode) and to its submitter, clones left out (what /proc/PID/io read_bytes counts)${
      dirtyTraced ? `; ${flavour} ${dirty === 'page' ? 'writeback_dirty_page' : 'writeback_dirty_folio'}: pages dirtied per file and per dirtier, where the kernel charges write_bytes` : ''
    }; ${
      dioTraced
        ? `${flavour} ${IO_DIO_TRACEPOINT}: direct I/O (O_DIRECT, a loop device's worker) per file and issuer, the bytes each read or write asks for (iomap file systems: ext4, xfs, btrfs, ...)`
        : 'direct I/O (O_DIRECT) is not in the files table: its pages are process memory, not the file\'s cache'
    }; dev:inode → path from the open files and mappings of the processes (/proc/PID/fd, /proc/PID/maps), then the kernel's dentries (the BPF inode walk)`,
  };
  const rb = loaded.ringBuffer('events', {
    onRecords: (recs) => {
      for (const r of recs) {
        try {
          o.onEvent(decodeIoEvent(r));
        } catch {
          /* a malformed record: skip */
        }
      }
    },
  });
  rb.unref();
  let closed = false;
  const globalU64 = (name: string): number => {
    const off = loaded.globals().find((g) => g.name === name)?.offset;
    if (closed || off === undefined) return 0;
    const v = loaded.map('.bss').lookup(Buffer.alloc(4));
    return v && v.length >= off + 8 ? Number(v.readBigUInt64LE(off)) : 0;
  };
  const tracer: IoTracer = {
    method,
    coverage,
    histograms: () => (closed ? [] : loaded.map('hists').dump().entries.flatMap((e) => decodeIoHistogram(e.key, e.value) ?? [])),
    inflight: () => (closed ? [] : loaded.map('reqs').dump().entries.flatMap((e) => decodeInflight(e.value) ?? [])),
    waits: () => (closed ? [] : loaded.map('waits').dump().entries.map((e) => decodeIoWait(e.key, e.value))),
    stack: (id) => (closed ? [] : readStack(loaded.map('stacks'), id)),
    dirtyTraced,
    files: () => (closed ? [] : loaded.map('files').dump().entries.flatMap((e) => decodeFile(e.key, e.value) ?? [])),
    fileTasks: () => (closed ? [] : loaded.map('file_tasks').dump().entries.flatMap((e) => decodeFileTask(e.key, e.value) ?? [])),
    tasks: () => (closed ? [] : loaded.map('tasks').dump().entries.map((e) => decodeTask(e.key, e.value))),
    filesDropped: () => globalU64('files_dropped'),
    lostEvents: () => globalU64('lost_events'),
    close: () => {
      if (closed) return;
      closed = true;
      loaded.close();
    },
  };
  return { tracer };
}
