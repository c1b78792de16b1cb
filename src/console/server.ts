/**
 * The console's HTTP server (fastify): the JSON API for people (session cookie), the agent endpoints
 * (bearer token), the web UI (web/dist when built, else a placeholder page) and /healthz.
 *
 * Authentication is one hook in front of every /api/ route, including unknown ones: no credentials →
 * 401; a person's session on an agent route or an agent token on a person route → 403. An agent token
 * names its node, and every agent route acts on that node only. Request bodies and queries are parsed
 * with the zod schemas of ./protocol.ts; a bad one answers 400 with the reason and changes nothing.
 * The API reference is ./API.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ZodError } from 'zod';
import { canonicalParams, type DiagnosisRegistry, zodReason } from '../agent/registry.js';
import { VERSION } from '../version.js';
import { hashEquals, hashPassword, newAgentToken, newPassword, newSecret, parseAgentToken, sha256, verifyPassword } from './auth.js';
import {
  AgentReportBody,
  AlertsBody,
  AlertsQuery,
  ChangePasswordBody,
  type ClaimedTask,
  CreateUserBody,
  CreateNodeBody,
  CreateTaskBody,
  HelloBody,
  IdParams,
  ListQuery,
  LoginBody,
  ProgressBody,
  ReportDocument,
  ResultBody,
  SamplesBody,
  SamplesQuery,
} from './protocol.js';
import { type AlertRow, type NodeRow, type Store, StoreConflictError, type TaskRow, type UserRow } from './store/index.js';
import type { HelloReply, NodeSampleData } from '../contract/agent-wire.js';
import type { Alert, ApiReplies, DiagnosisInfo, Node, NodeInfo, NodeSample, Task, User } from '../contract/console.js';
import type { StoredDocument } from '../contract/index.js';

/**
 * Login throttling: failed logins are counted per user name and per client address in a fixed window
 * (in the store, so every console sharing a database counts together). Past a limit, logins for that
 * name or from that address answer 429 with Retry-After until the window ends, even with the right
 * password. A successful login clears the name's count (not the address's).
 */
export interface LoginLimits {
  perUser: number;
  perIp: number;
  windowMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perUser: 5, perIp: 20, windowMs: 15 * 60_000, backoffBaseMs: 1000, backoffMaxMs: 15 * 60_000 };

export const SESSION_COOKIE = 'oscope_session';

export interface ConsoleTimings {
  /** Session lifetime. */
  sessionTtlMs: number;
  /** A queued task not claimed within this times out. */
  pickupTimeoutMs: number;
  /** A running task without progress or heartbeat for this long times out. */
  leaseMs: number;
  /** A node is "online" when its agent was heard from within this. */
  onlineWindowMs: number;
}

export const DEFAULT_TIMINGS: ConsoleTimings = {
  sessionTtlMs: 12 * 3600_000,
  pickupTimeoutMs: 5 * 60_000,
  leaseMs: 60_000,
  onlineWindowMs: 60_000,
};

export interface ServerOptions {
  store: Store;
  registry: DiagnosisRegistry;
  timings?: Partial<ConsoleTimings>;
  /** Directory of the built web UI (served when it has index.html). */
  webDir?: string;
  /** Secure cookies (behind TLS). Default false: the console listens on localhost by default. */
  secureCookies?: boolean;
  logger?: boolean;
  now?: () => number;
  loginLimits?: Partial<LoginLimits>;
}

type Principal = { kind: 'user'; user: UserRow; sessionHash: string } | { kind: 'agent'; node: NodeRow };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route: people (session) or agents (token). */
    auth?: 'user' | 'agent';
    /** People with the admin role only (a viewer only reads). */
    admin?: boolean;
  }
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function parse<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new HttpError(400, `invalid ${what}: ${zodReason(r.error)}`);
  return r.data as z.output<S>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A route's reply, typed by the contract (src/contract/console.ts ApiReplies), for fastify's route generic. */
type Reply<K extends keyof ApiReplies> = { Reply: ApiReplies[K] };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A sample's data as the agent sent it. Agents build it from NodeSampleData (src/contract/agent-wire.ts);
 * the console accepts any JSON object there (older and newer agents send fewer or more fields) and stores
 * it as sent, so this is where the stored object is read as that type.
 */
const sampleData = (data: Record<string, unknown>): NodeSampleData => data as NodeSampleData;

