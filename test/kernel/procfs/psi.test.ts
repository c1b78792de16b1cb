import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { parsePsi, psiPath, readPsi } from '../../../src/kernel/procfs/psi.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('psi: fixtures from this machine', () => {
  const c = parsePsi(fixture('proc', 'pressure-cpu'), psiPath('cpu'));
  assert.deepEqual(c.some, { avg10: 0.07, avg60: 4.12, avg300: 3.81, totalUs: 20749142, totalMs: 20749.142 });
  assert.equal(c.full!.totalUs, 0);
  const m = parsePsi(fixture('proc', 'pressure-memory'));
  assert.equal(m.some!.totalUs, 0);
  assert.equal(m.full!.totalUs, 0);
  const io = parsePsi(fixture('proc', 'pressure-io'), psiPath('io'));
  assert.ok(io.full!.totalUs > 0 && io.full!.totalUs <= io.some!.totalUs);
});

test('psi: pre-5.13 cpu file has only "some" (hand-written)', () => {
  const c = parsePsi(fixture('proc', 'pressure-cpu-5.4'), psiPath('cpu'));
  assert.equal(c.full, undefined);
  assert.equal(c.some!.avg10, 1.25);
});

test('psi: malformed input', () => {
  assert.throws(() => parsePsi(''), (e: unknown) => e instanceof ParseError && e.file === psiPath('memory'));
  assert.throws(() => parsePsi('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('psi: fuzzed input never crashes', () => {
  fuzzParser((t) => parsePsi(t), fixture('proc', 'pressure-cpu'), psiPath('memory'));
  fuzzParser((t) => parsePsi(t), fixture('proc', 'pressure-io'), psiPath('memory'));
});

test('psi: live host', async (t) => {
  const host = new LiveHost();
  if (!(await host.exists('/proc/pressure/memory'))) return t.skip('no /proc/pressure (kernel < 4.20 or CONFIG_PSI off)');
  for (const r of ['cpu', 'memory', 'io'] as const) {
    const p = await readPsi(host, r);
    assert.ok(p.some, `${r} has a "some" line`);
    assert.ok(p.some.avg10 >= 0 && p.some.avg10 <= 100);
  }
});
