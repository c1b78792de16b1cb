/**
 * Configuration drift between two console nodes: each node's `config` task (the agent's capture, here the
 * committed fixtures sent as the agent would) is the node's latest capture; GET /api/config-diff?a&b is
 * the same oscope.config-diff/v1 document the CLI prints, in either language; a node without a capture
 * is a 404 with one sentence, and a capture that is not oscope.config/v1 is refused when the agent sends it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { ConfigDiffDocumentSchema, ConfigDocumentSchema } from '../../src/contract/config.js';
import { buildServer, ensureAdmin, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore } from '../../src/console/store/index.js';
import { REPO_ROOT } from '../helpers.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'config', name), 'utf8'));

test('console config-diff: two nodes, latest capture each, marked differences in en and zh-CN', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-confdiff-');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  try {
    const pw = await ensureAdmin(store);
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw } });
    const cookie = `${SESSION_COOKIE}=${login.cookies.find((c) => c.name === SESSION_COOKIE)!.value}`;
    const addNode = async (name: string) => {
      const r = await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name } });
      assert.equal(r.statusCode, 201, r.body);
      const b = r.json<{ node: { id: string }; token: string }>();
      return { id: b.node.id, agent: { authorization: `Bearer ${b.token}` } };
    };
    const capture = async (n: { id: string; agent: Record<string, string> }, ...reports: unknown[]) => {
      const t = await app.inject({ method: 'POST', url: `/api/nodes/${n.id}/tasks`, headers: { cookie }, payload: { diagnosis: 'config' } });
      assert.equal(t.statusCode, 201, t.body);
      const claimed = (await app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: n.agent, payload: {} })).json<{ task: { id: string } | null }>().task;
      assert.ok(claimed);
      const codes: number[] = [];
      for (const report of reports) codes.push((await app.inject({ method: 'POST', url: `/api/agent/tasks/${claimed.id}/result`, headers: n.agent, payload: { status: 'done', report } })).statusCode);
      return codes;
    };
    const a = await addNode('oscope-test-conf-a');
    const b = await addNode('oscope-test-conf-b');

    const none = await app.inject({ url: `/api/config-diff?a=${a.id}&b=${b.id}`, headers: { cookie } });
    assert.equal(none.statusCode, 404);
    assert.match(none.json<{ error: string }>().error, /oscope-test-conf-a has no configuration capture yet/);

    // A result that is not a capture is refused (and the task stays open for the real one).
    assert.deepEqual(await capture(a, { schema: 'oscope.mem/v1' }, fixture('node-a.json')), [400, 200]);
    assert.deepEqual(await capture(b, fixture('node-b.json')), [200]);
    const latest = (await app.inject({ url: `/api/nodes/${b.id}/config`, headers: { cookie } })).json<{ capture: unknown }>();
    assert.equal(ConfigDocumentSchema.parse(latest.capture).host.hostname, 'node-b');

    const r = await app.inject({ url: `/api/config-diff?a=${a.id}&b=${b.id}`, headers: { cookie } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json<{ a: { nodeName: string }; b: { nodeName: string }; diff: unknown }>();
    assert.equal(body.a.nodeName, 'oscope-test-conf-a');
    assert.equal(body.b.nodeName, 'oscope-test-conf-b');
    const diff = ConfigDiffDocumentSchema.parse(body.diff);
    const swap = diff.areas.find((x) => x.area === 'sysctl')!.differences.find((d) => d.key === 'vm.swappiness');
    assert.deepEqual([swap?.a, swap?.b, swap?.marked, swap?.rule], ['60', '90', true, 'swappiness']);
    assert.ok(diff.summary.marked >= 10, `marked ${diff.summary.marked}`);

    const zh = ConfigDiffDocumentSchema.parse((await app.inject({ url: `/api/config-diff?a=${a.id}&b=${b.id}&lang=zh-CN`, headers: { cookie } })).json<{ diff: unknown }>().diff);
    assert.match(zh.areas.find((x) => x.area === 'sysctl')!.differences.find((d) => d.key === 'vm.swappiness')!.reason!, /换出匿名页/);

    // A newer capture of A replaces the older one in the diff.
    const a2 = fixture('node-a.json') as { sysctls: Record<string, string> };
    a2.sysctls['vm.swappiness'] = '90';
    assert.deepEqual(await capture(a, a2), [200]);
    const again = ConfigDiffDocumentSchema.parse((await app.inject({ url: `/api/config-diff?a=${a.id}&b=${b.id}`, headers: { cookie } })).json<{ diff: unknown }>().diff);
    assert.equal(again.areas.find((x) => x.area === 'sysctl')!.differences.find((d) => d.key === 'vm.swappiness'), undefined);

    assert.equal((await app.inject({ url: `/api/config-diff?a=${a.id}&b=not-a-uuid`, headers: { cookie } })).statusCode, 400);
    assert.equal((await app.inject({ url: `/api/config-diff?a=${a.id}&b=${b.id}` })).statusCode, 401);
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
