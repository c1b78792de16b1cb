/**
 * `oscope mcp` over stdio, driven by the SDK's own client (a real child process, the real protocol):
 * the tools are the registry's diagnoses with their JSON Schemas and caps, `inspect` runs and returns a
 * summary and the document, and what the schema refuses is refused before anything runs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { AGENT_RUNLATENCY_MAX_DURATION_S } from '../../src/agent/diagnoses/more.js';
import { InspectDocumentSchema } from '../../src/contract/inspect.js';
import { REPO_ROOT, fixturePath } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');

async function connect(args: string[]): Promise<Client> {
  const client = new Client({ name: 'oscope-test-client', version: '0' });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, ...args], env: { ...env, LANG: 'C.UTF-8' }, stderr: 'pipe' }));
  return client;
}

test('mcp stdio: tools are the registry\'s diagnoses, with their JSON Schemas and the agent\'s caps', async () => {
  const client = await connect(['mcp']);
  try {
    assert.equal(client.getServerVersion()?.name, 'oscope');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), defaultRegistry().names());
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.annotations?.readOnlyHint, true, t.name);
      assert.match(t.description ?? '', /oscope\.[a-z]+\/v1/, t.name);
    }
    const rl = tools.find((t) => t.name === 'runlatency')!;
    const props = rl.inputSchema.properties as Record<string, { type?: string }>;
    assert.equal(props.durationS?.type, 'number');
    // The agent's cap holds here too: a trace longer than an agent task may run is refused, nothing traced.
    const r = await client.callTool({ name: 'runlatency', arguments: { durationS: AGENT_RUNLATENCY_MAX_DURATION_S + 1 } });
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /the agent's cap/);
    const bad = await client.callTool({ name: 'inspect', arguments: { logFiles: ['/etc/shadow'] } });
    assert.equal(bad.isError, true, 'paths of the host are not parameters of the tool');
    assert.match(JSON.stringify(bad.content), /logFiles/);
  } finally {
    await client.close();
  }
});

test('mcp stdio: inspect on a bundle returns a summary and the oscope.inspect/v1 document, readable again as a resource', async () => {
  const client = await connect(['--from', fixturePath('bundles', 'fixture-6.1-cgroup-v2.tar.gz'), 'mcp']);
  try {
    const r = await client.callTool({ name: 'inspect', arguments: { sinceH: 24 * 90 } });
    assert.notEqual(r.isError, true, JSON.stringify(r.content));
    const content = r.content as ({ type: 'text'; text: string } | { type: 'resource'; resource: { uri: string; text: string; mimeType: string } })[];
    const text = content.find((c) => c.type === 'text');
    const res = content.find((c) => c.type === 'resource');
    assert.ok(text && text.type === 'text');
    assert.match(text.text, /^oscope\.inspect\/v1 on /);
    assert.match(text.text, /finding|no findings/);
    assert.ok(res && res.type === 'resource');
    assert.equal(res.resource.mimeType, 'application/json');
    const doc = InspectDocumentSchema.parse(JSON.parse(res.resource.text));
    for (const f of doc.findings) assert.ok(text.text.includes(f.id), `the summary names ${f.id}`);
    const again = await client.readResource({ uri: res.resource.uri });
    assert.deepEqual(JSON.parse((again.contents[0] as { text: string }).text), doc);
    const { resources } = await client.listResources();
    assert.ok(resources.some((x) => x.uri === res.resource.uri));
  } finally {
    await client.close();
  }
});
