/**
 * The agent's new collectors: the run-queue latency histogram (pure interval arithmetic, and a live
 * BPF session where this host allows it) and kernel-log anomalies (inspect's engine fed with a captured
 * /dev/kmsg text, and the live /dev/kmsg follower), with what they put in /metrics and the sample.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { type NetSnapshot, readNetSnapshot, sampleNet, sampleOf } from '../../src/agent/collect.js';
import { NodeSampleDataSchema } from '../../src/contract/agent-wire.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { KernelLogSource, type KmsgReader } from '../../src/agent/kernel-log.js';
import { type CpuCumulative, intervalOf, PROM_LE_S, regroup, RunqueueSource, SAMPLE_LE_MS, sumPerCpu } from '../../src/agent/runqueue.js';
import { findBpfObject } from '../../src/kernel/bpf/index.js';
import { LiveHost } from '../../src/host/live.js';
import { fixture, isRoot } from '../helpers.js';

const cpu = (n: number, slots: number[], maxNs = 0): CpuCumulative => ({ cpu: n, slots, count: slots.reduce((a, b) => a + b, 0), sumNs: 0, maxNs });

test('regroup puts each log2-µs slot under the first bound at or above its top', () => {
  // slot i = [2^i, 2^(i+1)) µs: slots 0,1 → ≤4 µs, slot 2 → ≤8 µs, slot 3 → ≤16 µs; slot 30 → +Inf.
  const slots = new Array<number>(32).fill(0);
  slots[0] = 1;
  slots[1] = 2;
  slots[2] = 3;
  slots[3] = 4;
  slots[30] = 5;
  const b = regroup(slots, [4, 8, 16]);
  assert.deepEqual(b, [3, 3, 4, 5]);
  assert.equal(PROM_LE_S.length, 10);
  assert.equal(SAMPLE_LE_MS.at(-1), Infinity);
  assert.equal(JSON.parse(JSON.stringify({ le: SAMPLE_LE_MS })).le.at(-1), null, 'Infinity is written as null');
});

test('intervalOf: the delta between readings, exact max when it grew, null percentiles when idle', () => {
  const s0 = [cpu(0, [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1500), cpu(1, [5], 1000)];
  // cpu0 gets 90 more in slot 0 and 10 in slot 10 (1–2 ms), new max 1.9 ms; cpu1 unchanged; cpu2 new.
  const s1 = [cpu(0, [100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10], 1_900_000), cpu(1, [5], 1000), cpu(2, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 40_000_000)];
  const r = intervalOf(s0, s1);
  assert.equal(r.count, 101);
  assert.equal(r.counts.reduce((a, b) => a + b, 0), 101);
  assert.equal(r.counts[0], 90, '≤ 4 µs');
  assert.equal(r.counts[SAMPLE_LE_MS.indexOf(2.048)], 10, '1–2 ms in the ≤ 2.048 ms bucket');
  assert.equal(r.counts[SAMPLE_LE_MS.indexOf(65.536)], 1, '32–64 ms');
  assert.equal(r.maxMs, 40, 'the cumulative max grew this interval: exact');
  assert.ok(r.p50Ms !== null && r.p50Ms < 0.01);
  assert.ok(r.p99Ms !== null && r.p99Ms >= 1 && r.p99Ms <= 3, `p99 ${r.p99Ms}`);
  const idle = intervalOf(s1, s1);
  assert.deepEqual([idle.count, idle.p50Ms, idle.p99Ms, idle.maxMs], [0, null, null, null]);
  // A counter that went backwards (entry lost) counts as zero, not negative.
  assert.equal(intervalOf(s1, s0).count, 0);
  // Without a new max the interval's max is the top of its highest bucket, capped at the cumulative max.
  const s2 = [cpu(0, [100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11], 1_900_000)];
  assert.equal(intervalOf(s1, s2).maxMs, 1.9);
});

test('sumPerCpu merges per-cgroup histograms of one CPU', () => {
  const h = (cgroupId: bigint, c: number, slots: number[]) => ({ cgroupId, cpu: c, slots, count: slots.reduce((a, b) => a + b, 0), sumNs: 10, maxNs: slots.length });
  const out = sumPerCpu([h(1n, 0, [1, 2]), h(2n, 0, [3, 4, 5]), h(1n, 1, [7])]);
  assert.deepEqual(
    out.map((c) => [c.cpu, c.slots, c.count, c.sumNs, c.maxNs]),
    [
      [0, [4, 6, 5], 15, 20, 3],
      [1, [7], 7, 10, 1],
    ],
  );
});

function fedReader(chunks: string[]): KmsgReader & { closed: boolean } {
  const r = {
    closed: false,
    read: () => chunks.shift() ?? '',
    close: () => {
      r.closed = true;
    },
  };
  return r;
}

test('kernel-log source: a captured /dev/kmsg with an OOM kill, hung tasks and I/O errors', async () => {
  const text = fixture('agent', 'kmsg-anomalies.txt');
  const lines = text.split('\n');
  // Arrives in two reads, cut in the middle of the OOM report; then a malformed record; then quiet.
  const reader = fedReader([lines.slice(0, 20).join('\n'), `${lines.slice(20).join('\n')}\nthis is not a kmsg record\n`]);
  const r = await KernelLogSource.open(new LiveHost(), { reader });
  assert.ok('source' in r);
  const src = r.source;
  src.poll();
  const a = src.take();
  const b = src.take();
  const all = new Map<string, number>();
  for (const x of [a, b]) for (const c of x.counts) all.set(`${c.rule}/${c.level}`, (all.get(`${c.rule}/${c.level}`) ?? 0) + c.count);
  assert.equal(all.get('OOM/critical'), 1);
  assert.equal(all.get('HANG/critical'), 2);
  assert.equal(all.get('IO-ERROR/error'), 3);
  assert.equal(a.total + b.total, [...all.values()].reduce((x, y) => x + y, 0));
  assert.equal(src.parseErrors, 1);
  assert.ok(a.recent.some((x) => x.rule === 'OOM' && /Out of memory/.test(x.title)));
  assert.deepEqual(src.take(), { total: 0, counts: [], recent: [] });
  src.close();
  assert.equal(reader.closed, true);
});

test('kernel-log source: the live /dev/kmsg opens as root, says why not otherwise', async () => {
  const r = await KernelLogSource.open(new LiveHost());
  if (isRoot) {
    assert.ok('source' in r, 'unavailable' in r ? r.unavailable : '');
    const a = r.source.take();
    assert.ok(a.total >= 0);
    r.source.close();
  } else if ('unavailable' in r) assert.match(r.unavailable, /kmsg/);
});

const bpf = findBpfObject('runlatency');
const noBpf = !isRoot ? 'needs root for BPF' : 'missing' in bpf ? `runlatency BPF object not built: ${bpf.missing}` : false;

test('run-queue source: a live histogram-only session counts this test’s own wakeups', { skip: noBpf }, async () => {
  const r = await RunqueueSource.start(new LiveHost());
  assert.ok('source' in r, 'unavailable' in r ? r.unavailable : '');
  try {
    // Wake up a few hundred times.
    for (let i = 0; i < 200; i++) await new Promise((res) => setTimeout(res, 1));
    const x = r.source.read();
    assert.ok(x.interval.count > 0);
    assert.ok(x.perCpu.length >= 1);
    assert.equal(x.interval.counts.reduce((a, b) => a + b, 0), x.interval.count);
    assert.ok(x.interval.p99Ms !== null && x.interval.maxMs !== null && x.interval.p99Ms <= x.interval.maxMs * 1.5);
  } finally {
    r.source.close();
  }
});

test('no BPF: no histogram, collector_up 0 and a coverage note; everything else works', async () => {
  const fake = fedReader([fixture('agent', 'kmsg-anomalies.txt')]);
  const agent = await startAgent({
    host: new LiveHost(),
    registry: defaultRegistry(),
    intervalMs: 3_600_000,
    listen: { host: '127.0.0.1', port: 0 },
    rules: [],
    log: () => undefined,
    runqueue: () => Promise.reject(new Error('no BTF here (test)')),
    kernelLog: fake,
  });
  try {
    await agent.tick();
    const base = `http://127.0.0.1:${agent.address!.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^oscope_collector_up\{source="runqueue"\} 0$/m);
    assert.match(text, /^oscope_collector_up\{source="kernel_log"\} 1$/m);
    assert.doesNotMatch(text, /^oscope_runqueue_latency_seconds_bucket/m);
    assert.match(text, /^oscope_kernel_log_anomalies_total\{rule="OOM",severity="critical"\} 1$/m);
    assert.match(text, /^oscope_kernel_log_anomalies_total\{rule="IO-ERROR",severity="error"\} 3$/m);
    assert.match(text, /^oscope_memory_total_bytes \d+$/m);
    const h = (await (await fetch(`${base}/healthz`)).json()) as { coverage: { source: string; status: string; reason?: string }[] };
    assert.deepEqual(h.coverage.find((c) => c.source === 'runqueue'), { source: 'runqueue', status: 'unavailable', reason: 'no BTF here (test)' });
  } finally {
    await agent.stop();
  }
  assert.equal(fake.closed, true, 'the kernel log source is closed on stop');
});

test('with BPF: the Prometheus run-queue latency histogram per CPU, cumulative buckets', { skip: noBpf }, async () => {
  const agent = await startAgent({ host: new LiveHost(), registry: defaultRegistry(), intervalMs: 3_600_000, listen: { host: '127.0.0.1', port: 0 }, rules: [], log: () => undefined, kernelLog: false });
  try {
    for (let i = 0; i < 100; i++) await new Promise((res) => setTimeout(res, 1));
    await agent.tick();
    const text = await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text();
    assert.match(text, /^# TYPE oscope_runqueue_latency_seconds histogram$/m);
    assert.match(text, /^oscope_runqueue_latency_seconds_bucket\{cpu="0",le="0\.000016"\} \d+$/m);
    const inf = /^oscope_runqueue_latency_seconds_bucket\{cpu="0",le="\+Inf"\} (\d+)$/m.exec(text);
    const count = /^oscope_runqueue_latency_seconds_count\{cpu="0"\} (\d+)$/m.exec(text);
    assert.ok(inf && count && inf[1] === count[1]);
    // Buckets are cumulative.
    const b = [...text.matchAll(/^oscope_runqueue_latency_seconds_bucket\{cpu="0",le="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    for (let i = 1; i < b.length; i++) assert.ok(b[i]! >= b[i - 1]!);
    assert.match(text, /^oscope_collector_up\{source="runqueue"\} 1$/m);
    assert.doesNotMatch(text, /oscope_collector_up\{source="kernel_log"\}/, 'turned off: no series');
  } finally {
    await agent.stop();
  }
});

test('sampleOf carries runqueueLatency and logAnomalies (null when absent)', () => {
  const base = { ts: 0, memory: { totalBytes: 1, availableBytes: 1, freeBytes: 1, components: { anon: 0, file: 0, shmem: 0, slab_reclaimable: 0, slab_unreclaimable: 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 } }, cgroups: [], psi: [], errors: {}, durationMs: 0 };
  const none = sampleOf(base);
  assert.equal(none.runqueueLatency, null);
  assert.equal(none.logAnomalies, null);
  const interval = { leMs: [...SAMPLE_LE_MS], counts: new Array<number>(SAMPLE_LE_MS.length).fill(0), count: 0, p50Ms: null, p99Ms: null, maxMs: null };
  const full = sampleOf({
    ...base,
    runqueue: { perCpu: [], interval },
    logAnomalies: {
      total: 3,
      counts: [
        { rule: 'OOM', level: 'critical', count: 1 },
        { rule: 'OOM', level: 'fatal', count: 1 },
        { rule: 'IO-ERROR', level: 'error', count: 1 },
      ],
      recent: [],
    },
  });
  assert.deepEqual(full.logAnomalies, { total: 3, byRule: { OOM: 2, 'IO-ERROR': 1 } });
  const json = JSON.parse(JSON.stringify(full)) as { runqueueLatency: { leMs: (number | null)[] } };
  assert.equal(json.runqueueLatency.leMs.at(-1), null);
  assert.equal(json.runqueueLatency.leMs.length, SAMPLE_LE_MS.length);
});

test('sampleOf carries the network over the interval since the previous snapshot (resets count 0)', async () => {
  const base = { ts: 0, memory: { totalBytes: 1, availableBytes: 1, freeBytes: 1, components: { anon: 0, file: 0, shmem: 0, slab_reclaimable: 0, slab_unreclaimable: 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 } }, cgroups: [], psi: [], errors: {}, durationMs: 0 };
  const net = (o: Partial<NetSnapshot>): NetSnapshot => ({
    drops: { 'TcpExt.ListenDrops': 10, 'Ip.InDiscards': 5 },
    retransSegs: 100,
    outSegs: 1000,
    listenOverflows: 3,
    listenDrops: 10,
    softnetDropped: 0,
    softnetSqueezed: 0,
    interfaces: [{ name: 'eth0', rxErrors: 1, txErrors: 0, rxDropped: 2, txDropped: 0 }],
    tcpMemBytes: 4096,
    tcpSockets: 4,
    ...o,
  });
  const a = { ...base, ts: 10_000, net: net({}) };
  const b = {
    ...base,
    ts: 40_000,
    net: net({
      drops: { 'TcpExt.ListenDrops': 40, 'Ip.InDiscards': 1 },
      retransSegs: 130,
      outSegs: 2000,
      listenOverflows: 9,
      softnetDropped: 7,
      softnetSqueezed: 2,
      interfaces: [
        { name: 'eth0', rxErrors: 4, txErrors: 0, rxDropped: 2, txDropped: 1 },
        { name: 'veth9', rxErrors: 50, txErrors: 0, rxDropped: 50, txDropped: 0 },
      ],
      tcpMemBytes: 8192,
    }),
  };
  assert.equal(sampleOf(b).net, undefined, 'no previous snapshot: no interval');
  assert.equal(sampleOf(b, 20, { ...base, ts: 10_000 }).net, undefined, 'a previous snapshot without net counters');
  const s = sampleOf(b, 20, a);
  // Ip.InDiscards went backwards (a reset): 0, not -4; a new interface does not bring its whole history.
  assert.deepEqual(s.net, { intervalS: 30, drops: 37, dropsByCounter: { 'TcpExt.ListenDrops': 30, 'softnet.backlog': 7 }, retransSegs: 30, outSegs: 1000, listenOverflows: 6, softnetSqueezed: 2, ifErrors: 3, ifDropped: 1, tcpMemBytes: 8192, tcpSockets: 4 });
  assert.ok(NodeSampleDataSchema.safeParse(JSON.parse(JSON.stringify(s))).success, 'the sample matches the wire contract');
  // This host's own counters, read twice.
  const host = new LiveHost();
  const first = await readNetSnapshot(host);
  const second = await readNetSnapshot(host);
  const live = sampleNet(first, second, 1);
  assert.ok(live && live.drops >= 0 && live.retransSegs >= 0 && live.outSegs >= 0);
});
