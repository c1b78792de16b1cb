/**
 * `oscope.profile/v1`: where the CPUs spend their time (on-CPU sampling), or where tasks block
 * (`--off-cpu`), by function and by stack, per process and container. Built by src/diagnose/profile/;
 * the formats other tools read (folded, pprof, speedscope, an interactive SVG flame graph) are renderings
 * of this document (src/report/profile-formats.ts), and `oscope profile diff A.json B.json` compares two.
 *
 * Units: on-CPU, a count is a number of samples (`hz` per second of busy CPU); off-CPU, a count is
 * microseconds spent blocked (`unit` says which), and `hz` is 0.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, MethodSchema } from './common.js';

export const PROFILE_SCHEMA = 'oscope.profile/v1';

const count = z.number().int().nonnegative();
const pct = z.number().min(0).max(100);

export const ProfileFunctionSchema = z
  .object({
    /** The symbol (`work_a`, `do_syscall_64`), a JIT name, or `[unknown: why]`. */
    name: z.string(),
    /** Where it lives: a file's base name (`libc.so.6`), `kernel` (or `kernel:MODULE`), `[jit]`, `[vdso]`. */
    module: z.string(),
    /** Samples (or µs) with this function innermost. */
    selfSamples: count,
    /** selfSamples as a share of `samples`. */
    selfPct: pct,
    /** Share of `samples` whose stack has this function anywhere (recursion counted once). */
    totalPct: pct,
  })
  .strict();
export type ProfileFunction = z.infer<typeof ProfileFunctionSchema>;

export const ProfileStackSchema = z
  .object({
    /** Function names, root (outermost) first, user frames then kernel frames, as a flame graph stacks them. */
    frames: z.array(z.string()),
    count,
  })
  .strict();
export type ProfileStack = z.infer<typeof ProfileStackSchema>;

export const ProfileProcessSchema = z
  .object({ pid: count, comm: z.string(), samples: count, container: ContainerRefSchema.optional() })
  .strict();
export type ProfileProcess = z.infer<typeof ProfileProcessSchema>;

export const ProfileDocumentSchema = z
  .object({
    schema: z.literal(PROFILE_SCHEMA),
    /** `cpu`: on-CPU sampling; `off-cpu`: time blocked (sched_switch). */
    mode: z.enum(['cpu', 'off-cpu']),
    /** What a count is: `samples` (on-CPU) or `us` (off-CPU, microseconds blocked). */
    unit: z.enum(['samples', 'us']),
    /** The perf event sampled: `cycles` (a hardware PMU) or `cpu-clock` (software timer); `sched_switch` off-CPU. */
    event: z.string(),
    intervalS: z.number().nonnegative(),
    /** Samples per second per CPU asked for (0 off-CPU). */
    hz: z.number().int().nonnegative(),
    /** Every sample (or µs) in scope, after filtering. */
    samples: count,
    /** Sorted by selfSamples, most first. */
    functions: z.array(ProfileFunctionSchema),
    /** Sorted by count, most first. */
    stacks: z.array(ProfileStackSchema),
    /** Sorted by samples, most first. */
    processes: z.array(ProfileProcessSchema),
    /** The thresholds in effect (the profile.* keys). */
    thresholds: z.record(z.number()),
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type ProfileDocument = z.infer<typeof ProfileDocumentSchema>;

export const PROFILE_DIFF_SCHEMA = 'oscope.profile-diff/v1';

/** `oscope profile diff A.json B.json`: per function, the share of the profile in A and in B. */
export const ProfileDiffDocumentSchema = z
  .object({
    schema: z.literal(PROFILE_DIFF_SCHEMA),
    before: z.object({ samples: count, intervalS: z.number().nonnegative(), mode: z.enum(['cpu', 'off-cpu']) }).strict(),
    after: z.object({ samples: count, intervalS: z.number().nonnegative(), mode: z.enum(['cpu', 'off-cpu']) }).strict(),
    /** Every function of either side, sorted by deltaSelfPct, hottest first (what got hotter on top). */
    functions: z.array(
      z
        .object({
          name: z.string(),
          module: z.string(),
          beforeSelfPct: pct,
          afterSelfPct: pct,
          /** after − before, in percentage points of each profile's samples. */
          deltaSelfPct: z.number(),
          beforeTotalPct: pct,
          afterTotalPct: pct,
          deltaTotalPct: z.number(),
        })
        .strict(),
    ),
    /** Stacks whose share changed most, root first; deltaPct in points. */
    stacks: z.array(z.object({ frames: z.array(z.string()), beforePct: pct, afterPct: pct, deltaPct: z.number() }).strict()),
    findings: z.array(FindingSchema),
  })
  .strict();
export type ProfileDiffDocument = z.infer<typeof ProfileDiffDocumentSchema>;
