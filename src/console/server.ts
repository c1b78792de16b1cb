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
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { hashEquals, hashPassword, newAgentToken, newApiToken, newPassword, newSecret, parseAgentToken, parseApiToken, sha256, verifyPassword } from './auth.js';
import { fleetMcpServer } from './mcp.js';
import { HealthSummarySchema, type HealthLevel, type HealthSummary } from '../contract/health.js';
import { DEFAULT_THRESHOLDS } from '../diagnose/thresholds.js';
import { t as t_ } from '../report/i18n/index.js';
import { configDiffDocument, parseConfigDocument } from '../report/config.js';
import type { ConfigDocument } from '../contract/config.js';
import { resolveThresholds } from '../diagnose/thresholds.js';
import {
  AgentReportBody,
  AlertsBody,
  AlertsQuery,
  BootsBody,
  BootsQuery,
  ChangePasswordBody,
  CrashesQuery,
  type ClaimedTask,
  ConfigDiffQuery,
  CreateUserBody,
  CreateNodeBody,
  CreateTaskBody,
  CreateTokenBody,
  HelloBody,
  IdParams,
  ListQuery,
  LoginBody,
  ProgressBody,
  ReportDocument,
  ResultBody,
  SamplesBody,
  SamplesQuery,
  ProfilesQuery,
} from './protocol.js';
import { type AlertRow, type ApiTokenRow, type BootRow, type CrashGroupRow, type NodeRow, type Store, StoreConflictError, type TaskRow, type UserRow, userPairKey } from './store/index.js';
import { type HelloReply, type NodeSampleData, type SampleProfile, SampleProfileSchema, WIRE_LIMITS } from '../contract/agent-wire.js';
import { mergeProfiles } from './profiles.js';
import type { Alert, ApiReplies, ApiToken, CrashGroup, DiagnosisInfo, Node, NodeBoot, NodeInfo, NodeSample, Task, User } from '../contract/console.js';
import { crashSignature } from '../diagnose/inspect/boots.js';

/** The stored profile windows one /profiles reply merges at most (JSON bytes; ~500 full compact windows). */
const PROFILES_REPLY_BYTES = 16 * 1024 * 1024;
import type { StoredDocument } from '../contract/index.js';

/**
 * Login throttling. Every attempt is counted before the password is checked, in one atomic statement of
 * the store (so a parallel burst cannot slip past the check, and every console sharing a PostgreSQL
 * database counts together), under two keys:
 * - the (user name, client address) pair: `perUser` attempts at once, then a wait of `backoffBaseMs`
 *   that doubles with each further attempt up to `backoffMaxMs`. Only the guessing address waits; the
 *   owner of the name logs in from elsewhere. A success clears the pair.
 * - the client address, over every name: `perIp` attempts, then the same backoff. A success gives its
 *   attempt back, so logging in often is never throttled.
 * A streak with no attempt for `windowMs` starts over. A refused attempt answers 429 with Retry-After and
 * counts nothing. `oscope console user unlock NAME` ends a name's throttles.
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
  /** Secure cookies and HSTS (behind a TLS proxy). Default false: the console listens on localhost by default. */
  secureCookies?: boolean;
  /** Serve https (Secure cookies and HSTS follow). */
  https?: { cert: string | Buffer; key: string | Buffer };
  logger?: boolean;
  now?: () => number;
  loginLimits?: Partial<LoginLimits>;
  /** Called after an admin logged in (the console removes the first-start password file then). */
  onAdminLogin?: (user: UserRow) => void;
}

type Principal = { kind: 'user'; user: UserRow; sessionHash: string } | { kind: 'agent'; node: NodeRow } | { kind: 'token'; user: UserRow; token: ApiTokenRow };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route: people (session), agents (agent token) or MCP clients (API token). */
    auth?: 'user' | 'agent' | 'token';
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

function apiTokenJson(t: ApiTokenRow): ApiToken {
  return { id: t.id, name: t.name, scope: t.scope, userId: t.userId, username: t.username, createdBy: t.createdBy, createdAt: iso(t.createdAt)!, lastUsedAt: iso(t.lastUsedAt) };
}

