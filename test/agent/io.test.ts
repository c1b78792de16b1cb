/**
 * The agent's I/O parts without the kernel: the iolat histogram mirror and its interval arithmetic, the
 * `io` entry's parameters (the CLI's defaults, the agent's caps), the three I/O alert rules with their
 * messages, the disk metrics, and the disks in the console sample.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoDiagnoseParams } from '../../src/agent/agent.js';
import { AlertEvaluator, DEFAULT_RULES, resolveRules } from '../../src/agent/alerts.js';
import { type DiskSnapshot, type Snapshot, sampleOf } from '../../src/agent/collect.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { AGENT_IO_MAX_INTERVAL_S, AGENT_IO_MAX_TOP, ioDiagnosisParams } from '../../src/agent/diagnoses/io.js';
import { type DiskStageCumulative, IOLAT_DISK_SIZE, IOLAT_HIST_SIZE, decodeIolatEntry, intervalsOf, majMinOf, stageInterval } from '../../src/agent/iolat.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { ioParamsFrom } from '../../src/cli/commands/io.js';
import { NodeSampleDataSchema } from '../../src/contract/agent-wire.js';
import { DEFAULT_THRESHOLDS } from '../../src/diagnose/thresholds.js';
import { AlertEventSchema } from '../../src/console/protocol.js';

const GiB = 1024 ** 3;
const VDA = (253 << 20) | 0;

test('decodeIolatEntry sums the per-CPU values (max of the maxima) per stage of one disk', () => {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(VDA, 0);
  const value = Buffer.alloc(IOLAT_DISK_SIZE * 2);
  const put = (cpu: number, stage: number, slot: number, n: number, sumNs: number, maxNs: number): void => {
    const o = cpu * IOLAT_DISK_SIZE + stage * IOLAT_HIST_SIZE;
    value.writeBigUInt64LE(BigInt(n), o + slot * 8);
    value.writeBigUInt64LE(BigInt(n), o + 32 * 8);
    value.writeBigUInt64LE(BigInt(sumNs), o + 33 * 8);
    value.writeBigUInt64LE(BigInt(maxNs), o + 34 * 8);
  };
  put(0, 2, 7, 3, 600_000, 250_000);
  put(1, 2, 9, 1, 900_000, 900_000);
  put(1, 0, 1, 5, 10_000, 3_000);
  const hs = decodeIolatEntry(key, value);
  assert.deepEqual(hs.map((h) => h.stage), ['queue', 'device'], 'stages without counts are left out');
  const h = hs.find((x) => x.stage === 'device')!;
  assert.equal(majMinOf(h.dev), '253:0');
  assert.equal(h.slots[7], 3);
  assert.equal(h.slots[9], 1);
  assert.deepEqual([h.count, h.sumNs, h.maxNs], [4, 1_500_000, 900_000]);
  assert.throws(() => decodeIolatEntry(key, Buffer.alloc(10)), /too short/);
});

const cum = (stage: DiskStageCumulative['stage'], slots: number[], sumNs: number, maxNs: number, dev = VDA): DiskStageCumulative => ({ dev, stage, slots, count: slots.reduce((a, b) => a + b, 0), sumNs, maxNs });

test('intervalsOf: per disk and stage, the delta since the previous reading', () => {
  const s0 = [cum('device', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10], 10 * 1_500_000, 1_900_000)];
  // 10 more device completions in 8–16 ms (slot 13) and 5 wake-ups in 16–32 µs.
  const s1 = [cum('device', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 10], 10 * 1_500_000 + 10 * 12_000_000, 15_000_000), cum('wake', [0, 0, 0, 0, 5], 5 * 20_000, 30_000)];
  const [d] = intervalsOf(s0, s1, new Map([['253:0', 'vda']]));
  assert.equal(d!.disk, 'vda');
  assert.equal(d!.stages.device.count, 10);
  assert.equal(d!.stages.device.meanMs, 12);
  assert.ok(d!.stages.device.p50Ms! >= 8 && d!.stages.device.p50Ms! <= 16, `p50 ${d!.stages.device.p50Ms}`);
  assert.equal(d!.stages.device.maxMs, 15, 'the max grew: exact');
  assert.equal(d!.stages.wake.count, 5);
  assert.equal(d!.stages.queue.count, 0);
  assert.equal(d!.stages.queue.p99Ms, null);
  assert.deepEqual(intervalsOf(s1, s1, new Map()), [], 'an idle interval lists no disk');
  assert.equal(intervalsOf(s1, s0, new Map()).length, 0, 'counters going backwards count as zero');
  assert.equal(stageInterval(undefined, s0[0]!).maxMs, 1.9, 'the first reading counts from zero');
});

test('io params: the CLI defaults are the agent defaults; the agent caps the interval and the rows', () => {
  const r = defaultRegistry();
  assert.ok(r.names().includes('io'));
  const v = r.validate('io', {});
  assert.ok(v.ok);
  const p = v.params as Parameters<typeof ioDiagnosisParams>[0];
  assert.deepEqual(p, { intervalS: 5, disk: null, cgroup: null, top: 20, bpf: true, thresholds: {}, lang: 'en' });
  assert.deepEqual(ioDiagnosisParams(p), ioParamsFrom({}), 'the same effective defaults as `oscope io`');
  assert.deepEqual(ioDiagnosisParams({ ...p, disk: 'vda', cgroup: '/system.slice' }), { ...ioParamsFrom({}), disk: 'vda', cgroup: '/system.slice' });
  const refused = (params: unknown, why: RegExp): void => {
    const x = r.validate('io', params);
    assert.equal(x.ok, false, JSON.stringify(params));
    if (!x.ok) assert.match(x.reason, why);
  };
  assert.ok(r.validate('io', { intervalS: AGENT_IO_MAX_INTERVAL_S, top: AGENT_IO_MAX_TOP }).ok);
  refused({ intervalS: AGENT_IO_MAX_INTERVAL_S + 1 }, /intervalS: at most 300 s of interval on the agent \(the agent's cap/);
  refused({ top: AGENT_IO_MAX_TOP + 1 }, /top: at most 200 rows on the agent/);
  assert.equal(ioParamsFrom({ interval: '3600' }).intervalS, 3600, 'the CLI allows an hour');
  refused({ intervalS: 0 }, /intervalS/);
  refused({ pid: 1, cgroup: '/x' }, /at most one of pid, cgroup and container/);
  refused({ thresholds: { 'io.nope': 1 } }, /unknown threshold "io.nope"/);
  refused({ command: 'id' }, /Unrecognized key/);
  assert.ok(r.get('io')!.timeoutMs > AGENT_IO_MAX_INTERVAL_S * 1000, 'a task of the longest interval does not time out');
});

function disk(over: Partial<DiskSnapshot> = {}): DiskSnapshot {
  return {
    name: 'vda',
    majMin: '253:0',
    scheduler: 'mq-deadline',
    rotational: false,
    iops: 200,
    readBytesPerS: 4 * 1024 * 1024,
    writeBytesPerS: 1024 * 1024,
    awaitMs: 2,
    utilPct: 40,
    queueDepth: 1.5,
    inflight: 1,
    intervalS: 15,
    readBytesTotal: 10 * GiB,
    writtenBytesTotal: 5 * GiB,
    ios: { read: 1000, write: 500, discard: 0, flush: 7 },
    ioTimeMs: 12_345,
    stalledS: 0,
    ...over,
  };
}

function snap(ts: number, disks: DiskSnapshot[], ioLatency: Snapshot['ioLatency'] = null): Snapshot {
  return {
    ts,
    memory: { totalBytes: 16 * GiB, availableBytes: 8 * GiB, freeBytes: 4 * GiB, components: { anon: GiB, file: GiB, shmem: 0, slab_reclaimable: 0, slab_unreclaimable: 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 } },
    cgroups: [{ path: '/system.slice/db.service', depth: 2, usageBytes: GiB, workingsetBytes: GiB, limitBytes: null, fileBytes: 0, shmemBytes: 0, io: { readBytes: 123, writeBytes: 456, readIos: 1, writeIos: 2 } }],
    psi: [],
    disks,
    ioLatency,
    errors: {},
    durationMs: 1,
  };
}

test('the I/O rules are on by default with the thresholds of oscope io, and run io on the disk', () => {
  const ids = DEFAULT_RULES.map((r) => r.id);
  for (const id of ['io-latency-high', 'io-hang', 'disk-saturated']) assert.ok(ids.includes(id), id);
  const byId = new Map(DEFAULT_RULES.map((r) => [r.id, r]));
  assert.equal((byId.get('io-latency-high') as { thresholdMs: number }).thresholdMs, DEFAULT_THRESHOLDS['io.latencyMs']);
  assert.equal((byId.get('io-hang') as { thresholdS: number }).thresholdS, DEFAULT_THRESHOLDS['io.hangS']);
  assert.equal((byId.get('disk-saturated') as { thresholdPct: number }).thresholdPct, DEFAULT_THRESHOLDS['io.utilPct']);
  for (const id of ['io-latency-high', 'io-hang', 'disk-saturated']) {
    const ad = byId.get(id)!.autoDiagnose!;
    assert.equal(ad.diagnosis, 'io');
    assert.ok(defaultRegistry().validate('io', ad.params).ok, `${id}'s params are valid io params`);
  }
});

test('io-latency-high: per disk, after forS, with the dominant stage when BPF saw it; resolves per disk', () => {
  const rules = resolveRules([{ id: 'io-latency-high', kind: 'io_latency', thresholdMs: 20, minRequests: 5, forS: 30, autoDiagnose: { diagnosis: 'io', params: { intervalS: 10 } } }]).filter((r) => r.id === 'io-latency-high');
  const ev = new AlertEvaluator(rules);
  const slow = disk({ awaitMs: 35.5, iops: 50 });
  const lat: Snapshot['ioLatency'] = {
    cumulative: [],
    interval: [{ disk: 'vda', majMin: '253:0', stages: { queue: { count: 9, meanMs: 0.1, p50Ms: 0.1, p99Ms: 0.2, maxMs: 0.3 }, sched: { count: 0, meanMs: null, p50Ms: null, p99Ms: null, maxMs: null }, device: { count: 9, meanMs: 30, p50Ms: 24, p99Ms: 48, maxMs: 50 }, wake: { count: 9, meanMs: 0.05, p50Ms: 0.05, p99Ms: 0.1, maxMs: 0.1 } } }],
  };
  assert.deepEqual(ev.evaluate(snap(0, [slow, disk({ name: 'vdb', majMin: '253:16' })], lat)), []);
  const fired = ev.evaluate(snap(30_000, [slow], lat));
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.data.disk, 'vda');
  assert.equal(fired[0]!.message, 'disk vda: requests take 35.5 ms on average over the last interval (50 per second; threshold 20.0 ms), most of it in the device stage (30.0 ms mean)');
  assert.equal(fired[0]!.messages['zh-CN'], '磁盘 vda：上一个采集周期内请求平均耗时 35.5 ms（每秒 50 个；阈值 20.0 ms），主要耗在设备阶段（平均 30.0 ms）');
  AlertEventSchema.parse((({ ruleDef: _r, ...e }) => e)(fired[0]!));
  assert.deepEqual(autoDiagnoseParams(fired[0]!), { intervalS: 10, disk: 'vda' }, 'io runs on the disk that fired');
  // Too few requests: not a latency problem worth an alert (and the instance resolves).
  const res = ev.evaluate(snap(45_000, [disk({ awaitMs: 35.5, iops: 0.2 })]));
  assert.deepEqual(res.map((e) => [e.state, e.message]), [['resolved', 'resolved: io-latency-high (vda)']]);
  // Without BPF the message has no stage.
  const ev2 = new AlertEvaluator(rules.map((r) => ({ ...r, forS: 0 })));
  assert.match(ev2.evaluate(snap(0, [slow]))[0]!.message, /^disk vda: requests take 35\.5 ms on average over the last interval \(50 per second; threshold 20\.0 ms\)$/);
});

test('io-hang and disk-saturated: per disk, from the stall time and %util', () => {
  const rules = DEFAULT_RULES.filter((r) => r.id === 'io-hang' || r.id === 'disk-saturated').map((r) => ({ ...r, forS: 0 }));
  const ev = new AlertEvaluator(rules);
  const fired = ev.evaluate(snap(0, [disk({ stalledS: 12.4, inflight: 3, utilPct: 100 }), disk({ name: 'loop9', majMin: '7:9', utilPct: 95.5, queueDepth: 4 })]));
  const msgs = fired.map((e) => `${e.rule} ${e.message}`).sort();
  assert.deepEqual(msgs, [
    'disk-saturated disk loop9 was busy 96% of the last interval (4 requests in flight on average, 200 per second; threshold 90%)',
    'disk-saturated disk vda was busy 100% of the last interval (1.50 requests in flight on average, 200 per second; threshold 90%)',
    'io-hang disk vda: 3 requests in flight and none completed for 12 s',
  ]);
  const hang = fired.find((e) => e.rule === 'io-hang')!;
  assert.equal(hang.severity, 'critical');
  assert.equal(hang.messages['zh-CN'], '磁盘 vda：3 个请求在途，已 12 秒没有请求完成');
  assert.deepEqual(autoDiagnoseParams(hang), { intervalS: 5, disk: 'vda' });
  // A rule that names its own disk keeps it; another diagnosis gets no disk.
  assert.deepEqual(autoDiagnoseParams({ ...hang, ruleDef: { ...hang.ruleDef, autoDiagnose: { diagnosis: 'io', params: { disk: 'vdb' } } } }), { disk: 'vdb' });
  assert.deepEqual(autoDiagnoseParams({ ...hang, ruleDef: { ...hang.ruleDef, autoDiagnose: { diagnosis: 'inspect', params: {} } } }), {});
  // The first reading (no interval yet) does not say a disk is saturated.
  assert.deepEqual(new AlertEvaluator(rules).evaluate(snap(0, [disk({ utilPct: 100, intervalS: 0 })])), []);
});

test('disk metrics, the stage histogram and cgroup I/O in /metrics; disks in the sample', async () => {
  const m = new AgentMetrics({ processMetrics: false });
  const cumulative = [{ ...cum('device', [0, 0, 0, 0, 0, 0, 0, 4, 2], 6_000_000, 700_000), disk: 'vda' }];
  const s = snap(0, [disk()], {
    cumulative,
    interval: [{ disk: 'vda', majMin: '253:0', stages: { queue: { count: 0, meanMs: null, p50Ms: null, p99Ms: null, maxMs: null }, sched: { count: 0, meanMs: null, p50Ms: null, p99Ms: null, maxMs: null }, device: { count: 6, meanMs: 1, p50Ms: 0.192, p99Ms: 0.7, maxMs: 0.7 }, wake: { count: 0, meanMs: null, p50Ms: null, p99Ms: null, maxMs: null } } }],
  });
  m.update(s);
  const text = (await m.text()).body;
  for (const line of [
    'oscope_disk_iops{disk="vda"} 200',
    'oscope_disk_await_seconds{disk="vda"} 0.002',
    'oscope_disk_util_ratio{disk="vda"} 0.4',
    'oscope_disk_inflight_requests{disk="vda"} 1',
    'oscope_disk_read_bytes_total{disk="vda"} 10737418240',
    'oscope_disk_ios_total{disk="vda",op="flush"} 7',
    'oscope_disk_io_time_seconds_total{disk="vda"} 12.345',
    'oscope_disk_latency_seconds_bucket{disk="vda",stage="device",le="0.000256"} 4',
    'oscope_disk_latency_seconds_bucket{disk="vda",stage="device",le="0.001024"} 6',
    'oscope_disk_latency_seconds_count{disk="vda",stage="device"} 6',
    'oscope_disk_latency_seconds_sum{disk="vda",stage="device"} 0.006',
    'oscope_cgroup_io_written_bytes_total{cgroup="/system.slice/db.service",container="",pod="",namespace=""} 456',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  }
  // Set again (not added up) at the next collection; a disk that went away loses its series.
  m.update(snap(15_000, [disk({ name: 'vdb', majMin: '253:16' })]));
  const again = (await m.text()).body;
  assert.ok(!again.includes('disk="vda",op="flush"'));
  assert.ok(again.includes('oscope_cgroup_io_written_bytes_total{cgroup="/system.slice/db.service",container="",pod="",namespace=""} 456'));

  const data = sampleOf(s);
  const parsed = NodeSampleDataSchema.parse(JSON.parse(JSON.stringify(data)));
  assert.deepEqual(parsed.disks, [{ name: 'vda', iops: 200, readBytesPerS: 4194304, writeBytesPerS: 1048576, awaitMs: 2, utilPct: 40, inflight: 1, latency: data.disks![0]!.latency }]);
  assert.equal(parsed.disks![0]!.latency!.device!.p99Ms, 0.7);
  assert.deepEqual(sampleOf(snap(0, [disk({ intervalS: 0 })])).disks, [], 'the first reading has no rates to send');
});
