import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyTables, stageOf, stageQuantileMs } from '../../../src/diagnose/net/analyze.js';
import { NET_FINE_BUCKETS, NET_LFLOW_KEY_LAYOUT, NET_STAGES, NET_STAGE_SIZE, type RawLatency, type RawStage, decodeLatencyFlow, fineBucketLowUs, fineBucketOf, sumStages } from '../../../src/diagnose/net/bpf.js';

const empty = (): RawStage => ({ count: 0, sumNs: 0, maxNs: 0, fine: new Array<number>(NET_FINE_BUCKETS).fill(0) });
function stageWith(valuesUs: number[]): RawStage {
  const s = empty();
  for (const v of valuesUs) {
    s.fine[fineBucketOf(v)]!++;
    s.count++;
    s.sumNs += v * 1000;
    s.maxNs = Math.max(s.maxNs, v * 1000);
  }
  return s;
}

test('fine buckets: 8 per power of two, the BPF rule; lower bounds increase', () => {
  for (const us of [0, 1, 7, 8, 15, 16, 17, 1000, 20_000, 30_000, 1e6]) {
    const b = fineBucketOf(us);
    assert.ok(fineBucketLowUs(b) <= us && us < fineBucketLowUs(b + 1), `${us} µs in bucket ${b} [${fineBucketLowUs(b)}, ${fineBucketLowUs(b + 1)})`);
  }
  assert.equal(fineBucketOf(8), 8);
  assert.equal(fineBucketOf(16), 16);
});

test('stage: p50 within the 12.5 % bucket of a constant hold; log2 histogram folded', () => {
  const st = stageOf(stageWith(new Array(100).fill(30_000)));
  assert.equal(st.count, 100);
  assert.ok(Math.abs(st.p50Ms - 30) <= 0.125 * 30, `p50 ${st.p50Ms}`);
  assert.equal(st.maxMs, 30);
  assert.equal(st.meanMs, 30);
  assert.equal(st.histogram.length, 15); // 30 ms = 2^14.87 µs: slot 14
  assert.equal(st.histogram[14], 100);
  assert.equal(stageQuantileMs(empty(), 0.5), 0);
});

test('latency tables: the verdict names the slowest stage, softirq with its CPU', () => {
  const stages = Object.fromEntries(NET_STAGES.map((n) => [n, empty()])) as RawLatency['stages'];
  stages.qdisc = stageWith(new Array(50).fill(20_000));
  stages.driver = stageWith(new Array(50).fill(5));
  const flow = { family: 4 as const, src: '10.0.0.2', dst: '10.0.0.1', sport: 40000, dport: 5204, proto: 17, l3: 0x800 };
  const l: RawLatency = { stages, flows: [{ flow, stage: 'qdisc', netns: 1, count: 50, maxNs: 21e6, sumNs: 1e9 }], softirqCpus: [] };
  const t = latencyTables(l, 10, 10);
  assert.equal(t.verdict, 'packets queue in the qdisc');
  assert.equal(t.slowest[0]!.dport, 5204);
  const s2 = Object.fromEntries(NET_STAGES.map((n) => [n, empty()])) as RawLatency['stages'];
  s2.softirq = stageWith(new Array(10).fill(50_000));
  const t2 = latencyTables({ stages: s2, flows: [], softirqCpus: [{ cpu: 1, count: 10, sumNs: 5e8, maxNs: 5e7 }, { cpu: 0, count: 5, sumNs: 1e6, maxNs: 1e6 }] }, 10, 10);
  assert.equal(t2.verdict, 'softirq processing is delayed on CPU 1');
  assert.equal(latencyTables(undefined, 10, 10).verdict, null);
});

test('per-CPU stage and flow values are summed over the CPUs (count, sum, buckets added; max the largest)', () => {
  const slot = (count: number, sum: number, max: number, bucket: number): Buffer => {
    const b = Buffer.alloc(NET_STAGE_SIZE);
    b.writeBigUInt64LE(BigInt(count), 0);
    b.writeBigUInt64LE(BigInt(sum), 8);
    b.writeBigUInt64LE(BigInt(max), 16);
    b.writeBigUInt64LE(BigInt(count), 24 + bucket * 8);
    return b;
  };
  const s = sumStages(Buffer.concat([slot(3, 300, 120, 5), slot(2, 900, 700, 9)]));
  assert.deepEqual([s.count, s.sumNs, s.maxNs, s.fine[5], s.fine[9], s.fine.reduce((a, x) => a + x, 0)], [5, 1200, 700, 3, 2, 5]);
  const key = Buffer.alloc(NET_LFLOW_KEY_LAYOUT.size);
  key.writeUInt32LE(NET_STAGES.indexOf('app'), NET_LFLOW_KEY_LAYOUT.stage);
  const v = (count: number, max: number, sum: number): Buffer => {
    const b = Buffer.alloc(24);
    b.writeBigUInt64LE(BigInt(count), 0);
    b.writeBigUInt64LE(BigInt(max), 8);
    b.writeBigUInt64LE(BigInt(sum), 16);
    return b;
  };
  const f = decodeLatencyFlow(key, Buffer.concat([v(4, 50, 100), v(0, 0, 0), v(1, 90, 90)]));
  assert.deepEqual([f?.stage, f?.count, f?.maxNs, f?.sumNs], ['app', 5, 90, 190]);
});
