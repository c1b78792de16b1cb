/**
 * The store contract, run against every implementation (SQLite file, real PostgreSQL server).
 * `open()` gives a fresh, migrated, empty store each time.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { type Store, StoreConflictError } from '../../src/console/store/index.js';

const timeout = (): number => 60_000;

export function storeSuite(t: TestContext, open: () => Promise<Store>): Promise<void>[] {
  const run = (name: string, fn: (s: Store) => Promise<void>): Promise<void> =>
    t.test(name, async () => {
      const s = await open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });
  return [
    run('migrations are idempotent', async (s) => {
      assert.equal(await s.migrate(), 7);
      assert.equal(await s.migrate(), 7);
    }),
    run('crashes: 60 nodes report boots; grouped by title and signature with first/last node, kernels, filters', async (s) => {
      const day = 86_400_000;
      const t0 = Date.UTC(2026, 11, 1);
      const nodes = [];
      for (let i = 0; i < 60; i++) nodes.push(await s.createNode(`crash-${String(i).padStart(2, '0')}`, 'h', 1000));
      const stack = ['  ext4_da_write_end+0x1a/0x30', '  generic_perform_write+0x10/0x20'];
      for (const [i, n] of nodes.entries()) {
        const boots: Parameters<Store['addBoots']>[1] = [{ bootId: `cur${i}`, startedAt: t0 + 9 * day, endedAt: null, at: t0 + 9 * day, cause: 'running', title: '', signature: '', stack: null, kernel: '6.1.0', source: 'proc' }];
        // 14 nodes hit the same panic (on two kernels), one of them twice; 5 an unclean end; the rest shut down cleanly.
        if (i < 14) boots.push({ bootId: `p${i}`, startedAt: null, endedAt: t0 + i * 3_600_000, at: t0 + i * 3_600_000, cause: 'panic', title: 'BUG: unable to handle page fault in ext4_da_write_end', signature: 'abc123abc123', stack, kernel: i < 10 ? '6.1.0' : '5.15.0', source: 'journal' });
        if (i === 3) boots.push({ bootId: 'p3b', startedAt: null, endedAt: t0 + 2 * day, at: t0 + 2 * day, cause: 'panic', title: 'BUG: unable to handle page fault in ext4_da_write_end', signature: 'abc123abc123', stack, kernel: '6.1.0', source: 'kdump' });
        else if (i >= 14 && i < 19) boots.push({ bootId: `u${i}`, startedAt: null, endedAt: t0 + day + i, at: t0 + day + i, cause: 'unclean', title: '', signature: '', stack: null, kernel: '', source: 'journal' });
        else boots.push({ bootId: `c${i}`, startedAt: null, endedAt: t0, at: t0, cause: 'clean-shutdown', title: '', signature: '', stack: null, kernel: '6.1.0', source: 'journal' });
        assert.ok((await s.addBoots(n.id, boots, t0 + 9 * day)) >= 2);
        assert.equal(await s.addBoots(n.id, boots, t0 + 9 * day + 1), 0, 're-sent boots change nothing');
      }
      const groups = await s.listCrashGroups({ limit: 10 });
      assert.equal(groups.length, 2, 'the panic and the unclean ends; clean shutdowns and running boots are not crashes');
      const [panic, unclean] = groups;
      assert.equal(panic!.cause, 'panic');
      assert.equal(panic!.count, 15);
      assert.equal(panic!.nodes, 14);
      assert.deepEqual(panic!.kernels, [{ kernel: '6.1.0', count: 11 }, { kernel: '5.15.0', count: 4 }]);
      assert.deepEqual(panic!.first, { nodeId: nodes[0]!.id, at: t0 });
      assert.deepEqual(panic!.last, { nodeId: nodes[3]!.id, at: t0 + 2 * day });
      assert.deepEqual(panic!.stack, stack);
      assert.equal(unclean!.cause, 'unclean');
      assert.equal(unclean!.nodes, 5);
      assert.deepEqual(unclean!.last, { nodeId: nodes[18]!.id, at: t0 + day + 18 });
      const k515 = await s.listCrashGroups({ kernel: '5.15.0', limit: 10 });
      assert.deepEqual(k515.map((g) => [g.cause, g.count, g.nodes]), [['panic', 4, 4]]);
      const since = await s.listCrashGroups({ since: t0 + 1.5 * day, limit: 10 });
      assert.deepEqual(since.map((g) => [g.count, g.first.nodeId]), [[1, nodes[3]!.id]]);
      assert.equal((await s.listCrashGroups({ nodeId: nodes[3]!.id, limit: 10 }))[0]!.count, 2);
      // The running boot ends: a later start reports it again with its cause.
      assert.equal(await s.addBoots(nodes[40]!.id, [{ bootId: 'cur40', startedAt: t0 + 9 * day, endedAt: t0 + 10 * day, at: t0 + 10 * day, cause: 'watchdog', title: 'watchdog: BUG: soft lockup in foo', signature: 'ffff00001111', stack: null, kernel: '', source: 'journal' }], t0 + 11 * day), 1);
      const boots40 = await s.listBoots(nodes[40]!.id, 10);
      assert.deepEqual(boots40.map((b) => [b.bootId, b.cause, b.kernel]), [['cur40', 'watchdog', '6.1.0'], ['c40', 'clean-shutdown', '6.1.0']], 'newest first; a report without a kernel keeps the known one');
      assert.equal((await s.listCrashGroups({ limit: 1 }))[0]!.title, 'watchdog: BUG: soft lockup in foo');
    }),
    run('API tokens: created, read with their user, listed, revoked, removed with the user', async (s) => {
      const admin = await s.createUser('tokadmin', 'h', 1000, 'admin');
      const viewer = await s.createUser('tokviewer', 'h', 1000, 'viewer');
      const id = '00000000-0000-4000-8000-0000000000a1';
      const row = await s.createApiToken({ id, userId: admin.id, name: 'assistant', scope: 'diagnose', tokenHash: 'ab', createdBy: 'tokadmin', now: 2000 });
      assert.equal(row.username, 'tokadmin');
      const got = await s.getApiToken(id);
      assert.equal(got?.token.scope, 'diagnose');
      assert.equal(got?.user.id, admin.id);
      await s.touchApiToken(id, 100_000);
      assert.equal((await s.getApiToken(id))?.token.lastUsedAt, 100_000);
      await s.touchApiToken(id, 100_500);
      assert.equal((await s.getApiToken(id))?.token.lastUsedAt, 100_000, 'at most once a minute');
      const vid = '00000000-0000-4000-8000-0000000000a2';
      await s.createApiToken({ id: vid, userId: viewer.id, name: 'v', scope: 'read', tokenHash: 'cd', createdBy: 'tokadmin', now: 3000 });
      assert.deepEqual((await s.listApiTokens()).map((t) => t.name), ['assistant', 'v']);
      assert.equal(await s.deleteApiToken(id), true);
      assert.equal(await s.deleteApiToken(id), false);
      assert.equal(await s.getApiToken(id), undefined);
      assert.equal(await s.deleteUser(viewer.id), true);
      assert.equal(await s.getApiToken(vid), undefined, 'a removed user\'s tokens go with them');
    }),
    run('users and sessions', async (s) => {
      assert.equal(await s.countUsers(), 0);
      const u = await s.createUser('alice', 'hash', 1000);
      await assert.rejects(s.createUser('alice', 'other', 1001), StoreConflictError);
      assert.equal((await s.getUserByName('alice'))?.id, u.id);
      await s.createSession('sess', u.id, 1000, 5000);
      assert.equal((await s.getSessionUser('sess', 2000))?.username, 'alice');
      assert.equal(await s.getSessionUser('sess', 6000), undefined, 'expired session');
      await s.deleteSession('sess');
      assert.equal(await s.getSessionUser('sess', 2000), undefined);
    }),
    run('user management: roles, the last admin stays, a password change ends other sessions', async (s) => {
      const admin = await s.createUser('admin', 'h0', 1000);
      assert.equal(admin.role, 'admin', 'the default role is admin');
      const viewer = await s.createUser('vic', 'h1', 1001, 'viewer');
      assert.equal((await s.getUser(viewer.id))?.role, 'viewer');
      assert.deepEqual((await s.listUsers()).map((u) => [u.username, u.role]), [['admin', 'admin'], ['vic', 'viewer']]);
      await assert.rejects(s.deleteUser(admin.id), StoreConflictError, 'the last admin cannot be removed');
      assert.ok(await s.getUser(admin.id), 'and is still there');
      await s.createSession('v1', viewer.id, 1000, 9000);
      assert.equal(await s.deleteUser(viewer.id), true);
      assert.equal(await s.getSessionUser('v1', 2000), undefined, "a removed user's sessions end");
      assert.equal(await s.deleteUser(viewer.id), false, 'twice: no such user');
      await s.createSession('a1', admin.id, 1000, 9000);
      await s.createSession('a2', admin.id, 1000, 9000);
      assert.equal(await s.setUserPassword(admin.id, 'h9', 'a1'), true);
      assert.equal((await s.getUser(admin.id))?.passwordHash, 'h9');
      assert.ok(await s.getSessionUser('a1', 2000), 'the session that changed it stays');
      assert.equal(await s.getSessionUser('a2', 2000), undefined, 'other sessions end');
      assert.equal(await s.setUserPassword('00000000-0000-4000-8000-000000000000', 'x'), false);
    }),
    run('login throttle: counts in a window, starts over after it, clears', async (s) => {
      assert.equal(await s.getLoginThrottle('user:a'), undefined);
      assert.deepEqual(await s.recordLoginFailure('user:a', 1000, 0), { failures: 1, windowStart: 1000 });
      assert.deepEqual(await s.recordLoginFailure('user:a', 2000, 0), { failures: 2, windowStart: 1000 });
      await Promise.all([1, 2, 3].map((i) => s.recordLoginFailure('user:a', 2000 + i, 0)));
      assert.deepEqual(await s.getLoginThrottle('user:a'), { failures: 5, windowStart: 1000 }, 'concurrent failures all count');
      assert.deepEqual(await s.recordLoginFailure('user:a', 70_000, 60_000), { failures: 1, windowStart: 70_000 }, 'an old window starts over');
      await s.recordLoginFailure('ip:1', 500, 0);
      assert.equal(await s.pruneLoginThrottles(1000), 1);
      await s.clearLoginThrottle('user:a');
      assert.equal(await s.getLoginThrottle('user:a'), undefined);
    }),
    run('nodes', async (s) => {
      const n = await s.createNode('web-1', 'aa', 1);
      await assert.rejects(s.createNode('web-1', 'bb', 2), StoreConflictError);
      assert.ok(await s.setNodeToken(n.id, 'cc'));
      await s.touchNode(n.id, 50, { hostname: 'web-1' });
      const got = await s.getNode(n.id);
      assert.equal(got?.tokenHash, 'cc');
      assert.equal(got?.lastSeenAt, 50);
      assert.deepEqual(got?.info, { hostname: 'web-1' });
      assert.equal((await s.listNodes()).length, 1);
    }),
    run('samples: idempotent insert, range, retention', async (s) => {
      const n = await s.createNode('n', 'aa', 1);
      const big = Date.UTC(2026, 0, 1);
      assert.equal(await s.addSamples(n.id, [{ ts: big, data: { a: 1 } }, { ts: big + 15_000, data: { a: 2 } }]), 2);
      assert.equal(await s.addSamples(n.id, [{ ts: big, data: { a: 99 } }]), 0, 're-sent sample stored once');
      const rows = await s.listSamples(n.id, big, big + 60_000, 10);
      assert.deepEqual(rows.map((r) => r.data.a), [1, 2]);
      assert.equal((await s.latestSample(n.id))?.ts, big + 15_000);
      assert.deepEqual((await s.getNode(n.id))?.latest, { ts: big + 15_000, data: { a: 2 } }, 'the node keeps its newest sample');
      await s.addSamples(n.id, [{ ts: big + 5000, data: { a: 0 } }]);
      assert.equal((await s.getNode(n.id))?.latest?.ts, big + 15_000, 'an older late sample does not replace it');
      assert.equal(await s.pruneSamples(big + 1), 1);
      assert.deepEqual((await s.listSamples(n.id, 0, big + 60_000, 10)).map((r) => r.ts), [big + 5000, big + 15_000]);
    }),
    run('alerts: idempotent insert, newest first', async (s) => {
      const n = await s.createNode('n', 'aa', 1);
      const a = { id: '00000000-0000-4000-8000-000000000001', nodeId: n.id, rule: 'r', severity: 'warning' as const, state: 'firing' as const, ts: 10, message: 'm', messages: null, data: { x: 1 } };
      assert.equal(await s.addAlerts([a, { ...a, id: '00000000-0000-4000-8000-000000000002', ts: 20, state: 'resolved' }]), 2);
      assert.equal(await s.addAlerts([a]), 0);
      const got = await s.listAlerts({ nodeId: n.id, limit: 10 });
      assert.deepEqual(got.map((x) => x.ts), [20, 10]);
      assert.deepEqual(got[1]?.data, { x: 1 });
      const localized = { en: 'memory high', 'zh-CN': '内存使用率高' };
      await s.addAlerts([{ ...a, id: '00000000-0000-4000-8000-000000000003', ts: 30, severity: 'critical', messages: localized }]);
      assert.deepEqual((await s.listAlerts({ limit: 1 }))[0]?.messages, localized, 'localized messages are kept');
      assert.equal((await s.listAlerts({ limit: 10 }))[1]?.messages, null);
      assert.deepEqual((await s.listAlerts({ severity: 'critical', limit: 10 })).map((x) => x.ts), [30]);
      assert.deepEqual((await s.listAlerts({ state: 'resolved', limit: 10 })).map((x) => x.ts), [20]);
      assert.deepEqual((await s.listAlerts({ nodeId: n.id, state: 'firing', severity: 'warning', limit: 10 })).map((x) => x.ts), [10]);
    }),
    run('tasks: queue, duplicate refused, claim, heartbeat, finish with report', async (s) => {
      const n = await s.createNode('n', 'aa', 1);
      const other = await s.createNode('o', 'bb', 1);
      const base = { nodeId: n.id, diagnosis: 'mem', params: { top: 5 }, paramsKey: '{"top":5}', createdBy: 'user:a', now: 100, pickupDeadlineAt: 100 + timeout() };
      const t1 = await s.createTask(base);
      assert.equal(t1.status, 'queued');
      await assert.rejects(s.createTask({ ...base, now: 101 }), (err: unknown) => err instanceof StoreConflictError && err.message === t1.id);
      const t2 = await s.createTask({ ...base, params: { top: 6 }, paramsKey: '{"top":6}', now: 102 });
      assert.equal(await s.claimTask(other.id, 200, 1000, () => 10_000), undefined, 'another node sees nothing');
      const c = await s.claimTask(n.id, 200, 1000, () => 10_000);
      assert.equal(c?.id, t1.id, 'oldest first');
      assert.equal(c?.status, 'running');
      await assert.rejects(s.createTask({ ...base, now: 201 }), StoreConflictError, 'running task still blocks duplicates');
      assert.equal(await s.heartbeatTask(t1.id, other.id, null, 300, 2000), false, 'not its task');
      assert.ok(await s.heartbeatTask(t1.id, n.id, { step: 'x', done: 1, total: 2 }, 300, 2000));
      assert.deepEqual((await s.getTask(t1.id))?.progress, { step: 'x', done: 1, total: 2 });
      assert.equal(await s.finishTask(t1.id, other.id, { status: 'done' }, 400), undefined, 'another node cannot finish it');
      const fin = await s.finishTask(t1.id, n.id, { status: 'done', report: { schema: 'oscope.mem/v1', document: { schema: 'oscope.mem/v1', v: 1 } } }, 400);
      assert.equal(fin?.task.status, 'done');
      const again = await s.finishTask(t1.id, n.id, { status: 'done', report: { schema: 'oscope.mem/v1', document: { v: 2 } } }, 401);
      assert.equal(again?.alreadyFinished, true, 're-sent result is accepted once');
      assert.deepEqual((await s.getReport(t1.id))?.document, { schema: 'oscope.mem/v1', v: 1 });
      // Done: a new identical task is allowed now.
      const t3 = await s.createTask({ ...base, now: 500 });
      assert.notEqual(t3.id, t1.id);
      assert.ok(await s.cancelTask(t2.id, 600));
      assert.equal(await s.cancelTask(t2.id, 601), false);
      assert.equal((await s.listTasks({ nodeId: n.id, limit: 10 })).length, 3);
    }),
    run('tasks: timeouts with a clear status', async (s) => {
      const n = await s.createNode('gone', 'aa', 1);
      const base = { nodeId: n.id, diagnosis: 'mem', params: {}, paramsKey: '{}', createdBy: 'user:a', now: 100, pickupDeadlineAt: 1000 };
      // `claimed` is picked up then its agent goes silent; `queued` is never picked up.
      const claimed = await s.createTask(base);
      const queued = await s.createTask({ ...base, params: { a: 1 }, paramsKey: '{"a":1}', now: 101 });
      assert.equal((await s.claimTask(n.id, 150, 500, () => 100_000))?.id, claimed.id);
      // Nothing expires before its time.
      assert.deepEqual(await s.expireTasks(400), []);
      const first = await s.expireTasks(600);
      assert.deepEqual(first.map((t) => t.id), [claimed.id]);
      const t = await s.getTask(claimed.id);
      assert.equal(t?.status, 'timeout');
      assert.match(t?.error ?? '', /stopped reporting.*last seen never/);
      const second = await s.expireTasks(1000);
      assert.deepEqual(second.map((x) => x.id), [queued.id]);
      assert.match((await s.getTask(queued.id))?.error ?? '', /did not pick the task up/);
      // A late result for a timed-out task is not stored.
      const late = await s.finishTask(claimed.id, n.id, { status: 'done', report: { schema: 'x', document: {} } }, 1100);
      assert.equal(late?.task.status, 'timeout');
      assert.equal(await s.getReport(claimed.id), undefined);
    }),
    run('tasks: concurrent claims hand a task out once', async (s) => {
      const n = await s.createNode('n', 'aa', 1);
      for (let i = 0; i < 10; i++) await s.createTask({ nodeId: n.id, diagnosis: 'mem', params: { i }, paramsKey: `{"i":${i}}`, createdBy: 'u', now: i, pickupDeadlineAt: 1e12 });
      const claims = await Promise.all(Array.from({ length: 20 }, () => s.claimTask(n.id, 100, 1e12, () => 1e9)));
      const ids = claims.filter((c) => c !== undefined).map((c) => c.id);
      assert.equal(ids.length, 10);
      assert.equal(new Set(ids).size, 10);
    }),
    run('createFinishedTask stores task and report together', async (s) => {
      const n = await s.createNode('n', 'aa', 1);
      const t = await s.createFinishedTask(
        { nodeId: n.id, diagnosis: 'mem', params: {}, paramsKey: '{}', createdBy: 'alert:r', now: 5, pickupDeadlineAt: 5 },
        { status: 'done', report: { schema: 's', document: { schema: 's' } } },
      );
      assert.equal(t.status, 'done');
      assert.equal(t.reportSchema, 's');
      assert.deepEqual((await s.getReport(t.id))?.document, { schema: 's' });
    }),
  ];
}
