import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AlertEvaluator, DEFAULT_RULES, resolveRules, type Rule } from '../../src/agent/alerts.js';
import type { Snapshot } from '../../src/agent/collect.js';
import { REPO_ROOT } from '../helpers.js';

const GiB = 1024 ** 3;

function snap(ts: number, over: { avail?: number; shmem?: number; slab?: number; zombies?: number; cg?: { usage: number; limit: number; file: number } } = {}): Snapshot {
  return {
    ts,
    memory: {
      totalBytes: 16 * GiB,
      availableBytes: over.avail ?? 8 * GiB,
      freeBytes: 4 * GiB,
      components: { anon: GiB, file: GiB, shmem: over.shmem ?? 0, slab_reclaimable: 0, slab_unreclaimable: over.slab ?? 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 },
    },
    cgroups: over.cg ? [{ path: '/kubepods/pod1/c1', depth: 3, usageBytes: over.cg.usage, workingsetBytes: 0, limitBytes: over.cg.limit, fileBytes: over.cg.file, shmemBytes: 0, container: { runtime: 'containerd', id: 'c1', name: 'web', podName: 'web-0', podNamespace: 'prod' } }] : [],
    zombies: { count: over.zombies ?? 0, bytes: 0 },
    psi: [],
    errors: {},
    durationMs: 1,
  };
}

test('memory usage fires after forS and resolves once', () => {
  const rules = resolveRules([{ id: 'memory-usage-high', kind: 'memory_usage', thresholdPct: 90, forS: 30 }]);
  const ev = new AlertEvaluator(rules);
  assert.deepEqual(ev.evaluate(snap(0, { avail: GiB })), [], 'pending, not firing yet');
  assert.deepEqual(ev.evaluate(snap(15_000, { avail: GiB })), []);
  const fired = ev.evaluate(snap(30_000, { avail: GiB }));
  assert.equal(fired.length, 1);
  assert.equal(fired[0]?.state, 'firing');
  assert.match(fired[0]!.message, /93\.8 %/);
  assert.deepEqual(ev.firing(), [{ rule: 'memory-usage-high', severity: 'warning' }]);
  assert.deepEqual(ev.evaluate(snap(45_000, { avail: GiB })), [], 'no repeat while firing');
  const res = ev.evaluate(snap(60_000));
  assert.deepEqual(res.map((e) => e.state), ['resolved']);
  assert.deepEqual(ev.evaluate(snap(75_000)), []);
});

test('growth rules compare with the oldest snapshot in the window', () => {
  const rules: Rule[] = [{ id: 'shm', kind: 'shmem_growth', thresholdBytes: GiB, windowS: 60, forS: 0, severity: 'warning', enabled: true }];
  const ev = new AlertEvaluator(rules);
  assert.deepEqual(ev.evaluate(snap(0, { shmem: 0 })), []);
  assert.deepEqual(ev.evaluate(snap(30_000, { shmem: 0.5 * GiB })), []);
  const f = ev.evaluate(snap(60_000, { shmem: 1.5 * GiB }));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /grew by 1\.50 GiB in 60 s/);
});

test('container near limit is per cgroup, with container labels', () => {
  const ev = new AlertEvaluator([{ id: 'near', kind: 'container_near_limit', thresholdPct: 90, fileSharePct: 50, forS: 0, severity: 'warning', enabled: true }]);
  assert.deepEqual(ev.evaluate(snap(0, { cg: { usage: 95, limit: 100, file: 10 } })), [], 'mostly anon: not file cache pressure');
  const f = ev.evaluate(snap(1000, { cg: { usage: 95, limit: 100, file: 80 } }));
  assert.equal(f.length, 1);
  assert.equal(f[0]?.data.pod, 'web-0');
  assert.equal(f[0]?.data.namespace, 'prod');
});

test('disabled rules and bad rules', () => {
  const rules = resolveRules([{ id: 'zombie-cgroups', kind: 'zombie_cgroups', thresholdCount: 1, enabled: false }]);
  assert.equal(rules.length, DEFAULT_RULES.length);
  assert.deepEqual(new AlertEvaluator(rules).evaluate(snap(0, { zombies: 5000 })), []);
  assert.throws(() => resolveRules([{ id: 'x', kind: 'exec', command: 'id' }]));
  assert.throws(() => resolveRules([{ id: 'x', kind: 'memory_usage', thresholdPct: 900 }]));
});

test('the shipped example agent config is valid', () => {
  const cfg = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'agent.example.json'), 'utf8')) as { rules: unknown[] };
  const rules = resolveRules(cfg.rules);
  assert.equal(rules.find((r) => r.id === 'memory-usage-high')?.forS, 120);
});
