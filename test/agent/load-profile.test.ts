/**
 * The agent's `load` and `profile` entries without the kernel: registered, the CLI's effective defaults
 * are the agent's, the agent's caps are the documented constants (and nothing else differs), and bad
 * requests are refused with one sentence naming the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import {
  AGENT_LOAD_MAX_HZ,
  AGENT_LOAD_MAX_INTERVAL_S,
  AGENT_LOAD_MAX_TOP,
  AGENT_PROFILE_MAX_HZ,
  AGENT_PROFILE_MAX_INTERVAL_S,
  AGENT_PROFILE_MAX_TOP,
  type AgentLoadParams,
  type AgentProfileParams,
  loadDiagnosisParams,
  profileDiagnosisParams,
} from '../../src/agent/diagnoses/load.js';
import { loadParamsFrom } from '../../src/cli/commands/load.js';
import { profileParamsFrom } from '../../src/cli/commands/profile.js';
import { LOAD_SCHEMA } from '../../src/contract/load.js';
import { PROFILE_SCHEMA } from '../../src/contract/profile.js';

const r = defaultRegistry();

function refused(name: string, params: unknown, why: RegExp): void {
  const v = r.validate(name, params);
  assert.equal(v.ok, false, `${name} ${JSON.stringify(params)} accepted`);
  if (!v.ok) assert.match(v.reason, why);
}

function valid<T>(name: string, params: unknown): T {
  const v = r.validate(name, params);
  assert.ok(v.ok, v.ok ? '' : v.reason);
  return v.params as T;
}

test('load entry: registered with its schema; the CLI defaults are the agent defaults; scopes offered', () => {
  assert.ok(r.names().includes('load'));
  assert.equal(r.get('load')!.schema, LOAD_SCHEMA);
  const p = valid<AgentLoadParams>('load', {});
  assert.deepEqual(p, { intervalS: 5, sampleHz: 10, cgroup: null, container: null, pod: null, top: 20, bpf: true, thresholds: {}, lang: 'en' });
  assert.deepEqual(loadDiagnosisParams(p), loadParamsFrom({}), 'the same effective defaults as `oscope load`');
  assert.deepEqual(loadDiagnosisParams({ ...p, cgroup: '/system.slice' }), { ...loadParamsFrom({}), cgroup: '/system.slice' });
  assert.deepEqual(loadDiagnosisParams(valid('load', { pod: 'web-1/prod', lang: 'zh-CN' })), { ...loadParamsFrom({}), pod: 'web-1/prod' });
});

test('load entry: the agent caps interval, rate and rows; bad requests refused', () => {
  assert.ok(r.validate('load', { intervalS: AGENT_LOAD_MAX_INTERVAL_S, sampleHz: AGENT_LOAD_MAX_HZ, top: AGENT_LOAD_MAX_TOP }).ok);
  refused('load', { intervalS: AGENT_LOAD_MAX_INTERVAL_S + 1 }, /intervalS: at most 300 s of interval on the agent \(the agent's cap/);
  refused('load', { sampleHz: AGENT_LOAD_MAX_HZ + 1 }, /sampleHz: at most 20 samples per second on the agent/);
  refused('load', { top: AGENT_LOAD_MAX_TOP + 1 }, /top: at most 200 rows on the agent/);
  assert.equal(loadParamsFrom({ interval: '3600' }).intervalS, 3600, 'the CLI allows an hour');
  refused('load', { intervalS: 0 }, /intervalS/);
  refused('load', { cgroup: '/a', pod: 'x' }, /at most one of cgroup, container and pod/);
  refused('load', { container: 'ab' }, /container/);
  refused('load', { thresholds: { 'load.nope': 1 } }, /unknown threshold "load.nope"/);
  refused('load', { command: 'id' }, /Unrecognized key/);
  assert.ok(r.get('load')!.timeoutMs > AGENT_LOAD_MAX_INTERVAL_S * 1000, 'a task of the longest interval does not time out');
});

test('profile entry: registered with its schema; the CLI defaults are the agent defaults; scopes offered', () => {
  assert.ok(r.names().includes('profile'));
  assert.equal(r.get('profile')!.schema, PROFILE_SCHEMA);
  const p = valid<AgentProfileParams>('profile', {});
  assert.deepEqual(p, { intervalS: 10, pid: null, cgroup: null, container: null, hz: 49, offCpu: false, top: 200, thresholds: {}, lang: 'en' });
  assert.deepEqual(profileDiagnosisParams(p), profileParamsFrom({}), 'the same effective defaults as `oscope profile`');
  assert.deepEqual(profileDiagnosisParams(valid('profile', { pid: 42, offCpu: true })), { ...profileParamsFrom({}), pid: 42, offCpu: true });
});

test('profile entry: the agent caps interval (60 s), rate (99 Hz) and rows; bad requests refused', () => {
  assert.equal(AGENT_PROFILE_MAX_INTERVAL_S, 60);
  assert.equal(AGENT_PROFILE_MAX_HZ, 99);
  assert.ok(r.validate('profile', { intervalS: AGENT_PROFILE_MAX_INTERVAL_S, hz: AGENT_PROFILE_MAX_HZ, top: AGENT_PROFILE_MAX_TOP }).ok);
  refused('profile', { intervalS: AGENT_PROFILE_MAX_INTERVAL_S + 1 }, /intervalS: at most 60 s of profile on the agent \(the agent's cap/);
  refused('profile', { hz: AGENT_PROFILE_MAX_HZ + 1 }, /hz: at most 99 samples per second per CPU on the agent/);
  refused('profile', { top: AGENT_PROFILE_MAX_TOP + 1 }, /top: at most 1000 function rows on the agent/);
  assert.equal(profileParamsFrom({ hz: '999' }).hz, 999, 'the CLI allows more');
  refused('profile', { hz: 0 }, /hz/);
  refused('profile', { hz: 1.5 }, /hz/);
  refused('profile', { pid: 1, cgroup: '/x' }, /at most one of pid, cgroup and container/);
  refused('profile', { pid: -1 }, /pid/);
  refused('profile', { thresholds: { 'profile.nope': 1 } }, /unknown threshold "profile.nope"/);
  refused('profile', { format: 'svg' }, /Unrecognized key/);
  assert.ok(r.get('profile')!.timeoutMs > AGENT_PROFILE_MAX_INTERVAL_S * 1000);
});
