/** Parameters of the health score (`oscope health`, the agent's `health` task): threshold overrides (the health.* keys are the weights). */
import { z } from 'zod';
import type { FlagMap } from '../params.js';
import { ThresholdOverridesSchema } from '../thresholds.js';

export const HealthParamsObject = z
  .object({
    /** Threshold overrides (`--threshold key=value`, `--config FILE`): the health.* keys are the formula's weights. */
    thresholds: ThresholdOverridesSchema.optional(),
  })
  .strict();
export const HealthParamsSchema = HealthParamsObject;
export type HealthParams = z.infer<typeof HealthParamsObject>;
export const HEALTH_FLAGS: FlagMap<HealthParams> = { thresholds: '--threshold' };
