/**
 * A libbpf object over the native addon: open → set globals (`const volatile` rodata) → load → attach.
 *
 *   const obj = openObject(bpfObjectPath('selftest'));
 *   obj.setGlobal('filter_ppid', process.pid).load();
 *   obj.program('oscope_st_btf').attachTrace();
 *   const rb = obj.ringBuffer('events');
 *   for await (const rec of rb) ...
 *   obj.close();   // detaches everything it attached; idempotent
 *
 * Everything is fd-scoped (no pinning, no tracefs switches): a process that dies, even by SIGKILL,
 * leaves nothing attached; and the addon's finalizers release what JS forgets to close.
 */
import { existsSync } from 'node:fs';
import {
  type LinkHandle,
  type NativeAddon,
  type NativeGlobalDesc,
  type NativeMapDesc,
  type NativeProgramDesc,
  type NativeProgramInfo,
  type ObjectHandle,
  isNativeError,
  requireNative,
} from '../native.js';
import { BpfMap } from './map.js';
import type { PerfEvent } from './perf.js';
import { RingBuffer, type RingBufferOptions } from './ringbuf.js';

export interface OpenOptions {
  /** A BTF file for CO-RE relocation on kernels without /sys/kernel/btf/vmlinux. */
  btfCustomPath?: string;
}

/**
 * The addon's bpf_map__set_max_entries (native/src/bpf.c). Declared here rather than in NativeAddon
 * (src/kernel/native.ts belongs to another area) and checked at run time, so an older addon gives a
 * sentence instead of a TypeError.
 */
interface MaxEntriesAddon {
  objSetMaxEntries(obj: ObjectHandle, map: string, maxEntries: number): void;
}

interface Closable {
  close(): void;
}

/** Opens a BPF object file (not yet loaded). Throws NativeUnavailableError without the addon. */
export function openObject(path: string, opts: OpenOptions = {}): BpfObject {
  const native = requireNative();
  return new BpfObject(native, path, native.objOpen(path, opts.btfCustomPath ? { btfCustomPath: opts.btfCustomPath } : {}));
}

export class BpfObject {
  private handle: ObjectHandle | undefined;
  private isLoaded = false;
  private readonly owned = new Set<Closable>();
  private readonly mapCache = new Map<string, BpfMap>();

  constructor(
    private readonly native: NativeAddon,
    readonly path: string,
    handle: ObjectHandle,
  ) {
    this.handle = handle;
  }

  get loaded(): boolean {
    return this.isLoaded;
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  /** @internal */
  get nativeHandle(): ObjectHandle {
    if (!this.handle) throw new Error(`BPF object ${this.path} is closed`);
    return this.handle;
  }

  programs(): NativeProgramDesc[] {
    return this.native.objPrograms(this.nativeHandle);
  }

  maps(): NativeMapDesc[] {
    return this.native.objMaps(this.nativeHandle);
  }

  /** Globals of the data sections (.rodata = `const volatile`, .data, .bss) with offsets and sizes. */
  globals(): NativeGlobalDesc[] {
    return this.native.objGlobals(this.nativeHandle);
  }

  /**
   * Sets a global before load. Numbers and bigints are written little-endian in the variable's size
   * (1, 2, 4 or 8 bytes; negative numbers as two's complement), booleans as 0/1, byte arrays as is.
   */
  setGlobal(name: string, value: number | bigint | boolean | Uint8Array): this {
    const g = this.globals().find((x) => x.name === name);
    if (!g) throw new Error(`BPF object ${this.path} has no global named ${name}`);
    this.native.objSetGlobal(this.nativeHandle, name, encodeGlobal(name, g.size, value));
    return this;
  }

  /** Same as setGlobal; reads better for `const volatile` configuration. */
  setRodata(name: string, value: number | bigint | boolean | Uint8Array): this {
    return this.setGlobal(name, value);
  }

  /**
   * Sizes a map before load (bpf_map__set_max_entries), e.g. a bounded hash sized from a user option
   * instead of the constant compiled into the object.
   */
  setMaxEntries(mapName: string, maxEntries: number): this {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 0xffffffff) {
      throw new Error(`max entries of map ${mapName} must be an integer from 1 to 4294967295, got ${maxEntries}`);
    }
    if (this.isLoaded) throw new Error(`BPF object ${this.path} is loaded: map ${mapName} can only be sized before load`);
    const n = this.native as NativeAddon & Partial<MaxEntriesAddon>;
    if (typeof n.objSetMaxEntries !== 'function') throw new Error('the native addon is older than this oscope: rebuild it (make native)');
    n.objSetMaxEntries(this.nativeHandle, mapName, maxEntries);
    return this;
  }