export function taskJson(t: TaskRow): Task {
  return {
    id: t.id,
    nodeId: t.nodeId,
    diagnosis: t.diagnosis,
    params: (t.params ?? {}) as Record<string, unknown>,
    status: t.status,
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt)!,
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    progress: t.progress,
    error: t.error,
    reportSchema: t.reportSchema,
  };
}

function alertJson(a: AlertRow): Alert {
  return { id: a.id, nodeId: a.nodeId, rule: a.rule, severity: a.severity, state: a.state, ts: iso(a.ts)!, message: a.message, messages: a.messages, data: a.data };
}

function userJson(u: UserRow): User {
  return { id: u.id, username: u.username, role: u.role, createdAt: iso(u.createdAt)! };
}

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oscope console</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .3em}</style>
</head><body><h1>oscope console</h1>
<p>The web UI is not built (no <code>web/dist</code>). Run <code>make build</code>, or use the JSON API:
log in with <code>POST /auth/login</code>, then <code>GET /api/nodes</code>. See <code>src/console/API.md</code>.</p>
</body></html>
`;

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { store, registry } = opts;
  const webDir = opts.webDir;
  /** Looked up per request: the UI may be built (or rebuilt) while the console runs. */
  const hasIndex = (): boolean => webDir !== undefined && existsSync(join(webDir, 'index.html'));
  const staticOn = webDir !== undefined && existsSync(webDir);
  const t: ConsoleTimings = { ...DEFAULT_TIMINGS, ...opts.timings };
  const now = opts.now ?? Date.now;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 64 * 1024 * 1024, trustProxy: false });
  await app.register(fastifyCookie);

  /**
   * When each node's agent was last heard from: kept in memory and written for all nodes at once every
   * second (a hint for the UI, not acknowledged data), so a poll costs no write. A hello writes at once.
   */
  const seen = new Map<string, number>();
  const flushSeen = async (): Promise<void> => {
    if (seen.size === 0) return;
    const batch = new Map(seen);
    seen.clear();
    await store.touchNodes(batch);
  };
  const seenTimer = setInterval(() => void flushSeen().catch((err: unknown) => app.log.error(err)), 1000);
  seenTimer.unref();
  app.addHook('onClose', async () => {
    clearInterval(seenTimer);
    await flushSeen().catch(() => undefined);
  });
  const touch = async (node: NodeRow, info?: Record<string, unknown>): Promise<void> => {
    const n = now();
    if (info) await store.touchNode(node.id, n, info);
    else seen.set(node.id, n);
  };

  const authenticate = async (req: FastifyRequest): Promise<Principal | undefined> => {
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Bearer ')) {
      const tok = parseAgentToken(h.slice(7).trim());
      if (!tok) return undefined;
      const node = await store.getNode(tok.nodeId);
      if (!node || !hashEquals(node.tokenHash, sha256(tok.secret))) return undefined;
      return { kind: 'agent', node };
    }
    const sid = req.cookies[SESSION_COOKIE];
    if (typeof sid === 'string' && sid.length > 0 && sid.length < 100) {
      const sessionHash = sha256(sid);
      const user = await store.getSessionUser(sessionHash, now());
      if (user) return { kind: 'user', user, sessionHash };
    }
    return undefined;
  };

  /** The path as the router sees it (percent-decoded), so `/%61pi/...` cannot slip past the check. */
  const isApiPath = (url: string): boolean => {
    let path = url.split('?')[0]!;
    try {
      path = decodeURIComponent(path);
    } catch {
      return true; // undecodable: treat as API (401), never as open
    }
    return /^\/+api(\/|$)/i.test(path);
  };

  app.addHook('onRequest', async (req, reply) => {
    // The route's own declaration decides first; any other path that looks like the API needs credentials too.
    const need = req.routeOptions.config?.auth;
    if (!need && !isApiPath(req.url)) return;
    const p = await authenticate(req);
    if (!p) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="oscope"').send({ error: 'authentication required: log in, or send an agent token' });
      return reply;
    }
    req.principal = p;
    if (need && need !== p.kind) {
      await reply.code(403).send({ error: need === 'user' ? 'an agent token cannot use the people API' : 'only an agent may use the agent API' });
      return reply;
    }
    if (req.routeOptions.config?.admin === true && !(p.kind === 'user' && p.user.role === 'admin')) {
      await reply.code(403).send({ error: 'only an admin may do this (your role is viewer)' });
      return reply;
    }
    if (p.kind === 'agent') await touch(p.node);
  });

  app.setErrorHandler(async (err: unknown, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message, ...err.extra });
    if (err instanceof ZodError) return reply.code(400).send({ error: zodReason(err) });
    const e = err as { statusCode?: number; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return reply.code(e.statusCode).send({ error: e.message ?? 'bad request' });
    app.log.error(err);
    return reply.code(500).send({ error: 'internal error' });
  });

  app.setNotFoundHandler(async (req, reply) => {
    if (isApiPath(req.url) || req.method !== 'GET') return reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` });
    // The single-page UI owns every other GET path.
    if (staticOn && hasIndex()) return reply.header('cache-control', 'no-cache').sendFile('index.html');
    return reply.type('text/html; charset=utf-8').send(PLACEHOLDER);
  });

  const user = (req: FastifyRequest): UserRow => {
    if (req.principal?.kind !== 'user') throw new HttpError(403, 'people only');
    return req.principal.user;
  };
  const agent = (req: FastifyRequest): NodeRow => {
    if (req.principal?.kind !== 'agent') throw new HttpError(403, 'agents only');
    return req.principal.node;
  };
  const nodeOr404 = async (id: string): Promise<NodeRow> => {
    const n = await store.getNode(id);
    if (!n) throw new HttpError(404, `no node ${id}`);
    return n;
  };

  const nodeJson = (n: NodeRow): Node => {
    const latest = n.latest;
    const lastSeen = Math.max(n.lastSeenAt ?? 0, seen.get(n.id) ?? 0) || null;
    return {
      id: n.id,
      name: n.name,
      createdAt: iso(n.createdAt)!,
      lastSeenAt: iso(lastSeen),
      online: lastSeen !== null && lastSeen > now() - t.onlineWindowMs,
      info: n.info as NodeInfo,
      latest: latest ? { ...sampleData(latest.data), ts: iso(latest.ts)! } : null,
    };
  };

  // --- unauthenticated ---

  app.get<Reply<'GET /healthz'>>('/healthz', async () => ({ ok: true, version: VERSION, store: store.kind }));

  const limits: LoginLimits = { ...DEFAULT_LOGIN_LIMITS, ...opts.loginLimits };
  /** 429 when the name or the address is past its limit in the current window. */
  const checkThrottle = async (keys: { key: string; limit: number; what: string }[]): Promise<void> => {
    const n = now();
    for (const k of keys) {
      const th = await store.getLoginThrottle(k.key);
      if (!th || th.windowStart <= n - limits.windowMs || th.failures < k.limit) continue;
      const retryAfterS = Math.max(1, Math.ceil((th.windowStart + limits.windowMs - n) / 1000));
      throw new HttpError(429, `too many failed logins ${k.what}; try again in ${retryAfterS} s`, { retryAfterS });
    }
  };

  app.post<Reply<'POST /auth/login'>>('/auth/login', async (req, reply) => {
    const body = parse(LoginBody, req.body, 'login');
    const userKey = `user:${body.username.toLowerCase()}`;
    const ipKey = `ip:${req.ip}`;
    try {
      await checkThrottle([
        { key: ipKey, limit: limits.perIp, what: 'from this address' },
        { key: userKey, limit: limits.perUser, what: 'for this user name' },
      ]);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 429) void reply.header('retry-after', String(err.extra.retryAfterS));
      throw err;
    }
    const u = await store.getUserByName(body.username);
    if (!(await verifyPassword(body.password, u?.passwordHash)) || !u) {
      const n = now();
      await store.recordLoginFailure(ipKey, n, n - limits.windowMs);
      await store.recordLoginFailure(userKey, n, n - limits.windowMs);
      throw new HttpError(401, 'wrong user name or password');
    }
    await store.clearLoginThrottle(userKey);
    const sid = newSecret();
    const n = now();
    await store.createSession(sha256(sid), u.id, n, n + t.sessionTtlMs);
    void reply.setCookie(SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secureCookies === true,
      path: '/',
      maxAge: Math.floor(t.sessionTtlMs / 1000),
    });
    return { user: { id: u.id, username: u.username, role: u.role } };
  });

  app.post<Reply<'POST /auth/logout'>>('/auth/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (typeof sid === 'string') await store.deleteSession(sha256(sid));
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  // --- people ---

  const U = { config: { auth: 'user' as const } };
  /** Changes something: admins only. */
  const ADMIN = { config: { auth: 'user' as const, admin: true } };

  app.get<Reply<'GET /api/me'>>('/api/me', U, async (req) => {
    const u = user(req);
    return { id: u.id, username: u.username, role: u.role };
  });

  app.post<Reply<'POST /api/me/password'>>('/api/me/password', U, async (req) => {
    const u = user(req);
    const body = parse(ChangePasswordBody, req.body, 'password change');
    // 403, not 401: the session is fine, the proof is not (a 401 would log the UI out).
    if (!(await verifyPassword(body.currentPassword, u.passwordHash))) throw new HttpError(403, 'the current password is wrong');
    if (body.newPassword === body.currentPassword) throw new HttpError(400, 'invalid password change: the new password is the same as the current one');
    const sessionHash = req.principal?.kind === 'user' ? req.principal.sessionHash : undefined;
    await store.setUserPassword(u.id, await hashPassword(body.newPassword), sessionHash);
    return { ok: true };
  });

  // --- user management (admins) ---

  app.get<Reply<'GET /api/users'>>('/api/users', ADMIN, async () => ({ users: (await store.listUsers()).map(userJson) }));

  app.post<Reply<'POST /api/users'>>('/api/users', ADMIN, async (req, reply) => {
    const body = parse(CreateUserBody, req.body, 'user');
    try {
      const u = await store.createUser(body.username, await hashPassword(body.password), now(), body.role);
      return reply.code(201).send({ user: userJson(u) });
    } catch (err) {
      if (err instanceof StoreConflictError) throw new HttpError(409, err.message);
      throw err;
    }
  });

  app.delete<Reply<'DELETE /api/users/:id'>>('/api/users/:id', ADMIN, async (req) => {
    const me = user(req);
    const id = parse(IdParams, req.params, 'path').id;
    if (id === me.id) throw new HttpError(409, 'you cannot remove your own account; ask another admin');
    try {
      if (!(await store.deleteUser(id))) throw new HttpError(404, `no user ${id}`);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new HttpError(409, err.message);
      throw err;
    }
    return { ok: true };
  });

  app.get<Reply<'GET /api/diagnoses'>>('/api/diagnoses', U, async () => ({
    diagnoses: registry.list().map((d): DiagnosisInfo => {
      // The defaults: the parameters of a task that gives none (null when some parameter is required).
      const defaults = d.params.safeParse({});
      return { name: d.name, description: d.description, schema: d.schema, timeoutMs: d.timeoutMs, defaults: defaults.success && isRecord(defaults.data) ? defaults.data : null };
    }),
  }));

  app.get<Reply<'GET /api/nodes'>>('/api/nodes', U, async () => ({ nodes: (await store.listNodes()).map(nodeJson) }));

  app.post<Reply<'POST /api/nodes'>>('/api/nodes', ADMIN, async (req, reply) => {
    const body = parse(CreateNodeBody, req.body, 'node');
    // The token hash needs the node id; create with a placeholder hash that no secret matches, then set it.
    let node: NodeRow;
    try {
      node = await store.createNode(body.name, '00', now());
    } catch (err) {
      if (err instanceof StoreConflictError) throw new HttpError(409, err.message);
      throw err;
    }
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    return reply.code(201).send({ node: nodeJson(node), token: tok.token });
  });

  app.get<Reply<'GET /api/nodes/:id'>>('/api/nodes/:id', U, async (req) => nodeJson(await nodeOr404(parse(IdParams, req.params, 'path').id)));

  app.post<Reply<'POST /api/nodes/:id/token'>>('/api/nodes/:id/token', ADMIN, async (req) => {
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    return { token: tok.token };
  });

  app.get<Reply<'GET /api/nodes/:id/samples'>>('/api/nodes/:id/samples', U, async (req) => {
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const q = parse(SamplesQuery, req.query, 'query');
    const until = q.until ? Date.parse(q.until) : now();
    const since = q.since ? Date.parse(q.since) : until - 3600_000;
    if (since > until) throw new HttpError(400, 'invalid query: since is after until');
    const rows = await store.listSamples(node.id, since, until, q.limit);
    return { samples: rows.map((r): NodeSample => ({ ts: new Date(r.ts).toISOString(), data: sampleData(r.data) })) };
  });

  app.post<Reply<'POST /api/nodes/:id/tasks'>>('/api/nodes/:id/tasks', ADMIN, async (req, reply) => {
    const u = user(req);
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const body = parse(CreateTaskBody, req.body, 'task');
    const v = registry.validate(body.diagnosis, body.params);
    if (!v.ok) throw new HttpError(400, v.reason);
    const n = now();
    try {
      const task = await store.createTask({
        nodeId: node.id,
        diagnosis: body.diagnosis,
        params: v.params,
        paramsKey: canonicalParams(v.params),
        createdBy: `user:${u.username}`,
        now: n,
        pickupDeadlineAt: n + t.pickupTimeoutMs,
      });
      return reply.code(201).send({ task: taskJson(task) });
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw new HttpError(409, `the same diagnosis with the same parameters is already queued or running on ${node.name}`, { activeTaskId: err.message });
      }
      throw err;
    }
  });

  app.get<Reply<'GET /api/tasks'>>('/api/tasks', U, async (req) => {
    const q = parse(ListQuery, req.query, 'query');
    return { tasks: (await store.listTasks({ nodeId: q.node, limit: q.limit })).map(taskJson) };
  });

  const taskOr404 = async (req: FastifyRequest): Promise<TaskRow> => {
    const id = parse(IdParams, req.params, 'path').id;
    const task = await store.getTask(id);
    if (!task) throw new HttpError(404, `no task ${id}`);
    return task;
  };

  app.get<Reply<'GET /api/tasks/:id'>>('/api/tasks/:id', U, async (req) => ({ task: taskJson(await taskOr404(req)) }));

  app.get<Reply<'GET /api/tasks/:id/report'>>('/api/tasks/:id/report', U, async (req, reply) => {
    const task = await taskOr404(req);
    const r = await store.getReport(task.id);
    if (!r) throw new HttpError(404, `task ${task.id} has no report (status ${task.status})`);
    // Stored as the agent sent it, checked then as a document (a schema name and the rest); the same
    // check here types it without copying it (passthrough keeps every field).
    const doc = ReportDocument.safeParse(r.document);
    if (!doc.success) throw new HttpError(500, `the stored report of task ${task.id} is not a document`);
    const stored: StoredDocument = doc.data;
    return reply.send(stored);
  });

  app.post<Reply<'POST /api/tasks/:id/cancel'>>('/api/tasks/:id/cancel', ADMIN, async (req) => {
    const task = await taskOr404(req);
    if (!(await store.cancelTask(task.id, now()))) throw new HttpError(409, `task ${task.id} is not active (status ${task.status})`);
    return { task: taskJson((await store.getTask(task.id))!) };
  });

  app.get<Reply<'GET /api/alerts'>>('/api/alerts', U, async (req) => {
    const q = parse(AlertsQuery, req.query, 'query');
    return { alerts: (await store.listAlerts({ nodeId: q.node, severity: q.severity, state: q.state, limit: q.limit })).map(alertJson) };
  });

  // --- agents (each acts on its own node only) ---

  const A = { config: { auth: 'agent' as const } };

  app.post<{ Reply: HelloReply }>('/api/agent/hello', A, async (req) => {
    const node = agent(req);
    const body = parse(HelloBody, req.body, 'hello');
    await touch(node, body);
    return { nodeId: node.id, name: node.name, serverTime: new Date(now()).toISOString(), diagnoses: registry.names() };
  });

  app.post<{ Reply: { stored: number } }>('/api/agent/samples', A, async (req) => {
    const node = agent(req);
    const body = parse(SamplesBody, req.body, 'samples');
    const stored = await store.addSamples(
      node.id,
      body.samples.map((s) => ({ ts: Date.parse(s.ts), data: s.data })),
    );
    return { stored };
  });

  app.post<{ Reply: { stored: number } }>('/api/agent/alerts', A, async (req) => {
    const node = agent(req);
    const body = parse(AlertsBody, req.body, 'alerts');
    const stored = await store.addAlerts(body.events.map((e) => ({ ...e, messages: e.messages ?? null, nodeId: node.id, ts: Date.parse(e.ts) })));
    return { stored };
  });

  app.post<{ Reply: { task: ClaimedTask | null } }>('/api/agent/tasks/claim', A, async (req) => {
    const node = agent(req);
    const n = now();
    const task = await store.claimTask(node.id, n, n + t.leaseMs, (d) => registry.get(d)?.timeoutMs ?? 10 * 60_000);
    const claimed: ClaimedTask | null = task ? { id: task.id, diagnosis: task.diagnosis, params: task.params, heartbeatMs: Math.floor(t.leaseMs / 3) } : null;
    return { task: claimed };
  });

  const ownTask = async (req: FastifyRequest, node: NodeRow): Promise<TaskRow> => {
    const id = parse(IdParams, req.params, 'path').id;
    const task = await store.getTask(id);
    // Another node's task is indistinguishable from a missing one.
    if (!task || task.nodeId !== node.id) throw new HttpError(404, `no task ${id} for this node`);
    return task;
  };

  app.post<{ Reply: { ok: boolean } }>('/api/agent/tasks/:id/progress', A, async (req) => {
    const node = agent(req);
    const task = await ownTask(req, node);
    const body = parse(ProgressBody, req.body, 'progress');
    const n = now();
    if (!(await store.heartbeatTask(task.id, node.id, body, n, n + t.leaseMs))) {
      const cur = await store.getTask(task.id);
      throw new HttpError(409, `task is not running (status ${cur?.status ?? 'unknown'})`, { status: cur?.status });
    }
    return { ok: true };
  });

  app.post<{ Reply: { task: Task } }>('/api/agent/tasks/:id/result', A, async (req) => {
    const node = agent(req);
    const task = await ownTask(req, node);
    const body = parse(ResultBody, req.body, 'result');
    const fin = body.status === 'done' ? { status: 'done' as const, report: { schema: body.report.schema, document: body.report } } : { status: 'failed' as const, error: body.error };
    const r = await store.finishTask(task.id, node.id, fin, now());
    if (!r) throw new HttpError(404, `no task ${task.id} for this node`);
    if (r.task.status !== body.status && !r.alreadyFinished) {
      throw new HttpError(409, `task is no longer running (status ${r.task.status}); the result was not stored`, { status: r.task.status });
    }
    return { task: taskJson(r.task) };
  });

  app.post<{ Reply: { task: Task } }>('/api/agent/reports', A, async (req, reply) => {
    const node = agent(req);
    const body = parse(AgentReportBody, req.body, 'report');
    const v = registry.validate(body.diagnosis, body.params);
    if (!v.ok) throw new HttpError(400, v.reason);
    // A re-sent report (its acknowledgement was lost) is the same task: answer with it, store nothing.
    const same = async (): Promise<TaskRow | undefined> => {
      if (body.id === undefined) return undefined;
      const t = await store.getTask(body.id);
      if (t && t.nodeId !== node.id) throw new HttpError(409, 'this report id belongs to another node');
      return t;
    };
    const known = await same();
    if (known) return reply.code(200).send({ task: taskJson(known) });
    const n = now();
    const fin = body.result.status === 'done'
      ? { status: 'done' as const, report: { schema: body.result.report.schema, document: body.result.report } }
      : { status: 'failed' as const, error: body.result.error };
    let task: TaskRow;
    try {
      task = await store.createFinishedTask(
        { nodeId: node.id, diagnosis: body.diagnosis, params: v.params, paramsKey: canonicalParams(v.params), createdBy: `alert:${body.rule}`, now: n, pickupDeadlineAt: n },
        fin,
        body.id,
      );
    } catch (err) {
      // Two copies racing: the other one stored it.
      const raced = await same();
      if (raced) return reply.code(200).send({ task: taskJson(raced) });
      throw err;
    }
    return reply.code(201).send({ task: taskJson(task) });
  });

  // --- the web UI ---

  // One wildcard route looks each file up when asked, so a rebuilt UI (new hashed asset names) is served
  // without a restart. Hashed assets are cached for good; index.html is revalidated every time.
  if (staticOn) {
    await app.register(fastifyStatic, {
      root: webDir,
      prefix: '/',
      wildcard: true,
      index: 'index.html',
      setHeaders: (reply, path) => {
        reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.get('/', async (_req, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(PLACEHOLDER));
  }

  return app;
}

/** Creates the first account when there is none; returns its password (to show once), else undefined. */
export async function ensureAdmin(store: Store, username = 'admin', password?: string): Promise<string | undefined> {
  if ((await store.countUsers()) > 0) return undefined;
  const pw = password ?? newPassword();
  await store.createUser(username, await hashPassword(pw), Date.now(), 'admin');
  return pw;
}
