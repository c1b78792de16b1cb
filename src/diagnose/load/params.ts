/**
 * The parameters of `oscope load`, shared by the CLI (flags) and the agent (task params): the interval,
 * the sampling rate and the scope (a cgroup, a container or a pod). Thresholds are the load.* keys of
 * src/diagnose/thresholds.ts.
 */
import { z } from 'zod';

export const LoadParamsSchema = z
  .object({
    /** Seconds to sample over. */
    intervalS: z.number().positive().max(3600).default(5),
    /** Task samples per second (each one BPF iterator pass, or a /proc walk without BPF). */
    sampleHz: z.number().positive().max(100).default(10),
    /** A cgroup path in the cpu hierarchy (v1 `cpu` controller, or v2); `cpu:/path` also taken. */
    cgroup: z.string().min(1).optional(),
    /** A container id prefix (at least 4 characters), name or systemd service. */
    container: z.string().min(4).optional(),
    /** A Kubernetes pod: NAME[/NAMESPACE] or its uid. */
    pod: z.string().min(1).optional(),
    /** Rows kept per table. */
    top: z.number().int().positive().max(1000).default(20),
    /** Sample with BPF when the kernel allows (false: /proc only). */
    bpf: z.boolean().default(true),
  })
  .strict()
  .refine((p) => [p.cgroup, p.container, p.pod].filter((x) => x !== undefined).length <= 1, { message: 'give at most one of --cgroup, --container and --pod', path: ['cgroup'] });
export type LoadParams = z.infer<typeof LoadParamsSchema>;
export type LoadParamsInput = z.input<typeof LoadParamsSchema>;
