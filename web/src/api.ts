/**
 * The console's JSON API as the UI uses it (src/console/server.ts, src/console/API.md). Every call sends
 * the session cookie; a 401 anywhere sends the person back to the login page.
 */

export type Severity = 'info' | 'warning' | 'critical';
export type TaskStatus = 'queued' | 'running' | 'done' | 'failed' | 'timeout' | 'cancelled';

export interface LatestCgroup {
  path: string;
  container: string | null;
  usageBytes: number;
  workingsetBytes: number;
  limitBytes: number | null;
}

/** The agent's run-queue latency histogram for one sample interval (absent in older samples). */
export interface RunqueueLatency {
  /** Bucket upper bounds in ms; the last is +Inf, written as null. */
  leMs: (number | null)[];
  counts: number[];
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface LogAnomalies {
  total: number;
  byRule: Record<string, number>;
}

export interface NodeLatest {
  ts: string;
  runqueueLatency?: RunqueueLatency | null;
  logAnomalies?: LogAnomalies | null;
  memTotalBytes?: number;
  memAvailableBytes?: number;
  memFreeBytes?: number;
  components?: Record<string, number>;
  cgroups?: LatestCgroup[];
  zombieCgroups?: number | null;
  psiMemorySomeAvg10?: number | null;
}

export interface NodeInfo {
  hostname?: string;
  kernel?: string;
  agentVersion?: string;
  diagnoses?: string[];
}

export interface Node {
  id: string;
  name: string;
  createdAt: string;
  lastSeenAt: string | null;
  online: boolean;
  info: NodeInfo;
  latest: NodeLatest | null;
}

export interface TaskProgress {
  step: string;
  done: number;
  total: number;
}

export interface Task {
  id: string;
  nodeId: string;
  diagnosis: string;
  params: Record<string, unknown>;
  status: TaskStatus;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: TaskProgress | null;
  error: string | null;
  reportSchema: string | null;
}

export interface Alert {
  id: string;
  nodeId: string;
  rule: string;
  severity: Severity;
  state: 'firing' | 'resolved';
  ts: string;
  /** English. */
  message: string;
  /** Per UI language, when the agent sent them. */
  messages?: { en: string; 'zh-CN': string } | null;
  data: Record<string, unknown>;
}

export type Role = 'admin' | 'viewer';

export interface Me {
  id: string;
  username: string;
  role: Role;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

export interface AlertFilter {
  node?: string;
  severity?: Severity;
  state?: 'firing' | 'resolved';
}

/** The alert's message in the UI language when the agent sent one, else the English message. */
export function alertMessage(a: Alert, lang: string): string {
  const m = a.messages;
  if (m && (lang === 'en' || lang === 'zh-CN') && m[lang]) return m[lang];
  return a.message;
}

export interface DiagnosisInfo {
  name: string;
  description: string;
  schema: string;
  timeoutMs: number;
  defaults: Record<string, unknown> | null;
}

export interface Sample {
  ts: string;
  data: NodeLatest;
}

export interface Finding {
  id: string;
  severity: Severity;
  title: string;
  conclusion: string;
  suggestions: string[];
  evidence: Record<string, unknown>;
}

/** Any report document: a schema name, findings when the diagnosis has them, and the rest. */
export interface ReportDoc {
  schema: string;
  findings?: Finding[];
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

async function call<R>(method: string, path: string, body?: unknown): Promise<R> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401 && path.startsWith('/api/')) onUnauthorized();
    const msg = json && typeof json === 'object' && 'error' in json ? String((json as { error: unknown }).error) : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, json && typeof json === 'object' ? (json as Record<string, unknown>) : {});
  }
  return json as R;
}

export const api = {
  login: (username: string, password: string) => call<{ user: Me }>('POST', '/auth/login', { username, password }),
  logout: () => call<{ ok: boolean }>('POST', '/auth/logout', {}),
  me: () => call<Me>('GET', '/api/me'),
  changePassword: (currentPassword: string, newPassword: string) => call<{ ok: boolean }>('POST', '/api/me/password', { currentPassword, newPassword }),
  users: () => call<{ users: User[] }>('GET', '/api/users').then((r) => r.users),
  createUser: (username: string, password: string, role: Role) => call<{ user: User }>('POST', '/api/users', { username, password, role }).then((r) => r.user),
  deleteUser: (id: string) => call<{ ok: boolean }>('DELETE', `/api/users/${encodeURIComponent(id)}`),
  diagnoses: () => call<{ diagnoses: DiagnosisInfo[] }>('GET', '/api/diagnoses').then((r) => r.diagnoses),
  nodes: () => call<{ nodes: Node[] }>('GET', '/api/nodes').then((r) => r.nodes),
  node: (id: string) => call<Node>('GET', `/api/nodes/${encodeURIComponent(id)}`),
  samples: (id: string, sinceIso: string) =>
    call<{ samples: Sample[] }>('GET', `/api/nodes/${encodeURIComponent(id)}/samples?since=${encodeURIComponent(sinceIso)}&limit=1000`).then((r) => r.samples),
  createTask: (nodeId: string, diagnosis: string, params: Record<string, unknown>) =>
    call<{ task: Task }>('POST', `/api/nodes/${encodeURIComponent(nodeId)}/tasks`, { diagnosis, params }).then((r) => r.task),
  tasks: (nodeId?: string, limit = 200) => call<{ tasks: Task[] }>('GET', `/api/tasks?limit=${limit}${nodeId ? `&node=${encodeURIComponent(nodeId)}` : ''}`).then((r) => r.tasks),
  task: (id: string) => call<{ task: Task }>('GET', `/api/tasks/${encodeURIComponent(id)}`).then((r) => r.task),
  cancelTask: (id: string) => call<{ task: Task }>('POST', `/api/tasks/${encodeURIComponent(id)}/cancel`, {}).then((r) => r.task),
  report: (id: string) => call<ReportDoc>('GET', `/api/tasks/${encodeURIComponent(id)}/report`),
  alerts: (nodeId?: string, limit = 500, filter: Omit<AlertFilter, 'node'> = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (nodeId) q.set('node', nodeId);
    if (filter.severity) q.set('severity', filter.severity);
    if (filter.state) q.set('state', filter.state);
    return call<{ alerts: Alert[] }>('GET', `/api/alerts?${q.toString()}`).then((r) => r.alerts);
  },
};

/** Alerts whose latest event (per node and rule) is firing. */
export function firingAlerts(alerts: Alert[]): Alert[] {
  const latest = new Map<string, Alert>();
  for (const a of alerts) {
    const k = `${a.nodeId}\u0000${a.rule}`;
    const cur = latest.get(k);
    if (!cur || cur.ts < a.ts) latest.set(k, a);
  }
  return [...latest.values()].filter((a) => a.state === 'firing');
}
