/**
 * Triggered profiling without the kernel: the CPU rules (sys %, load, a CPU-hungry cgroup) fire on
 * snapshots, a fired rule with `profile` starts one profile marked with the rule, the cooldown holds
 * back the next one, a trigger while one runs is skipped, and the agent sends the window in its sample.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertEvaluator, DEFAULT_RULES, resolveRules } from '../../src/agent/alerts.js';
import { cpuSplit, type Snapshot } from '../../src/agent/collect.js';
import { type ProfileWindowFn, TriggeredProfiler, expandProfile } from '../../src/agent/profiler.js';
import { NodeSampleDataSchema } from '../../src/contract/agent-wire.js';
import { LiveHost } from '../../src/host/live.js';

function snap(ts: number, cpu: Snapshot['cpu'], cg?: { path: string; cpuUsageUs: number }): Snapshot {
  return {
    ts,
    memory: { totalBytes: 1, availableBytes: 1, freeBytes: 1, components: { anon: 0, file: 0, shmem: 0, slab_reclaimable: 0, slab_unreclaimable: 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 } },
    cgroups: cg ? [{ path: cg.path, depth: 1, usageBytes: 0, workingsetBytes: 0, limitBytes: null, fileBytes: 0, shmemBytes: 0, cpuUsageUs: cg.cpuUsageUs }] : [],
    psi: [],
    ...(cpu ? { cpu } : {}),
    errors: {},
    durationMs: 1,
  };
}
const split = (sysPct: number) => ({ userPct: 10, sysPct, irqPct: 0, softirqPct: 0, iowaitPct: 0, stealPct: 0 });

test('cpuSplit: shares of the ticks between two readings', () => {
  const a = { user: 100, nice: 0, system: 100, idle: 800, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0 };
  const b = { ...a, user: 120, system: 160, idle: 820 };
  assert.deepEqual(cpuSplit(a, b), { userPct: 20, sysPct: 60, irqPct: 0, softirqPct: 0, iowaitPct: 0, stealPct: 0 });
  assert.equal(cpuSplit(a, a), null);
});

test('cpu_sys_high, load_high and container_cpu_high fire with numbers (en, zh-CN); defaults carry a profile', () => {
  const rules = resolveRules([
    { id: 'sys', kind: 'cpu_sys_high', thresholdPct: 30, forS: 0 },
    { id: 'load', kind: 'load_high', thresholdPerCpu: 2, forS: 0 },
    { id: 'hog', kind: 'container_cpu_high', thresholdCpus: 1.5, forS: 0 },
  ]).filter((r) => ['sys', 'load', 'hog'].includes(r.id));
  const ev = new AlertEvaluator(rules);
  assert.deepEqual(ev.evaluate(snap(0, { load1: 1, load5: 1, load15: 1, cpus: 2, split: split(5) }, { path: '/oscope-test-hog', cpuUsageUs: 0 })), []);
  const fired = ev.evaluate(snap(10_000, { load1: 5.2, load5: 3, load15: 1, cpus: 2, split: split(45.5) }, { path: '/oscope-test-hog', cpuUsageUs: 18_000_000 }));
  const by = new Map(fired.map((e) => [e.rule, e]));
  assert.equal(by.get('sys')?.message, 'the kernel took 46% of all CPU time over the last interval (user 10%; threshold 30%)');
  assert.equal(by.get('load')?.message, 'load average 5.20 on 2 CPUs (2.6 per CPU, threshold 2)');
  assert.equal(by.get('hog')?.message, '/oscope-test-hog used 1.80 CPUs over the last interval (threshold 1.50)');
  assert.match(by.get('sys')!.messages['zh-CN'], /内核占用了全部 CPU 时间的 46%/);
  for (const id of ['cpu-sys-high', 'load-high', 'container-cpu-high']) assert.ok(DEFAULT_RULES.find((r) => r.id === id)?.profile, `${id} profiles when it fires`);
  assert.equal(resolveRules([{ id: 'x', kind: 'load_high', thresholdPerCpu: 1, profile: {} }]).at(-1)?.profile?.cooldownS, 600, 'profile defaults');
  assert.throws(() => resolveRules([{ id: 'x', kind: 'load_high', thresholdPerCpu: 1, profile: { hz: 100000 } }]));
});

test('TriggeredProfiler: one profile per trigger marked with the rule, cooldown per rule, busy skipped', async () => {
  let now = 1_000_000;
  const calls: { hz: number; intervalS: number }[] = [];
  let release: () => void = () => undefined;
  const win: ProfileWindowFn = async (_h, params) => {
    calls.push({ hz: params.hz, intervalS: params.intervalS });
    await new Promise<void>((r) => (release = r));
    return { stacks: [{ frames: ['main', 'syscall', 'do_sys_open'], count: 40 }], samples: 40, hz: params.hz, intervalS: params.intervalS };
  };
  const tp = new TriggeredProfiler(new LiveHost(), { window: win, now: () => now });
  const p = { intervalS: 30, hz: 49, cooldownS: 600 };
  assert.equal(tp.trigger('cpu-sys-high', p), true);
  assert.equal(tp.trigger('load-high', p), false, 'one at a time');
  release();
  await tp.idle();
  const got = tp.take();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.trigger, 'cpu-sys-high');
  assert.equal(got[0]!.hz, 49);
  assert.deepEqual(expandProfile(got[0]!), [{ frames: ['main', 'syscall', 'do_sys_open'], count: 40 }]);
  assert.ok(NodeSampleDataSchema.safeParse({ profiles: got }).success);
  now += 300_000;
  assert.equal(tp.trigger('cpu-sys-high', p), false, 'inside the cooldown');
  assert.equal(tp.trigger('load-high', p), true, 'another rule has its own cooldown');
  release();
  await tp.idle();
  now += 301_000;
  assert.equal(tp.trigger('cpu-sys-high', p), true, 'after the cooldown');
  release();
  await tp.idle();
  assert.deepEqual(calls, [p, p, p].map(({ hz, intervalS }) => ({ hz, intervalS })));
  assert.deepEqual(tp.counts, { started: 3, done: 3, failed: 0, cooldown: 1, busy: 1 });
  await tp.stop();
});

test('TriggeredProfiler: a failing profile is counted and logged; the next trigger after the cooldown tries again', async () => {
  const logs: string[] = [];
  let n = 0;
  const win: ProfileWindowFn = async () => {
    if (n++ === 0) throw new Error('perf events are not available');
    return { stacks: [], samples: 0, hz: 49, intervalS: 1 };
  };
  let now = 0;
  const tp = new TriggeredProfiler(new LiveHost(), { window: win, now: () => now, log: (l) => logs.push(l) });
  tp.trigger('r', { intervalS: 1, hz: 49, cooldownS: 0 });
  await tp.idle();
  assert.match(logs.join('\n'), /triggered profile for r failed: perf events are not available/);
  now = 1;
  tp.trigger('r', { intervalS: 1, hz: 49, cooldownS: 0 });
  await tp.idle();
  assert.equal(tp.take().length, 1);
  assert.equal(tp.counts.failed, 1);
  await tp.stop();
});
