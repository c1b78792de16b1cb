/**
 * Parameters of the memory panorama (`oscope mem`, the agent's `mem` task): one schema, its defaults
 * and bounds, shared by the CLI and the agent (see src/diagnose/params.ts).
 */
import { z } from 'zod';
import { type FlagMap, numberIn } from '../params.js';
import { ThresholdOverridesSchema } from '../thresholds.js';

export const MemParamsSchema = z
  .object({
    /** Rows in the process and cgroup tables (`--top`). The whole /proc is read anyway: this bounds the document. */
    top: numberIn(1, 100_000, 'a whole number from 1 to 100000', { int: true }).default(30),
    /** Cross-check with /proc/kpageflags: slower, a more precise unaccounted figure (`--no-kpage` turns it off). */
    kpage: z.boolean().default(true),
    /** Threshold overrides, keys of src/diagnose/thresholds.ts (`--threshold key=value`, `--config FILE`). */
    thresholds: ThresholdOverridesSchema.default({}),
  })
  .strict();
export type MemParams = z.infer<typeof MemParamsSchema>;

export const MEM_FLAGS: FlagMap<MemParams> = { top: '--top', kpage: '--no-kpage', thresholds: '--threshold' };
