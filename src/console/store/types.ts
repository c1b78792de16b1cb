/**
 * The console's storage, behind one interface with two implementations over the same SQL:
 * SQLite (better-sqlite3, a real file in WAL mode; the default) and PostgreSQL (pg; several console
 * instances can share one database). Times are epoch milliseconds in the store and ISO 8601 in the API.
 */

import type { Severity } from '../../contract/common.js';
import type { AlertMessages, AlertState } from '../../contract/agent-wire.js';
import type { Role, TaskProgress, TaskStatus, TokenScope } from '../../contract/console.js';

export type { AlertMessages, Role, TaskProgress, TaskStatus };
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['queued', 'running'];

/** `admin` manages users and nodes and runs diagnoses; `viewer` only reads. */
export type UserRole = Role;
export { USER_ROLES } from '../../contract/console.js';

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  role: UserRole;
  createdAt: number;
}

/** Failed logins counted for one key (`ip:<address>` or `user:<name>`) in a fixed window. */
export interface LoginThrottle {
  failures: number;
  windowStart: number;
}

/** How attempts of one key are allowed: `free` at once, then a wait doubling from the base up to the cap. */
export interface LoginAttemptPolicy {
  free: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A streak whose last counted attempt is older than this starts over. */
  windowMs: number;
}

export interface LoginAttempt {
  /** False: refused without counting (the key waits until `blockedUntil`). */
  allowed: boolean;
  /** Attempts counted in the current streak. */
  attempts: number;
  /** When the next attempt is allowed (epoch ms; in the past when it is now). */
  blockedUntil: number;
}

export type { TokenScope } from '../../contract/console.js';

export interface ApiTokenRow {
  id: string;
  userId: string;
  /** The user's name (joined when read). */
  username: string;
  name: string;
  scope: TokenScope;
  tokenHash: string;
  /** The admin who issued it. */
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface NodeRow {
  id: string;
  name: string;
  tokenHash: string;
  createdAt: number;
  /** Last authenticated request from the node's agent; null before the first one. */
  lastSeenAt: number | null;
  /** What the agent said about itself in its last hello (hostname, kernel, version, diagnoses). */
  info: Record<string, unknown>;
  /** The newest sample the node sent. */
  latest: { ts: number; data: Record<string, unknown> } | null;
}


export interface TaskRow {
  id: string;
  nodeId: string;
  diagnosis: string;
  params: unknown;
  /** Canonical params string: a task is a duplicate when node, diagnosis and this match an active task. */
  paramsKey: string;
  status: TaskStatus;
  /** `user:<name>` or `alert:<rule id>`. */
  createdBy: string;
  createdAt: number;
  /** A queued task not claimed by then times out. */
  pickupDeadlineAt: number;
  startedAt: number | null;
  /** A running task without a heartbeat (progress) until then times out. */
  leaseUntil: number | null;
  /** The hard end of a running task (diagnosis timeout). */
  runDeadlineAt: number | null;
  finishedAt: number | null;
  progress: TaskProgress | null;
  error: string | null;
  /** Set when a report is stored for the task. */
  reportSchema: string | null;
}

export interface SampleRow {
  nodeId: string;
  ts: number;
  data: Record<string, unknown>;
}

/** One profile window of a node (src/contract/agent-wire.ts SampleProfile, as `data`). */
export interface ProfileRow {
  nodeId: string;
  startTs: number;
  intervalS: number;
  hz: number;
  samples: number;
  trigger: string | null;
  data: Record<string, unknown>;
}

export interface AlertRow {
  /** Given by the agent, so a re-sent event is stored once. */
  id: string;
  nodeId: string;
  rule: string;
  severity: Severity;
  state: AlertState;
  ts: number;
  /** English (what older agents send). */
  message: string;
  /** The message in each UI language, when the agent sent them. */
  messages: AlertMessages | null;
  data: Record<string, unknown>;
}

export interface AlertFilter {
  nodeId?: string;
  severity?: AlertRow['severity'];
  state?: AlertRow['state'];
  limit: number;
}

/** One boot of a node (src/contract/agent-wire.ts BootReport, times in epoch ms). */
export interface BootRow {
  nodeId: string;
  bootId: string;
  startedAt: number | null;
  endedAt: number | null;
  /** When it ended, or when it was reported when that is unknown: what crash times are. */
  at: number;
  cause: string;
  title: string;
  signature: string;
  stack: string[] | null;
  kernel: string;
  source: string;
  reportedAt: number;
}

/** Causes that are crashes (grouped across the fleet); `clean-shutdown` and `running` are not. */
export const CRASH_CAUSES = ['panic', 'watchdog', 'oom-panic', 'hung-task-panic', 'mce', 'unclean'] as const;

/** Crashes of one kind across the fleet: one title and stack signature. */
export interface CrashGroupRow {
  cause: string;
  title: string;
  signature: string;
  /** Crashes (boots) in the group and distinct nodes they hit. */
  count: number;
  nodes: number;
  /** Crashes per kernel release ('' when unknown), most first. */
  kernels: { kernel: string; count: number }[];
  first: { nodeId: string; at: number };
  last: { nodeId: string; at: number };
  /** The newest crash's stack. */
  stack: string[] | null;
}

export interface CrashFilter {
  since?: number;
  kernel?: string;
  nodeId?: string;
  limit: number;
}

export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

export interface NewTask {
  nodeId: string;
  diagnosis: string;
  params: unknown;
  paramsKey: string;
  createdBy: string;
  now: number;
  pickupDeadlineAt: number;
}

export interface FinishTask {
  status: 'done' | 'failed';
  error?: string;
  report?: { schema: string; document: unknown };
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the schema version. Called by openStore(). */
  migrate(): Promise<number>;
  close(): Promise<void>;

