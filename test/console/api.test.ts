/**
 * The console API over fastify's inject (no socket): authentication, an agent confined to its node,
 * bad input refused with a reason and no change, and the task lifecycle (duplicates, timeout).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { buildServer, ensureAdmin, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore, type Store } from '../../src/console/store/index.js';

interface Ctx {
  app: FastifyInstance;
  store: Store;
  cookie: string;
  clock: { now: number };
}

async function withConsole(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const dir = mkdtempSync('/var/tmp/oscope-test-api-');
  const store = await openStore(join(dir, 'console.db'));
  const clock = { now: Date.UTC(2026, 10, 1) };
  const app = await buildServer({ store, registry: defaultRegistry(), now: () => clock.now, timings: { pickupTimeoutMs: 60_000, leaseMs: 30_000 }, webDir: join(dir, 'none') });
  try {
    const pw = await ensureAdmin(store);
    assert.ok(pw);
    assert.equal(await ensureAdmin(store), undefined, 'admin created once');
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw } });
    assert.equal(res.statusCode, 200);
    const set = res.cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(set?.httpOnly, 'session cookie is httpOnly');
    await fn({ app, store, cookie: `${SESSION_COOKIE}=${set.value}`, clock });
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function addNode(c: Ctx, name: string): Promise<{ id: string; token: string }> {
  const r = await c.app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie: c.cookie }, payload: { name } });
  assert.equal(r.statusCode, 201, r.body);
  const b = r.json<{ node: { id: string }; token: string }>();
  return { id: b.node.id, token: b.token };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

test('health is open, every /api/ path needs credentials, the UI shell is served', async () => {
  await withConsole(async ({ app }) => {
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    for (const [method, url] of [
      ['GET', '/api/nodes'],
      ['GET', '/api/me'],
      ['POST', '/api/nodes'],
      ['GET', '/api/tasks/00000000-0000-4000-8000-000000000000/report'],
      ['POST', '/api/agent/hello'],
      ['POST', '/api/agent/tasks/claim'],
      ['GET', '/api/does-not-exist'],
      ['DELETE', '/api/nodes'],
      // Spellings the router maps onto API routes (or that look like the API) are no way around it.
      ['GET', '/%61pi/nodes'],
      ['GET', '//api/nodes'],
      ['GET', '/API/nodes'],
      ['GET', '/x/../api/nodes'],
      ['GET', '/api/nodes/'],
    ] as const) {
      const r = await app.inject({ method, url });
      assert.equal(r.statusCode, 401, `${method} ${url}`);
      assert.match(r.json<{ error: string }>().error, /authentication required/);
    }
    assert.equal((await app.inject({ url: '/api/nodes', headers: { cookie: `${SESSION_COOKIE}=forged` } })).statusCode, 401);
    assert.equal((await app.inject({ url: '/api/nodes', headers: bearer('not-a-token') })).statusCode, 401);
    const root = await app.inject({ url: '/' });
    assert.equal(root.statusCode, 200);
    assert.match(root.body, /oscope console/);
  });
});

test('login: wrong password is 401, logout ends the session', async () => {
  await withConsole(async ({ app, cookie }) => {
    assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: 'nope' } })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'ghost', password: 'nope' } })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin' } })).statusCode, 400);
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie } })).json<{ username: string }>().username, 'admin');
    await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie } });
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode, 401);
  });
});

test('an agent token acts only as its own node and never as a person', async () => {
  await withConsole(async (c) => {
    const a = await addNode(c, 'node-a');
    const b = await addNode(c, 'node-b');
    // Agent → people API: 403, whatever the path.
    for (const url of ['/api/nodes', `/api/nodes/${b.id}`, `/api/nodes/${b.id}/samples`, '/api/alerts', '/api/tasks', '/api/me']) {
      assert.equal((await c.app.inject({ url, headers: bearer(a.token) })).statusCode, 403, url);
    }
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/nodes/${b.id}/tasks`, headers: bearer(a.token), payload: { diagnosis: 'mem' } })).statusCode, 403);
    // Person → agent API: 403.
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: { cookie: c.cookie }, payload: {} })).statusCode, 403);
    // B's task is invisible to A: claim gets nothing, progress/result on it are 404 and change nothing.
    const t = (await c.app.inject({ method: 'POST', url: `/api/nodes/${b.id}/tasks`, headers: { cookie: c.cookie }, payload: { diagnosis: 'mem', params: { kpage: false } } })).json<{ task: { id: string } }>().task;
    assert.deepEqual((await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(a.token), payload: {} })).json(), { task: null });
    const claimed = (await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(b.token), payload: {} })).json<{ task: { id: string } }>().task;
    assert.equal(claimed.id, t.id);
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t.id}/progress`, headers: bearer(a.token), payload: { step: 'x', done: 1, total: 1 } })).statusCode, 404);
    const forged = await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t.id}/result`, headers: bearer(a.token), payload: { status: 'done', report: { schema: 'oscope.mem/v1' } } });
    assert.equal(forged.statusCode, 404);
    assert.equal((await c.store.getTask(t.id))?.status, 'running');
    // Samples and alerts land on the sender's node only.
    const ts = new Date(c.clock.now).toISOString();
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/samples', headers: bearer(a.token), payload: { samples: [{ ts, data: { x: 1 } }] } })).statusCode, 200);
    assert.equal((await c.store.listSamples(b.id, 0, Infinity, 10)).length, 0);
    assert.equal((await c.store.listSamples(a.id, 0, c.clock.now, 10)).length, 1);
    // A rotated token stops working at once.
    const rot = await c.app.inject({ method: 'POST', url: `/api/nodes/${a.id}/token`, headers: { cookie: c.cookie } });
    assert.equal(rot.statusCode, 200);
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(a.token), payload: {} })).statusCode, 401);
    // A token with the right node id but a wrong secret is refused.
    const fake = `${b.id}.${'A'.repeat(43)}`;
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(fake), payload: {} })).statusCode, 401);
  });
});

test('bad input answers 4xx with a reason and changes nothing', async () => {
  await withConsole(async (c) => {
    const a = await addNode(c, 'node-a');
    const H = { cookie: c.cookie };
    const cases: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; payload?: unknown; body?: string; code: number }[] = [
      { method: 'POST', url: '/api/nodes', headers: H, payload: { name: '' }, code: 400 },
      { method: 'POST', url: '/api/nodes', headers: H, payload: { name: 'a b; rm -rf /' }, code: 400 },
      { method: 'POST', url: '/api/nodes', headers: H, payload: { name: 'x', admin: true }, code: 400 },
      { method: 'POST', url: '/api/nodes', headers: H, payload: { name: 'node-a' }, code: 409 },
      { method: 'POST', url: '/api/nodes', headers: { ...H, 'content-type': 'application/json' }, body: '{not json', code: 400 },
      { method: 'GET', url: '/api/nodes/not-a-uuid', headers: H, code: 400 },
      { method: 'GET', url: '/api/nodes/00000000-0000-4000-8000-000000000000', headers: H, code: 404 },
      { method: 'GET', url: '/api/tasks?limit=-1', headers: H, code: 400 },
      { method: 'GET', url: '/api/tasks?limit=abc', headers: H, code: 400 },
      { method: 'GET', url: '/api/tasks?evil=1', headers: H, code: 400 },
      { method: 'GET', url: `/api/nodes/${a.id}/samples?since=yesterday`, headers: H, code: 400 },
      { method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'sh', params: { cmd: 'id' } }, code: 400 },
      { method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'mem', params: { top: -5 } }, code: 400 },
      { method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'mem', params: { command: 'id' } }, code: 400 },
      { method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'mem', params: { thresholds: { nope: 1 } } }, code: 400 },
      { method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'mem', params: 'x' }, code: 400 },
      { method: 'POST', url: '/api/agent/samples', headers: bearer(a.token), payload: { samples: [] }, code: 400 },
      { method: 'POST', url: '/api/agent/samples', headers: bearer(a.token), payload: { samples: [{ ts: 'now', data: {} }] }, code: 400 },
      { method: 'POST', url: '/api/agent/alerts', headers: bearer(a.token), payload: { events: [{ id: 'x', rule: 'r', severity: 'bad', state: 'firing', ts: 'x', message: '' }] }, code: 400 },
      { method: 'POST', url: '/api/agent/hello', headers: bearer(a.token), payload: { hostname: 5 }, code: 400 },
      { method: 'POST', url: '/api/agent/reports', headers: bearer(a.token), payload: { diagnosis: 'sh', params: {}, rule: 'r', result: { status: 'failed', error: 'x' } }, code: 400 },
      { method: 'POST', url: '/api/agent/tasks/00000000-0000-4000-8000-000000000000/result', headers: bearer(a.token), payload: { status: 'weird' }, code: 404 },
    ];
    // lastSeenAt moves with any authenticated agent request (the agent was heard from): not data.
    const nodes = async (): Promise<unknown[]> => (await c.store.listNodes()).map((n) => ({ ...n, lastSeenAt: 0 }));
    const before = JSON.stringify([await nodes(), await c.store.listTasks({ limit: 100 }), await c.store.listAlerts({ limit: 100 }), await c.store.listSamples(a.id, 0, Infinity, 100)]);
    for (const k of cases) {
      const r = await c.app.inject({ method: k.method, url: k.url, headers: k.headers, ...(k.body !== undefined ? { body: k.body } : { payload: k.payload as object }) });
      assert.equal(r.statusCode, k.code, `${k.method} ${k.url} ${JSON.stringify(k.payload)} → ${r.body}`);
      const err = r.json<{ error?: unknown }>().error;
      assert.ok(typeof err === 'string' && err.length > 5, `a reason for ${k.url}: ${r.body}`);
    }
    const after = JSON.stringify([await nodes(), await c.store.listTasks({ limit: 100 }), await c.store.listAlerts({ limit: 100 }), await c.store.listSamples(a.id, 0, Infinity, 100)]);
    assert.equal(after, before);
  });
});

test('task lifecycle: queue, duplicate refused, claim, progress, result, report; timeout when the agent goes away', async () => {
  await withConsole(async (c) => {
    const a = await addNode(c, 'node-a');
    const H = { cookie: c.cookie };
    const create = (params: object) => c.app.inject({ method: 'POST', url: `/api/nodes/${a.id}/tasks`, headers: H, payload: { diagnosis: 'mem', params } });
    const r1 = await create({ kpage: false, top: 10 });
    assert.equal(r1.statusCode, 201);
    const t1 = r1.json<{ task: { id: string; params: { lang: string } } }>().task;
    assert.equal(t1.params.lang, 'en', 'defaults filled in');
    const dup = await create({ top: 10, kpage: false });
    assert.equal(dup.statusCode, 409, 'same params in another key order is a duplicate');
    assert.equal(dup.json<{ activeTaskId: string }>().activeTaskId, t1.id);
    const claim = (await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(a.token), payload: {} })).json<{ task: { id: string; heartbeatMs: number } }>().task;
    assert.equal(claim.id, t1.id);
    assert.equal((await create({ kpage: false, top: 10 })).statusCode, 409, 'still refused while running');
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t1.id}/progress`, headers: bearer(a.token), payload: { step: 'processes', done: 3, total: 9 } })).statusCode, 200);
    assert.deepEqual((await c.app.inject({ url: `/api/tasks/${t1.id}`, headers: H })).json<{ task: { progress: unknown } }>().task.progress, { step: 'processes', done: 3, total: 9 });
    assert.equal((await c.app.inject({ url: `/api/tasks/${t1.id}/report`, headers: H })).statusCode, 404);
    const doc = { schema: 'oscope.mem/v1', findings: [{ id: 'mem.x', severity: 'info' }] };
    const res = await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t1.id}/result`, headers: bearer(a.token), payload: { status: 'done', report: doc } });
    assert.equal(res.statusCode, 200, res.body);
    // The agent re-sends after a lost acknowledgement: accepted, stored once.
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t1.id}/result`, headers: bearer(a.token), payload: { status: 'done', report: doc } })).statusCode, 200);
    assert.deepEqual((await c.app.inject({ url: `/api/tasks/${t1.id}/report`, headers: H })).json(), doc);

    // Now the agent disappears while running a second task: after the lease the sweep times it out.
    const t2 = (await create({ kpage: false, top: 11 })).json<{ task: { id: string } }>().task;
    await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: bearer(a.token), payload: {} });
    c.clock.now += 31_000;
    const expired = await c.store.expireTasks(c.clock.now);
    assert.deepEqual(expired.map((t) => t.id), [t2.id]);
    const t2now = (await c.app.inject({ url: `/api/tasks/${t2.id}`, headers: H })).json<{ task: { status: string; error: string } }>().task;
    assert.equal(t2now.status, 'timeout');
    assert.match(t2now.error, /node-a stopped reporting/);
    // Its late progress and result are refused with the status.
    const late = await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${t2.id}/result`, headers: bearer(a.token), payload: { status: 'done', report: doc } });
    assert.equal(late.statusCode, 409);
    assert.match(late.json<{ error: string }>().error, /timeout/);
    // A task nobody picks up times out too; a cancelled one cannot be cancelled twice.
    const t3 = (await create({ kpage: false, top: 12 })).json<{ task: { id: string } }>().task;
    c.clock.now += 61_000;
    assert.deepEqual((await c.store.expireTasks(c.clock.now)).map((t) => t.id), [t3.id]);
    const t4 = (await create({ kpage: false, top: 13 })).json<{ task: { id: string } }>().task;
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/tasks/${t4.id}/cancel`, headers: H })).statusCode, 200);
    assert.equal((await c.app.inject({ method: 'POST', url: `/api/tasks/${t4.id}/cancel`, headers: H })).statusCode, 409);
    const list = (await c.app.inject({ url: `/api/tasks?node=${a.id}`, headers: H })).json<{ tasks: { status: string }[] }>().tasks.map((t) => t.status);
    assert.deepEqual(list.sort(), ['cancelled', 'done', 'timeout', 'timeout']);
  });
});

test('the built web UI is served from web/dist, with the single-page fallback', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-web-');
  const store = await openStore(join(dir, 'console.db'));
  try {
    mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(dir, 'dist', 'assets', 'app.js'), 'console.log(1)');
    const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'dist') });
    try {
      assert.match((await app.inject({ url: '/' })).body, /<title>ui<\/title>/);
      const js = await app.inject({ url: '/assets/app.js' });
      assert.equal(js.statusCode, 200);
      assert.match(js.headers['content-type'] as string, /javascript/);
      assert.match((await app.inject({ url: '/nodes/abc' })).body, /<title>ui<\/title>/, 'client-side routes get index.html');
      assert.equal((await app.inject({ url: '/api/nodes' })).statusCode, 401, 'the fallback never covers the API');
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agent reports: a re-sent report (same id) is stored once; another node cannot reuse its id', async () => {
  await withConsole(async (c) => {
    const a = await addNode(c, 'node-a');
    const b = await addNode(c, 'node-b');
    const id = '4b0c3f5e-1d2a-4c6b-9e8f-0a1b2c3d4e5f';
    const body = { id, diagnosis: 'mem', params: {}, rule: 'memory-usage-high', result: { status: 'failed', error: 'the test says so' } };
    const post = (token: string) => c.app.inject({ method: 'POST', url: '/api/agent/reports', headers: bearer(token), payload: body });
    const first = await post(a.token);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json<{ task: { id: string } }>().task.id, id);
    const again = await post(a.token);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json<{ task: { id: string } }>().task.id, id);
    const other = await post(b.token);
    assert.equal(other.statusCode, 409, other.body);
    const tasks = (await c.store.listTasks({ limit: 100 })).filter((t) => t.createdBy === 'alert:memory-usage-high');
    assert.equal(tasks.length, 1, 'one task for the two sends');
    assert.equal(tasks[0]!.nodeId, a.id);
  });
});
