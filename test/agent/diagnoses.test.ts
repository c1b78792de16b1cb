/**
 * The agent's `inspect` diagnosis and memleak's instant check with the agent's history; and the
 * `oscope inspect --json` document unchanged by moving its builder to src/report/inspect.ts (the golden
 * files were produced by the CLI before the move, paths and host names normalised).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import type { MemHistoryPoint } from '../../src/agent/local.js';
import { LiveHost } from '../../src/host/live.js';
import { InspectJsonSchema as CliInspectJsonSchema } from '../../src/cli/commands/inspect.js';
import { InspectJsonSchema } from '../../src/report/inspect.js';
import { MemleakDocumentSchema } from '../../src/report/memleak.js';
import { fixture, fixturePath, REPO_ROOT } from '../helpers.js';

/** Host- and checkout-specific values replaced, as in the golden files. */
function normalise(doc: unknown): unknown {
  return JSON.parse(
    JSON.stringify(doc, (k, v: unknown) => {
      if (k === 'capturedAt') return 'CAPTURED';
      if (k === 'hostname') return 'HOST';
      if (k === 'kernel' && typeof v === 'string') return 'KERNEL';
      if ((k === 'name' || k === 'source') && typeof v === 'string' && v.includes('/')) return basename(v);
      if (k === 'rules' && Array.isArray(v)) return v.map((x: string) => basename(x));
      return v;
    }),
  );
}

for (const lang of ['en', 'zh-CN'] as const) {
  test(`oscope inspect --json --lang ${lang} is the same document as before the builder moved`, () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'inspect', '--log', fixturePath('inspect', 'oom-6.1-shmem.log'), '--json', '--lang', lang], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as unknown;
    InspectJsonSchema.parse(doc);
    assert.deepEqual(normalise(doc), JSON.parse(fixture('agent', `inspect-oom-6.1-shmem.${lang}.json`)));
  });
}

test('the CLI re-exports the one schema', () => {
  assert.equal(CliInspectJsonSchema, InspectJsonSchema);
});

test('inspect is in the registry with bounded parameters', () => {
  const r = defaultRegistry();
  assert.ok(r.names().includes('inspect'));
  const ok = r.validate('inspect', {});
  assert.ok(ok.ok);
  assert.deepEqual(ok.params, { sinceH: 24, checks: true, lang: 'en' });
  for (const [params, why] of [
    [{ sinceH: 0 }, /sinceH/],
    [{ sinceH: 24 * 365 }, /sinceH/],
    [{ log: ['/etc/shadow'] }, /Unrecognized key/],
    [{ rules: ['/tmp'] }, /Unrecognized key/],
    [{ lang: 'fr' }, /lang/],
  ] as const) {
    const v = r.validate('inspect', params);
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, why);
  }
});

test('the inspect diagnosis runs on this host and returns the oscope.inspect/v1 document', async () => {
  const r = defaultRegistry();
  const v = r.validate('inspect', { sinceH: 1, lang: 'zh-CN' });
  assert.ok(v.ok);
  const steps: string[] = [];
  const doc = await v.entry.run(new LiveHost(), v.params, (s, d, t) => steps.push(`${s} ${d}/${t}`));
  const parsed = InspectJsonSchema.parse(doc);
  assert.equal(parsed.schema, 'oscope.inspect/v1');
  assert.ok(parsed.since && Math.abs(Date.parse(parsed.since) - (Date.now() - 3_600_000)) < 60_000);
  assert.ok(parsed.sources.length >= 1);
  assert.deepEqual(steps, ['scan 0/1', 'scan 1/1']);
});

test('memleak check: the agent history goes to the instant check', async () => {
  let asked = 0;
  const now = Math.round(Date.now() / 1000);
  const points: MemHistoryPoint[] = [0, 1, 2].map((i) => ({ tS: now - 600 + i * 60, slabUnreclaimableBytes: 1e8 + i * 1e6, vmallocBytes: 3e7, unaccountedBytes: 1e7 }));
  const r = defaultRegistry({
    history: () => {
      asked++;
      return points;
    },
  });
  const v = r.validate('memleak', { check: true });
  assert.ok(v.ok);
  assert.deepEqual(v.params, { check: true, type: 'slab', durationS: 60, lang: 'en' });
  const doc = MemleakDocumentSchema.parse(await v.entry.run(new LiveHost(), v.params, () => undefined));
  assert.equal(doc.type, 'check');
  assert.equal(asked, 1);
  // Without a history the check still runs.
  const plain = defaultRegistry().validate('memleak', { check: true });
  assert.ok(plain.ok);
  assert.equal(MemleakDocumentSchema.parse(await plain.entry.run(new LiveHost(), plain.params, () => undefined)).type, 'check');
  assert.equal(r.validate('memleak', { check: 'yes' }).ok, false);
});