  countUsers(): Promise<number>;
  /** Throws StoreConflictError when the name is taken (without regard to case). Role default: admin. */
  createUser(username: string, passwordHash: string, now: number, role?: UserRole): Promise<UserRow>;
  /** Without regard to case. */
  getUserByName(username: string): Promise<UserRow | undefined>;
  getUser(id: string): Promise<UserRow | undefined>;
  /** Every user, by name. */
  listUsers(): Promise<UserRow[]>;
  /**
   * Deletes a user and their sessions. Refuses (StoreConflictError) to remove the last admin, checked in
   * the same transaction. False when there is no such user.
   */
  deleteUser(id: string): Promise<boolean>;
  /** Sets the password hash and ends the user's other sessions (all but `keepSessionHash`). */
  setUserPassword(id: string, passwordHash: string, keepSessionHash?: string): Promise<boolean>;

  /** Login throttling: the current window of a key, undefined when it has none. */
  getLoginThrottle(key: string): Promise<LoginThrottle | undefined>;
  /** Counts one failed login for the key; a window older than `windowStartAfter` starts over at `now`. */
  recordLoginFailure(key: string, now: number, windowStartAfter: number): Promise<LoginThrottle>;
  clearLoginThrottle(key: string): Promise<void>;
  /**
   * Counts one login attempt for the key before the password is checked, in one atomic statement (so
   * parallel attempts, also from other consoles sharing a PostgreSQL database, cannot pass together).
   * Refused (allowed false, nothing counted) while the key waits out its backoff.
   */
  takeLoginAttempt(key: string, now: number, policy: LoginAttemptPolicy): Promise<LoginAttempt>;
  /** Gives back one counted attempt (a login that succeeded). */
  refundLoginAttempt(key: string): Promise<void>;
  /** Ends every throttle of a user name, from every address (`oscope console user unlock`); returns how many. */
  clearUserLoginThrottles(username: string): Promise<number>;
  /** Deletes windows that started before `before`. */
  pruneLoginThrottles(before: number): Promise<number>;

  createSession(idHash: string, userId: string, now: number, expiresAt: number): Promise<void>;
  /** The user of a live session, undefined when unknown or expired. */
  getSessionUser(idHash: string, now: number): Promise<UserRow | undefined>;
  deleteSession(idHash: string): Promise<void>;

