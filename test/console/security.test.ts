/**
 * The console as an attacker on loopback sees it (issue 17): login throttling that holds under parallel
 * bursts (also across two consoles sharing one PostgreSQL database), per (user, address) backoff instead
 * of a lock for everyone and `oscope console user unlock`, bounded agent data (413 past the per-kind
 * limits, list routes without full samples, samples queries bounded in bytes), small bodies on
 * unauthenticated routes, CSRF checks on state-changing routes, case-insensitive user names, deep JSON,
 * reports of the wrong schema, impossible progress, far-future samples, TLS with Secure cookies, private
 * database files, the first admin password file removed after the first login, and security headers.
 *
 * Everything runs in this process over fastify's inject or on 127.0.0.1; request counts are bounded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { startConsole } from '../../src/console/console.js';
import { buildServer, ensureAdmin, type LoginLimits, SESSION_COOKIE } from '../../src/console/server.js';
import { MIGRATIONS } from '../../src/console/store/migrations.js';
import { openStore, type Store } from '../../src/console/store/index.js';
import { WIRE_LIMITS } from '../../src/contract/agent-wire.js';
import { REPO_ROOT } from '../helpers.js';
import { PgServer, postgresBinDir } from './pg-server.js';

const T0 = Date.UTC(2026, 10, 1);

interface Ctx {
  app: FastifyInstance;
  store: Store;
  cookie: string;
  password: string;
  clock: { now: number };
  dir: string;
  db: string;
}

async function withConsole(fn: (c: Ctx) => Promise<void>, loginLimits?: Partial<LoginLimits>): Promise<void> {
  const dir = mkdtempSync('/var/tmp/oscope-test-security-');
  const db = join(dir, 'console.db');
  const store = await openStore(db);
  const clock = { now: T0 };
  const app = await buildServer({ store, registry: defaultRegistry(), now: () => clock.now, webDir: join(dir, 'none'), ...(loginLimits ? { loginLimits } : {}) });
  try {
    const password = (await ensureAdmin(store))!;
    const cookie = await login(app, 'admin', password);
    await fn({ app, store, cookie, password, clock, dir, db });
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function login(app: FastifyInstance, username: string, password: string, remoteAddress = '127.0.0.1'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress });
  assert.equal(res.statusCode, 200, res.body);
  const set = res.cookies.find((c) => c.name === SESSION_COOKIE);
  assert.ok(set);
  return `${SESSION_COOKIE}=${set.value}`;
}

const err = (r: { json: <T>() => T }): string => r.json<{ error: string }>().error;
const tally = (codes: number[]): Record<number, number> => codes.reduce<Record<number, number>>((m, c) => ((m[c] = (m[c] ?? 0) + 1), m), {});

async function mkNode(app: FastifyInstance, cookie: string, name = 'n1'): Promise<{ id: string; auth: { authorization: string } }> {
  const r = await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name } });
  assert.equal(r.statusCode, 201, r.body);
  const b = r.json<{ node: { id: string }; token: string }>();
  return { id: b.node.id, auth: { authorization: `Bearer ${b.token}` } };
}

// --- 1. the throttle race ---

test('100 parallel wrong logins from one address: no more than the address limit are checked, the rest answer 429', async () => {
  await withConsole(async ({ app }) => {
    const rs = await Promise.all(
      Array.from({ length: 100 }, (_, i) => app.inject({ method: 'POST', url: '/auth/login', payload: { username: `guess${i}`, password: 'wrong' }, remoteAddress: '10.1.0.1' })),
    );
    const t = tally(rs.map((r) => r.statusCode));
    assert.equal(t[401], 20, `exactly the address limit is checked: ${JSON.stringify(t)}`);
    assert.equal(t[429], 80, JSON.stringify(t));
    const limited = rs.find((r) => r.statusCode === 429)!;
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.match(err(limited), /from this address/);
  });
});

test('100 parallel wrong logins on one name from one address: only the free attempts are checked', async () => {
  await withConsole(async ({ app }) => {
    const rs = await Promise.all(
      Array.from({ length: 100 }, () => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: 'wrong' }, remoteAddress: '10.1.0.2' })),
    );
    const t = tally(rs.map((r) => r.statusCode));
    assert.equal(t[401], 5, JSON.stringify(t));
    assert.equal(t[429], 95, JSON.stringify(t));
  });
});

test('a burst of right-password logins is not throttled (a success gives its attempt back)', async () => {
  await withConsole(async ({ app, password }) => {
    const rs = await Promise.all(
      Array.from({ length: 30 }, () => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password }, remoteAddress: '10.1.0.3' })),
    );
    // Parallel successes may hold attempts for a moment, but sequential ones never pile up.
    for (let i = 0; i < 25; i++) assert.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password }, remoteAddress: '10.1.0.4' })).statusCode, 200);
    // Counted before checking, parallel attempts on one name hold the free ones until they finish.
    assert.ok(rs.filter((r) => r.statusCode === 200).length >= 5, JSON.stringify(tally(rs.map((r) => r.statusCode))));
  });
});

test('PostgreSQL: two consoles sharing one database count one burst together', async (t) => {
  if (!postgresBinDir()) {
    t.skip('PostgreSQL is not installed (scripts/ensure-test-deps-console.sh installs it)');
    return;
  }
  let server: PgServer;
  let url: string;
  try {
    server = new PgServer();
    url = server.start();
  } catch (e) {
    t.skip(`PostgreSQL cannot start here: ${(e as Error).message}`);
    return;
  }
  try {
    const a = await openStore(url);
    const b = await openStore(url);
    // A long first wait: the burst runs on the real clock and must not outlast it.
    const loginLimits = { backoffBaseMs: 10 * 60_000 };
    const apps = [await buildServer({ store: a, registry: defaultRegistry(), loginLimits }), await buildServer({ store: b, registry: defaultRegistry(), loginLimits })];
    try {
      await ensureAdmin(a);
      const shoot = (username: string, ip: string, n: number) =>
        Promise.all(Array.from({ length: n }, (_, i) => apps[i % 2]!.inject({ method: 'POST', url: '/auth/login', payload: { username, password: 'wrong' }, remoteAddress: ip })));
      const one = tally((await shoot('admin', '10.2.0.1', 60)).map((r) => r.statusCode));
      assert.equal(one[401], 5, `one name, one address, two consoles: ${JSON.stringify(one)}`);
      assert.equal(one[429], 55, JSON.stringify(one));
      const many = tally((await Promise.all(Array.from({ length: 60 }, (_, i) => apps[i % 2]!.inject({ method: 'POST', url: '/auth/login', payload: { username: `g${i}`, password: 'wrong' }, remoteAddress: '10.2.0.2' })))).map((r) => r.statusCode));
      assert.equal(many[401], 20, `many names, one address: ${JSON.stringify(many)}`);
    } finally {
      for (const app of apps) await app.close();
      await a.close();
      await b.close();
    }
  } finally {
    server.stop();
  }
});

// --- 2. no lock for everyone; backoff; unlock ---

test('throttling is per (user, address) with exponential backoff; other addresses still log in', async () => {
  await withConsole(
    async ({ app, clock, password }) => {
      const attempt = (pw: string, ip = '10.3.0.1') => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw }, remoteAddress: ip });
      for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong')).statusCode, 401);
      const held = await attempt(password);
      assert.equal(held.statusCode, 429, 'the guessing address waits, even with the right password');
      assert.equal(held.headers['retry-after'], '10', 'the first backoff step');
      assert.match(err(held), /too many failed logins for this user name from this address; try again in 10 s/);
      assert.equal((await attempt(password, '10.3.0.9')).statusCode, 200, 'the owner logs in from another address');

      clock.now += 10_000;
      assert.equal((await attempt('wrong')).statusCode, 401, 'after the wait, one more guess is checked');
      assert.equal((await attempt(password)).headers['retry-after'], '20', 'and the wait doubles');
      clock.now += 20_000;
      assert.equal((await attempt('wrong')).statusCode, 401);
      assert.equal((await attempt(password)).headers['retry-after'], '40');
      clock.now += 40_000;
      assert.equal((await attempt(password)).statusCode, 200, 'the right password after the wait');
      assert.equal((await attempt('wrong')).statusCode, 401, 'a success starts over');
      assert.equal((await attempt('wrong')).statusCode, 401);
    },
    { perUser: 3, backoffBaseMs: 10_000 },
  );
});

test('the backoff is capped, and the window forgets an old streak', async () => {
  await withConsole(
    async ({ app, clock }) => {
      const attempt = () => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: 'wrong' }, remoteAddress: '10.3.1.1' });
      const waits: string[] = [];
      for (let i = 0; i < 8; i++) {
        assert.equal((await attempt()).statusCode, 401);
        const r = await attempt();
        waits.push(String(r.headers['retry-after'] ?? r.statusCode));
        clock.now += Number(r.headers['retry-after'] ?? 0) * 1000;
      }
      assert.deepEqual(waits, ['1', '2', '4', '8', '16', '30', '30', '30']);
      clock.now += 15 * 60_000;
      assert.equal((await attempt()).statusCode, 401, 'a quiet window starts over');
      assert.equal((await attempt()).statusCode, 429);
    },
    { perUser: 1, perIp: 1000, backoffBaseMs: 1000, backoffMaxMs: 30_000 },
  );
});

test('`oscope console user unlock NAME` ends the backoff of a name at once', async () => {
  await withConsole(
    async ({ app, password, db }) => {
      const attempt = (pw: string) => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw }, remoteAddress: '10.4.0.1' });
      for (let i = 0; i < 2; i++) await attempt('wrong');
      assert.equal((await attempt(password)).statusCode, 429);
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'console', 'user', 'unlock', 'ADMIN', '--db', db], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /unlocked "admin"/);
      assert.equal((await attempt(password)).statusCode, 200, 'unlocked');
      const none = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'console', 'user', 'unlock', 'nobody', '--db', db], { encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(none.status, 0, 'an unknown name is an error');
      assert.match(none.stderr, /no user "nobody"/);
    },
    { perUser: 2 },
  );
});

// --- 3. bounded agent data ---

test('per-kind size limits: samples, alerts, results and reports past them answer 413 and store nothing', async () => {
  await withConsole(async ({ app, store, cookie, clock }) => {
    const n = await mkNode(app, cookie);
    const ts = new Date(clock.now).toISOString();
    const big = (bytes: number) => ({ junk: 'x'.repeat(bytes) });
    const s = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts, data: big(WIRE_LIMITS.sampleDataBytes) }] } });
    assert.equal(s.statusCode, 413, s.body);
    assert.match(err(s), /sample .* larger than/);
    const batch = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts, data: big(WIRE_LIMITS.samplesBodyBytes + 1) }] } });
    assert.equal(batch.statusCode, 413);
    assert.equal((await store.listSamples(n.id, 0, clock.now + 1, 10)).length, 0, 'no sample stored');
    const ok = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts, data: big(1000) }] } });
    assert.equal(ok.statusCode, 200, ok.body);

    const ev = { id: '00000000-0000-4000-8000-000000000001', rule: 'r', severity: 'warning', state: 'firing', ts, message: 'm', data: big(WIRE_LIMITS.alertDataBytes) };
    const a = await app.inject({ method: 'POST', url: '/api/agent/alerts', headers: n.auth, payload: { events: [ev] } });
    assert.equal(a.statusCode, 413, a.body);
    assert.match(err(a), /alert .* larger than/);
    assert.equal((await store.listAlerts({ limit: 10 })).length, 0);

    const rep = await app.inject({
      method: 'POST',
      url: '/api/agent/reports',
      headers: n.auth,
      payload: { diagnosis: 'mem', params: {}, rule: 'r', result: { status: 'done', report: { schema: 'oscope.mem/v1', ...big(WIRE_LIMITS.reportBytes) } } },
    });
    assert.equal(rep.statusCode, 413, rep.body.slice(0, 200));
    assert.equal((await store.listTasks({ limit: 10 })).length, 0);

    const task = (await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/tasks`, headers: { cookie }, payload: { diagnosis: 'mem' } })).json<{ task: { id: string } }>().task;
    assert.equal((await app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: n.auth, payload: {} })).statusCode, 200);
    const res = await app.inject({ method: 'POST', url: `/api/agent/tasks/${task.id}/result`, headers: n.auth, payload: { status: 'done', report: { schema: 'oscope.mem/v1', ...big(WIRE_LIMITS.reportBytes) } } });
    assert.equal(res.statusCode, 413);
    assert.equal(await store.getReport(task.id), undefined);
  });
});

test('GET /api/nodes embeds a bounded summary of the latest sample, never the sample itself', async () => {
  await withConsole(async ({ app, store, cookie, clock }) => {
    const n = await mkNode(app, cookie);
    const cgroups = Array.from({ length: 100 }, (_, i) => ({ path: `/c${i}/${'p'.repeat(300)}`, container: null, usageBytes: 1000 - i, workingsetBytes: 1, limitBytes: null }));
    const data = {
      memTotalBytes: 8e9,
      memAvailableBytes: 2e9,
      memFreeBytes: 1e9,
      components: { anon: 1, file: 2 },
      runqueueLatency: { leMs: [1, 2, null], counts: [1, 2, 3], count: 6, p50Ms: 1, p99Ms: 2, maxMs: 3 },
      logAnomalies: { total: 3, byRule: { oom: 3 } },
      psiMemorySomeAvg10: 0.5,
      cgroups,
      junk: 'j'.repeat(20_000),
    };
    assert.equal((await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts: new Date(clock.now).toISOString(), data }] } })).statusCode, 200);
    const list = await app.inject({ url: '/api/nodes', headers: { cookie } });
    assert.ok(list.body.length < 16 * 1024, `the fleet list is small (${list.body.length} bytes)`);
    const latest = list.json<{ nodes: { latest: Record<string, unknown> & { cgroups: unknown[]; runqueueLatency: { p99Ms: number }; logAnomalies: { total: number } } }[] }>().nodes[0]!.latest;
    assert.equal(latest.memTotalBytes, 8e9);
    assert.equal(latest.memAvailableBytes, 2e9);
    assert.equal(latest.runqueueLatency.p99Ms, 2);
    assert.equal(latest.logAnomalies.total, 3);
    assert.equal(latest.psiMemorySomeAvg10, 0.5);
    assert.equal(latest.junk, undefined, 'fields outside the sample contract are not embedded');
    assert.ok(latest.cgroups.length <= 20, 'the top cgroups only');
    assert.equal(typeof latest.ts, 'string');
    const one = await app.inject({ url: `/api/nodes/${n.id}`, headers: { cookie } });
    assert.ok(one.body.length < 32 * 1024, `one node is small too (${one.body.length} bytes)`);
    assert.equal(one.json<{ latest: { cgroups: { usageBytes: number }[] } }>().latest.cgroups[0]!.usageBytes, 1000, 'the largest cgroups');

    // A huge sample stored before the limits existed is not sent at all.
    await store.addSamples(n.id, [{ ts: clock.now + 1000, data: { memTotalBytes: 1, junk: 'j'.repeat(3 * 1024 * 1024) } }]);
    const after = await app.inject({ url: '/api/nodes', headers: { cookie } });
    assert.ok(after.body.length < 16 * 1024, `${after.body.length} bytes`);
  });
});

test('a samples query is bounded in bytes, newest first kept, and says it was cut', async () => {
  await withConsole(async ({ app, store, cookie, clock }) => {
    const n = await mkNode(app, cookie);
    const each = 60 * 1024;
    const count = Math.ceil(WIRE_LIMITS.samplesReplyBytes / each) + 10;
    await store.addSamples(
      n.id,
      Array.from({ length: count }, (_, i) => ({ ts: clock.now - (count - i) * 1000, data: { memTotalBytes: i, pad: 'p'.repeat(each) } })),
    );
    // And one huge legacy row in the middle.
    await store.addSamples(n.id, [{ ts: clock.now - 500, data: { memTotalBytes: -1, pad: 'p'.repeat(12 * 1024 * 1024) } }]);
    const r = await app.inject({ url: `/api/nodes/${n.id}/samples?limit=10000&since=${new Date(clock.now - 3600_000).toISOString()}`, headers: { cookie } });
    assert.equal(r.statusCode, 200);
    assert.ok(r.body.length <= WIRE_LIMITS.samplesReplyBytes + 64 * 1024, `${r.body.length} bytes`);
    const b = r.json<{ samples: { ts: string; data: { memTotalBytes: number } }[]; truncated?: boolean }>();
    assert.equal(b.truncated, true);
    assert.ok(b.samples.length > 10 && b.samples.length < count);
    assert.equal(b.samples.at(-1)!.data.memTotalBytes, count - 1, 'the newest samples are kept, oldest first');
    assert.ok(!b.samples.some((s) => s.data.memTotalBytes === -1), 'the oversized row is left out');
    const small = await app.inject({ url: `/api/nodes/${n.id}/samples?limit=3`, headers: { cookie } });
    assert.equal(small.json<{ truncated?: boolean }>().truncated, undefined, 'not cut: no flag');
  });
});

// --- 4. anonymous bodies ---

test('unauthenticated routes read only small bodies', async () => {
  await withConsole(async ({ app }) => {
    const body = JSON.stringify({ username: 'admin', password: 'x'.repeat(100 * 1024) });
    for (const url of ['/auth/login', '/auth/logout', '/whatever', '/healthz']) {
      const r = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
      assert.equal(r.statusCode, 413, `${url}: ${r.statusCode} ${r.body}`);
    }
    const api = await app.inject({ method: 'POST', url: '/api/nodes', headers: { 'content-type': 'application/json' }, payload: body });
    assert.equal(api.statusCode, 401, 'the API answers 401 before reading');
  });
});

// --- 5. CSRF ---

test('cookie-authenticated state changes from another origin are refused (body-less POSTs too); agents are unaffected', async () => {
  await withConsole(async ({ app, cookie, password, clock }) => {
    const n = await mkNode(app, cookie);
    const foreign = [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }];
    for (const h of foreign) {
      const rot = await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/token`, headers: { cookie, ...h } });
      assert.equal(rot.statusCode, 403, `token rotation with ${JSON.stringify(h)}`);
      assert.match(err(rot), /cross-site/);
      assert.equal((await app.inject({ method: 'POST', url: '/api/users', headers: { cookie, ...h }, payload: { username: 'eve', password: 'eve password 1', role: 'admin' } })).statusCode, 403);
      assert.equal((await app.inject({ method: 'POST', url: '/auth/login', headers: h, payload: { username: 'admin', password } })).statusCode, 403, 'login CSRF');
      assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, ...h } })).statusCode, 403);
    }
    const task = (await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/tasks`, headers: { cookie }, payload: { diagnosis: 'mem' } })).json<{ task: { id: string } }>().task;
    const cancel = await app.inject({ method: 'POST', url: `/api/tasks/${task.id}/cancel`, headers: { cookie, origin: 'http://evil.example' } });
    assert.equal(cancel.statusCode, 403, 'a body-less cancel');
    assert.equal((await app.inject({ method: 'DELETE', url: `/api/users/${n.id}`, headers: { cookie, origin: 'http://evil.example' } })).statusCode, 403);
    // The same origin, a browser's fetch metadata, and non-browser clients (no Origin) pass.
    assert.equal((await app.inject({ method: 'POST', url: `/api/tasks/${task.id}/cancel`, headers: { cookie, origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' } })).statusCode, 200);
    assert.equal((await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/token`, headers: { cookie, host: 'console.example:8420', origin: 'http://console.example:8420' } })).statusCode, 200);
    // A GET is never refused for its origin.
    assert.equal((await app.inject({ url: '/api/me', headers: { cookie, origin: 'http://evil.example' } })).statusCode, 200);
    // Agents authenticate with a bearer token: no cookie, no CSRF.
    const hello = await app.inject({ method: 'POST', url: '/api/agent/hello', headers: { ...n.auth, origin: 'http://evil.example' }, payload: { hostname: 'h' } });
    assert.equal(hello.statusCode, 401, 'the rotated token is gone');
    const n2 = await mkNode(app, cookie, 'n2');
    const s = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: { ...n2.auth, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, payload: { samples: [{ ts: new Date(clock.now).toISOString(), data: {} }] } });
    assert.equal(s.statusCode, 200, s.body);
  });
});

// --- 6. names, JSON, reports, progress, clocks ---

test('user names are unique without regard to case; a login ignores case', async () => {
  await withConsole(async ({ app, cookie, password, store }) => {
    const dup = await app.inject({ method: 'POST', url: '/api/users', headers: { cookie }, payload: { username: 'ADMIN', password: 'another password' } });
    assert.equal(dup.statusCode, 409, dup.body);
    assert.match(err(dup), /already exists/);
    await assert.rejects(store.createUser('Admin', 'h', 1), /already exists/);
    await login(app, 'AdMiN', password);
    assert.equal((await store.getUserByName('ADMIN'))?.username, 'admin');
  });
});

test('an existing database with user names that differ only in case refuses to start, naming them', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-security-');
  try {
    const file = join(dir, 'console.db');
    const db = new Database(file);
    db.exec('CREATE TABLE oscope_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      for (const s of m.sql('sqlite')) db.exec(s);
      db.prepare('INSERT INTO oscope_schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    const add = db.prepare(`INSERT INTO users (id, username, password_hash, created_at, role) VALUES (?, ?, 'h', ?, 'admin')`);
    add.run('u1', 'bob', 1);
    add.run('u2', 'BOB', 2);
    add.run('u3', 'carol', 3);
    db.close();
    await assert.rejects(openStore(file), /user names that differ only in case.*"bob", "BOB"/);
    const fix = new Database(file);
    fix.prepare(`DELETE FROM users WHERE id = 'u2'`).run();
    fix.close();
    const s = await openStore(file);
    try {
      assert.equal((await s.getUserByName('BOB'))?.id, 'u1');
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deeply nested JSON answers 400, not 500', async () => {
  await withConsole(async ({ app, cookie, clock }) => {
    const n = await mkNode(app, cookie);
    const deep = (d: number): string => '['.repeat(d) + ']'.repeat(d);
    const s = await app.inject({
      method: 'POST',
      url: '/api/agent/samples',
      headers: { ...n.auth, 'content-type': 'application/json' },
      payload: `{"samples":[{"ts":"${new Date(clock.now).toISOString()}","data":{"a":${deep(50_000)}}}]}`,
    });
    assert.equal(s.statusCode, 400, s.body);
    assert.match(err(s), /nested/);
    const p = await app.inject({ method: 'POST', url: '/api/users', headers: { cookie, 'content-type': 'application/json' }, payload: `{"username":${deep(5000)}}` });
    assert.equal(p.statusCode, 400, p.body);
    const l = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: deep(1000) });
    assert.equal(l.statusCode, 400, l.body);
  });
});

test("a report whose schema is not the task's diagnosis's is refused", async () => {
  await withConsole(async ({ app, cookie, store }) => {
    const n = await mkNode(app, cookie);
    const task = (await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/tasks`, headers: { cookie }, payload: { diagnosis: 'mem' } })).json<{ task: { id: string } }>().task;
    await app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: n.auth, payload: {} });
    const wrong = await app.inject({ method: 'POST', url: `/api/agent/tasks/${task.id}/result`, headers: n.auth, payload: { status: 'done', report: { schema: 'oscope.inspect/v1' } } });
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.match(err(wrong), /oscope\.inspect\/v1.*mem/);
    assert.equal(await store.getReport(task.id), undefined);
    const rep = await app.inject({ method: 'POST', url: '/api/agent/reports', headers: n.auth, payload: { diagnosis: 'mem', rule: 'r', result: { status: 'done', report: { schema: 'evil/v1' } } } });
    assert.equal(rep.statusCode, 400, rep.body);
    const newer = await app.inject({ method: 'POST', url: `/api/agent/tasks/${task.id}/result`, headers: n.auth, payload: { status: 'done', report: { schema: 'oscope.mem/v2' } } });
    assert.equal(newer.statusCode, 200, "another version of the diagnosis's own schema (a newer agent) is kept");
  });
});

test('progress with done above total is refused', async () => {
  await withConsole(async ({ app, cookie }) => {
    const n = await mkNode(app, cookie);
    const task = (await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/tasks`, headers: { cookie }, payload: { diagnosis: 'mem' } })).json<{ task: { id: string } }>().task;
    await app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: n.auth, payload: {} });
    const bad = await app.inject({ method: 'POST', url: `/api/agent/tasks/${task.id}/progress`, headers: n.auth, payload: { step: 's', done: 5, total: 3 } });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(err(bad), /done/);
    assert.equal((await app.inject({ method: 'POST', url: `/api/agent/tasks/${task.id}/progress`, headers: n.auth, payload: { step: 's', done: 3, total: 3 } })).statusCode, 200);
  });
});

test('samples and alerts from the far future are refused; a small clock skew is accepted', async () => {
  await withConsole(async ({ app, cookie, clock }) => {
    const n = await mkNode(app, cookie);
    const at = (ms: number) => new Date(clock.now + ms).toISOString();
    const far = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts: at(WIRE_LIMITS.maxClockSkewMs + 60_000), data: {} }] } });
    assert.equal(far.statusCode, 400, far.body);
    assert.match(err(far), /future/);
    const near = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: n.auth, payload: { samples: [{ ts: at(30_000), data: {} }] } });
    assert.equal(near.statusCode, 200, near.body);
    const ev = { id: '00000000-0000-4000-8000-000000000009', rule: 'r', severity: 'warning', state: 'firing', ts: at(365 * 86400_000), message: 'm' };
    assert.equal((await app.inject({ method: 'POST', url: '/api/agent/alerts', headers: n.auth, payload: { events: [ev] } })).statusCode, 400);
  });
});

// --- 7. TLS, files, headers ---

test('security headers on the UI, the API and errors', async () => {
  await withConsole(async ({ app, cookie }) => {
    for (const [url, headers] of [['/', {}], ['/api/me', { cookie }], ['/api/nodes', {}], ['/healthz', {}], ['/nodes/x', {}]] as const) {
      const r = await app.inject({ url, headers });
      assert.equal(r.headers['x-frame-options'], 'DENY', url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', url);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.doesNotMatch(csp, /script-src[^;]*unsafe/, url);
    }
  });
});

function openssl(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'needs the openssl command (apt install openssl)';
}

test('TLS: --tls-cert/--tls-key serve https with Secure cookies; database files are 0600; the first password file goes after the first admin login', { skip: openssl() }, async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-security-tls-');
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const db = join(dir, 'data', 'console.db');
    const c = await startConsole({ host: '127.0.0.1', port: 0, db, retentionDays: 1, webDir: join(dir, 'none'), tls: { certFile: cert, keyFile: key }, log: () => undefined });
    try {
      assert.match(c.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      for (const f of [db, `${db}-wal`, `${db}-shm`, c.passwordFile]) {
        if (existsSync(f)) assert.equal(statSync(f).mode & 0o777, 0o600, f);
      }
      assert.ok(existsSync(`${db}-wal`), 'WAL mode');
      assert.equal(statSync(join(dir, 'data')).mode & 0o077, 0, 'the data directory is private');
      const pw = readFileSync(c.passwordFile, 'utf8').trim();
      const ca = readFileSync(cert);
      const post = (path: string, body: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> =>
        new Promise((resolve, reject) => {
          const data = JSON.stringify(body);
          const req = httpsRequest(`${c.url}${path}`, { method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          });
          req.on('error', reject);
          req.end(data);
        });
      assert.equal((await post('/auth/login', { username: 'admin', password: 'wrong' })).status, 401);
      assert.ok(existsSync(c.passwordFile), 'a failed login keeps the file');
      const ok = await post('/auth/login', { username: 'admin', password: pw });
      assert.equal(ok.status, 200);
      const setCookie = String(ok.headers['set-cookie']);
      assert.match(setCookie, /; Secure/, setCookie);
      assert.match(setCookie, /HttpOnly/);
      assert.match(String(ok.headers['strict-transport-security']), /max-age=\d+/);
      assert.equal(existsSync(c.passwordFile), false, 'the first password file is removed after the first admin login');
    } finally {
      await c.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
