import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { canonicalParams, DiagnosisRegistry } from '../../src/agent/registry.js';

test('only registered diagnoses with valid parameters pass', () => {
  const r = defaultRegistry();
  assert.ok(r.names().includes('mem'));
  const ok = r.validate('mem', { kpage: false });
  assert.ok(ok.ok);
  assert.deepEqual(ok.params, { top: 30, kpage: false, lang: 'en', thresholds: {} });
  for (const [name, params, why] of [
    ['sh', { cmd: 'id' }, /unknown diagnosis "sh"/],
    ['mem', { top: 0 }, /top/],
    ['mem', { shell: 'id' }, /Unrecognized key/],
    ['mem', { thresholds: { 'mem.nope': 1 } }, /unknown threshold/],
    ['mem', { lang: 'fr' }, /lang/],
    ['mem', 'x', /Expected object/],
  ] as const) {
    const v = r.validate(name, params);
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, why);
  }
});

test('registry refuses bad or duplicate names', () => {
  const entry = { name: 'x', description: '', schema: 's', params: z.object({}).strict(), timeoutMs: 1, run: async () => ({ schema: 's' }) };
  const r = new DiagnosisRegistry().register(entry);
  assert.throws(() => r.register(entry), /twice/);
  assert.throws(() => r.register({ ...entry, name: 'rm -rf' }), /bad diagnosis name/);
});

test('canonicalParams ignores key order', () => {
  assert.equal(canonicalParams({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }), canonicalParams({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }));
  assert.notEqual(canonicalParams({ a: 1 }), canonicalParams({ a: 2 }));
});