function bootJson(b: BootRow): NodeBoot {
  return { id: b.bootId, startedAt: iso(b.startedAt), endedAt: iso(b.endedAt), cause: b.cause, title: b.title || null, signature: b.signature || null, stack: b.stack, kernel: b.kernel || null, source: b.source, reportedAt: iso(b.reportedAt)! };
}

/** A crash group with its first and last node named (`names`: node id → name). */
export function crashGroupJson(g: CrashGroupRow, names: ReadonlyMap<string, string>): CrashGroup {
  const end = (e: { nodeId: string; at: number }): CrashGroup['first'] => ({ nodeId: e.nodeId, nodeName: names.get(e.nodeId) ?? e.nodeId, at: iso(e.at)! });
  return { cause: g.cause, title: g.title || null, signature: g.signature || null, count: g.count, nodes: g.nodes, kernels: g.kernels.map((k) => ({ kernel: k.kernel || null, count: k.count })), first: end(g.first), last: end(g.last), stack: g.stack };
}

function userJson(u: UserRow): User {
  return { id: u.id, username: u.username, role: u.role, createdAt: iso(u.createdAt)! };
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const isBearer = (req: FastifyRequest): boolean => typeof req.headers.authorization === 'string' && req.headers.authorization.startsWith('Bearer ');

/** True when a browser says the request comes from another site (or an opaque origin). */
function crossSite(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    const o = new URL(origin);
    const self = new URL(`${req.protocol}://${req.headers.host ?? ''}`);
    return o.host !== self.host || o.protocol !== self.protocol;
  } catch {
    return true; // "null" (a sandboxed page, a file) or garbage
  }
}

/** How deep a parsed JSON value nests (iterative: a deep value must not overflow the stack here either). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > WIRE_LIMITS.maxJsonDepth) return max;
    for (const c of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return max;
}

const numOr = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const numOrNull = (v: unknown): number | null | undefined => (v === null ? null : numOr(v));
const numberMap = (v: unknown, max: number): Record<string, number> | undefined => {
  if (!isRecord(v)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v).slice(0, max)) if (typeof x === 'number' && k.length <= 64) out[k.slice(0, 64)] = x;
  return out;
};
const TOP_CGROUPS = 20;

/**
 * What a node reply embeds of its newest sample: the fields of the sample contract (NodeSampleData),
 * each checked and bounded (maps and histograms cut, the top 20 cgroups by usage, paths cut at 512
 * characters), never anything else the agent sent. The full samples are behind /samples.
 */
export function latestSummary(raw: Record<string, unknown>): NodeSampleData {
  const out: NodeSampleData = {};
  const d = sampleData(raw);
  out.memTotalBytes = numOr(d.memTotalBytes);
  out.memAvailableBytes = numOr(d.memAvailableBytes);
  out.memFreeBytes = numOr(d.memFreeBytes);
  out.components = numberMap(d.components, 32);
  out.zombieCgroups = numOrNull(d.zombieCgroups);
  out.zombieBytes = numOrNull(d.zombieBytes);
  out.psiMemorySomeAvg10 = numOrNull(d.psiMemorySomeAvg10);
  out.psiMemoryFullAvg10 = numOrNull(d.psiMemoryFullAvg10);
  const rq: unknown = d.runqueueLatency;
  if (rq === null) out.runqueueLatency = null;
  else if (isRecord(rq)) {
    const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, 64) : []);
    out.runqueueLatency = {
      leMs: arr(rq.leMs).map((x) => (typeof x === 'number' ? x : null)),
      counts: arr(rq.counts).map((x) => numOr(x) ?? 0),
      count: numOr(rq.count) ?? 0,
      p50Ms: numOrNull(rq.p50Ms) ?? null,
      p99Ms: numOrNull(rq.p99Ms) ?? null,
      maxMs: numOrNull(rq.maxMs) ?? null,
    };
  }
  const la: unknown = d.logAnomalies;
  if (la === null) out.logAnomalies = null;
  else if (isRecord(la)) out.logAnomalies = { total: numOr(la.total) ?? 0, byRule: numberMap(la.byRule, 64) ?? {} };
  const cg: unknown = d.cgroups;
  if (Array.isArray(cg)) {
    out.cgroups = cg
      .filter(isRecord)
      .map((c) => ({
        path: String(c.path ?? '').slice(0, 512),
        container: typeof c.container === 'string' ? c.container.slice(0, 256) : null,
        usageBytes: numOr(c.usageBytes) ?? 0,
        workingsetBytes: numOr(c.workingsetBytes) ?? 0,
        limitBytes: numOrNull(c.limitBytes) ?? null,
      }))
      .sort((a, b) => b.usageBytes - a.usageBytes)
      .slice(0, TOP_CGROUPS);
  }
  const h: unknown = d.health;
  if (h === null) out.health = null;
  else if (isRecord(h)) {
    const parsed = HealthSummarySchema.safeParse({
      ...h,
      reasons: Array.isArray(h.reasons) ? h.reasons.slice(0, 8).map((r: unknown) => (isRecord(r) ? { ...r, detail: String(r.detail ?? '').slice(0, 400), signal: String(r.signal ?? '').slice(0, 64) } : r)) : [],
    });
    if (parsed.success) out.health = { score: parsed.data.score, level: parsed.data.level, subscores: parsed.data.subscores, reasons: parsed.data.reasons.map(({ subscore, signal, detail, penalty, suggestedDiagnosis }) => ({ subscore, signal, detail, penalty, ...(suggestedDiagnosis ? { suggestedDiagnosis: suggestedDiagnosis.slice(0, 32) } : {}) })) };
  }
  for (const k of Object.keys(out) as (keyof NodeSampleData)[]) if (out[k] === undefined) delete out[k];
  return out;
}

