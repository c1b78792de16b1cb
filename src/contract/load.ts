/**
 * `oscope.load/v1`: why is the load average high? The load average against the CPU count, the CPU time
 * split from /proc/stat, the runnable (R) and uninterruptible (D) tasks sampled over the interval (a BPF
 * task iterator, or /proc when BPF is missing: `coverage` says which), D tasks grouped by kernel stack
 * with their wait, fork/exec rates with the parents that fork, CPU throttling per cgroup and the per-CPU
 * run-queue balance. The diagnosis is src/diagnose/load/; sections it could not fill are present and
 * empty, and `coverage` says why.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, MethodSchema, ms } from './common.js';

export const LOAD_SCHEMA = 'oscope.load/v1';

const count = z.number().int().nonnegative();
const pct = z.number().nonnegative();

export const LoadavgSchema = z
  .object({
    load1: z.number().nonnegative(),
    load5: z.number().nonnegative(),
    load15: z.number().nonnegative(),
    /** Online CPUs. */
    cpus: count,
    /** load1 vs load15: rising (load1 ≥ 1.25 × load15 + 0.5), falling (load1 ≤ 0.75 × load15 − 0.5) or steady. */
    trend: z.enum(['rising', 'falling', 'steady']),
    /** /proc/loadavg's runnable entities and threads at the end. */
    running: count,
    threads: count,
  })
  .strict();
export type Loadavg = z.infer<typeof LoadavgSchema>;

/** The CPU time split over the interval (/proc/stat `cpu` line deltas), shares of all CPUs' time, 0..100. */
export const LoadCpuSchema = z
  .object({
    /** user + nice (guest time is inside user). */
    userPct: pct,
    sysPct: pct,
    irqPct: pct,
    softirqPct: pct,
    iowaitPct: pct,
    stealPct: pct,
    idlePct: pct,
  })
  .strict();
export type LoadCpu = z.infer<typeof LoadCpuSchema>;

export const LoadTaskSchema = z
  .object({
    /** Process (tgid); a thread's samples count for its process. */
    pid: count,
    comm: z.string(),
    cgroup: z.string(),
    container: ContainerRefSchema.optional(),
    /** Share of the interval's samples in which one of its threads was runnable (on a CPU or waiting for one), 0..100 per thread (a process with 4 busy threads: 400). */
    runnablePct: pct,
    /** The same for uninterruptible sleep (D, as the load average counts it: not TASK_NOLOAD idle kthreads). */
    uninterruptiblePct: pct,
    threads: count,
    /** Threads allowed on fewer CPUs than the host has (taskset, cpuset), seen runnable. */
    pinned: z.boolean(),
  })
  .strict();
export type LoadTask = z.infer<typeof LoadTaskSchema>;

/** D tasks grouped by kernel stack. */
export const LoadDStackSchema = z
  .object({
    /** Kernel stack, innermost first ([] when it could not be read). */
    stack: z.array(z.string()),
    /** The frame the tasks wait in (the first one that is not scheduler/wait machinery). */
    waitIn: z.string(),
    /** Threads seen in D with this stack. */
    tasks: count,
    /** Their processes. */
    pids: z.array(count),
    comms: z.array(z.string()),
    /** The longest any of them had been blocked at the last sample, ms. */
    maxWaitMs: ms,
    /** How the wait is known: switch (sched_switch seen), estimate (scheduler clocks, tasks blocked before oscope looked), observed (at least the time oscope saw it blocked). */
    waitSource: z.enum(['switch', 'estimate', 'observed']),
    /** Owner of the mutex they wait for, where the kernel records it (task_struct.blocked_on, 6.16+). */
    mutexOwner: z.object({ pid: count, comm: z.string() }).strict().nullable(),
  })
  .strict();
export type LoadDStack = z.infer<typeof LoadDStackSchema>;

export const LoadForkParentSchema = z
  .object({
    pid: count,
    comm: z.string(),
    forks: count,
    forksPerS: z.number().nonnegative(),
    execs: count,
    execsPerS: z.number().nonnegative(),
    cgroup: z.string(),
    container: ContainerRefSchema.optional(),
  })
  .strict();
export type LoadForkParent = z.infer<typeof LoadForkParentSchema>;

export const LoadForksSchema = z
  .object({
    /** New processes per second over the interval (/proc/stat `processes`, every clone: threads too). */
    perS: z.number().nonnegative(),
    /** execve per second (BPF only; null without it). */
    execPerS: z.number().nonnegative().nullable(),
    total: count,
    /** The parents that forked most (BPF only: new processes, not threads). */
    topParents: z.array(LoadForkParentSchema),
  })
  .strict();
export type LoadForks = z.infer<typeof LoadForksSchema>;

export const LoadThrottledSchema = z
  .object({
    /** Path in the cpu hierarchy (v1 `cpu` controller, or v2). */
    cgroup: z.string(),
    container: ContainerRefSchema.optional(),
    version: z.union([z.literal(1), z.literal(2)]),
    /** CPUs the quota allows (quota / period), null when unlimited. */
    quotaCpus: z.number().nonnegative().nullable(),
    /** Periods and throttled periods during the interval. */
    periods: count,
    throttledPeriods: count,
    /** throttledPeriods / periods, 0..100. */
    throttledPct: pct,
    /** Time the cgroup's tasks were held back during the interval (v1 throttled_time, v2 throttled_usec). */
    throttledMs: ms,
    /** The cumulative counters at the end. */
    nrThrottled: count,
    /** CPU the cgroup used over the interval, in CPUs (cpuacct.usage / cpu.stat usage_usec), null when unknown. */
    usageCpus: z.number().nonnegative().nullable(),
  })
  .strict();
export type LoadThrottled = z.infer<typeof LoadThrottledSchema>;

export const LoadCpuQueueSchema = z
  .object({
    cpu: count,
    /** Mean runnable threads on this CPU over the samples (running one included). */
    meanRunnable: z.number().nonnegative(),
    maxRunnable: count,
    /** Busy share over the interval (100 − idle − iowait), /proc/stat cpuN. */
    busyPct: pct,
    /** Runnable threads seen on it that may only run on a subset of CPUs. */
    pinnedTasks: z.array(z.object({ pid: count, tid: count, comm: z.string(), allowedCpus: count }).strict()),
  })
  .strict();
export type LoadCpuQueue = z.infer<typeof LoadCpuQueueSchema>;

export const LoadDocumentSchema = z
  .object({
    schema: z.literal(LOAD_SCHEMA),
    intervalS: z.number().positive(),
    /** Task samples taken over the interval. */
    samples: count,
    thresholds: z.record(z.number()),
    /** The scope asked for (`cgroup:/x`, `container:ID`, `pod:NAME/NS`), null for the host. */
    scope: z.string().nullable(),
    loadavg: LoadavgSchema,
    cpu: LoadCpuSchema,
    /** Mean runnable and D threads over the samples (what the load average averages). */
    meanRunnable: z.number().nonnegative(),
    meanUninterruptible: z.number().nonnegative(),
    tasks: z.array(LoadTaskSchema),
    dStacks: z.array(LoadDStackSchema),
    forks: LoadForksSchema,
    throttled: z.array(LoadThrottledSchema),
    cpus: z.array(LoadCpuQueueSchema),
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type LoadDocument = z.infer<typeof LoadDocumentSchema>;
