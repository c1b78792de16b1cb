/**
 * A loaded BPF map: lookup / update / delete / key walk, and dumps that use the kernel's batch
 * operations where it has them (one syscall per few thousand entries instead of two per entry).
 *
 * Keys and values are raw bytes in the program's layout (little-endian on x86/arm64); `TypedMap` puts
 * codecs on top. Per-CPU maps return one value per possible CPU, each rounded up to 8 bytes
 * (see `perCpu()`).
 */
import type { MapHandle, NativeAddon, NativeMapInfo } from '../native.js';
import { BPF_ANY } from './constants.js';

export interface MapEntry {
  key: Buffer;
  value: Buffer;
}

export class BpfMap {
  private handle: MapHandle | undefined;
  readonly info: NativeMapInfo;

  constructor(
    private readonly native: NativeAddon,
    handle: MapHandle,
    readonly name: string,
    private readonly onClose: (x: BpfMap) => void = () => undefined,
  ) {
    this.handle = handle;
    this.info = native.mapInfo(handle);
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  /** @internal */
  get nativeHandle(): MapHandle {
    if (!this.handle) throw new Error(`BPF map ${this.name} is closed`);
    return this.handle;
  }

  lookup(key: Uint8Array | null): Buffer | undefined {
    return this.native.mapLookup(this.nativeHandle, key) ?? undefined;
  }

  update(key: Uint8Array | null, value: Uint8Array, flags: number = BPF_ANY): void {
    this.native.mapUpdate(this.nativeHandle, key, value, flags);
  }

  /** True if the key was there. */
  delete(key: Uint8Array): boolean {
    return this.native.mapDelete(this.nativeHandle, key);
  }

  /** Walks the keys (BPF_MAP_GET_NEXT_KEY); entries changing meanwhile may be seen twice or missed. */
  *keys(): Generator<Buffer> {
    let key: Buffer | null = null;
    for (;;) {
      key = this.native.mapNextKey(this.nativeHandle, key);
      if (!key) return;
      yield key;
    }
  }

  /** All entries, batched when the kernel allows; `delete: true` empties what it read (atomic per entry). */
  dump(opts: { delete?: boolean } = {}): { entries: MapEntry[]; batched: boolean } {
    const d = this.native.mapDump(this.nativeHandle, opts.delete === true);
    const ks = this.info.keySize;
    const vs = this.info.valueStride;
    const entries: MapEntry[] = [];
    for (let i = 0; i < d.count; i++) {
      entries.push({ key: d.keys.subarray(i * ks, (i + 1) * ks), value: d.values.subarray(i * vs, (i + 1) * vs) });
    }
    return { entries, batched: d.batched };
  }

  /** Deletes these keys (batched when possible); returns how many were deleted. */
  deleteMany(keys: readonly Uint8Array[]): number {
    if (keys.length === 0) return 0;
    return this.native.mapDeleteBatch(this.nativeHandle, Buffer.concat(keys));
  }

  /** Closes this handle (the map lives on while its object or programs hold it). Idempotent. */
  close(): void {
    if (!this.handle) return;
    this.native.mapClose(this.handle);
    this.handle = undefined;
    this.onClose(this);
  }
}

/** Encodes and decodes one side of a map entry. */
export interface Codec<T> {
  size?: number;
  encode(v: T): Uint8Array;
  decode(b: Buffer): T;
}

export const u32: Codec<number> = {
  size: 4,
  encode: (v) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  },
  decode: (b) => b.readUInt32LE(0),
};

export const u64: Codec<bigint> = {
  size: 8,
  encode: (v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  },
  decode: (b) => b.readBigUInt64LE(0),
};

/** The per-CPU slices of a per-CPU map value (each slot rounded up to 8 bytes). */
export function perCpu(value: Buffer, valueSize: number): Buffer[] {
  const slot = (valueSize + 7) & ~7;
  const out: Buffer[] = [];
  for (let off = 0; off + slot <= value.length; off += slot) out.push(value.subarray(off, off + valueSize));
  return out;
}

/** Sum of a per-CPU u64 counter. */
export function sumPerCpuU64(value: Buffer): bigint {
  let s = 0n;
  for (let off = 0; off + 8 <= value.length; off += 8) s += value.readBigUInt64LE(off);
  return s;
}

/** A map with codecs on keys and values. */
export class TypedMap<K, V> {
  constructor(
    readonly map: BpfMap,
    private readonly key: Codec<K>,
    private readonly value: Codec<V>,
  ) {}

  get(k: K): V | undefined {
    const v = this.map.lookup(this.key.encode(k));
    return v ? this.value.decode(v) : undefined;
  }

  set(k: K, v: V, flags: number = BPF_ANY): void {
    this.map.update(this.key.encode(k), this.value.encode(v), flags);
  }

  delete(k: K): boolean {
    return this.map.delete(this.key.encode(k));
  }

  entries(opts: { delete?: boolean } = {}): Array<[K, V]> {
    return this.map.dump(opts).entries.map((e) => [this.key.decode(e.key), this.value.decode(e.value)]);
  }
}
