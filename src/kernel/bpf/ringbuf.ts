/**
 * A BPF ring buffer consumed off the JS thread: the addon's thread polls it (ring_buffer__poll) and
 * hands each poll's records over in one batch. Use it with a callback (`onRecords`) or as an async
 * iterator; `close()` stops the thread (within one 100 ms poll interval) and ends iterators.
 *
 * Backpressure: when JS falls behind, the addon stops consuming after 64 undelivered batches and the
 * kernel ring fills (the BPF program sees bpf_ringbuf_reserve fail and should count it); records
 * already delivered but not yet taken by an iterator are capped at `maxQueued`, beyond which they are
 * dropped and counted in `dropped`. Records are views into the batch buffer: copy what you keep long.
 *
 * An open ring buffer keeps the process alive, like a socket; `unref()` changes that.
 */
import type { NativeAddon, NativeRingBufferStats, RingBufferHandle } from '../native.js';
import type { BpfMap } from './map.js';

export interface RingBufferOptions {
  /** Called on the JS thread with each batch of records; without it, iterate the ring buffer. */
  onRecords?: (records: Buffer[]) => void;
  /** Records queued for an iterator before new ones are dropped (default 100,000). */
  maxQueued?: number;
}

/** Splits one delivered batch: `count` records of [u32 length][payload][pad to 8]. */
export function splitBatch(batch: Buffer, count: number): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; i < count && off + 4 <= batch.length; i++) {
    const len = batch.readUInt32LE(off);
    out.push(batch.subarray(off + 4, off + 4 + len));
    off += 4 + ((len + 7) & ~7);
  }
  return out;
}

export class RingBuffer implements AsyncIterable<Buffer> {
  private handle: RingBufferHandle | undefined;
  private readonly queue: Buffer[] = [];
  private waiters: Array<(r: IteratorResult<Buffer>) => void> = [];
  private droppedRecords = 0;
  private receivedRecords = 0;
  private readonly maxQueued: number;

  constructor(
    private readonly native: NativeAddon,
    private readonly map: BpfMap,
    private readonly opts: RingBufferOptions,
    private readonly onClose: (x: RingBuffer) => void = () => undefined,
  ) {
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.handle = native.ringbufOpen(map.nativeHandle, (batch, count) => this.deliver(batch, count));
  }

  /** Records received from the kernel so far. */
  get received(): number {
    return this.receivedRecords;
  }

  /** Records dropped because an iterator did not keep up (see maxQueued). */
  get dropped(): number {
    return this.droppedRecords;
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  stats(): NativeRingBufferStats | undefined {
    return this.handle ? this.native.ringbufStats(this.handle) : undefined;
  }

  /** Let the process exit while this ring buffer is open (it does not by default). */
  unref(): this {
    if (this.handle) this.native.ringbufRef(this.handle, false);
    return this;
  }

  ref(): this {
    if (this.handle) this.native.ringbufRef(this.handle, true);
    return this;
  }

  private deliver(batch: Buffer, count: number): void {
    if (!this.handle) return;
    const records = splitBatch(batch, count);
    this.receivedRecords += records.length;
    if (this.opts.onRecords) {
      this.opts.onRecords(records);
      return;
    }
    for (const r of records) {
      const w = this.waiters.shift();
      if (w) w({ value: r, done: false });
      else if (this.queue.length < this.maxQueued) this.queue.push(r);
      else this.droppedRecords++;
    }
  }

  /** The next record, or undefined once closed. */
  next(): Promise<Buffer | undefined> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    if (!this.handle) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push((x) => resolve(x.done ? undefined : x.value)));
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        const r = await this.next();
        return r ? { value: r, done: false } : { value: undefined, done: true };
      },
      return: (): Promise<IteratorResult<Buffer>> => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Stops polling, drops undelivered batches, ends iterators. Idempotent. */
  close(): void {
    if (!this.handle) return;
    this.native.ringbufClose(this.handle);
    this.handle = undefined;
    this.map.close();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f({ value: undefined, done: true });
    this.onClose(this);
  }
}