  /** Excludes a program from load (e.g. one whose attach point this kernel lacks). */
  setAutoload(program: string, autoload: boolean): this {
    this.native.progSetAutoload(this.nativeHandle, program, autoload);
    return this;
  }

  /** Loads the programs and creates the maps. A verifier rejection throws with its log in `err.log`. */
  load(): this {
    try {
      this.native.objLoad(this.nativeHandle);
    } catch (err) {
      throw explainLoadError(err);
    }
    this.isLoaded = true;
    return this;
  }

  program(name: string): BpfProgram {
    if (!this.programs().some((p) => p.name === name)) throw new Error(`BPF object ${this.path} has no program named ${name}`);
    return new BpfProgram(this, this.native, name);
  }

  /**
   * A map of the loaded object (internal maps by section: '.bss', '.data', '.rodata'). The same BpfMap
   * is returned for a name until it is closed; it stays valid until then or until the object closes.
   */
  map(name: string): BpfMap {
    const open = this.mapCache.get(name);
    if (open && !open.closed) return open;
    const m = this.openMap(name);
    this.mapCache.set(name, m);
    return m;
  }

  private openMap(name: string): BpfMap {
    const m = new BpfMap(this.native, this.native.mapOpen(this.nativeHandle, name), name, (x) => this.owned.delete(x));
    this.owned.add(m);
    return m;
  }

  /** A consumer of a BPF_MAP_TYPE_RINGBUF map, polled on a thread of its own. */
  ringBuffer(mapName: string, opts: RingBufferOptions = {}): RingBuffer {
    const map = this.openMap(mapName);
    const rb = new RingBuffer(this.native, map, opts, (x) => this.owned.delete(x));
    this.owned.add(rb);
    return rb;
  }

  /** @internal */
  adopt(link: BpfLink): BpfLink {
    this.owned.add(link);
    return link;
  }

  /** @internal */
  release(x: Closable): void {
    this.owned.delete(x);
  }

  /** Stops ring buffers, destroys links, closes maps, then the object. Idempotent. */
  close(): void {
    if (!this.handle) return;
    const order = (x: Closable): number => (x instanceof RingBuffer ? 0 : x instanceof BpfLink ? 1 : 2);
    for (const x of [...this.owned].sort((a, b) => order(a) - order(b))) {
      try {
        x.close();
      } catch {
        /* keep closing the rest */
      }
    }
    this.owned.clear();
    this.mapCache.clear();
    this.native.objClose(this.handle);
    this.handle = undefined;
  }
}

export function encodeGlobal(name: string, size: number, value: number | bigint | boolean | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new Error(`global ${name} is ${size} bytes, got ${value.length}`);
    return value;
  }
  const buf = Buffer.alloc(size);
  const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  if (![1, 2, 4, 8].includes(size)) throw new Error(`global ${name} is ${size} bytes: pass a Uint8Array`);
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (v < min || v > max) throw new Error(`value ${String(value)} does not fit global ${name} (${size} bytes)`);
  const u = BigInt.asUintN(Number(bits), v);
  for (let i = 0; i < size; i++) buf[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return buf;
}

export class BpfProgram {
  constructor(
    private readonly obj: BpfObject,
    private readonly native: NativeAddon,
    readonly name: string,
  ) {}

  /** The kernel's view once loaded: id (as bpftool shows it), tag, type. */
  info(): NativeProgramInfo {
    return this.native.progInfo(this.obj.nativeHandle, this.name);
  }

  /** Attaches as the program's SEC() says (tracepoint/, raw_tp/, tp_btf/, fentry/, iter/ ...). */
  attach(): BpfLink {
    return this.link(() => this.native.progAttach(this.obj.nativeHandle, this.name));
  }

