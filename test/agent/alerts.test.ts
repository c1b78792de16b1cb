import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AlertEvaluator, DEFAULT_RULES, resolveRules, type Rule } from '../../src/agent/alerts.js';
import type { Snapshot } from '../../src/agent/collect.js';
import type { LogAnomalies } from '../../src/agent/kernel-log.js';
import type { RunqueueLatencySample } from '../../src/agent/runqueue.js';
import { AlertEventSchema } from '../../src/console/protocol.js';
import { messages } from '../../src/report/i18n/index.js';
import { REPO_ROOT } from '../helpers.js';

const GiB = 1024 ** 3;

function snap(
  ts: number,
  over: { avail?: number; shmem?: number; slab?: number; zombies?: number; cg?: { usage: number; limit: number; file: number }; log?: LogAnomalies | null; rq?: RunqueueLatencySample | null } = {},
): Snapshot {
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
    logAnomalies: over.log ?? null,
    runqueue: over.rq ? { perCpu: [], interval: over.rq } : null,
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
  assert.match(fired[0]!.message, /^memory in use is 94% of 16\.0 GiB \(threshold 90%\)$/);
  assert.equal(fired[0]!.messages['zh-CN'], '内存使用率为 94%，总内存 16.0 GiB（阈值 90%）');
  assert.equal(fired[0]!.messages.en, fired[0]!.message);
  AlertEventSchema.parse((({ ruleDef: _r, ...e }) => e)(fired[0]!));
  assert.deepEqual(ev.firing(), [{ rule: 'memory-usage-high', severity: 'warning' }]);
  assert.deepEqual(ev.evaluate(snap(45_000, { avail: GiB })), [], 'no repeat while firing');
  const res = ev.evaluate(snap(60_000));
  assert.deepEqual(res.map((e) => e.state), ['resolved']);
  assert.deepEqual(res[0]!.messages, { en: 'resolved: memory-usage-high', 'zh-CN': '已恢复：memory-usage-high' });
  assert.deepEqual(ev.evaluate(snap(75_000)), []);
});

test('growth rules compare with the oldest snapshot in the window', () => {
  const rules: Rule[] = [{ id: 'shm', kind: 'shmem_growth', thresholdBytes: GiB, windowS: 60, forS: 0, severity: 'warning', enabled: true }];
  const ev = new AlertEvaluator(rules);
  assert.deepEqual(ev.evaluate(snap(0, { shmem: 0 })), []);
  assert.deepEqual(ev.evaluate(snap(30_000, { shmem: 0.5 * GiB })), []);
  const f = ev.evaluate(snap(60_000, { shmem: 1.5 * GiB }));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.message, 'shared memory grew by 1.50 GiB in 60 s, to 1.50 GiB');
  assert.equal(f[0]!.messages['zh-CN'], '共享内存在 60 秒内增长了 1.50 GiB，当前 1.50 GiB');
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
  for (const id of ['kernel-log-critical', 'kernel-log-errors', 'runqueue-latency-high']) assert.ok(rules.some((r) => r.id === id), `${id} in the example`);
});

const oom = (n = 1): LogAnomalies => ({
  total: n,
  counts: [{ rule: 'OOM', level: 'critical', count: n }],
  recent: [{ rule: 'OOM', level: 'critical', title: 'Out of memory: Killed process NUM (postgres)', at: null }],
});

test('kernel-log rule: a critical anomaly fires at once, per kind, and resolves when the window is quiet', () => {
  const ev = new AlertEvaluator(DEFAULT_RULES.filter((r) => r.kind === 'kernel_log'));
  assert.deepEqual(ev.evaluate(snap(0, { log: { total: 0, counts: [], recent: [] } })), []);
  const f = ev.evaluate(snap(15_000, { log: oom() }));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.rule, 'kernel-log-critical');
  assert.equal(f[0]!.severity, 'critical');
  assert.equal(f[0]!.data.logKind, 'OOM');
  assert.equal(f[0]!.message, 'kernel log: 1 × OOM (critical) in the last 300 s, latest: Out of memory: Killed process NUM (postgres)');
  assert.equal(f[0]!.messages['zh-CN'], '内核日志：最近 300 秒内出现 1 次 OOM（严重），最近一次：Out of memory: Killed process NUM (postgres)');
  // More of the same kind: no new event; a hung task and an I/O error are new instances of their rules.
  const g = ev.evaluate(
    snap(30_000, {
      log: {
        total: 3,
        counts: [
          { rule: 'OOM', level: 'critical', count: 1 },
          { rule: 'HANG', level: 'critical', count: 1 },
          { rule: 'IO-ERROR', level: 'error', count: 1 },
        ],
        recent: [],
      },
    }),
  );
  assert.deepEqual(g.map((e) => [e.rule, e.data.logKind, e.severity]).sort(), [
    ['kernel-log-critical', 'HANG', 'critical'],
    ['kernel-log-errors', 'IO-ERROR', 'warning'],
  ]);
  assert.match(g.find((e) => e.data.logKind === 'HANG')!.message, /^kernel log: 1 × HANG \(critical\) in the last 300 s$/);
  // Warnings are not alerted by the defaults.
  assert.deepEqual(ev.evaluate(snap(45_000, { log: { total: 1, counts: [{ rule: 'IO-TIMEOUT', level: 'warning', count: 1 }], recent: [] } })), []);
  // Quiet for the window: everything resolves, once.
  const r = ev.evaluate(snap(400_000, { log: { total: 0, counts: [], recent: [] } }));
  assert.deepEqual(r.map((e) => [e.state, e.data.logKind]).sort(), [
    ['resolved', 'HANG'],
    ['resolved', 'IO-ERROR'],
    ['resolved', 'OOM'],
  ]);
  assert.equal(r.find((e) => e.data.logKind === 'OOM')!.messages['zh-CN'], '已恢复：kernel-log-critical（OOM）');
  assert.deepEqual(ev.evaluate(snap(415_000, { log: null })), []);
});

