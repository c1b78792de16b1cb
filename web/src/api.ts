/**
 * The console's JSON API as the UI uses it (src/console/server.ts, src/console/API.md). Every call sends
 * the session cookie; a 401 anywhere sends the person back to the login page. Every reply is typed by the
 * contract's ApiReplies (src/contract/console.ts), which the server types its routes with as well.
 */
import type { Alert, AlertFilter, AnyDocument, ApiReplies, MemDocument, Role, StoredDocument, TokenScope } from '@contract';

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

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * One request. The reply's type is the route's entry in ApiReplies: this is the one place where the
 * console's JSON becomes typed (`Response.json()` promises whatever the caller names).
 */
async function call<K extends keyof ApiReplies>(route: K, path: string, body?: unknown): Promise<ApiReplies[K]> {
  const method = route.slice(0, route.indexOf(' '));
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    if (res.status === 401 && path.startsWith('/api/')) onUnauthorized();
    const err: unknown = await res.json().catch(() => null);
    const fields = isRecord(err) ? err : {};
    throw new ApiError(res.status, typeof fields.error === 'string' ? fields.error : `${res.status} ${res.statusText}`, fields);
  }
  return res.json();
}

const id = encodeURIComponent;

export const api = {
  login: (username: string, password: string) => call('POST /auth/login', '/auth/login', { username, password }),
  logout: () => call('POST /auth/logout', '/auth/logout', {}),
  me: () => call('GET /api/me', '/api/me'),
  changePassword: (currentPassword: string, newPassword: string) => call('POST /api/me/password', '/api/me/password', { currentPassword, newPassword }),
  users: () => call('GET /api/users', '/api/users').then((r) => r.users),
  createUser: (username: string, password: string, role: Role) => call('POST /api/users', '/api/users', { username, password, role }).then((r) => r.user),
  deleteUser: (userId: string) => call('DELETE /api/users/:id', `/api/users/${id(userId)}`),
  diagnoses: () => call('GET /api/diagnoses', '/api/diagnoses').then((r) => r.diagnoses),
  nodes: () => call('GET /api/nodes', '/api/nodes').then((r) => r.nodes),
  node: (nodeId: string) => call('GET /api/nodes/:id', `/api/nodes/${id(nodeId)}`),
  profiles: (nodeId: string, sinceIso: string, untilIso: string) => call('GET /api/nodes/:id/profiles', `/api/nodes/${id(nodeId)}/profiles?since=${id(sinceIso)}&until=${id(untilIso)}`),
  samples: (nodeId: string, sinceIso: string) => call('GET /api/nodes/:id/samples', `/api/nodes/${id(nodeId)}/samples?since=${id(sinceIso)}&limit=1000`).then((r) => r.samples),
  createTask: (nodeId: string, diagnosis: string, params: Record<string, unknown>) => call('POST /api/nodes/:id/tasks', `/api/nodes/${id(nodeId)}/tasks`, { diagnosis, params }).then((r) => r.task),
  tasks: (nodeId?: string, limit = 200) => call('GET /api/tasks', `/api/tasks?limit=${limit}${nodeId ? `&node=${id(nodeId)}` : ''}`).then((r) => r.tasks),
  task: (taskId: string) => call('GET /api/tasks/:id', `/api/tasks/${id(taskId)}`).then((r) => r.task),
  cancelTask: (taskId: string) => call('POST /api/tasks/:id/cancel', `/api/tasks/${id(taskId)}/cancel`, {}).then((r) => r.task),
  report: (taskId: string) => call('GET /api/tasks/:id/report', `/api/tasks/${id(taskId)}/report`),
  crashes: (filter: { since?: string; kernel?: string; node?: string } = {}, limit = 200) => {
    const q = new URLSearchParams({ limit: String(limit) });
    for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
    return call('GET /api/crashes', `/api/crashes?${q.toString()}`).then((r) => r.crashes);
  },
  boots: (nodeId: string) => call('GET /api/nodes/:id/boots', `/api/nodes/${id(nodeId)}/boots?limit=50`).then((r) => r.boots),
  tokens: () => call('GET /api/tokens', '/api/tokens').then((r) => r.tokens),
  createToken: (name: string, scope: TokenScope, userId?: string) => call('POST /api/tokens', '/api/tokens', { name, scope, ...(userId ? { userId } : {}) }),
  deleteToken: (tokenId: string) => call('DELETE /api/tokens/:id', `/api/tokens/${id(tokenId)}`),
  nodeConfig: (nodeId: string) => call('GET /api/nodes/:id/config', `/api/nodes/${id(nodeId)}/config`),
  configDiff: (a: string, b: string, lang: string) => call('GET /api/config-diff', `/api/config-diff?${new URLSearchParams({ a, b, lang }).toString()}`),
  alerts: (nodeId?: string, limit = 500, filter: Omit<AlertFilter, 'node'> = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (nodeId) q.set('node', nodeId);
    if (filter.severity) q.set('severity', filter.severity);
    if (filter.state) q.set('state', filter.state);
    return call('GET /api/alerts', `/api/alerts?${q.toString()}`).then((r) => r.alerts);
  },
};

/** Every schema this UI has a view for; a document of another schema is a ForeignDocument. */
const KNOWN_SCHEMAS: Record<AnyDocument['schema'], true> = {
  'oscope.mem/v1': true,
  'oscope.filecache/v1': true,
  'oscope.memleak/v1': true,
  'oscope.runlatency/v1': true,
  'oscope.inspect/v1': true,
  'oscope.io/v1': true,
  'oscope.load/v1': true,
  'oscope.profile/v1': true,
  'oscope.net/v1': true,
  'oscope.config/v1': true,
  'oscope.config-diff/v1': true,
};

/**
 * A document of a schema this UI knows. The name is the contract: a document named `oscope.mem/v1` has
 * that schema's shape (a breaking change bumps the version, and so the name).
 */
export function isKnownDocument(doc: StoredDocument): doc is AnyDocument {
  return Object.hasOwn(KNOWN_SCHEMAS, doc.schema);
}

/** The memory panorama, when the document is one. */
export function memDocument(doc: StoredDocument): MemDocument | undefined {
  return isKnownDocument(doc) && doc.schema === 'oscope.mem/v1' ? doc : undefined;
}

/** The alert's message in the UI language when the agent sent one, else the English message. */
export function alertMessage(a: Alert, lang: string): string {
  const m = a.messages;
  if (m && (lang === 'en' || lang === 'zh-CN') && m[lang]) return m[lang];
  return a.message;
}

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
