/**
 * The agent ↔ console wire: what an agent sends (hello, samples, alert events, task progress and
 * results, reports of diagnoses it ran on its own) and what it gets back. The console parses every body
 * with these schemas; the agent builds its requests from the same types.
 */
import { z } from 'zod';
import { SeveritySchema } from './common.js';
import { HealthSummarySchema } from './health.js';
import { BootCauseSchema } from './inspect.js';

export const isoTime = z.string().datetime({ offset: true });

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * What the console accepts, per kind, in bytes of JSON (src/console/API.md "Limits"): past a limit the
 * request answers 413 and nothing of it is stored. The one place these numbers live; agents may read
 * them to size their batches.
 */
export const WIRE_LIMITS = {
  /** One sample's `data` (a real one is a few KiB: the numbers and the top 20 cgroups). */
  sampleDataBytes: 64 * KiB,
  /** One `POST /api/agent/samples` body (agents send up to 500 samples a request). */
  samplesBodyBytes: 16 * MiB,
  /** One alert event's `data`. */
  alertDataBytes: 16 * KiB,
  /** One `POST /api/agent/alerts` body (up to 1000 events). */
  alertsBodyBytes: 4 * MiB,
  /** One diagnosis report document (a result or an agent's own report). */
  reportBytes: 16 * MiB,
  /** Any other agent body (hello, claim, progress). */
  agentBodyBytes: 64 * KiB,
  /** Any body of the people API (users, nodes, tasks, passwords). */
  peopleBodyBytes: 64 * KiB,
  /** A body sent without credentials (login, logout, anything outside the API). */
  anonymousBodyBytes: 4 * KiB,
  /** The samples of one `GET /api/nodes/:id/samples` reply; past it the oldest are left out (`truncated`). */
  samplesReplyBytes: 8 * MiB,
  /** JSON nested deeper than this answers 400. */
  maxJsonDepth: 64,
  /** A sample or alert time further ahead of the console's clock than this answers 400. */
  maxClockSkewMs: 5 * 60_000,
} as const;
export const uuid = z.string().uuid();
/** A bounded JSON object (the store keeps it as text). */
export const jsonObject = z.record(z.unknown());

/** A label key: a Prometheus-like name (letters, digits, `_ . / -`), at most 63 characters. */
export const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_./-]{0,62}$/;
/** Labels of a node: at most 32, values at most 128 characters. */
export const NodeLabelsSchema = z
  .record(z.string().regex(LABEL_KEY, 'a label key is letters, digits and _ . / - (starting with a letter or _), at most 63 characters'), z.string().max(128))
  .refine((r) => Object.keys(r).length <= 32, 'at most 32 labels');
export type NodeLabels = z.infer<typeof NodeLabelsSchema>;

export const HelloBody = z
  .object({
    hostname: z.string().min(1).max(255),
    kernel: z.string().max(255).default(''),
    agentVersion: z.string().max(64).default(''),
    diagnoses: z.array(z.string().max(32)).max(64).default([]),
    intervalS: z.number().positive().max(3600).optional(),
    /** The node's labels (`oscope agent --label k=v`, or `labels:` in the agent's config file). */
    labels: NodeLabelsSchema.optional(),
  })
  .strict();
export type Hello = z.input<typeof HelloBody>;


/**
 * One boot the agent reports (`POST /api/agent/boots`): the current one (cause `running`) and the
 * previous ones with why each ended, read by the same code as `oscope inspect --boots`. The console
 * keeps one row per node and boot id, so the agent sends what it knows on every start.
 */
export const BootReportSchema = z
  .object({
    id: z.string().min(1).max(128),
    startedAt: isoTime.nullable(),
    endedAt: isoTime.nullable(),
    cause: BootCauseSchema,
    title: z.string().max(512).optional(),
    stack: z.array(z.string().max(256)).max(64).optional(),
    source: z.enum(['journal', 'pstore', 'kdump', 'proc']),
    /** The kernel release that boot ran, when its log says (`Linux version ...`, an oops's `Not tainted 6.1.0 #1`). */
    kernel: z.string().max(128).optional(),
  })
  .strict();
export type BootReport = z.infer<typeof BootReportSchema>;
export const BootsBody = z.object({ boots: z.array(BootReportSchema).max(64) }).strict();