  /** Stores a new API token of a user (its secret's hash only). */
  createApiToken(t: { id: string; userId: string; name: string; scope: TokenScope; tokenHash: string; createdBy: string; now: number }): Promise<ApiTokenRow>;
  /** A token and its user, undefined when there is no such token (or no such user any more). */
  getApiToken(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | undefined>;
  listApiTokens(): Promise<ApiTokenRow[]>;
  /** Revokes a token; false when there is none. */
  deleteApiToken(id: string): Promise<boolean>;
  /** Records a use (at most once a minute is enough for people to see it). */
  touchApiToken(id: string, now: number): Promise<void>;

  /** Throws StoreConflictError when the name is taken. */
  createNode(name: string, tokenHash: string, now: number): Promise<NodeRow>;
  setNodeToken(id: string, tokenHash: string): Promise<boolean>;
  getNode(id: string): Promise<NodeRow | undefined>;
  getNodeByName(name: string): Promise<NodeRow | undefined>;
  listNodes(): Promise<NodeRow[]>;
  touchNode(id: string, now: number, info?: Record<string, unknown>): Promise<void>;
  /** Records when several nodes were last heard from, in one transaction (never moves a time back). */
  touchNodes(seen: ReadonlyMap<string, number>): Promise<void>;

  /** Stores samples; a sample already stored (same node and ts) is kept as it was. Returns rows added. */
  addSamples(nodeId: string, samples: { ts: number; data: Record<string, unknown> }[]): Promise<number>;
  listSamples(nodeId: string, since: number, until: number, limit: number): Promise<SampleRow[]>;
  /**
   * The newest samples of the range (at most `limit`), oldest first, stopping before their JSON passes
   * `maxBytes` (`truncated` then); a stored sample larger than `maxRowBytes` is skipped unread.
   */
  listSamplesBounded(nodeId: string, since: number, until: number, limit: number, maxBytes: number, maxRowBytes: number): Promise<{ rows: SampleRow[]; truncated: boolean }>;
  latestSample(nodeId: string): Promise<SampleRow | undefined>;
  /** Stores profile windows; one already stored (same node, start and rate) is kept. Returns rows added. */
  addProfiles(nodeId: string, profiles: Omit<ProfileRow, 'nodeId'>[]): Promise<number>;
  /** The profile windows starting in the range, newest first up to `maxBytes` of data (`truncated` then), returned oldest first. */
  listProfiles(nodeId: string, since: number, until: number, maxBytes: number): Promise<{ rows: ProfileRow[]; truncated: boolean }>;
  /** Retention: deletes windows older than `before`, then per node the oldest until its windows hold at most `maxBytesPerNode`. */
  pruneProfiles(before: number, maxBytesPerNode: number): Promise<number>;
  /** Retention: deletes samples older than `before`; returns how many. */
  pruneSamples(before: number): Promise<number>;

  /** Stores alert events; an event id already stored is ignored. Returns rows added. */
  addAlerts(alerts: AlertRow[]): Promise<number>;
  listAlerts(filter: AlertFilter): Promise<AlertRow[]>;
  pruneAlerts(before: number): Promise<number>;

  /**
   * Stores boots of a node: a new boot id is added, a known one takes the newer report (the current
   * boot's `running` row gets its end cause). Returns rows added or changed.
   */
  addBoots(nodeId: string, boots: Omit<BootRow, 'nodeId' | 'reportedAt'>[], now: number): Promise<number>;
  /** A node's boots, newest first. */
  listBoots(nodeId: string, limit: number): Promise<BootRow[]>;
  /** Crashes across the fleet grouped by title and stack signature, the most recent group first. */
  listCrashGroups(filter: CrashFilter): Promise<CrashGroupRow[]>;

  /** Queues a task; throws StoreConflictError (with the active duplicate's id in the message) on a duplicate. */
  createTask(t: NewTask): Promise<TaskRow>;
  /** Stores a finished task with its report in one transaction (a diagnosis the agent ran on its own). */
  createFinishedTask(t: NewTask, fin: FinishTask, id?: string): Promise<TaskRow>;
  getTask(id: string): Promise<TaskRow | undefined>;
  findActiveTask(nodeId: string, diagnosis: string, paramsKey: string): Promise<TaskRow | undefined>;
  listTasks(filter: { nodeId?: string; limit: number }): Promise<TaskRow[]>;
  /** Atomically moves the oldest queued task of the node to running. */
  claimTask(nodeId: string, now: number, leaseUntil: number, runTimeoutMs: (diagnosis: string) => number): Promise<TaskRow | undefined>;
  /** Records progress of a running task of this node and extends its lease; false when not running/not its own. */
  heartbeatTask(id: string, nodeId: string, progress: TaskProgress | null, now: number, leaseUntil: number): Promise<boolean>;
  /**
   * Finishes a running task of this node, storing the report in the same transaction. Returns the
   * task after the change; `alreadyFinished` when it was done before (an agent re-sending a result).
   */
  finishTask(id: string, nodeId: string, fin: FinishTask, now: number): Promise<{ task: TaskRow; alreadyFinished: boolean } | undefined>;
  /** Cancels an active task; false when it is not active. */
  cancelTask(id: string, now: number): Promise<boolean>;
  /** Times out queued tasks past their pickup deadline and running tasks past their lease or run deadline. */
  expireTasks(now: number): Promise<TaskRow[]>;
  getReport(taskId: string): Promise<{ schema: string; document: unknown; createdAt: number } | undefined>;
  /** The newest report of a node's finished tasks of one diagnosis (the console's latest `config` capture per node). */
  latestReport(nodeId: string, diagnosis: string): Promise<{ taskId: string; schema: string; document: unknown; createdAt: number } | undefined>;
}
