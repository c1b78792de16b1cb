/**
 * The agent's memory history for memleak's instant check (`oscope memleak -c` and the console's
 * `memleak` task with `check: true`): a bounded ring of the three leak counters, one point per
 * `stepS` (default 60 s) for `keepS` (default 24 h), so the check can give a trend in bytes/s.
 * With `persistTo(file)` (the agent's state directory) the ring survives an agent restart: each kept
 * point is appended to a JSON-lines file, which is rewritten to the ring when it has grown to twice it.
 */
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { MemHistoryPoint } from './local.js';
import type { LeakCounters } from './collect.js';

export interface MemHistoryOptions {
  /** Seconds between kept points (default 60; the agent's interval when that is longer). */
  stepS?: number;
  /** Seconds of history kept (default 86400). */
  keepS?: number;
}

export class MemHistory {
  private ring: MemHistoryPoint[] = [];
  private file: string | undefined;
  private appended = 0;
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
    const p: MemHistoryPoint = { tS, slabUnreclaimableBytes: c.slabUnreclaimableBytes, vmallocBytes: c.vmallocBytes, unaccountedBytes: c.unaccountedBytes };
    this.ring.push(p);
    while (this.ring.length > this.capacity || (this.ring.length > 0 && this.ring[0]!.tS < tS - this.keepS)) this.ring.shift();
    if (this.file) {
      try {
        if (++this.appended > this.capacity) this.rewrite();
        else appendFileSync(this.file, `${JSON.stringify(p)}\n`, { mode: 0o600 });
      } catch {
        this.file = undefined; // a full or read-only disk: keep the history in memory
      }
    }
    return true;
  }

  /**
   * Keeps the ring in `file` from now on. Points already there (a previous run's, not older than
   * `keepS`, malformed lines skipped) come before the ones this run has. Returns how many were loaded.
   */
  persistTo(file: string, nowMs = Date.now()): number {
    const oldest = Math.round(nowMs / 1000) - this.keepS;
    const firstOwn = this.ring[0]?.tS ?? Infinity;
    const loaded: MemHistoryPoint[] = [];
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* no file yet */
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        continue;
      }
      if (!isPoint(v) || v.tS < oldest || v.tS >= firstOwn) continue;
      if (loaded.length > 0 && v.tS - loaded.at(-1)!.tS < this.stepS) continue;
      loaded.push({ tS: v.tS, slabUnreclaimableBytes: v.slabUnreclaimableBytes, vmallocBytes: v.vmallocBytes, unaccountedBytes: v.unaccountedBytes });
    }
    this.ring = [...loaded, ...this.ring].slice(-this.capacity);
    this.file = file;
    try {
      this.rewrite();
    } catch {
      this.file = undefined;
    }
    return loaded.length;
  }

  private rewrite(): void {
    const file = this.file!;
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, this.ring.map((p) => `${JSON.stringify(p)}\n`).join(''), { mode: 0o600 });
    renameSync(tmp, file);
    this.appended = 0;
  }

  /** The points, oldest first (a copy). */
  points(): MemHistoryPoint[] {
    return this.ring.map((p) => ({ ...p }));
  }

  get size(): number {
    return this.ring.length;
  }
}

function isPoint(v: unknown): v is MemHistoryPoint {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return ['tS', 'slabUnreclaimableBytes', 'vmallocBytes', 'unaccountedBytes'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= 0);
}
