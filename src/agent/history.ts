/**
 * The agent's memory history for memleak's instant check (`oscope memleak -c` and the console's
 * `memleak` task with `check: true`): a bounded ring of the three leak counters, one point per
 * `stepS` (default 60 s) for `keepS` (default 24 h), so the check can give a trend in bytes/s.
 */
import type { MemHistoryPoint } from './local.js';
import type { LeakCounters } from './collect.js';

export interface MemHistoryOptions {
  /** Seconds between kept points (default 60; the agent's interval when that is longer). */
  stepS?: number;
  /** Seconds of history kept (default 86400). */
  keepS?: number;
}

export class MemHistory {
  private readonly ring: MemHistoryPoint[] = [];
  readonly stepS: number;
  readonly keepS: number;

  constructor(opts: MemHistoryOptions = {}) {
    this.stepS = opts.stepS ?? 60;
    this.keepS = opts.keepS ?? 86_400;
  }

  /** Most points the ring holds. */
  get capacity(): number {
    return Math.max(1, Math.ceil(this.keepS / this.stepS));
  }

  /** Adds a collection (ms since the epoch): kept when `stepS` has passed since the last kept point. */
  add(tsMs: number, c: LeakCounters): boolean {
    const tS = Math.round(tsMs / 1000);
    const last = this.ring.at(-1);
    if (last && tS - last.tS < this.stepS) return false;
    this.ring.push({ tS, slabUnreclaimableBytes: c.slabUnreclaimableBytes, vmallocBytes: c.vmallocBytes, unaccountedBytes: c.unaccountedBytes });
    while (this.ring.length > this.capacity || (this.ring.length > 0 && this.ring[0]!.tS < tS - this.keepS)) this.ring.shift();
    return true;
  }

  /** The points, oldest first (a copy). */
  points(): MemHistoryPoint[] {
    return this.ring.map((p) => ({ ...p }));
  }

  get size(): number {
    return this.ring.length;
  }
}
