/**
 * The console's HTTP API for people (src/console/API.md is its reference): request bodies and queries,
 * parsed with these schemas before anything is read or written (unknown keys are refused), and the
 * JSON every route returns. web/ imports these types; the server builds its replies from them.
 */
import { z } from 'zod';
import type { ConfigDiffDocument, ConfigDocument } from './config.js';
import { SeveritySchema } from './common.js';
import { AlertMessagesSchema, AlertStateSchema, NodeSampleDataSchema, isoTime, jsonObject, uuid } from './agent-wire.js';
import type { StoredDocument } from './index.js';

const name = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only');

// --- requests ---

export const LoginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }).strict();

/** A person's user name: what a login accepts, restricted when an admin creates one. */
const username = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits and . _ @ - only, starting with a letter or digit');
/** At least 10 characters: the console guards fleet-wide root actions. */
const newPassword = z.string().min(10, 'at least 10 characters').max(1024);

export const USER_ROLES = ['admin', 'viewer'] as const;
export const RoleSchema = z.enum(USER_ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const CreateUserBody = z.object({ username, password: newPassword, role: RoleSchema.default('viewer') }).strict();
export const ChangePasswordBody = z.object({ currentPassword: z.string().min(1).max(1024), newPassword }).strict();
/** What an API token allows: `read` (list and read everything), `diagnose` (read, and run diagnoses on nodes). */
export const TOKEN_SCOPES = ['read', 'diagnose'] as const;
export const TokenScopeSchema = z.enum(TOKEN_SCOPES);
export type TokenScope = z.infer<typeof TokenScopeSchema>;

/** An admin issues a token for a user (default: themselves); `diagnose` only for an admin account. */
export const CreateTokenBody = z.object({ name, scope: TokenScopeSchema.default('read'), userId: z.string().uuid().optional() }).strict();

export const CreateNodeBody = z.object({ name }).strict();
export const IdParams = z.object({ id: uuid }).strict();

export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    node: uuid.optional(),
  })
  .strict();

/** `GET /api/config-diff`: the two nodes (A, B) and the language of the reasons. */
export const ConfigDiffQuery = z.object({ a: uuid, b: uuid, lang: z.enum(['en', 'zh-CN']).default('en') }).strict();

export const AlertsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    node: uuid.optional(),
    severity: SeveritySchema.optional(),
    state: AlertStateSchema.optional(),
  })
  .strict();
export type AlertFilter = { node?: string; severity?: z.infer<typeof SeveritySchema>; state?: z.infer<typeof AlertStateSchema> };

export const CrashesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** Crashes at or after this time (default: all the store keeps). */
    since: isoTime.optional(),
    kernel: z.string().max(128).optional(),
    node: uuid.optional(),
  })
  .strict();

export const BootsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();

