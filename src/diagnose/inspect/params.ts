/**
 * Parameters of the inspection (`oscope inspect`, the agent's `inspect` task): one schema, its defaults
 * and bounds, shared by the CLI and the agent (see src/diagnose/params.ts). The agent takes a subset
 * and a default window of its own (src/agent/diagnoses/inspect.ts): only the host's own logs, and the
 * last 24 hours unless asked, at most 90 days.
 */
import { z } from 'zod';
import { type FlagMap, numberIn } from '../params.js';
import { ThresholdOverridesSchema } from '../thresholds.js';

const path = z.string().min(1, 'a path').max(4096, 'a path');

export const InspectParamsObject = z
  .object({
    /** Only log reports of the last sinceH hours (`--since 24h`, `--since 7d` or an ISO 8601 time). Absent: the whole log. */
    sinceH: numberIn(0, 24 * 365 * 100, 'a time in the past (a number of hours above 0)', { minExclusive: true }).optional(),
    /** Run the indicator, configuration and hardware checks (`--no-checks` turns them off). Absent: yes, unless logFiles are given. */
    checks: z.boolean().optional(),
    /** Inspect these kernel log files instead of the host's logs (`--log FILE...`). */
    logFiles: z.array(path).min(1).optional(),
    /** Also load the rule files (*.json) in these directories (`--rules DIR...`). */
    rulesDirs: z.array(path).optional(),
    /** Threshold overrides (`--threshold key=value`, `--config FILE`): inspect reads the inspect.* keys. */
    thresholds: ThresholdOverridesSchema.optional(),
  })
  .strict();
export const InspectParamsSchema = InspectParamsObject;
export type InspectParams = z.infer<typeof InspectParamsObject>;

export const INSPECT_FLAGS: FlagMap<InspectParams> = { sinceH: '--since', checks: '--no-checks', logFiles: '--log', rulesDirs: '--rules', thresholds: '--threshold' };

/** Whether the host checks run: asked for, else only when the host's own logs are read. */
export function inspectChecks(p: InspectParams): boolean {
  return p.checks ?? !(p.logFiles && p.logFiles.length > 0);
}
