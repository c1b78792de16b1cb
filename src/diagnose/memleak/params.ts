/**
 * Parameters of the kernel memory leak watch (`oscope memleak`, the agent's `memleak` task): one schema,
 * its defaults and bounds, shared by the CLI and the agent (see src/diagnose/params.ts). The agent caps
 * the watch on top (src/agent/diagnoses/more.ts, AGENT_MEMLEAK_MAX_DURATION_S): its tasks time out.
 */
import { z } from 'zod';
import { LEAK_TYPES } from '../../contract/memleak.js';
import { type FlagMap, numberIn } from '../params.js';
import { ThresholdOverridesSchema } from '../thresholds.js';

/** Live allocations the BPF tracer holds by default (8 bytes of key and 24 of value each, plus hash overhead). */
export const MEMLEAK_MAX_TRACKED = 65536;
/** Allocations traced per second at most by default; above it the tracer samples adaptively. */
export const MEMLEAK_DEFAULT_BUDGET_PER_S = 20_000;
/** A watch lasts at most a day: long enough for slow leaks (KiB/s), short enough to end. */
export const MEMLEAK_MAX_DURATION_S = 86_400;

export const MemleakParamsObject = z
  .object({
    /**
     * The instant check (`-c`): counters only, with the trend over the agent's memory history; the watch
     * fields are then ignored.
     */
    check: z.boolean().default(false),
    /** What to watch (`-t`). */
    type: z.enum(LEAK_TYPES, { errorMap: () => ({ message: 'slab, page or vmalloc' }) }).default('slab'),
    /** How long to watch, seconds (`-i`). */
    durationS: numberIn(1, MEMLEAK_MAX_DURATION_S, `a number of seconds from 1 to ${MEMLEAK_MAX_DURATION_S}`).default(60),
    /** Watch and trace this slab cache, vmalloc caller (`func [module]`) or page counter instead of the suspect (`--cache`). */
    cache: z.string().regex(/^[\w.:()[\] +-]{1,128}$/, 'a slab cache, vmalloc caller or page counter name').optional(),
    /** Report allocations still live after this long, seconds (`--min-age`); default a third of the watch, 1 to 30. */
    minAgeS: numberIn(0, MEMLEAK_MAX_DURATION_S, 'a number of seconds of at least 0').optional(),
    /** Seconds between counter samples (`--sample-interval`); default the watch / 30, 0.5 to 5. */
    sampleIntervalS: numberIn(0.1, 3600, 'a number of seconds from 0.1 to 3600').optional(),
    /** Trace allocations with BPF (`--no-trace` turns it off: counters only). Default true. */
    trace: z.boolean().optional(),
    /** Live allocations the tracer can hold (`--max-live`). Default MEMLEAK_MAX_TRACKED. */
    maxLive: numberIn(1024, 16_777_216, 'a whole number from 1024 to 16777216', { int: true }).optional(),
    /** Allocations traced per second at most, 0 = every one (`--trace-budget`). Default MEMLEAK_DEFAULT_BUDGET_PER_S. */
    traceBudgetPerS: numberIn(0, 10_000_000, 'a whole number from 0 to 10000000', { int: true }).optional(),
    /** Threshold overrides (`--threshold key=value`, `--config FILE`); memleak reads the memleak.* keys. */
    thresholds: ThresholdOverridesSchema.optional(),
  })
  .strict();

/** --min-age must be shorter than the watch. */
export const minAgeBelowDuration = (p: { check: boolean; durationS: number; minAgeS?: number | undefined }): boolean => p.check || p.minAgeS === undefined || p.minAgeS < p.durationS;
export const MIN_AGE_BELOW_DURATION = { message: 'the minimum age (--min-age, minAgeS) must be shorter than the watch (-i, durationS)', path: ['minAgeS'] };

export const MemleakParamsSchema = MemleakParamsObject.refine(minAgeBelowDuration, MIN_AGE_BELOW_DURATION);
export type MemleakParams = z.infer<typeof MemleakParamsObject>;

export const MEMLEAK_FLAGS: FlagMap<MemleakParams> = {
  check: '-c',
  type: '-t',
  durationS: '-i',
  cache: '--cache',
  minAgeS: '--min-age',
  sampleIntervalS: '--sample-interval',
  trace: '--no-trace',
  maxLive: '--max-live',
  traceBudgetPerS: '--trace-budget',
  thresholds: '--threshold',
};

/** A third of the watch, 1 to 30 s; half of a watch shorter than 2 s (so `-i 1` works). */
export function defaultMinAgeS(durationS: number): number {
  const m = Math.min(30, Math.max(1, Math.round(durationS / 3)));
  return m < durationS ? m : durationS / 2;
}

/** The watch's effective timing and tracer settings: the defaults that depend on the watch's length. */
export function memleakSettings(p: MemleakParams): { minAgeS: number; sampleIntervalS: number; trace: boolean; maxLive: number; traceBudgetPerS: number } {
  return {
    minAgeS: p.minAgeS ?? defaultMinAgeS(p.durationS),
    sampleIntervalS: p.sampleIntervalS ?? Math.min(5, Math.max(0.5, p.durationS / 30)),
    trace: p.trace ?? true,
    maxLive: p.maxLive ?? MEMLEAK_MAX_TRACKED,
    traceBudgetPerS: p.traceBudgetPerS ?? MEMLEAK_DEFAULT_BUDGET_PER_S,
  };
}