const LEVEL_RANK: Record<HealthLevel, number> = { healthy: 0, 'at-risk': 1, warning: 2, error: 3 };

/**
 * The `node.health.drop` alert: fires when a node's score fell by at least `health.dropAlertPts` since
 * its previous sample, or its level got worse; resolves when it is healthy again. Pure, for the samples route.
 */
export function healthDropEvent(prev: HealthSummary | undefined, next: HealthSummary | undefined, dropPts: number): { state: 'firing' | 'resolved'; severity: 'info' | 'warning' | 'critical' } | undefined {
  if (!prev || !next) return undefined;
  if (next.score <= prev.score - dropPts || LEVEL_RANK[next.level] > LEVEL_RANK[prev.level]) {
    return { state: 'firing', severity: next.level === 'error' ? 'critical' : next.level === 'healthy' ? 'info' : 'warning' };
  }
  if (next.level === 'healthy' && prev.level !== 'healthy') return { state: 'resolved', severity: 'info' };
  return undefined;
}

/** Characters of a value as JSON (the store keeps it as text): what the per-kind limits measure. */
const jsonSize = (v: unknown): number => JSON.stringify(v)?.length ?? 0;

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
  // The default body limit is the anonymous one: a route that takes more says so (people, agents).
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: WIRE_LIMITS.anonymousBodyBytes, trustProxy: false, ...(opts.https ? { https: opts.https } : {}) });
  await app.register(fastifyCookie);

  // fastify's own JSON parser (prototype poisoning refused), then a depth check: deeply nested JSON would
  // overflow the stack later (zod, JSON.stringify) and answer 500.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    void jsonParser(req, String(body), (e: Error | null, value?: unknown) => {
      if (e) return done(e, undefined);
      if (jsonDepth(value) > WIRE_LIMITS.maxJsonDepth) return done(new HttpError(400, `invalid body: JSON nested deeper than ${WIRE_LIMITS.maxJsonDepth} levels`), undefined);
      return done(null, value);
    });
  });

  // Security headers on every reply (the UI, the API, errors). The CSP fits the built UI (web/dist):
  // scripts and styles from its own files only, inline style attributes (charts), data: images (the icon).
  const secure = opts.secureCookies === true || opts.https !== undefined;
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('content-security-policy', CSP);
    void reply.header('x-frame-options', 'DENY');
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('cross-origin-opener-policy', 'same-origin');
    if (secure) void reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

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
    if (typeof h === 'string' && h.startsWith('Bearer oscope_')) {
      const tok = parseApiToken(h.slice(7).trim());
      if (!tok) return undefined;
      const found = await store.getApiToken(tok.tokenId);
      if (!found || !hashEquals(found.token.tokenHash, sha256(tok.secret))) return undefined;
      await store.touchApiToken(found.token.id, now());
      return { kind: 'token', user: found.user, token: found.token };
    }
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
    // CSRF: a browser sends a cookie with a cross-site request too (SameSite aside), so a state change
    // that is not an agent's (bearer token) must come from this console's own pages. Browsers say where
    // a request comes from (Sec-Fetch-Site, Origin); a client that says nothing is not a browser.
    if (!SAFE_METHODS.has(req.method) && !isBearer(req) && crossSite(req)) {
      await reply.code(403).send({ error: 'cross-site request refused: state changes come only from the console\'s own pages (Origin / Sec-Fetch-Site)' });
      return reply;
    }
    // The route's own declaration decides first; any other path that looks like the API needs credentials too.
    const need = req.routeOptions.config?.auth;
    if (!need && !isApiPath(req.url)) return;
    const p = await authenticate(req);
    if (!p) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="oscope"').send({ error: need === 'token' ? 'authentication required: send an API token (Authorization: Bearer oscope_…) issued by an admin' : 'authentication required: log in, or send an agent token' });
      return reply;
    }
    req.principal = p;
    if (need && need !== p.kind) {
      const why = { user: p.kind === 'token' ? 'an API token opens /mcp only' : 'an agent token cannot use the people API', agent: 'only an agent may use the agent API', token: '/mcp takes an API token (Authorization: Bearer oscope_…) issued by an admin' };
      await reply.code(403).send({ error: why[need] });
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
      latest: latest ? { ...latestSummary(latest.data), ts: iso(latest.ts)! } : null,
    };
  };

  // --- unauthenticated ---

  /** Unauthenticated: a few KiB at most (also the default of every route not declared here). */
  const ANON = { bodyLimit: WIRE_LIMITS.anonymousBodyBytes };

  app.get<Reply<'GET /healthz'>>('/healthz', async () => ({ ok: true, version: VERSION, store: store.kind }));

  const limits: LoginLimits = { ...DEFAULT_LOGIN_LIMITS, ...opts.loginLimits };
  const policy = (free: number) => ({ free, windowMs: limits.windowMs, backoffBaseMs: limits.backoffBaseMs, backoffMaxMs: limits.backoffMaxMs });
  const throttled = (reply: FastifyReply, blockedUntil: number, what: string): HttpError => {
    const retryAfterS = Math.max(1, Math.ceil((blockedUntil - now()) / 1000));
    void reply.header('retry-after', String(retryAfterS));
    return new HttpError(429, `too many failed logins ${what}; try again in ${retryAfterS} s`, { retryAfterS });
  };

  app.post<Reply<'POST /auth/login'>>('/auth/login', ANON, async (req, reply) => {
    const body = parse(LoginBody, req.body, 'login');
    const ipKey = `ip:${req.ip}`;
    const pairKey = userPairKey(body.username, req.ip);
    const ip = await store.takeLoginAttempt(ipKey, now(), policy(limits.perIp));
    if (!ip.allowed) throw throttled(reply, ip.blockedUntil, 'from this address');
    const pair = await store.takeLoginAttempt(pairKey, now(), policy(limits.perUser));
    if (!pair.allowed) {
      await store.refundLoginAttempt(ipKey); // nothing was checked
      throw throttled(reply, pair.blockedUntil, 'for this user name from this address');
    }
    const u = await store.getUserByName(body.username);
    if (!(await verifyPassword(body.password, u?.passwordHash)) || !u) throw new HttpError(401, 'wrong user name or password');
    await store.clearLoginThrottle(pairKey);
    await store.refundLoginAttempt(ipKey);
    if (u.role === 'admin') opts.onAdminLogin?.(u);
    const sid = newSecret();
    const n = now();
    await store.createSession(sha256(sid), u.id, n, n + t.sessionTtlMs);
    void reply.setCookie(SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: Math.floor(t.sessionTtlMs / 1000),
    });
    return { user: { id: u.id, username: u.username, role: u.role } };
  });

  app.post<Reply<'POST /auth/logout'>>('/auth/logout', ANON, async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (typeof sid === 'string') await store.deleteSession(sha256(sid));
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  // --- people ---

  const U = { config: { auth: 'user' as const }, bodyLimit: WIRE_LIMITS.peopleBodyBytes };
  /** Changes something: admins only. */
  const ADMIN = { config: { auth: 'user' as const, admin: true }, bodyLimit: WIRE_LIMITS.peopleBodyBytes };

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
    const { rows, truncated } = await store.listSamplesBounded(node.id, since, until, q.limit, WIRE_LIMITS.samplesReplyBytes, WIRE_LIMITS.sampleDataBytes);
    const samples = rows.map((r): NodeSample => ({ ts: new Date(r.ts).toISOString(), data: sampleData(r.data) }));
    return truncated ? { samples, truncated } : { samples };
  });

  /** Validates and queues a task (the people API and the MCP tools both come here). */
  const createTask = async (node: NodeRow, diagnosis: string, params: unknown, createdBy: string): Promise<TaskRow> => {
    const v = registry.validate(diagnosis, params);
    if (!v.ok) throw new HttpError(400, v.reason);
    const n = now();
    try {
      return await store.createTask({ nodeId: node.id, diagnosis, params: v.params, paramsKey: canonicalParams(v.params), createdBy, now: n, pickupDeadlineAt: n + t.pickupTimeoutMs });
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw new HttpError(409, `the same diagnosis with the same parameters is already queued or running on ${node.name} (task ${err.message})`, { activeTaskId: err.message });
      }
      throw err;
    }
  };

  app.post<Reply<'POST /api/nodes/:id/tasks'>>('/api/nodes/:id/tasks', ADMIN, async (req, reply) => {
    const u = user(req);
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const body = parse(CreateTaskBody, req.body, 'task');
    const task = await createTask(node, body.diagnosis, body.params, `user:${u.username}`);
    return reply.code(201).send({ task: taskJson(task) });
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

  /** A node's latest `config` capture, checked as an oscope.config/v1 document. */
  const latestConfig = async (node: NodeRow): Promise<{ taskId: string; storedAt: string; capture: ConfigDocument }> => {
    const r = await store.latestReport(node.id, 'config');
    if (!r) throw new HttpError(404, `node ${node.name} has no configuration capture yet (run the config diagnosis on it)`, { nodeId: node.id });
    const p = parseConfigDocument(r.document);
    if (!p.ok) throw new HttpError(500, `the stored capture of task ${r.taskId}: ${p.reason}`);
    return { taskId: r.taskId, storedAt: new Date(r.createdAt).toISOString(), capture: p.doc };
  };

  app.get<Reply<'GET /api/nodes/:id/config'>>('/api/nodes/:id/config', U, async (req) => latestConfig(await nodeOr404(parse(IdParams, req.params, 'path').id)));

  app.get<Reply<'GET /api/config-diff'>>('/api/config-diff', U, async (req) => {
    const q = parse(ConfigDiffQuery, req.query, 'query');
    const [na, nb] = [await nodeOr404(q.a), await nodeOr404(q.b)];
    const [ca, cb] = [await latestConfig(na), await latestConfig(nb)];
    const ref = (n: NodeRow, c: typeof ca) => ({ nodeId: n.id, nodeName: n.name, taskId: c.taskId, storedAt: c.storedAt });
    return { a: ref(na, ca), b: ref(nb, cb), diff: configDiffDocument(ca.capture, cb.capture, resolveThresholds(), q.lang) };
  });

  app.get<Reply<'GET /api/alerts'>>('/api/alerts', U, async (req) => {
    const q = parse(AlertsQuery, req.query, 'query');
    return { alerts: (await store.listAlerts({ nodeId: q.node, severity: q.severity, state: q.state, limit: q.limit })).map(alertJson) };
  });

  // --- boots and crashes (agents report them: POST /api/agent/boots) ---

  app.get<Reply<'GET /api/nodes/:id/boots'>>('/api/nodes/:id/boots', U, async (req) => {
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const q = parse(BootsQuery, req.query, 'query');
    return { boots: (await store.listBoots(node.id, q.limit)).map(bootJson) };
  });

  const listCrashes = async (q: { since?: string; kernel?: string; node?: string; limit: number }): Promise<CrashGroup[]> => {
    const groups = await store.listCrashGroups({ since: q.since ? Date.parse(q.since) : undefined, kernel: q.kernel, nodeId: q.node, limit: q.limit });
    const names = new Map((await store.listNodes()).map((n) => [n.id, n.name]));
    return groups.map((g) => crashGroupJson(g, names));
  };
  app.get<Reply<'GET /api/crashes'>>('/api/crashes', U, async (req) => ({ crashes: await listCrashes(parse(CrashesQuery, req.query, 'query')) }));

  // --- API tokens (admins issue them; they open /mcp only) ---

  app.get<Reply<'GET /api/tokens'>>('/api/tokens', ADMIN, async () => ({ tokens: (await store.listApiTokens()).map(apiTokenJson) }));

  app.post<Reply<'POST /api/tokens'>>('/api/tokens', ADMIN, async (req, reply) => {
    const me = user(req);
    const body = parse(CreateTokenBody, req.body, 'token');
    const owner = body.userId === undefined ? me : await store.getUser(body.userId);
    if (!owner) throw new HttpError(404, `no user ${body.userId}`);
    if (body.scope === 'diagnose' && owner.role !== 'admin') throw new HttpError(400, `invalid token: ${owner.username} is a viewer, whose token can only read (scope read)`);
    const id = randomUUID();
    const tok = newApiToken(id);
    const row = await store.createApiToken({ id, userId: owner.id, name: body.name, scope: body.scope, tokenHash: tok.hash, createdBy: me.username, now: now() });
    return reply.code(201).send({ token: apiTokenJson(row), secret: tok.token });
  });

  app.delete<Reply<'DELETE /api/tokens/:id'>>('/api/tokens/:id', ADMIN, async (req) => {
    const id = parse(IdParams, req.params, 'path').id;
    if (!(await store.deleteApiToken(id))) throw new HttpError(404, `no token ${id}`);
    return { ok: true };
  });

  // --- MCP over streamable HTTP (API tokens; src/console/mcp.ts) ---

  const MCP = { config: { auth: 'token' as const }, bodyLimit: WIRE_LIMITS.peopleBodyBytes };
  const fleetAccess = { store, registry, nodeJson, taskJson, alertJson, createTask, listCrashes };
  // Stateless: every POST is one JSON-RPC exchange with a server made for this token's principal, so
  // nothing of one client's session lives in the console (several consoles may share one database).
  app.post('/mcp', MCP, async (req, reply) => {
    if (req.principal?.kind !== 'token') throw new HttpError(403, 'API tokens only');
    const server = fleetMcpServer(fleetAccess, { user: req.principal.user, token: req.principal.token });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    const raw = reply.raw;
    raw.setHeader('x-content-type-options', 'nosniff');
    raw.setHeader('cache-control', 'no-store');
    raw.on('close', () => {
      void transport.close().catch(() => undefined);
      void server.close().catch(() => undefined);
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, raw, req.body);
    } catch (err) {
      app.log.error(err);
      if (!raw.headersSent) {
        raw.writeHead(500, { 'content-type': 'application/json' });
        raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null }));
      }
    }
  });
  const mcpNoSession = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
    reply.code(405).header('allow', 'POST').send({ jsonrpc: '2.0', error: { code: -32000, message: 'this MCP endpoint is stateless: POST only' }, id: null });
  app.get('/mcp', MCP, mcpNoSession);
  app.delete('/mcp', MCP, mcpNoSession);

  // --- agents (each acts on its own node only) ---

  const A = { config: { auth: 'agent' as const }, bodyLimit: WIRE_LIMITS.agentBodyBytes };
  /** Agent routes that carry data, each with its own limit (src/contract/agent-wire.ts WIRE_LIMITS). */
  const A_SAMPLES = { ...A, bodyLimit: WIRE_LIMITS.samplesBodyBytes };
  const A_ALERTS = { ...A, bodyLimit: WIRE_LIMITS.alertsBodyBytes };
  const A_REPORT = { ...A, bodyLimit: WIRE_LIMITS.reportBytes + 64 * 1024 };
  const tooLarge = (what: string, size: number, limit: number): HttpError =>
    new HttpError(413, `${what} is ${size} bytes of JSON, larger than the console accepts (${limit}); nothing was stored`, { limitBytes: limit });
  const notFuture = (ts: number, what: string): void => {
    if (ts > now() + WIRE_LIMITS.maxClockSkewMs) {
      throw new HttpError(400, `invalid ${what}: its time ${new Date(ts).toISOString()} is in the future (more than ${WIRE_LIMITS.maxClockSkewMs / 60_000} min ahead of the console's clock; check the agent's clock)`);
    }
  };
  /** A report's schema must be its diagnosis's (any version of it: a newer agent may send v2). */
  const checkSchema = (diagnosis: string, schema: string): void => {
    const want = registry.get(diagnosis)?.schema;
    if (want === undefined) return;
    const family = (x: string): string => x.replace(/\/[^/]*$/, '');
    if (family(schema) !== family(want)) throw new HttpError(400, `invalid result: a report of schema ${schema} is not one of diagnosis ${diagnosis} (${want})`);
  };
  const checkReport = (diagnosis: string, report: { schema: string }): void => {
    const size = jsonSize(report);
    if (size > WIRE_LIMITS.reportBytes) throw tooLarge('the report', size, WIRE_LIMITS.reportBytes);
    checkSchema(diagnosis, report.schema);
  };

  app.post<{ Reply: HelloReply }>('/api/agent/hello', A, async (req) => {
    const node = agent(req);
    const body = parse(HelloBody, req.body, 'hello');
    await touch(node, body);
    return { nodeId: node.id, name: node.name, serverTime: new Date(now()).toISOString(), diagnoses: registry.names() };
  });

  /** Health-drop alerts of a batch of samples, oldest first, against the node's previous newest sample. */
  const dropPts = DEFAULT_THRESHOLDS['health.dropAlertPts'];
  const healthAlerts = async (node: NodeRow, samples: { ts: string; data: Record<string, unknown> }[]): Promise<void> => {
    const healthIn = (d: Record<string, unknown> | undefined): HealthSummary | undefined => {
      const r = HealthSummarySchema.safeParse(d?.health);
      return r.success ? r.data : undefined;
    };
    let prevTs = node.latest?.ts ?? -Infinity;
    let prev = healthIn(node.latest?.data);
    const events: AlertRow[] = [];
    for (const s of [...samples].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))) {
      const ts = Date.parse(s.ts);
      if (ts <= prevTs) continue;
      const next = healthIn(s.data);
      const ev = healthDropEvent(prev, next, dropPts);
      if (ev && next && prev) {
        const params = { node: node.name, from: prev.score, to: next.score, level: t_('en', `health.level.${next.level}`), reason: next.reasons[0]?.detail ?? '' };
        const msg = (lang: 'en' | 'zh-CN'): string => t_(lang, ev.state === 'firing' ? 'health.alert.drop' : 'health.alert.recovered', { ...params, level: t_(lang, `health.level.${next.level}`) });
        events.push({ id: randomUUID(), nodeId: node.id, rule: 'node.health.drop', severity: ev.severity, state: ev.state, ts, message: msg('en'), messages: { en: msg('en'), 'zh-CN': msg('zh-CN') }, data: { from: prev.score, to: next.score, level: next.level, previousLevel: prev.level, reasons: next.reasons.slice(0, 3).map((r) => r.signal) } });
      }
      if (next) prev = next;
      prevTs = ts;
    }
    if (events.length > 0) await store.addAlerts(events);
  };

  app.get<Reply<'GET /api/nodes/:id/profiles'>>('/api/nodes/:id/profiles', U, async (req) => {
    const node = await nodeOr404(parse(IdParams, req.params, 'path').id);
    const q = parse(ProfilesQuery, req.query, 'query');
    const until = q.until ? Date.parse(q.until) : now();
    const since = q.since ? Date.parse(q.since) : until - 3600_000;
    if (since > until) throw new HttpError(400, 'invalid query: since is after until');
    const { rows, truncated } = await store.listProfiles(node.id, since, until, PROFILES_REPLY_BYTES);
    const windows = rows.map((r) => r.data).filter((d): d is SampleProfile => SampleProfileSchema.safeParse(d).success);
    return mergeProfiles(windows, since, until, truncated);
  });

  app.post<{ Reply: { stored: number } }>('/api/agent/samples', A_SAMPLES, async (req) => {
    const node = agent(req);
    const body = parse(SamplesBody, req.body, 'samples');
    for (const [i, s] of body.samples.entries()) {
      const size = jsonSize(s.data);
      if (size > WIRE_LIMITS.sampleDataBytes) throw tooLarge(`sample ${i} (${s.ts})`, size, WIRE_LIMITS.sampleDataBytes);
      notFuture(Date.parse(s.ts), `sample ${i}`);
    }
    // Profile windows go to their own table (any range of them merges into a flame graph); the sample keeps the rest.
    const profiles: Parameters<Store['addProfiles']>[1] = [];
    const rows = body.samples.map((s) => {
      const { profiles: ps, ...rest } = s.data as { profiles?: unknown };
      if (Array.isArray(ps))
        for (const raw of ps) {
          const p = SampleProfileSchema.safeParse(raw);
          if (p.success) profiles.push({ startTs: Date.parse(p.data.startTs), intervalS: p.data.intervalS, hz: p.data.hz, samples: p.data.samples, trigger: p.data.trigger ?? null, data: p.data });
        }
      return { ts: Date.parse(s.ts), data: ps === undefined ? s.data : rest };
    });
    const stored = await store.addSamples(node.id, rows);
    await store.addProfiles(node.id, profiles);
    await healthAlerts(node, body.samples);
    return { stored };
  });

  app.post<{ Reply: { stored: number } }>('/api/agent/boots', { ...A, bodyLimit: 2 * 1024 * 1024 }, async (req) => {
    const node = agent(req);
    const body = parse(BootsBody, req.body, 'boots');
    const n = now();
    const rows = body.boots.map((b) => {
      const ended = b.endedAt ? Date.parse(b.endedAt) : null;
      const started = b.startedAt ? Date.parse(b.startedAt) : null;
      // A crash's time is when its boot ended; a boot whose end is unknown counts from when it was reported.
      const at = ended ?? (b.cause === 'running' ? (started ?? n) : n);
      return { bootId: b.id, startedAt: started, endedAt: ended, at: Math.min(at, n + WIRE_LIMITS.maxClockSkewMs), cause: b.cause, title: b.title ?? '', signature: crashSignature(b.stack), stack: b.stack ?? null, kernel: b.kernel ?? '', source: b.source };
    });
    return { stored: await store.addBoots(node.id, rows, n) };
  });

  app.post<{ Reply: { stored: number } }>('/api/agent/alerts', A_ALERTS, async (req) => {
    const node = agent(req);
    const body = parse(AlertsBody, req.body, 'alerts');
    for (const e of body.events) {
      const size = jsonSize(e.data);
      if (size > WIRE_LIMITS.alertDataBytes) throw tooLarge(`the data of alert ${e.id}`, size, WIRE_LIMITS.alertDataBytes);
      notFuture(Date.parse(e.ts), `alert ${e.id}`);
    }
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

  app.post<{ Reply: { task: Task } }>('/api/agent/tasks/:id/result', A_REPORT, async (req) => {
    const node = agent(req);
    const task = await ownTask(req, node);
    const body = parse(ResultBody, req.body, 'result');
    if (body.status === 'done') checkReport(task.diagnosis, body.report);
    const fin = body.status === 'done' ? { status: 'done' as const, report: { schema: body.report.schema, document: body.report } } : { status: 'failed' as const, error: body.error };
    const r = await store.finishTask(task.id, node.id, fin, now());
    if (!r) throw new HttpError(404, `no task ${task.id} for this node`);
    if (r.task.status !== body.status && !r.alreadyFinished) {
      throw new HttpError(409, `task is no longer running (status ${r.task.status}); the result was not stored`, { status: r.task.status });
    }
    return { task: taskJson(r.task) };
  });

  app.post<{ Reply: { task: Task } }>('/api/agent/reports', A_REPORT, async (req, reply) => {
    const node = agent(req);
    const body = parse(AgentReportBody, req.body, 'report');
    const v = registry.validate(body.diagnosis, body.params);
    if (!v.ok) throw new HttpError(400, v.reason);
    if (body.result.status === 'done') checkReport(body.diagnosis, body.result.report);
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
