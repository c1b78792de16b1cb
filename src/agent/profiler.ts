/**
 * Continuous profiling in the agent (issue 15): a low-rate on-CPU profile (19 Hz by default) over one
 * window after another (60 s by default), each window reduced to a compact, size-bounded profile that
 * rides in the next metrics sample (`profile` in the sample data). The console keeps it with the samples
 * (their retention, `--retention-days`), and the node page merges the windows of a time range into one
 * flame graph. Opt-in (`oscope agent --profile-hz 19`): a profile symbolizes every process it saw, once
 * a window.
 *
 * The bound: at most `maxStacks` stacks (the heaviest; the rest summed into `otherSamples`), frames
 * deduplicated into a name table, names cut to 160 characters, and the whole under `maxBytes` of JSON
 * (stacks dropped from the lightest until it fits), well below the sample limit (WIRE_LIMITS).
 */
import type { SampleProfile } from '../contract/agent-wire.js';
import type { ProfileStack } from '../contract/profile.js';
import { analyzeProfile } from '../diagnose/profile/analyze.js';
import { collectProfile } from '../diagnose/profile/collect.js';
import type { ProfileParams } from '../diagnose/profile/params.js';
import { resolveThresholds } from '../diagnose/thresholds.js';
import type { Host } from '../host/host.js';

export const PROFILE_DEFAULT_HZ = 19;
export const PROFILE_MAX_AGENT_HZ = 99;
export const PROFILE_WINDOW_S = 60;
export const PROFILE_MAX_STACKS = 200;
export const PROFILE_MAX_BYTES = 32 * 1024;
const MAX_NAME = 160;
const MAX_FRAMES = 64;

/** One window's stacks as a compact sample profile (heaviest stacks first, bounded in count and bytes). */
export function compactProfile(
  w: { startTs: string; intervalS: number; hz: number; samples: number; stacks: readonly ProfileStack[]; trigger?: string },
  maxStacks = PROFILE_MAX_STACKS,
  maxBytes = PROFILE_MAX_BYTES,
): SampleProfile {
  const sorted = [...w.stacks].sort((a, b) => b.count - a.count);
  let keep = Math.min(maxStacks, sorted.length);
  for (;;) {
    const names: string[] = [];
    const index = new Map<string, number>();
    const stacks: SampleProfile['stacks'] = [];
    for (const s of sorted.slice(0, keep)) {
      // The root side is what a flame graph groups by: keep the outermost frames of a very deep stack.
      const frames = s.frames.slice(0, MAX_FRAMES).map((f) => {
        const name = f.length > MAX_NAME ? `${f.slice(0, MAX_NAME - 1)}…` : f;
        let i = index.get(name);
        if (i === undefined) {
          i = names.length;
          names.push(name);
          index.set(name, i);
        }
        return i;
      });
      stacks.push({ f: frames, n: s.count });
    }
    const kept = stacks.reduce((a, s) => a + s.n, 0);
    const p: SampleProfile = { startTs: w.startTs, intervalS: w.intervalS, hz: w.hz, samples: w.samples, otherSamples: Math.max(0, w.samples - kept), names, stacks, ...(w.trigger ? { trigger: w.trigger } : {}) };
    if (keep === 0 || JSON.stringify(p).length <= maxBytes) return p;
    keep = Math.floor(keep * 0.8);
  }
}

/** The stacks of a sample profile, names restored (root first), for merging and drawing. */
export function expandProfile(p: SampleProfile): ProfileStack[] {
  return p.stacks.map((s) => ({ frames: s.f.map((i) => p.names[i] ?? '?'), count: s.n }));
}

export type ProfileWindowFn = (host: Host, params: ProfileParams, signal: AbortSignal) => Promise<{ stacks: ProfileStack[]; samples: number; hz: number; intervalS: number }>;

export const realWindow: ProfileWindowFn = async (host, params, signal) => {
  const capture = await collectProfile(host, params, { signal });
  const a = analyzeProfile(capture, resolveThresholds(), 1);
  return { stacks: a.stacks, samples: a.samples, hz: a.hz, intervalS: a.intervalS };
};

export interface ContinuousProfilerOptions {
  hz?: number;
  windowS?: number;
  /** For tests: another window function. */
  window?: ProfileWindowFn;
  log?: (line: string) => void;
}

/** Profiles window after window until stopped; `take()` hands over the finished windows (at most 10 kept). */
export class ContinuousProfiler {
  private readonly ready: SampleProfile[] = [];
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  /** Set when a window failed: the reason (the profiler stops; the agent goes on without it). */
  unavailable: string | undefined;
  windows = 0;

