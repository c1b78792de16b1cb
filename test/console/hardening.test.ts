/**
 * Console hardening over fastify's inject: user management (admins add and remove people, everyone
 * changes their own password, a viewer only reads), login throttling (429 with Retry-After and a reason),
 * localized alert messages with filters, and a web UI rebuilt while the console runs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { buildServer, ensureAdmin, type LoginLimits, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore, type Store } from '../../src/console/store/index.js';

interface Ctx {
  app: FastifyInstance;
  store: Store;
  /** The admin's cookie. */
  cookie: string;
  password: string;
  clock: { now: number };
  dir: string;
}

async function withConsole(fn: (c: Ctx) => Promise<void>, loginLimits?: Partial<LoginLimits>): Promise<void> {
  const dir = mkdtempSync('/var/tmp/oscope-test-hardening-');
  const store = await openStore(join(dir, 'console.db'));
  const clock = { now: Date.UTC(2026, 10, 1) };
  const app = await buildServer({ store, registry: defaultRegistry(), now: () => clock.now, webDir: join(dir, 'none'), ...(loginLimits ? { loginLimits } : {}) });
  try {
    const password = (await ensureAdmin(store))!;
    const cookie = await login(app, 'admin', password);
    await fn({ app, store, cookie, password, clock, dir });
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function login(app: FastifyInstance, username: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } });
  assert.equal(res.statusCode, 200, res.body);
  const set = res.cookies.find((c) => c.name === SESSION_COOKIE);
  assert.ok(set);
  return `${SESSION_COOKIE}=${set.value}`;
}

const err = (r: { json: <T>() => T }): string => r.json<{ error: string }>().error;

test('an admin adds and removes users; bad input is refused with a reason and changes nothing', async () => {
  await withConsole(async ({ app, store, cookie }) => {
    const H = { cookie };
    const list = async (): Promise<string[]> => (await app.inject({ url: '/api/users', headers: H })).json<{ users: { username: string; role: string }[] }>().users.map((u) => `${u.username}:${u.role}`);
    assert.deepEqual(await list(), ['admin:admin']);

    for (const [payload, reason] of [
      [{ username: 'bob' }, /invalid user/],
      [{ username: 'bob', password: 'short' }, /at least 10 characters/],
      [{ username: ' bob', password: 'long enough pw' }, /letters, digits/],
      [{ username: 'bob', password: 'long enough pw', role: 'root' }, /invalid user/],
      [{ username: 'bob', password: 'long enough pw', extra: 1 }, /invalid user/],
    ] as const) {
      const r = await app.inject({ method: 'POST', url: '/api/users', headers: H, payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.match(err(r), reason);
    }
    assert.equal(await store.countUsers(), 1, 'nothing was created');

    const add = await app.inject({ method: 'POST', url: '/api/users', headers: H, payload: { username: 'bob', password: 'bob password 1' } });
    assert.equal(add.statusCode, 201, add.body);
    const bob = add.json<{ user: { id: string; role: string } }>().user;
    assert.equal(bob.role, 'viewer', 'a new user is a viewer unless said otherwise');
    const dup = await app.inject({ method: 'POST', url: '/api/users', headers: H, payload: { username: 'bob', password: 'another password' } });
    assert.equal(dup.statusCode, 409);
    assert.match(err(dup), /already exists/);
    const add2 = await app.inject({ method: 'POST', url: '/api/users', headers: H, payload: { username: 'carol', password: 'carol password', role: 'admin' } });
    assert.equal(add2.statusCode, 201);
    assert.deepEqual(await list(), ['admin:admin', 'bob:viewer', 'carol:admin']);

    // Bob can log in; removing him ends his session at once.
    const bobCookie = await login(app, 'bob', 'bob password 1');
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie: bobCookie } })).json<{ role: string }>().role, 'viewer');
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/users/not-a-uuid', headers: H })).statusCode, 400);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/users/00000000-0000-4000-8000-000000000000', headers: H })).statusCode, 404);
    const del = await app.inject({ method: 'DELETE', url: `/api/users/${bob.id}`, headers: H });
    assert.equal(del.statusCode, 200, del.body);
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie: bobCookie } })).statusCode, 401, "a removed user's session ends");
    assert.deepEqual(await list(), ['admin:admin', 'carol:admin']);

    // Nobody removes their own account (so the last admin always stays).
    const me = (await app.inject({ url: '/api/me', headers: H })).json<{ id: string }>();
    const self = await app.inject({ method: 'DELETE', url: `/api/users/${me.id}`, headers: H });
    assert.equal(self.statusCode, 409);
    assert.match(err(self), /your own account/);
  });
});

