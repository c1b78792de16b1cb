/**
 * The parameters of `oscope profile`, shared by the CLI (flags) and the agent (task params): the
 * interval, the scope (a process, a cgroup, a container), the sampling rate and the mode.
 */
import { z } from 'zod';

/** The highest rate accepted: above it the sampling itself becomes the workload. */
export const PROFILE_MAX_HZ = 10_000;

export const ProfileParamsSchema = z
  .object({
    /** Seconds to sample (or, off-CPU, to trace sched_switch). */
    intervalS: z.number().positive().max(3600).default(10),
    pid: z.number().int().positive().optional(),
    /** A cgroup path (`/system.slice/x.service`, `cpu:/x` for one v1 hierarchy, or under a cgroup mount). */
    cgroup: z.string().min(1).optional(),
    /** A container id prefix (at least 4 characters) or systemd service name. */
    container: z.string().min(4).optional(),
    /** Samples per second per CPU (on-CPU). 49 (not 50) so sampling does not beat with 50/100 Hz timers. */
    hz: z.number().int().min(1).max(PROFILE_MAX_HZ).default(49),
    offCpu: z.boolean().default(false),
    /** Rows kept in `functions` (stacks are all kept: the flame graph needs them). */
    top: z.number().int().positive().max(100_000).default(200),
  })
  .strict();
export type ProfileParams = z.infer<typeof ProfileParamsSchema>;
export type ProfileParamsInput = z.input<typeof ProfileParamsSchema>;
