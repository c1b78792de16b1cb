/**
 * The parameters of `oscope net`, shared by the CLI (flags) and the agent (task params): the interval,
 * the scope (a process, a cgroup, a container, a pod, a port, a network namespace). Thresholds are the
 * net.* keys of src/diagnose/thresholds.ts.
 */
import { z } from 'zod';

export const NetParamsSchema = z
  .object({
    /** Seconds between the two reads of the counters; the tracer runs in between. */
    intervalS: z.number().positive().max(3600).default(5),
    pid: z.number().int().positive().optional(),
    /** A cgroup path (cgroup v2 path, or v1 `controller:/path`): processes in it or below. */
    cgroup: z.string().min(1).optional(),
    /** A container id prefix (at least 4 characters) or systemd service name. */
    container: z.string().min(4).optional(),
    /** A pod: NAME[/NAMESPACE], or its UID. */
    pod: z.string().min(1).optional(),
    /** Only packets, flows and sockets with this port on either end. */
    port: z.number().int().min(1).max(65535).optional(),
    /** `all` (default: the host's and every namespace a process holds), or a namespace file (/proc/PID/ns/net, /run/netns/NAME). */
    netns: z.string().min(1).default('all'),
    /** Rows kept per table. */
    top: z.number().int().positive().max(1000).default(20),
    /** Trace with BPF when the kernel allows (false: /proc only). */
    bpf: z.boolean().default(true),
  })
  .strict();
export type NetParams = z.infer<typeof NetParamsSchema>;
export type NetParamsInput = z.input<typeof NetParamsSchema>;