  /** A classic tracepoint (needs tracefs mounted to find the tracepoint's id). */
  attachTracepoint(category: string, name: string): BpfLink {
    return this.link(() => this.native.progAttachTracepoint(this.obj.nativeHandle, this.name, category, name));
  }

  attachRawTracepoint(name: string): BpfLink {
    return this.link(() => this.native.progAttachRawTracepoint(this.obj.nativeHandle, this.name, name));
  }

  /** A kprobe (or, with retprobe, a kretprobe) on kernel function `fn`: for SEC("kprobe")/SEC("kretprobe") programs. */
  attachKprobe(fn: string, retprobe = false): BpfLink {
    return this.link(() => this.native.progAttachKprobe(this.obj.nativeHandle, this.name, retprobe, fn));
  }

  /** tp_btf, fentry, fexit, fmod_ret: the target is in the program's SEC(). */
  attachTrace(): BpfLink {
    return this.link(() => this.native.progAttachTrace(this.obj.nativeHandle, this.name));
  }

  attachPerfEvent(perf: PerfEvent): BpfLink {
    return this.link(() => this.native.progAttachPerfEvent(this.obj.nativeHandle, this.name, perf.nativeHandle));
  }

  /** A bpf_iter program (iter/task, iter/bpf_map, ...): read its output with link.readIter(). */
  attachIter(): BpfLink {
    return this.link(() => this.native.progAttachIter(this.obj.nativeHandle, this.name));
  }

  private link(make: () => LinkHandle): BpfLink {
    try {
      return this.obj.adopt(new BpfLink(this.native, make(), this.name, (x) => this.obj.release(x)));
    } catch (err) {
      throw explainAttachError(err, this.name);
    }
  }
}

/**
 * Names the program and the verifier's verdict (the last line of its log before the statistics) in the
 * message of a load failure; the whole log stays in `err.log`.
 */
export function explainLoadError(err: unknown): unknown {
  if (!isNativeError(err) || !err.log) return err;
  const m = /prog '([^']+)': -- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(err.log);
  if (!m) return err;
  const lines = m[2]!.split('\n').filter((l) => l.trim() !== '' && !/^(processed \d+ insns|verification time)/.test(l));
  const verdict = lines[lines.length - 1];
  if (verdict) err.message += ` (the verifier rejected ${m[1]!}: ${verdict.trim()}; the full log is in err.log)`;
  return err;
}

/** Adds what a user needs to know to an attach failure the kernel explains badly. */
function explainAttachError(err: unknown, program: string): unknown {
  if (!isNativeError(err)) return err;
  if (err.code === 'ENOENT' && err.syscall.includes('attach') && !tracefsMounted()) {
    err.message += ` (program ${program}: tracefs is not mounted at /sys/kernel/tracing, so classic tracepoints cannot be found; raw_tp and tp_btf programs do not need it)`;
  } else if (err.code === 'ENOTSUPP' || err.code === 'EOPNOTSUPP') {
    err.message += ` (program ${program}: this kernel does not support this attach type)`;
  }
  return err;
}

export function tracefsMounted(): boolean {
  return existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
}

export class BpfLink {
  private handle: LinkHandle | undefined;

  constructor(
    private readonly native: NativeAddon,
    handle: LinkHandle,
    readonly program: string,
    private readonly onClose: (x: BpfLink) => void,
  ) {
    this.handle = handle;
  }

  get destroyed(): boolean {
    return this.handle === undefined;
  }

  /** One full pass of an iterator program, read on the calling thread. */
  readIter(): Buffer {
    return this.native.iterRead(this.live());
  }

  /** The same, read on the libuv thread pool (for iterators with much output). */
  readIterAsync(): Promise<Buffer> {
    return this.native.iterReadAsync(this.live());
  }

  /** Detaches. Idempotent. */
  destroy(): void {
    if (!this.handle) return;
    this.native.linkDestroy(this.handle);
    this.handle = undefined;
    this.onClose(this);
  }

  close(): void {
    this.destroy();
  }

  private live(): LinkHandle {
    if (!this.handle) throw new Error(`the link of ${this.program} was destroyed`);
    return this.handle;
  }
}
