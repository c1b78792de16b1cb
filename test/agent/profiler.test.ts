/**
 * Continuous profiling without the kernel: a window reduced to a compact sample profile (heaviest stacks,
 * a name table, bounded in stacks and bytes, valid for the wire), the names restored, the profiler's
 * window loop handing over finished windows and stopping on a failure, and the windows riding in the
 * agent's samples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { ContinuousProfiler, type ProfileWindowFn, compactProfile, expandProfile } from '../../src/agent/profiler.js';
import { NodeSampleDataSchema, WIRE_LIMITS } from '../../src/contract/agent-wire.js';
import type { ProfileStack } from '../../src/contract/profile.js';
import { LiveHost } from '../../src/host/live.js';

const st = (frames: string[], count: number): ProfileStack => ({ frames, count });

test('compactProfile: heaviest stacks, shared names, the rest in otherSamples; expandProfile restores them', () => {
  const stacks = [st(['main', 'work_a'], 60), st(['main', 'work_b'], 30), st(['main', 'idle'], 10)];
  const p = compactProfile({ startTs: '2026-12-07T12:00:00.000Z', intervalS: 60, hz: 19, samples: 100, stacks }, 2);
  assert.deepEqual(p.names, ['main', 'work_a', 'work_b']);
  assert.deepEqual(p.stacks, [{ f: [0, 1], n: 60 }, { f: [0, 2], n: 30 }]);
  assert.equal(p.otherSamples, 10);
  assert.deepEqual(expandProfile(p), stacks.slice(0, 2));
  assert.ok(NodeSampleDataSchema.safeParse({ profiles: [p] }).success);
});

test('compactProfile: bounded in bytes whatever the input (long names, many deep stacks)', () => {
  const stacks = Array.from({ length: 5000 }, (_, i) => st(Array.from({ length: 120 }, (_, d) => `${'x'.repeat(400)}_${i}_${d}`), 5000 - i));
  const p = compactProfile({ startTs: '2026-12-07T12:00:00.000Z', intervalS: 60, hz: 19, samples: stacks.reduce((a, s) => a + s.count, 0), stacks });
  const bytes = JSON.stringify(p).length;
  assert.ok(bytes <= 32 * 1024, `${bytes} bytes`);
  assert.ok(bytes < WIRE_LIMITS.sampleDataBytes / 2, 'leaves room for the rest of the sample');
  assert.ok(p.stacks.length >= 1 && p.stacks.length <= 200);
  assert.ok(p.stacks[0]!.n >= p.stacks.at(-1)!.n, 'the heaviest are kept');
  assert.ok(p.names.every((n) => n.length <= 160));
  assert.ok(p.stacks.every((s) => s.f.length <= 64));
  assert.equal(p.otherSamples + p.stacks.reduce((a, s) => a + s.n, 0), p.samples);
});

test('ContinuousProfiler: window after window at the asked rate; take() hands them over; a failure stops it', async () => {
  const seen: number[] = [];
  let calls = 0;
  const win: ProfileWindowFn = async (_h, params) => {
    seen.push(params.hz);
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    if (calls === 3) throw new Error('perf events are not available');
    return { stacks: [st(['main', 'spin'], 19)], samples: 19, hz: params.hz, intervalS: params.intervalS };
  };
  const logs: string[] = [];
  const p = new ContinuousProfiler(new LiveHost(), { hz: 19, windowS: 0.02, window: win, log: (l) => logs.push(l) }).start();
  for (let i = 0; i < 100 && !p.unavailable; i++) await new Promise((r) => setTimeout(r, 10));
  await p.stop();
  assert.deepEqual(seen, [19, 19, 19]);
  assert.equal(p.unavailable, 'perf events are not available');
  assert.match(logs.join('\n'), /continuous profiling stopped: perf events/);
  const got = p.take();
  assert.equal(got.length, 2);
  assert.deepEqual(expandProfile(got[0]!), [st(['main', 'spin'], 19)]);
  assert.deepEqual(p.take(), [], 'taken once');
});

test('the agent sends finished profile windows in its next sample (profileHz set); none without it', async () => {
  const win: ProfileWindowFn = async (_h, params) => ({ stacks: [st(['main', 'spin'], 7)], samples: 7, hz: params.hz, intervalS: 0.01 });
  const agent = await startAgent({ host: new LiveHost(), registry: defaultRegistry(), intervalMs: 60_000, rules: [], runqueue: false, ioLatency: false, kernelLog: false, profileHz: 19, profiler: { windowS: 0.01, window: win }, log: () => undefined });
  try {
    assert.ok(agent.coverage.some((c) => c.source === 'profile' && c.status === 'up'));
  } finally {
    await agent.stop();
  }
  const off = await startAgent({ host: new LiveHost(), registry: defaultRegistry(), intervalMs: 60_000, rules: [], runqueue: false, ioLatency: false, kernelLog: false, log: () => undefined });
  try {
    assert.ok(off.coverage.some((c) => c.source === 'profile' && c.status === 'off'));
  } finally {
    await off.stop();
  }
});
