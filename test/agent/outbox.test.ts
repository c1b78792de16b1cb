/**
 * The outbox on disk: what an agent queued while the console was away survives the agent's restart and
 * reaches the console exactly once when it comes back; the outbox is bounded (oldest dropped, counted).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { resolveRules } from '../../src/agent/alerts.js';
import { ConsoleClient } from '../../src/agent/client.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { newAgentToken } from '../../src/console/auth.js';
import { buildServer } from '../../src/console/server.js';
import { openStore } from '../../src/console/store/index.js';
import { LiveHost } from '../../src/host/live.js';
import { testName } from '../helpers.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

test('console away: samples, alerts and an alert-triggered report survive an agent restart and arrive once', async () => {
  const dir = mkdtempSync(`/var/tmp/${testName('outbox')}-`);
  const stateDir = join(dir, 'state');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    const port = await freePort();
    const node = await store.createNode('outbox', '00', Date.now());
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    // A rule that holds on any host, with a cheap diagnosis to run when it fires.
    const rules = resolveRules([{ id: 'always', kind: 'memory_usage', thresholdPct: 0, forS: 0, severity: 'info', autoDiagnose: { diagnosis: 'memleak', params: { check: true } } }]).filter((r) => r.id === 'always');
    const opts = {
      host: new LiveHost(),
      registry: defaultRegistry(),
      intervalMs: 3_600_000,
      pollMs: 3_600_000,
      console: { url: `http://127.0.0.1:${port}`, token: tok.token },
      rules,
      log: () => undefined,
      stateDir,
      runqueue: false as const,
      kernelLog: false as const,
    };
    agent = await startAgent(opts);
    await agent.tick();
    // The auto diagnosis runs in the background: wait until its report is queued too.
    const deadline = Date.now() + 30_000;
    while (agent.client!.pending < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // 2 samples + 1 alert batch + 1 report.
    assert.equal(agent.client!.pending, 4);
    assert.equal(agent.client!.connected, false);
    await agent.stop();
    agent = undefined;

    // Restarted (without the rule, so that it adds only its first sample): the queue is still there.
    agent = await startAgent({ ...opts, rules: [] });
    assert.equal(agent.client!.pending, 5);
    await app.listen({ host: '127.0.0.1', port });
    await agent.client!.flush();
    assert.equal(agent.client!.pending, 0);
    // Flushing again sends nothing more.
    await agent.client!.flush();
    const samples = await store.listSamples(node.id, 0, Date.now() + 1, 100);
    assert.equal(samples.length, 3);
    const alerts = await store.listAlerts({ nodeId: node.id, limit: 10 });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.rule, 'always');
    assert.match(alerts[0]!.messages?.['zh-CN'] ?? '', /^内存使用率为/, 'the localized messages reach the console');
    const tasks = await store.listTasks({ nodeId: node.id, limit: 10 });
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.createdBy, 'alert:always');
    assert.equal(tasks[0]!.status, 'done', tasks[0]!.error ?? '');
    assert.equal(((await store.getReport(tasks[0]!.id))?.document as { schema: string }).schema, 'oscope.memleak/v1');
  } finally {
    await agent?.stop();
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the outbox is bounded: the oldest samples go first, counted; it persists across reopen', async () => {
  const dir = mkdtempSync(`/var/tmp/${testName('outbox')}-`);
  const path = join(dir, 'outbox.db');
  try {
    const port = await freePort(); // nobody listens
    const c = new ConsoleClient({ url: `http://127.0.0.1:${port}`, token: 't', outboxPath: path, maxSamples: 3, maxResults: 1, timeoutMs: 2000 });
    for (let i = 0; i < 5; i++) c.enqueueSample({ ts: new Date(1_000_000 + i * 1000).toISOString(), data: { i } });
    c.enqueueResult('00000000-0000-4000-8000-000000000001', { status: 'failed', error: 'first' });
    c.enqueueResult('00000000-0000-4000-8000-000000000002', { status: 'failed', error: 'second' });
    c.enqueueAlerts([]);
    assert.equal(c.pending, 4);
    assert.deepEqual(c.dropped, { sample: 2, alerts: 0, result: 1 });
    await c.flush(); // the console is away: nothing leaves, nothing is lost
    assert.equal(c.pending, 4);
    c.close();
    const again = new ConsoleClient({ url: `http://127.0.0.1:${port}`, token: 't', outboxPath: path, maxSamples: 3 });
    assert.equal(again.pending, 4);
    again.close();
    // Another console (or another token): what was queued for the old one is dropped, never sent here.
    const lines: string[] = [];
    const other = new ConsoleClient({ url: `http://127.0.0.1:${port}`, token: 'another', outboxPath: path, log: (l) => lines.push(l) });
    assert.equal(other.pending, 0);
    assert.match(lines.join('\n'), /held 4 items for another console/);
    other.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