export const SamplesQuery = z
  .object({
    since: isoTime.optional(),
    until: isoTime.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

/** GET /api/nodes/:id/profiles: the profile windows starting in [since, until] merged (default: the last hour). */
export const ProfilesQuery = z
  .object({
    since: isoTime.optional(),
    until: isoTime.optional(),
  })
  .strict();

/** The merged profile of a time range: stacks root first (the heaviest, at most 5000), the triggers in it. */
export const MergedProfileSchema = z.object({
  since: isoTime,
  until: isoTime,
  windows: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  /** Samples in stacks the agents left out of their compact windows, and in stacks cut here. */
  otherSamples: z.number().int().nonnegative(),
  /** Triggered windows in the range (rule and start). */
  triggers: z.array(z.object({ rule: z.string(), startTs: isoTime })),
  stacks: z.array(z.object({ frames: z.array(z.string()), count: z.number().int().nonnegative() })),
  /** The range held more than the reply bound: the oldest windows were left out. */
  truncated: z.literal(true).optional(),
});
export type MergedProfile = z.infer<typeof MergedProfileSchema>;

export const CreateTaskBody = z
  .object({
    diagnosis: z.string().min(1).max(32),
    params: jsonObject.default({}),
  })
  .strict();

// --- replies ---

export const MeSchema = z.object({ id: z.string(), username: z.string(), role: RoleSchema });
export type Me = z.infer<typeof MeSchema>;

export const UserSchema = z.object({ id: z.string(), username: z.string(), role: RoleSchema, createdAt: z.string() });
export type User = z.infer<typeof UserSchema>;

/** What the agent said about itself in its last hello. */
export const NodeInfoSchema = z.object({
  hostname: z.string().optional(),
  kernel: z.string().optional(),
  agentVersion: z.string().optional(),
  diagnoses: z.array(z.string()).optional(),
  intervalS: z.number().optional(),
  /** The node's labels (`oscope agent --label k=v`). */
  labels: z.record(z.string()).optional(),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

/** The node's newest sample: its time and the agent's sample data. */
export const NodeLatestSchema = NodeSampleDataSchema.extend({ ts: z.string() });
export type NodeLatest = z.infer<typeof NodeLatestSchema>;

export const NodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string().nullable(),
  online: z.boolean(),
  info: NodeInfoSchema,
  latest: NodeLatestSchema.nullable(),
});
export type Node = z.infer<typeof NodeSchema>;

export const TASK_STATUSES = ['queued', 'running', 'done', 'failed', 'timeout', 'cancelled'] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const TaskProgressSchema = z.object({ step: z.string(), done: z.number(), total: z.number() });
export type TaskProgress = z.infer<typeof TaskProgressSchema>;

export const TaskSchema = z.object({
  id: z.string(),
  nodeId: z.string(),
  diagnosis: z.string(),
  params: z.record(z.unknown()),
  status: TaskStatusSchema,
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  progress: TaskProgressSchema.nullable(),
  error: z.string().nullable(),
  reportSchema: z.string().nullable(),
});
export type Task = z.infer<typeof TaskSchema>;

export const AlertSchema = z.object({
  id: z.string(),
  nodeId: z.string(),
  rule: z.string(),
  severity: SeveritySchema,
  state: AlertStateSchema,
  ts: z.string(),
  /** English. */
  message: z.string(),
  /** Per UI language, when the agent sent them. */
  messages: AlertMessagesSchema.nullable().optional(),
  data: z.record(z.unknown()),
});
export type Alert = z.infer<typeof AlertSchema>;

export const ApiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScopeSchema,
  userId: z.string(),
  username: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;

/** One boot of a node as the console keeps it (GET /api/nodes/:id/boots). */
export const NodeBootSchema = z.object({
  id: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  cause: z.string(),
  title: z.string().nullable(),
  /** The stack signature crashes are grouped by (12 hex digits; null without a stack). */
  signature: z.string().nullable(),
  stack: z.array(z.string()).nullable(),
  kernel: z.string().nullable(),
  source: z.string(),
  reportedAt: z.string(),
});
export type NodeBoot = z.infer<typeof NodeBootSchema>;

const CrashEndSchema = z.object({ nodeId: z.string(), nodeName: z.string(), at: z.string() });

/** Crashes across the fleet with one title and stack signature (GET /api/crashes, MCP list_crashes). */
export const CrashGroupSchema = z.object({
  cause: z.string(),
  /** Worded by inspect's rules (null for an end without a crash report: an unclean power loss or reset). */
  title: z.string().nullable(),
  signature: z.string().nullable(),
  /** Crashes in the group and the distinct nodes they hit. */
  count: z.number().int(),
  nodes: z.number().int(),
  /** Crashes per kernel release (null: the boot's log did not say), most first. */
  kernels: z.array(z.object({ kernel: z.string().nullable(), count: z.number().int() })),
  first: CrashEndSchema,
  last: CrashEndSchema,
  /** The newest crash's stack. */
  stack: z.array(z.string()).nullable(),
});
export type CrashGroup = z.infer<typeof CrashGroupSchema>;

export const DiagnosisInfoSchema = z.object({
  name: z.string(),
  description: z.string(),
  schema: z.string(),
  timeoutMs: z.number(),
  defaults: z.record(z.unknown()).nullable(),
});
export type DiagnosisInfo = z.infer<typeof DiagnosisInfoSchema>;

export const NodeSampleSchema = z.object({ ts: z.string(), data: NodeSampleDataSchema });
export type NodeSample = z.infer<typeof NodeSampleSchema>;

export const HealthSchema = z.object({ ok: z.boolean(), version: z.string(), store: z.enum(['sqlite', 'postgres']) });
export type Health = z.infer<typeof HealthSchema>;

/**
 * The replies, route by route: server.ts types each route's reply with it (`app.get<Reply<'GET /api/me'>>`)
 * and web/src/api.ts types each call with it. Errors are `{ error, ...extra }` with a 4xx/5xx status.
 */
export interface ApiReplies {
  'GET /healthz': Health;
  'POST /auth/login': { user: Me };
  'POST /auth/logout': { ok: boolean };
  'GET /api/me': Me;
  'POST /api/me/password': { ok: boolean };
  'GET /api/users': { users: User[] };
  'POST /api/users': { user: User };
  'DELETE /api/users/:id': { ok: boolean };
  'GET /api/tokens': { tokens: ApiToken[] };
  /** `secret` is the bearer token, shown this once. */
  'POST /api/tokens': { token: ApiToken; secret: string };
  'DELETE /api/tokens/:id': { ok: boolean };
  'GET /api/diagnoses': { diagnoses: DiagnosisInfo[] };
  'GET /api/nodes': { nodes: Node[] };
  'POST /api/nodes': { node: Node; token: string };
  'GET /api/nodes/:id': Node;
  'POST /api/nodes/:id/token': { token: string };
  /** `truncated`: the reply reached its size bound (src/contract/agent-wire.ts WIRE_LIMITS.samplesReplyBytes); the oldest of the range were left out. */
  'GET /api/nodes/:id/samples': { samples: NodeSample[]; truncated?: true };
  'GET /api/nodes/:id/profiles': MergedProfile;
  'POST /api/nodes/:id/tasks': { task: Task };
  'GET /api/tasks': { tasks: Task[] };
  'GET /api/tasks/:id': { task: Task };
  /** The document as the agent sent it (the same as `oscope <diagnosis> --json` there). */
  'GET /api/tasks/:id/report': StoredDocument;
  'POST /api/tasks/:id/cancel': { task: Task };
  'GET /api/alerts': { alerts: Alert[] };
  'GET /api/nodes/:id/boots': { boots: NodeBoot[] };
  'GET /api/crashes': { crashes: CrashGroup[] };
  /** The node's latest configuration capture (its newest finished `config` task); 404 when it has none. */
  'GET /api/nodes/:id/config': { taskId: string; storedAt: string; capture: ConfigDocument };
  /** Configuration drift between the latest captures of nodes `a` and `b` (`?a=ID&b=ID&lang=en|zh-CN`). */
  'GET /api/config-diff': { a: ConfigCaptureRef; b: ConfigCaptureRef; diff: ConfigDiffDocument };
}

/** Which capture a side of a comparison is. */
export interface ConfigCaptureRef {
  nodeId: string;
  nodeName: string;
  taskId: string;
  storedAt: string;
}