test('kernel-log rule: kinds filter and count threshold within the window', () => {
  const ev = new AlertEvaluator(resolveRules([{ id: 'ooms', kind: 'kernel_log', kinds: ['OOM'], thresholdCount: 3, windowS: 60 }]).filter((r) => r.id === 'ooms'));
  assert.deepEqual(ev.evaluate(snap(0, { log: oom(2) })), []);
  assert.deepEqual(ev.evaluate(snap(90_000, { log: oom(2) })), [], 'the first two fell out of the window');
  const f = ev.evaluate(snap(100_000, { log: oom(1) }));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^kernel log: 3 × OOM/);
  assert.throws(() => resolveRules([{ id: 'x', kind: 'kernel_log', levels: ['panic'] }]));
  assert.throws(() => resolveRules([{ id: 'x', kind: 'kernel_log', kinds: ['a b'] }]));
});

const rq = (p99Ms: number, count = 1000): RunqueueLatencySample => ({ leMs: [1, Infinity], counts: [count, 0], count, p50Ms: 0.01, p99Ms, maxMs: p99Ms * 2 });

test('run-queue latency rule: p99 over the threshold for forS, enough wakeups, localized', () => {
  const ev = new AlertEvaluator(DEFAULT_RULES.filter((r) => r.kind === 'runqueue_latency'));
  assert.deepEqual(ev.evaluate(snap(0, { rq: rq(80) })), [], 'pending for 60 s');
  assert.deepEqual(ev.evaluate(snap(30_000, { rq: rq(80) })), []);
  const f = ev.evaluate(snap(60_000, { rq: rq(96) }));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.rule, 'runqueue-latency-high');
  assert.equal(f[0]!.message, 'run-queue latency p99 is 96.0 ms over the last interval (max 192.0 ms, 1,000 wakeups; threshold 50.0 ms)');
  assert.equal(f[0]!.messages['zh-CN'], '上一个采集周期的运行队列延迟 p99 为 96.0 ms（最大 192.0 ms，共 1,000 次唤醒；阈值 50.0 ms）');
  assert.deepEqual(ev.evaluate(snap(75_000, { rq: rq(12) })).map((e) => e.state), ['resolved']);
  // Too few wakeups, or no histogram (no BPF): nothing.
  assert.deepEqual(ev.evaluate(snap(90_000, { rq: rq(500, 20) })), []);
  const ev2 = new AlertEvaluator(resolveRules([{ id: 'rq', kind: 'runqueue_latency', thresholdMs: 5, forS: 0 }]).filter((r) => r.id === 'rq'));
  assert.deepEqual(ev2.evaluate(snap(0, { rq: null })), []);
  assert.equal(ev2.evaluate(snap(15_000, { rq: rq(6) })).length, 1);
});

test('every alert message has both languages with the same placeholders', () => {
  const en = messages('en').text;
  const zh = messages('zh-CN').text;
  const keys = Object.keys(en).filter((k) => k.startsWith('agent.'));
  assert.ok(keys.length >= 12);
  for (const k of keys) {
    assert.ok(zh[k], `${k} in zh-CN`);
    const ph = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
    assert.deepEqual(ph(zh[k]!), ph(en[k]!), k);
  }
  // Each default rule kind has its message.
  for (const r of DEFAULT_RULES) assert.ok(en[`agent.alert.${r.kind}`], r.kind);
});

test('a very long log title is cut to what the console accepts', () => {
  const ev = new AlertEvaluator(resolveRules([]).filter((r) => r.id === 'kernel-log-critical'));
  const long = { total: 1, counts: [{ rule: 'OOM', level: 'critical' as const, count: 1 }], recent: [{ rule: 'OOM', level: 'critical' as const, title: 'x'.repeat(5000), at: null }] };
  const f = ev.evaluate(snap(0, { log: long }));
  assert.equal(f.length, 1);
  assert.ok(f[0]!.message.length <= 2000 && f[0]!.messages['zh-CN'].length <= 2000);
  AlertEventSchema.parse((({ ruleDef: _r, ...e }) => e)(f[0]!));
});
