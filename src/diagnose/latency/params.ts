/**
 * Parameters of the one-shot latency trace (`oscope runlatency -i`, the agent's `runlatency` task): one
 * schema, its defaults and bounds, shared by the CLI and the agent (see src/diagnose/params.ts). The
 * agent caps the trace on top (src/agent/diagnoses/more.ts, AGENT_RUNLATENCY_MAX_DURATION_S).
 */
import { z } from 'zod';
import { type FlagMap, numberIn } from '../params.js';
import { ThresholdOverridesSchema } from '../thresholds.js';
import type { LatencyFilters } from './run.js';

export const RUNLATENCY_MAX_DURATION_S = 86_400;

export const RunlatencyParamsSchema = z
  .object({
    /** Trace this long, seconds (`-i`). */
    durationS: numberIn(0, RUNLATENCY_MAX_DURATION_S, `a number of seconds above 0, at most ${RUNLATENCY_MAX_DURATION_S}`, { minExclusive: true }).default(10),
    /** Only this process: victim of run-queue and no-schedule events (`--pid`). */
    pid: numberIn(0, 2 ** 22, 'a non-negative integer', { int: true }).optional(),
    /** Only tasks of this cgroup: a v2 path, or v1 as controller:/path or a path under a v1 mount (`--cgroup`). */
    cgroup: z.string().min(1, 'a cgroup path').max(4096, 'a cgroup path').optional(),
    /** Only tasks of this container (id prefix) or systemd service (`--container`). */
    container: z.string().min(1, 'a container id or service name').max(256, 'a container id or service name').optional(),
    /** Only this CPU (`--cpu`). */
    cpu: numberIn(0, 8191, 'a non-negative integer', { int: true }).optional(),
    /**
     * Threshold overrides (`--threshold`, `--config`): the lat.* keys; the CLI's `kind=Nms` form
     * (`runqueue=30ms`) is `lat.<kind>Ms` here.
     */
    thresholds: ThresholdOverridesSchema.optional(),
  })
  .strict();
export type RunlatencyParams = z.infer<typeof RunlatencyParamsSchema>;

export const RUNLATENCY_FLAGS: FlagMap<RunlatencyParams> = { durationS: '-i', pid: '--pid', cgroup: '--cgroup', container: '--container', cpu: '--cpu', thresholds: '--threshold' };

/** The filters of the parameters, as the tracer takes them. */
export function latencyFilters(p: RunlatencyParams): LatencyFilters {
  const out: LatencyFilters = {};
  if (p.pid !== undefined) out.pid = p.pid;
  if (p.cpu !== undefined) out.cpu = p.cpu;
  if (p.cgroup !== undefined) out.cgroup = p.cgroup;
  if (p.container !== undefined) out.container = p.container;
  return out;
}
