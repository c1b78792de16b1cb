/**
 * The parameters of `oscope io`, shared by the CLI (flags) and the agent (task params): the interval
 * and the scope (a disk, a process, a cgroup, a container, a pod). Thresholds are the io.* keys of
 * src/diagnose/thresholds.ts.
 */
import { z } from 'zod';

export const IoParamsSchema = z
  .object({
    /** Seconds between the two reads of the counters; the tracer runs in between. */
    intervalS: z.number().positive().max(3600).default(5),
    /** Only this disk: kernel name (`vda`) or `major:minor`. */
    disk: z.string().min(1).optional(),
    pid: z.number().int().positive().optional(),
    /** A cgroup path (v2 under the cgroup2 mount, or v1 blkio `blkio:/path`). */
    cgroup: z.string().min(1).optional(),
    /** A container id prefix (at least 4 characters) or systemd service name. */
    container: z.string().min(4).optional(),
    /** A Kubernetes pod: name[/namespace] or pod uid (matched as `oscope filecache --pod` does). */
    pod: z.string().min(1).max(512).optional(),
    /** Rows kept per table (processes, cgroups, slow requests). */
    top: z.number().int().positive().max(1000).default(20),
    /** Trace with BPF when the kernel allows (false: /proc and /sys only). */
    bpf: z.boolean().default(true),
  })
  .strict();
/** At most one of pid, cgroup, container and pod (collectIo refuses more; the CLI says it first). */
export const oneIoScope = (p: Pick<IoParams, 'pid' | 'cgroup' | 'container' | 'pod'>): boolean => [p.pid, p.cgroup, p.container, p.pod].filter((x) => x !== undefined).length <= 1;
export type IoParams = z.infer<typeof IoParamsSchema>;
export type IoParamsInput = z.input<typeof IoParamsSchema>;
