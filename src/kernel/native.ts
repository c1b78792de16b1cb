/**
 * The typed loader of oscope's optional native addon (native/, C over node-api): the syscalls and
 * libbpf calls TypeScript cannot make. Policy stays in TypeScript; this file only types and loads.
 *
 * The addon is optional: `loadNative()` never throws. When the addon is not built or does not load, it
 * returns `{ available: false, reason }` with one sentence a user can act on, and every procfs-based
 * feature keeps working. Code that needs the addon calls `requireNative()`, which throws a
 * NativeUnavailableError carrying that sentence.
 *
 * Errors thrown by the addon are plain Errors shaped like Node's system errors (see NativeError):
 * `code` ('EPERM'), `errno` (negative, as Node does), `syscall` (what failed) and a sentence; libbpf's
 * recent log (the verifier's, on a load failure) is attached as `log`.
 *
 * Handles (objects, links, maps, fds, ring buffers) are opaque; their finalizers release the kernel
 * object if JS forgets to close it, and everything is fd-scoped (nothing pinned), so a killed process
 * leaves nothing attached.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The ABI this loader was written for; bumped in native/src/main.c when the interface changes. */
export const NATIVE_ABI_VERSION = 1;

declare const handleBrand: unique symbol;
/** An opaque addon handle of one kind: only the addon can make one. */
export type Handle<K extends string> = { readonly [handleBrand]: K };
export type FdHandle = Handle<'fd'>;
export type ObjectHandle = Handle<'bpf_object'>;
export type LinkHandle = Handle<'bpf_link'>;
export type MapHandle = Handle<'bpf_map'>;
export type RingBufferHandle = Handle<'ring_buffer'>;

/** cachestat(2) result, in pages (multiply by the page size for bytes). */
export interface CachestatPages {
  cache: number;
  dirty: number;
  writeback: number;
  /** Pages evicted from the range since the file's cache was created (workingset shadow entries). */
  evicted: number;
  /** Evicted pages that would still be in memory had the workload's working set fit. */
  recentlyEvicted: number;
}

export interface MincoreResult {
  /** Pages in the (page-aligned) range. */
  pages: number;
  resident: number;
  /** The page-aligned offset the range starts at. */
  offset: number;
  /** One byte per page, bit 0 = resident; only when asked for. */
  vector?: Buffer;
}

export interface ResidentPfns {
  pages: number;
  resident: number;
  /** How many pages were sampled and had a present pagemap entry (the length of index and pfn). */
  sampled: number;
  /** Page index in the file of each sampled page. */
  index: Float64Array;
  /** Its page frame number (0 when not CAP_SYS_ADMIN: the kernel hides PFNs). */
  pfn: Float64Array;
}

/** Numbers per path in cachestatFiles' result. */
export const CACHESTAT_ROW = 9;

/** One file of a cachestatFiles() batch. Page counts a method cannot know are NaN (mincore: all but cache). */
export interface FileCacheRow {
  path: string;
  /** 0, or the (positive) errno of stat/open/cachestat (EISDIR / EINVAL: not a regular file; ENOSYS: no cachestat). */
  errno: number;
  sizeBytes: number;
  dev: number;
  ino: number;
  cachePages: number;
  dirtyPages: number;
  writebackPages: number;
  evictedPages: number;
  recentlyEvictedPages: number;
}

/** Decodes cachestatFiles' Float64Array into rows, in the order of `paths`. */
export function decodeCachestatRows(paths: readonly string[], rows: Float64Array): FileCacheRow[] {
  const out: FileCacheRow[] = [];
  for (let i = 0; i < paths.length; i++) {
    const r = rows.subarray(i * CACHESTAT_ROW, (i + 1) * CACHESTAT_ROW);
    out.push({
      path: paths[i]!,
      errno: r[0]!,
      sizeBytes: r[1]!,
      dev: r[2]!,
      ino: r[3]!,
      cachePages: r[4]!,
      dirtyPages: r[5]!,
      writebackPages: r[6]!,
      evictedPages: r[7]!,
      recentlyEvictedPages: r[8]!,
    });
  }
  return out;
}

