/**
 * The console's MCP endpoint (streamable HTTP at /mcp) over a real socket, driven by the SDK's client:
 * no API token → refused (a session cookie or an agent token does not open it either); a read token
 * lists the fleet but cannot run diagnoses; a diagnose token queues a task that an agent (here: the
 * agent wire, driven by hand) runs, and the result comes back as a summary plus the document.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { buildServer, ensureAdmin, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore, type Store } from '../../src/console/store/index.js';

interface Ctx {
  app: FastifyInstance;
  store: Store;
  cookie: string;
  base: string;
}

async function withConsole(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const dir = mkdtempSync('/var/tmp/oscope-test-mcp-');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  try {
    const pw = await ensureAdmin(store);
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw } });
    const sid = res.cookies.find((c) => c.name === SESSION_COOKIE)!.value;
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    await fn({ app, store, cookie: `${SESSION_COOKIE}=${sid}`, base });
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function api<T>(c: Ctx, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, status = 200): Promise<T> {
  const r = await c.app.inject({ method, url, headers: { cookie: c.cookie }, ...(payload ? { payload } : {}) });
  assert.equal(r.statusCode, status, r.body);
  return r.json<T>();
}

async function mcpClient(c: Ctx, token: string): Promise<Client> {
  const client = new Client({ name: 'oscope-test-client', version: '0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', c.base), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const textOf = (r: object): string => (((r as { content?: unknown }).content ?? []) as { type: string; text?: string }[]).filter((x) => x.type === 'text').map((x) => x.text).join('\n');

test('mcp http: no API token, a session cookie or an agent token is refused; a forged or revoked token too', async () => {
  await withConsole(async (c) => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } } };
    const post = (headers: Record<string, string>): Promise<Response> =>
      fetch(new URL('/mcp', c.base), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(init) });
    const none = await post({});
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: string }).error, /API token/);
    assert.equal((await post({ cookie: c.cookie })).status, 403, 'a session is no credential for /mcp');
    const node = await api<{ token: string }>(c, 'POST', '/api/nodes', { name: 'oscope-test-n1' }, 201);
    assert.equal((await post({ authorization: `Bearer ${node.token}` })).status, 403, 'an agent token does not open /mcp');
    assert.equal((await post({ authorization: `Bearer oscope_00000000-0000-4000-8000-000000000000.${'A'.repeat(43)}` })).status, 401);
    await assert.rejects(() => mcpClient(c, 'nope'), 'the SDK client cannot connect without a valid token');

    const { token, secret } = await api<{ token: { id: string }; secret: string }>(c, 'POST', '/api/tokens', { name: 'assistant', scope: 'read' }, 201);
    assert.match(secret, /^oscope_/);
    // An API token opens /mcp only, not the people API.
    const people = await c.app.inject({ url: '/api/nodes', headers: { authorization: `Bearer ${secret}` } });
    assert.equal(people.statusCode, 403);
    assert.equal((await post({ authorization: `Bearer ${secret}` })).status, 200);
    await api(c, 'DELETE', `/api/tokens/${token.id}`);
    assert.equal((await post({ authorization: `Bearer ${secret}` })).status, 401, 'a revoked token is refused');
    const listed = await api<{ tokens: unknown[] }>(c, 'GET', '/api/tokens');
    assert.equal(listed.tokens.length, 0);
  });
});

test('mcp http: a read token lists the fleet, cannot run diagnoses; a diagnose token runs one through the agent wire', async () => {
  await withConsole(async (c) => {
    const node = await api<{ node: { id: string }; token: string }>(c, 'POST', '/api/nodes', { name: 'oscope-test-n2' }, 201);
    const agentH = { authorization: `Bearer ${node.token}` };
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/hello', headers: agentH, payload: { hostname: 'n2', kernel: '6.18.0', diagnoses: ['inspect', 'mem'], labels: { rack: 'r7' } } })).statusCode, 200);
    const boots = [
      { id: 'cur', startedAt: new Date(Date.now() - 60_000).toISOString(), endedAt: null, cause: 'running', source: 'proc', kernel: '6.18.0' },
      { id: 'prev', startedAt: null, endedAt: new Date(Date.now() - 3600_000).toISOString(), cause: 'hung-task-panic', title: 'INFO: task hung in jbd2_journal_commit_transaction', stack: [' jbd2_journal_commit_transaction+0x1/0x2', ' kjournald2+0x3/0x4'], source: 'kdump', kernel: '6.1.0' },
    ];
    assert.equal((await c.app.inject({ method: 'POST', url: '/api/agent/boots', headers: agentH, payload: { boots } })).json<{ stored: number }>().stored, 2);
    // A viewer gets a read token only.
    const viewer = await api<{ user: { id: string } }>(c, 'POST', '/api/users', { username: 'oscope-test-viewer', password: 'a-long-password', role: 'viewer' }, 201);
    await api(c, 'POST', '/api/tokens', { name: 'v', scope: 'diagnose', userId: viewer.user.id }, 400);

    const read = await api<{ secret: string }>(c, 'POST', '/api/tokens', { name: 'reader', scope: 'read' }, 201);
    const r = await mcpClient(c, read.secret);
    try {
      const names = (await r.listTools()).tools.map((t) => t.name).sort();
      for (const n of ['get_node', 'get_result', 'list_alerts', 'list_crashes', 'list_nodes', 'run_diagnosis']) assert.ok(names.includes(n), n);
      const nodes = await r.callTool({ name: 'list_nodes', arguments: {} });
      assert.match(textOf(nodes), /oscope-test-n2 .*online, kernel 6\.18\.0/);
      assert.match(textOf(await r.callTool({ name: 'list_nodes', arguments: { label: 'rack=r7' } })), /^1 node\(s\)/);
      assert.match(textOf(await r.callTool({ name: 'list_nodes', arguments: { label: 'rack=r8' } })), /^0 node\(s\)/);
      const crashes = await r.callTool({ name: 'list_crashes', arguments: {} });
      assert.match(textOf(crashes), /INFO: task hung in jbd2_journal_commit_transaction \[hung-task-panic, signature [0-9a-f]{12}\]: 1 crash\(es\) on 1 node\(s\) \(6\.1\.0 ×1\); first oscope-test-n2/);
      assert.equal((crashes.structuredContent as { crashes: unknown[] }).crashes.length, 1);
      assert.match(textOf(await r.callTool({ name: 'list_crashes', arguments: { kernel: '5.4.0' } })), /^0 crash group/);
      const denied = await r.callTool({ name: 'run_diagnosis', arguments: { node: 'oscope-test-n2', diagnosis: 'inspect' } });
      assert.equal(denied.isError, true);
      assert.match(textOf(denied), /may only read/);
      const bad = await r.callTool({ name: 'list_nodes', arguments: { bogus: 1 } });
      assert.equal(bad.isError, true);
      assert.match(textOf(bad), /invalid arguments/);
    } finally {
      await r.close();
    }

    const diag = await api<{ secret: string }>(c, 'POST', '/api/tokens', { name: 'doer', scope: 'diagnose' }, 201);
    const d = await mcpClient(c, diag.secret);
    try {
      const refused = await d.callTool({ name: 'run_diagnosis', arguments: { node: 'oscope-test-n2', diagnosis: 'inspect', params: { sinceH: 1e9 } } });
      assert.equal(refused.isError, true, 'the agent caps hold over MCP too');
      assert.match(textOf(refused), /the agent's cap/);
      const queued = await d.callTool({ name: 'run_diagnosis', arguments: { node: 'oscope-test-n2', diagnosis: 'inspect', waitS: 0 } });
      const taskId = /task ([0-9a-f-]{36})/.exec(textOf(queued))?.[1];
      assert.ok(taskId, textOf(queued));
      assert.match(textOf(queued), /queued/);
      // The node's agent claims it and sends a result.
      const claim = await c.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: agentH });
      assert.equal(claim.json<{ task: { id: string } }>().task.id, taskId);
      const report = {
        schema: 'oscope.inspect/v1',
        host: { hostname: 'n2', kernel: '6.18.0', capturedAt: new Date().toISOString() },
        findings: [{ id: 'inspect.log.oom', severity: 'critical', title: 'OOM kill', conclusion: 'The OOM killer killed java (pid 42).', suggestions: ['See where the memory went: `oscope mem`.'], evidence: {} }],
      };
      const res = await c.app.inject({ method: 'POST', url: `/api/agent/tasks/${taskId}/result`, headers: agentH, payload: { status: 'done', report } });
      assert.equal(res.statusCode, 200, res.body);
      const got = await d.callTool({ name: 'get_result', arguments: { taskId } });
      const t = textOf(got);
      assert.match(t, /\[critical\] inspect\.log\.oom: The OOM killer killed java/);
      assert.match(t, /next diagnoses worth running: mem/);
      const resource = (got.content as { type: string; resource?: { uri: string; text: string } }[]).find((x) => x.type === 'resource')!.resource!;
      assert.equal(resource.uri, `oscope://tasks/${taskId}/report`);
      assert.deepEqual(JSON.parse(resource.text), report);
      const again = await d.readResource({ uri: resource.uri });
      assert.deepEqual(JSON.parse((again.contents[0] as { text: string }).text), report);
      const gn = await d.callTool({ name: 'get_node', arguments: { node: 'oscope-test-n2' } });
      assert.match(textOf(gn), new RegExp(`${taskId} inspect done`));
    } finally {
      await d.close();
    }
  });
});
