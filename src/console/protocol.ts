/**
 * The JSON the console accepts, as zod schemas (the API reference is src/console/API.md). Every request
 * body and query is parsed with these before anything is read or written; unknown keys are refused.
 * The agent side builds its requests from the same types.
 */
import { z } from 'zod';

const name = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only');
const isoTime = z.string().datetime({ offset: true });
const id = z.string().uuid();
/** A bounded JSON object (the store keeps it as text). */
const jsonObject = z.record(z.unknown());

export const LoginBody = z.object({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }).strict();

/** A person's user name: what a login accepts, restricted when an admin creates one. */
const username = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits and . _ @ - only, starting with a letter or digit');
/** At least 10 characters: the console guards fleet-wide root actions. */
const newPassword = z.string().min(10, 'at least 10 characters').max(1024);

export const CreateUserBody = z.object({ username, password: newPassword, role: z.enum(['admin', 'viewer']).default('viewer') }).strict();

export const ChangePasswordBody = z.object({ currentPassword: z.string().min(1).max(1024), newPassword }).strict();

export const CreateNodeBody = z.object({ name }).strict();

export const IdParams = z.object({ id }).strict();

export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    node: id.optional(),
  })
  .strict();

export const AlertsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    node: id.optional(),
    severity: z.enum(['info', 'warning', 'critical']).optional(),
    state: z.enum(['firing', 'resolved']).optional(),
  })
  .strict();

export const SamplesQuery = z
  .object({
    since: isoTime.optional(),
    until: isoTime.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

export const CreateTaskBody = z
  .object({
    diagnosis: z.string().min(1).max(32),
    params: jsonObject.default({}),
  })
  .strict();

// --- agent endpoints ---

export const HelloBody = z
  .object({
    hostname: z.string().min(1).max(255),
    kernel: z.string().max(255).default(''),
    agentVersion: z.string().max(64).default(''),
    diagnoses: z.array(z.string().max(32)).max(64).default([]),
    intervalS: z.number().positive().max(3600).optional(),
  })
  .strict();

export const SampleSchema = z.object({ ts: isoTime, data: jsonObject }).strict();
export const SamplesBody = z.object({ samples: z.array(SampleSchema).min(1).max(1000) }).strict();
export type Sample = z.infer<typeof SampleSchema>;

export const AlertEventSchema = z
  .object({
    id,
    rule: z.string().min(1).max(128),
    severity: z.enum(['info', 'warning', 'critical']),
    state: z.enum(['firing', 'resolved']),
    ts: isoTime,
    /** English; what older consoles and agents use. */
    message: z.string().max(2000),
    /** The message in each UI language (the web shows `messages[lang] ?? message`). */
    messages: z.object({ en: z.string().max(2000), 'zh-CN': z.string().max(2000) }).strict().optional(),
    data: jsonObject.default({}),
  })
  .strict();
export type AlertEvent = z.infer<typeof AlertEventSchema>;
export const AlertsBody = z.object({ events: z.array(AlertEventSchema).min(1).max(1000) }).strict();

export const ProgressBody = z.object({ step: z.string().max(200), done: z.number().min(0), total: z.number().min(0) }).strict();

/** A diagnosis document: a `schema` name and anything else. */
export const ReportDocument = z.object({ schema: z.string().min(1).max(64) }).passthrough();

export const ResultBody = z.discriminatedUnion('status', [
  z.object({ status: z.literal('done'), report: ReportDocument }).strict(),
  z.object({ status: z.literal('failed'), error: z.string().min(1).max(4000) }).strict(),
]);
export type TaskResult = z.infer<typeof ResultBody>;

/** A diagnosis the agent ran on its own (an alert rule's autoDiagnose). */
export const AgentReportBody = z
  .object({
    /** Given by the agent, so a report re-sent after a lost acknowledgement is stored once (the task's id). */
    id: id.optional(),
    diagnosis: z.string().min(1).max(32),
    params: jsonObject.default({}),
    rule: z.string().min(1).max(128),
    result: ResultBody,
  })
  .strict();

/** What the console sends an agent that claims a task. */
export interface ClaimedTask {
  id: string;
  diagnosis: string;
  params: unknown;
  /** Send progress at least this often, or the task times out. */
  heartbeatMs: number;
}
