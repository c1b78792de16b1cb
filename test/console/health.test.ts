/**
 * Health in the console: the score an agent sends in its samples shows in the node reply (bounded),
 * the score history is in the samples, and a drop fires a `node.health.drop` alert (resolved when the
 * node is healthy again) in both languages.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import type { Alert, Node, NodeSample } from '../../src/contract/console.js';
import type { HealthSummary } from '../../src/contract/health.js';
import { buildServer, ensureAdmin, healthDropEvent, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore } from '../../src/console/store/index.js';

const h = (score: number, level: HealthSummary['level'], detail = 'x'): HealthSummary => ({
  score,
  level,
  subscores: { errors: score, latency: 100, load: 100, saturation: 100 },
  reasons: score < 100 ? [{ subscore: 'errors', signal: 'log-oom', detail, penalty: 100 - score, suggestedDiagnosis: 'mem' }] : [],
});

test('health drop: pure rule', () => {
  assert.equal(healthDropEvent(h(100, 'healthy'), h(95, 'healthy'), 15), undefined);
  assert.deepEqual(healthDropEvent(h(100, 'healthy'), h(80, 'at-risk'), 15), { state: 'firing', severity: 'warning' });
  assert.deepEqual(healthDropEvent(h(60, 'warning'), h(30, 'error'), 15), { state: 'firing', severity: 'critical' });
  assert.deepEqual(healthDropEvent(h(30, 'error'), h(95, 'healthy'), 15), { state: 'resolved', severity: 'info' });
  assert.equal(healthDropEvent(undefined, h(10, 'error'), 15), undefined);
});

test('health in the console: node reply, score history, drop alert', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-health-');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  try {
    const pw = await ensureAdmin(store);
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw } });
    const cookie = `${SESSION_COOKIE}=${login.cookies.find((c) => c.name === SESSION_COOKIE)!.value}`;
    const created = (await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name: 'oscope-test-h1' } })).json<{ node: { id: string }; token: string }>();
    const agent = { authorization: `Bearer ${created.token}` };
    const t0 = Date.now() - 60_000;
    const sample = (i: number, health: HealthSummary): { ts: string; data: Record<string, unknown> } => ({ ts: new Date(t0 + i * 10_000).toISOString(), data: { memTotalBytes: 1000, memAvailableBytes: 500, health } });
    let r = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: agent, payload: { samples: [sample(0, h(100, 'healthy')), sample(1, h(98, 'healthy'))] } });
    assert.equal(r.statusCode, 200, r.body);
    r = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: agent, payload: { samples: [sample(2, h(55, 'warning', 'the OOM killer killed java'))] } });
    assert.equal(r.statusCode, 200, r.body);
    const node = (await app.inject({ url: `/api/nodes/${created.node.id}`, headers: { cookie } })).json<Node>();
    assert.equal(node.latest?.health?.score, 55);
    assert.equal(node.latest?.health?.level, 'warning');
    const alerts = (await app.inject({ url: '/api/alerts', headers: { cookie } })).json<{ alerts: Alert[] }>().alerts;
    const drop = alerts.filter((a) => a.rule === 'node.health.drop');
    assert.equal(drop.length, 1, JSON.stringify(alerts));
    assert.equal(drop[0]!.state, 'firing');
    assert.equal(drop[0]!.severity, 'warning');
    assert.match(drop[0]!.message, /oscope-test-h1 dropped from 98 to 55 \(warning\): the OOM killer killed java/);
    assert.match(drop[0]!.messages?.['zh-CN'] ?? '', /健康度从 98 降到 55/);
    r = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: agent, payload: { samples: [sample(3, h(100, 'healthy'))] } });
    const after = (await app.inject({ url: '/api/alerts', headers: { cookie } })).json<{ alerts: Alert[] }>().alerts.filter((a) => a.rule === 'node.health.drop');
    assert.deepEqual(after.map((a) => a.state).sort(), ['firing', 'resolved']);
    const hist = (await app.inject({ url: `/api/nodes/${created.node.id}/samples?since=${new Date(t0 - 1000).toISOString()}`, headers: { cookie } })).json<{ samples: NodeSample[] }>().samples;
    assert.deepEqual(hist.map((s) => s.data.health?.score), [100, 98, 55, 100]);
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