  constructor(
    private readonly host: Host,
    private readonly o: ContinuousProfilerOptions = {},
  ) {}

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  private async run(): Promise<void> {
    const hz = this.o.hz ?? PROFILE_DEFAULT_HZ;
    const windowS = this.o.windowS ?? PROFILE_WINDOW_S;
    const win = this.o.window ?? realWindow;
    while (!this.ac.signal.aborted) {
      const startTs = new Date().toISOString();
      const t0 = Date.now();
      try {
        const w = await win(this.host, { intervalS: windowS, hz, offCpu: false, top: 1 }, this.ac.signal);
        if (this.ac.signal.aborted) break;
        this.ready.push(compactProfile({ ...w, startTs }));
        if (this.ready.length > 10) this.ready.shift();
        this.windows++;
        // A window that came back early (nothing to profile) does not turn into a busy loop.
        const rest = Math.max(10, windowS * 1000 - (Date.now() - t0));
        await new Promise<void>((r) => {
          const onAbort = (): void => {
            clearTimeout(timer);
            r();
          };
          const timer = setTimeout(() => {
            this.ac.signal.removeEventListener('abort', onAbort);
            r();
          }, rest);
          this.ac.signal.addEventListener('abort', onAbort, { once: true });
        });
      } catch (err) {
        if (this.ac.signal.aborted) break;
        this.unavailable = (err as Error).message || String(err);
        this.o.log?.(`continuous profiling stopped: ${this.unavailable}`);
        break;
      }
    }
  }

  /** The windows finished since the last call, oldest first. */
  take(): SampleProfile[] {
    return this.ready.splice(0);
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.loop;
  }
}

export interface TriggeredProfilerOptions {
  /** For tests: another window function. */
  window?: ProfileWindowFn;
  log?: (line: string) => void;
  /** For tests: the clock (ms). */
  now?: () => number;
}

/**
 * Profiles on a trigger: an alert rule with `profile` fired. One profile at a time (a trigger while one
 * runs is skipped), at most one per rule per `cooldownS`; the finished window, marked with the rule, is
 * handed over by `take()` like the continuous ones (so it rides in the next sample). A failure is logged
 * and the next trigger tries again (the kernel may allow it later; a cooldown still applies).
 */
export class TriggeredProfiler {
  private readonly ready: SampleProfile[] = [];
  private readonly last = new Map<string, number>();
  private readonly ac = new AbortController();
  private running: Promise<void> | undefined;
  /** Per outcome, for /metrics and tests. */
  readonly counts = { started: 0, done: 0, failed: 0, cooldown: 0, busy: 0 };

  constructor(
    private readonly host: Host,
    private readonly o: TriggeredProfilerOptions = {},
  ) {}

  /** Starts a profile for `rule` unless one runs or the rule's cooldown has not passed; true when started. */
  trigger(rule: string, p: { intervalS: number; hz: number; cooldownS: number }): boolean {
    const now = (this.o.now ?? Date.now)();
    const prev = this.last.get(rule);
    if (prev !== undefined && now - prev < p.cooldownS * 1000) {
      this.counts.cooldown++;
      return false;
    }
    if (this.running || this.ac.signal.aborted) {
      this.counts.busy++;
      return false;
    }
    this.last.set(rule, now);
    this.counts.started++;
    const win = this.o.window ?? realWindow;
    const startTs = new Date(now).toISOString();
    this.o.log?.(`rule ${rule} fired: profiling ${p.intervalS} s at ${p.hz} Hz`);
    this.running = win(this.host, { intervalS: p.intervalS, hz: p.hz, offCpu: false, top: 1 }, this.ac.signal)
      .then((w) => {
        if (this.ac.signal.aborted) return;
        this.ready.push(compactProfile({ ...w, startTs, trigger: rule }));
        if (this.ready.length > 10) this.ready.shift();
        this.counts.done++;
      })
      .catch((err: unknown) => {
        this.counts.failed++;
        if (!this.ac.signal.aborted) this.o.log?.(`triggered profile for ${rule} failed: ${(err as Error).message || String(err)}`);
      })
      .finally(() => {
        this.running = undefined;
      });
    return true;
  }

  /** Resolves when the running profile (if any) has finished. */
  async idle(): Promise<void> {
    await this.running;
  }

  take(): SampleProfile[] {
    return this.ready.splice(0);
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.running;
  }
}