export const HelloReplySchema = z.object({ nodeId: z.string(), name: z.string(), serverTime: z.string(), diagnoses: z.array(z.string()) });
export type HelloReply = z.infer<typeof HelloReplySchema>;

/** The run-queue latency histogram of one sample interval. Bucket upper bounds in ms; the last is +Inf (null in JSON). */
export const RunqueueLatencySampleSchema = z.object({
  leMs: z.array(z.number().nullable()),
  counts: z.array(z.number().int().nonnegative()),
  count: z.number().int().nonnegative(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
});
export type RunqueueLatencySample = z.infer<typeof RunqueueLatencySampleSchema>;

export const LogAnomalyCountsSchema = z.object({ total: z.number().int().nonnegative(), byRule: z.record(z.number()) });
export type LogAnomalyCounts = z.infer<typeof LogAnomalyCountsSchema>;

export const SampleCgroupSchema = z.object({
  path: z.string(),
  /** The container's label (report/format.ts containerLabel), null for a plain cgroup. */
  container: z.string().nullable(),
  usageBytes: z.number(),
  workingsetBytes: z.number(),
  limitBytes: z.number().nullable(),
});
export type SampleCgroup = z.infer<typeof SampleCgroupSchema>;

/** One stage of a disk's requests over a sample interval (the agent's always-on BPF histogram); null: no requests. */
export const SampleStageSchema = z.object({
  count: z.number().int().nonnegative(),
  meanMs: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
});
export type SampleStage = z.infer<typeof SampleStageSchema>;

/** One disk over a sample interval: iostat -x figures (as in oscope.io/v1 disks[]) and, with BPF, the latency by stage. */
export const SampleDiskSchema = z.object({
  name: z.string(),
  iops: z.number(),
  readBytesPerS: z.number(),
  writeBytesPerS: z.number(),
  awaitMs: z.number(),
  utilPct: z.number(),
  inflight: z.number(),
  /** Per stage (queue, sched, device, wake); null without the BPF histogram or without requests. */
  latency: z.record(SampleStageSchema).nullable(),
});
export type SampleDisk = z.infer<typeof SampleDiskSchema>;

/**
 * The host network namespace over a sample interval (deltas of the kernel's counters since the
 * previous sample; the first sample after an agent start has none). A counter that went backwards
 * (a reset) counts 0. What the node page charts: drops and retransmits over the hour.
 */
export const SampleNetSchema = z.object({
  intervalS: z.number().positive(),
  /** Packets dropped: the kernel's drop counters (as oscope_net_drops_total's reasons) plus softnet backlog drops. */
  drops: z.number().nonnegative(),
  /** The non-zero drops by counter (TcpExt.ListenDrops, Ip.InDiscards, softnet.backlog, …). */
  dropsByCounter: z.record(z.number().nonnegative()),
  retransSegs: z.number().nonnegative(),
  outSegs: z.number().nonnegative(),
  listenOverflows: z.number().nonnegative(),
  softnetSqueezed: z.number().nonnegative(),
  /** Interface errors and drops (rx + tx, lo excluded). */
  ifErrors: z.number().nonnegative(),
  ifDropped: z.number().nonnegative(),
  /** Gauges at the end of the interval (null when sockstat was unreadable). */
  tcpMemBytes: z.number().nullable(),
  tcpSockets: z.number().nullable(),
});
export type SampleNet = z.infer<typeof SampleNetSchema>;

/**
 * One window of the agent's continuous profile (src/agent/profiler.ts): on-CPU stacks at a low rate,
 * frames as indexes into `names` (root first), the heaviest stacks only (`otherSamples` the rest).
 */
export const SampleProfileSchema = z.object({
  startTs: isoTime,
  intervalS: z.number().nonnegative(),
  hz: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  otherSamples: z.number().int().nonnegative(),
  names: z.array(z.string()),
  stacks: z.array(z.object({ f: z.array(z.number().int().nonnegative()), n: z.number().int().nonnegative() })),
  /** Set on a triggered profile: the alert rule whose firing started it (absent on continuous windows). */
  trigger: z.string().max(64).optional(),
});
export type SampleProfile = z.infer<typeof SampleProfileSchema>;

/**
 * The compact metrics sample an agent sends every interval (a few hundred bytes plus the top cgroups).
 * Every field is optional for the console: older agents send fewer.
 */
export const NodeSampleDataSchema = z.object({
  memTotalBytes: z.number().optional(),
  memAvailableBytes: z.number().optional(),
  memFreeBytes: z.number().optional(),
  components: z.record(z.number()).optional(),
  zombieCgroups: z.number().nullable().optional(),
  zombieBytes: z.number().nullable().optional(),
  psiMemorySomeAvg10: z.number().nullable().optional(),
  psiMemoryFullAvg10: z.number().nullable().optional(),
  runqueueLatency: RunqueueLatencySampleSchema.nullable().optional(),
  logAnomalies: LogAnomalyCountsSchema.nullable().optional(),
  /** The busiest disks (at most 16) over the interval; absent from older agents. */
  disks: z.array(SampleDiskSchema).optional(),
  /** The host network namespace over the interval; absent from older agents and from an agent's first sample. */
  net: SampleNetSchema.optional(),
  cgroups: z.array(SampleCgroupSchema).optional(),
  /** The node's health score of this tick (agents that compute it). */
  health: HealthSummarySchema.nullable().optional(),
  /** Continuous-profile windows finished since the previous sample (`oscope agent --profile-hz`). */
  profiles: z.array(SampleProfileSchema).optional(),
});
export type NodeSampleData = z.infer<typeof NodeSampleDataSchema>;

export const SampleSchema = z.object({ ts: isoTime, data: jsonObject }).strict();
export const SamplesBody = z.object({ samples: z.array(SampleSchema).min(1).max(1000) }).strict();
export type Sample = z.infer<typeof SampleSchema>;

export const AlertStateSchema = z.enum(['firing', 'resolved']);
export type AlertState = z.infer<typeof AlertStateSchema>;
export const AlertMessagesSchema = z.object({ en: z.string().max(2000), 'zh-CN': z.string().max(2000) }).strict();
export type AlertMessages = z.infer<typeof AlertMessagesSchema>;

export const AlertEventSchema = z
  .object({
    id: uuid,
    rule: z.string().min(1).max(128),
    severity: SeveritySchema,
    state: AlertStateSchema,
    ts: isoTime,
    /** English; what older consoles and agents use. */
    message: z.string().max(2000),
    /** The message in each UI language (the web shows `messages[lang] ?? message`). */
    messages: AlertMessagesSchema.optional(),
    data: jsonObject.default({}),
  })
  .strict();
export type AlertEvent = z.infer<typeof AlertEventSchema>;
export const AlertsBody = z.object({ events: z.array(AlertEventSchema).min(1).max(1000) }).strict();

export const ProgressBody = z
  .object({ step: z.string().max(200), done: z.number().min(0), total: z.number().min(0) })
  .strict()
  .refine((p) => p.done <= p.total, { message: 'done must not be more than total', path: ['done'] });
export type Progress = z.infer<typeof ProgressBody>;

/** A diagnosis document: a `schema` name and anything else (each schema's own contract is in src/contract/<area>.ts). */
export const ReportDocument = z.object({ schema: z.string().min(1).max(64) }).passthrough();
export type ReportDocumentJson = z.infer<typeof ReportDocument>;

export const ResultBody = z.discriminatedUnion('status', [
  z.object({ status: z.literal('done'), report: ReportDocument }).strict(),
  z.object({ status: z.literal('failed'), error: z.string().min(1).max(4000) }).strict(),
]);
export type TaskResult = z.infer<typeof ResultBody>;

/** A diagnosis the agent ran on its own (an alert rule's autoDiagnose). */
export const AgentReportBody = z
  .object({
    /** Given by the agent, so a report re-sent after a lost acknowledgement is stored once (the task's id). */
    id: uuid.optional(),
    diagnosis: z.string().min(1).max(32),
    params: jsonObject.default({}),
    rule: z.string().min(1).max(128),
    result: ResultBody,
  })
  .strict();

/** What the console sends an agent that claims a task. */
export const ClaimedTaskSchema = z.object({
  id: z.string(),
  diagnosis: z.string(),
  params: z.unknown(),
  /** Send progress at least this often, or the task times out. */
  heartbeatMs: z.number(),
});
export type ClaimedTask = z.infer<typeof ClaimedTaskSchema>;