test('a viewer reads but cannot manage users, nodes or tasks', async () => {
  await withConsole(async ({ app, cookie }) => {
    await app.inject({ method: 'POST', url: '/api/users', headers: { cookie }, payload: { username: 'vic', password: 'viewer password', role: 'viewer' } });
    const node = (await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name: 'n1' } })).json<{ node: { id: string } }>().node;
    const V = { cookie: await login(app, 'vic', 'viewer password') };
    for (const [method, url, payload] of [
      ['GET', '/api/users', undefined],
      ['POST', '/api/users', { username: 'eve', password: 'eve password 1', role: 'admin' }],
      ['DELETE', `/api/users/${node.id}`, undefined],
      ['POST', '/api/nodes', { name: 'n2' }],
      ['POST', `/api/nodes/${node.id}/token`, {}],
      ['POST', `/api/nodes/${node.id}/tasks`, { diagnosis: 'mem', params: {} }],
      ['POST', `/api/tasks/${node.id}/cancel`, {}],
    ] as const) {
      const r = await app.inject({ method, url, headers: V, ...(payload ? { payload } : {}) });
      assert.equal(r.statusCode, 403, `${method} ${url}`);
      assert.match(err(r), /only an admin/);
    }
    assert.equal((await app.inject({ url: '/api/users', headers: { cookie } })).json<{ users: unknown[] }>().users.length, 2, 'eve was not created');
    assert.equal((await app.inject({ url: '/api/nodes', headers: V })).statusCode, 200, 'a viewer reads the fleet');
    assert.equal((await app.inject({ url: '/api/alerts', headers: V })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/tasks', headers: V })).statusCode, 200);
  });
});

test('everyone changes their own password; other sessions end; a wrong current password is refused', async () => {
  await withConsole(async ({ app, cookie, password }) => {
    const other = await login(app, 'admin', password);
    const url = '/api/me/password';
    const bad = await app.inject({ method: 'POST', url, headers: { cookie }, payload: { currentPassword: 'wrong', newPassword: 'a new password 1' } });
    assert.equal(bad.statusCode, 403);
    assert.match(err(bad), /current password is wrong/);
    const short = await app.inject({ method: 'POST', url, headers: { cookie }, payload: { currentPassword: password, newPassword: 'short' } });
    assert.equal(short.statusCode, 400);
    assert.match(err(short), /at least 10/);
    const same = await app.inject({ method: 'POST', url, headers: { cookie }, payload: { currentPassword: password, newPassword: password } });
    assert.equal(same.statusCode, 400);
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie: other } })).statusCode, 200, 'nothing changed so far');

    const ok = await app.inject({ method: 'POST', url, headers: { cookie }, payload: { currentPassword: password, newPassword: 'a new password 1' } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode, 200, 'the session that changed it stays');
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie: other } })).statusCode, 401, 'other sessions end');
    assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password } })).statusCode, 401, 'the old password no longer works');
    await login(app, 'admin', 'a new password 1');
    assert.equal((await app.inject({ method: 'POST', url, payload: { currentPassword: 'x', newPassword: 'y'.repeat(12) } })).statusCode, 401, 'needs a session');
  });
});

test('login throttling: per (user name, address) and per address, 429 with Retry-After and a reason, over after the wait', async () => {
  await withConsole(
    async ({ app, clock, password }) => {
      const attempt = (username: string, pw: string, ip = '10.0.0.1') => app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: pw }, remoteAddress: ip });
      for (let i = 0; i < 3; i++) assert.equal((await attempt('admin', 'wrong')).statusCode, 401);
      const locked = await attempt('admin', password);
      assert.equal(locked.statusCode, 429, 'even the right password waits from the guessing address');
      assert.match(err(locked), /too many failed logins for this user name from this address; try again in \d+ s/);
      assert.equal(locked.headers['retry-after'], String(15 * 60));
      assert.equal(locked.json<{ retryAfterS: number }>().retryAfterS, 15 * 60);
      assert.equal((await attempt('admin', password, '10.0.0.9')).statusCode, 200, 'not from another address (issue 17: no lock for everyone)');

      clock.now += 10 * 60_000;
      assert.equal((await attempt('admin', password)).headers['retry-after'], String(5 * 60), 'Retry-After counts down');
      clock.now += 5 * 60_000 + 1;
      assert.equal((await attempt('admin', password)).statusCode, 200, 'the wait is over');

      // Per address: many names from one address.
      for (let i = 0; i < 5; i++) assert.equal((await attempt(`nobody${i}`, 'x', '10.0.0.2')).statusCode, 401);
      const ipLocked = await attempt('admin', password, '10.0.0.2');
      assert.equal(ipLocked.statusCode, 429);
      assert.match(err(ipLocked), /from this address/);
      assert.equal((await attempt('admin', password, '10.0.0.3')).statusCode, 200, 'other addresses are not affected');
      // A bad body is refused before anything is counted.
      assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin' }, remoteAddress: '10.0.0.4' })).statusCode, 400);
    },
    { perUser: 3, perIp: 5, windowMs: 15 * 60_000, backoffBaseMs: 15 * 60_000 },
  );
});