export interface PerfEventOptions {
  /** perf_event_attr.type: 0 hardware, 1 software (default), 2 tracepoint, ... */
  type?: number;
  /** perf_event_attr.config: for software, 0 = PERF_COUNT_SW_CPU_CLOCK (default). */
  config?: number;
  /** CPU to count on (-1 = any CPU, then pid must be set). */
  cpu?: number;
  /** pid to follow (-1 = all tasks on `cpu`). */
  pid?: number;
  /** Sample every N events (cpu-clock: nanoseconds). */
  samplePeriod?: number | bigint;
  /** Or: sample N times a second. */
  sampleFreq?: number;
  sampleType?: number | bigint;
  wakeupEvents?: number;
  disabled?: boolean;
  excludeKernel?: boolean;
  excludeUser?: boolean;
  excludeIdle?: boolean;
  pinned?: boolean;
  /** Map a sample ring of this many data pages (a power of two) for perfEventReadRing. */
  mmapPages?: number;
}

export interface NativeProgramDesc {
  name: string;
  section: string;
  /** enum bpf_prog_type */
  type: number;
  autoload: boolean;
}

export interface NativeMapDesc {
  name: string;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface NativeGlobalDesc {
  /** .rodata, .data, .bss (or a named .rodata.x / .data.x section) */
  section: string;
  name: string;
  offset: number;
  size: number;
}

export interface NativeProgramInfo {
  name: string;
  loaded: boolean;
  /** The kernel's program id (what `bpftool prog show id N` takes); only when loaded. */
  id?: number;
  tag?: string;
  type?: number;
  kernelName?: string;
}

export interface NativeMapInfo {
  type: number;
  keySize: number;
  valueSize: number;
  /** Bytes of one value as user space reads it (per-CPU maps: 8-byte-rounded value × possible CPUs). */
  valueStride: number;
  maxEntries: number;
  id?: number;
  name?: string;
}

export interface NativeMapDump {
  /** count keys, concatenated. */
  keys: Buffer;
  /** count values of valueStride bytes, concatenated. */
  values: Buffer;
  count: number;
  /** Whether the kernel's batch operations were used (else a key walk). */
  batched: boolean;
}

export interface NativeRingBufferStats {
  delivered: number;
  pendingBatches: number;
  closed: boolean;
  pollError?: string;
}

/** The addon's exports, as native/src/*.c define them. */
export interface NativeAddon {
  readonly abiVersion: number;
  // sys.c
  cachestat(fd: number, offset?: number | bigint, length?: number | bigint): CachestatPages;
  mincore(fd: number, offset?: number | bigint, length?: number | bigint, wantVector?: boolean): MincoreResult;
  /**
   * The page cache of many regular files in one call (stat, open O_NOATIME, cachestat or mincore, close),
   * CACHESTAT_ROW numbers per path (see decodeCachestatRows); `async` runs it on the libuv thread pool.
   */
  cachestatFiles(paths: readonly string[], method: 'cachestat' | 'mincore', async: true): Promise<Float64Array>;
  cachestatFiles(paths: readonly string[], method?: 'cachestat' | 'mincore', async?: false): Float64Array;
  pagemapRead(pid: number, vaddr: number | bigint, count: number): BigUint64Array;
  residentPfns(fd: number, offset?: number | bigint, length?: number | bigint, maxPages?: number, stride?: number): ResidentPfns;
  perfEventOpen(opts: PerfEventOptions): FdHandle;
  perfEventEnable(fd: FdHandle): void;
  perfEventDisable(fd: FdHandle): void;
  /** Records written to the event's mmap ring since the last call (each starts with perf_event_header). */
  perfEventReadRing(fd: FdHandle): Buffer;
  fdClose(fd: FdHandle): void;
  fdNumber(fd: FdHandle): number;
  pageSize(): number;
  // bpf.c: objects and programs
  objOpen(path: string, opts?: { btfCustomPath?: string }): ObjectHandle;
  objClose(obj: ObjectHandle): void;
  objLoad(obj: ObjectHandle): void;
  objPrograms(obj: ObjectHandle): NativeProgramDesc[];
  objMaps(obj: ObjectHandle): NativeMapDesc[];
  objGlobals(obj: ObjectHandle): NativeGlobalDesc[];
  objSetGlobal(obj: ObjectHandle, name: string, value: Uint8Array): void;
  progSetAutoload(obj: ObjectHandle, prog: string, autoload: boolean): void;
  progInfo(obj: ObjectHandle, prog: string): NativeProgramInfo;
  progExists(id: number): boolean;
  progAttach(obj: ObjectHandle, prog: string): LinkHandle;
  progAttachTracepoint(obj: ObjectHandle, prog: string, category: string, name: string): LinkHandle;
  progAttachRawTracepoint(obj: ObjectHandle, prog: string, name: string): LinkHandle;
  /** A kprobe (retprobe false) or kretprobe on kernel function `fn`. */
  progAttachKprobe(obj: ObjectHandle, prog: string, retprobe: boolean, fn: string): LinkHandle;
  progAttachTrace(obj: ObjectHandle, prog: string): LinkHandle;
  progAttachPerfEvent(obj: ObjectHandle, prog: string, perf: FdHandle): LinkHandle;
  progAttachIter(obj: ObjectHandle, prog: string): LinkHandle;
  linkDestroy(link: LinkHandle): void;
  iterRead(link: LinkHandle): Buffer;
  iterReadAsync(link: LinkHandle): Promise<Buffer>;
  // maps
  mapOpen(obj: ObjectHandle, name: string): MapHandle;
  mapInfo(map: MapHandle): NativeMapInfo;
  mapClose(map: MapHandle): void;
  mapLookup(map: MapHandle, key: Uint8Array | null): Buffer | null;
  mapUpdate(map: MapHandle, key: Uint8Array | null, value: Uint8Array, flags?: number): void;
  mapDelete(map: MapHandle, key: Uint8Array): boolean;
  mapNextKey(map: MapHandle, key: Uint8Array | null): Buffer | null;
  mapDump(map: MapHandle, deleteAfterRead: boolean): NativeMapDump;
  mapDeleteBatch(map: MapHandle, keys: Uint8Array): number;
  // ring buffers: callback gets one Buffer of `count` records, each [u32 length][payload][pad to 8]
  ringbufOpen(map: MapHandle, onBatch: (batch: Buffer, count: number) => void): RingBufferHandle;
  ringbufClose(rb: RingBufferHandle): void;
  ringbufRef(rb: RingBufferHandle, ref: boolean): void;
  ringbufStats(rb: RingBufferHandle): NativeRingBufferStats;
  // probes: true / false, or a negative errno when libbpf could not tell
  probeProgType(type: number): boolean | number;
  probeMapType(type: number): boolean | number;
  probeHelper(progType: number, helper: number): boolean | number;
  probeFentry(kernelFunction: string): void;
  numPossibleCpus(): number;
  libbpfVersion(): string;
}

/** An Error thrown by the addon. */
export interface NativeError extends Error {
  code: string;
  /** Negative errno, as in Node's own system errors. */
  errno: number;
  syscall: string;
  /** libbpf's recent warnings (e.g. the verifier log) for libbpf failures. */
  log?: string;
}

export function isNativeError(err: unknown): err is NativeError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeError>).code === 'string' &&
    typeof (err as Partial<NativeError>).errno === 'number' &&
    typeof (err as Partial<NativeError>).syscall === 'string'
  );
}

