import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { CGROUPS_PATH, parseCgroups, readCgroups } from '../../../src/kernel/procfs/cgroups.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('cgroups: fixture from this machine (v1 memory controller)', () => {
  const c = parseCgroups(fixture('proc', 'cgroups'));
  assert.equal(c.controllers.size, 12);
  assert.deepEqual(c.controllers.get('memory'), { subsys_name: 'memory', hierarchy: 4, num_cgroups: 14, enabled: true });
  assert.equal(c.controllers.get('net_cls')!.hierarchy, 0);
});

test('cgroups: pure cgroup v2 host (hand-written)', () => {
  const c = parseCgroups(fixture('proc', 'cgroups-v2'));
  assert.ok([...c.controllers.values()].every((x) => x.hierarchy === 0));
  assert.equal(c.controllers.get('misc')!.enabled, false);
});

test('cgroups: malformed input', () => {
  assert.throws(() => parseCgroups('memory 1 2 1\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === CGROUPS_PATH);
  assert.throws(() => parseCgroups('#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t1\t2\t7\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('cgroups: fuzzed input never crashes', () => {
  fuzzParser((t) => parseCgroups(t), fixture('proc', 'cgroups'), CGROUPS_PATH);
});

test('cgroups: live host', async () => {
  const c = await readCgroups(new LiveHost());
  assert.ok(c.controllers.has('memory'));
  // Counts drift here by themselves (other engineers' tests), so only the shape is checked.
  assert.ok(c.controllers.get('memory')!.num_cgroups >= 1);
});