test('alerts keep their localized messages and filter by node, severity and state', async () => {
  await withConsole(async ({ app, cookie }) => {
    const mk = async (name: string): Promise<{ id: string; token: string }> => {
      const b = (await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name } })).json<{ node: { id: string }; token: string }>();
      return { id: b.node.id, token: b.token };
    };
    const n1 = await mk('n1');
    const n2 = await mk('n2');
    const ev = (i: number, extra: Record<string, unknown>) => ({ id: `00000000-0000-4000-8000-00000000000${i}`, rule: 'mem-high', severity: 'warning', state: 'firing', ts: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(), message: 'memory high', ...extra });
    const send = (token: string, events: unknown[]) => app.inject({ method: 'POST', url: '/api/agent/alerts', headers: { authorization: `Bearer ${token}` }, payload: { events } });
    const tooLong = await send(n1.token, [ev(1, { messages: { en: 'x', 'zh-CN': 'y'.repeat(2001) } })]);
    assert.equal(tooLong.statusCode, 400);
    const noZh = await send(n1.token, [ev(1, { messages: { en: 'x' } })]);
    assert.equal(noZh.statusCode, 400);
    assert.match(err(noZh), /zh-CN/);
    assert.equal((await send(n1.token, [ev(1, { messages: { en: 'memory high', 'zh-CN': '内存使用率高' } }), ev(2, { state: 'resolved' })])).statusCode, 200);
    assert.equal((await send(n2.token, [ev(3, { severity: 'critical' })])).statusCode, 200);

    const get = async (q: string) => (await app.inject({ url: `/api/alerts${q}`, headers: { cookie } })).json<{ alerts: { id: string; messages: unknown; nodeId: string }[] }>().alerts;
    const all = await get('');
    assert.equal(all.length, 3);
    assert.deepEqual(all.find((a) => a.id.endsWith('1'))?.messages, { en: 'memory high', 'zh-CN': '内存使用率高' });
    assert.equal(all.find((a) => a.id.endsWith('2'))?.messages, null, 'an event without messages has null');
    assert.deepEqual((await get('?severity=critical')).map((a) => a.nodeId), [n2.id]);
    assert.deepEqual((await get(`?node=${n1.id}&state=firing`)).map((a) => a.id.slice(-1)), ['1']);
    for (const q of ['?severity=fatal', '?state=open', '?limit=0', '?node=x', '?color=red']) {
      const r = await app.inject({ url: `/api/alerts${q}`, headers: { cookie } });
      assert.equal(r.statusCode, 400, q);
      assert.match(err(r), /invalid query/);
    }
  });
});

test('a web UI rebuilt while the console runs is served without a restart', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-web-');
  const store = await openStore(join(dir, 'console.db'));
  const dist = join(dir, 'dist');
  mkdirSync(dist);
  try {
    const app = await buildServer({ store, registry: defaultRegistry(), webDir: dist });
    try {
      assert.match((await app.inject({ url: '/' })).body, /web UI is not built/, 'not built yet: the placeholder');
      mkdirSync(join(dist, 'assets'));
      writeFileSync(join(dist, 'index.html'), '<!doctype html><title>v1</title><script src="/assets/a1.js"></script>');
      writeFileSync(join(dist, 'assets', 'a1.js'), 'console.log(1)');
      assert.match((await app.inject({ url: '/' })).body, /v1/);
      // A rebuild: new hashed names, the old ones gone.
      rmSync(join(dist, 'assets', 'a1.js'));
      writeFileSync(join(dist, 'assets', 'b2.js'), 'console.log(2)');
      writeFileSync(join(dist, 'index.html'), '<!doctype html><title>v2</title><script src="/assets/b2.js"></script>');
      const idx = await app.inject({ url: '/' });
      assert.match(idx.body, /v2/);
      assert.equal(idx.headers['cache-control'], 'no-cache', 'index.html is revalidated');
      const js = await app.inject({ url: '/assets/b2.js' });
      assert.equal(js.statusCode, 200, 'a new asset is served at once');
      assert.match(String(js.headers['cache-control']), /immutable/);
      assert.match((await app.inject({ url: '/nodes/abc' })).body, /v2/, 'client-side routes get the new index.html');
      assert.equal((await app.inject({ url: '/api/nope' })).statusCode, 401, 'the wildcard never covers the API');
      assert.equal((await app.inject({ url: '/../console.db' })).statusCode === 200 && (await app.inject({ url: '/../console.db' })).body.includes('SQLite'), false, 'nothing outside web/dist');
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