export type NativeStatus =
  | { available: true; addon: NativeAddon; path: string }
  | { available: false; reason: string; path: string };

export class NativeUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NativeUnavailableError';
  }
}

/** Where the addon is: $OSCOPE_NATIVE_ADDON, else native/build/Release/ of this checkout. */
export function nativeAddonPath(): string {
  const env = process.env.OSCOPE_NATIVE_ADDON;
  if (env) return env;
  // dist/src/kernel/native.js → repository root is three levels up.
  return fileURLToPath(new URL('../../../native/build/Release/oscope_native.node', import.meta.url));
}

let cached: NativeStatus | undefined;

/** Loads the addon once; never throws. */
export function loadNative(): NativeStatus {
  if (cached) return cached;
  const path = nativeAddonPath();
  cached = tryLoad(path);
  return cached;
}

function tryLoad(path: string): NativeStatus {
  if (process.platform !== 'linux') {
    return { available: false, path, reason: 'the native addon is Linux-only' };
  }
  if (!existsSync(path)) {
    return {
      available: false,
      path,
      reason: `the native addon is not built (${path} is missing; run \`make build\`, which needs libbpf-dev, clang and a C compiler)`,
    };
  }
  try {
    const req = createRequire(import.meta.url);
    const addon = req(path) as NativeAddon;
    if (addon.abiVersion !== NATIVE_ABI_VERSION) {
      return {
        available: false,
        path,
        reason: `the native addon at ${path} is ABI ${String(addon.abiVersion)}, this oscope needs ${NATIVE_ABI_VERSION} (rebuild with \`make build\`)`,
      };
    }
    return { available: true, addon, path };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { available: false, path, reason: `the native addon failed to load: ${msg}` };
  }
}

/** The addon, or a NativeUnavailableError saying why not. */
export function requireNative(): NativeAddon {
  const s = loadNative();
  if (!s.available) throw new NativeUnavailableError(s.reason);
  return s.addon;
}

/** For tests: forget the cached load result. */
export function resetNativeForTests(): void {
  cached = undefined;
}
