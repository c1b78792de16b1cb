import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { AGENT_NET_MAX_INTERVAL_S, AGENT_NET_MAX_TOP, NetAgentParams } from '../../src/agent/diagnoses/net.js';

test('agent net: registered with the oscope.net/v1 schema and the CLI parameters', () => {
  const names = defaultRegistry().list().map((d) => d.name);
  assert.ok(names.includes('net'), names.join(', '));
  const p = NetAgentParams.parse({ intervalS: 3, port: 443 });
  assert.equal(p.intervalS, 3);
  assert.equal(p.port, 443);
  assert.equal(p.netns, 'all');
  assert.equal(p.lang, 'en');
});

test('agent net: caps the interval and the rows, rejects a bad port', () => {
  assert.equal(NetAgentParams.safeParse({ intervalS: AGENT_NET_MAX_INTERVAL_S }).success, true);
  const long = NetAgentParams.safeParse({ intervalS: AGENT_NET_MAX_INTERVAL_S + 1 });
  assert.equal(long.success, false);
  assert.match(JSON.stringify(long.error?.issues), /agent's cap/);
  assert.equal(NetAgentParams.safeParse({ top: AGENT_NET_MAX_TOP + 1 }).success, false);
  assert.equal(NetAgentParams.safeParse({ port: 70000 }).success, false);
  assert.equal(NetAgentParams.safeParse({ bogus: 1 }).success, false);
});
