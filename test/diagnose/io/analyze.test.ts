import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IoDocumentSchema } from '../../../src/contract/io.js';
import { DOCUMENT_SCHEMA_BY_NAME, DOCUMENT_SCHEMAS } from '../../../src/contract/index.js';
import { analyzeIo, diskRates, findHangs, processTraffic, stageOf } from '../../../src/diagnose/io/analyze.js';
import type { CapturedProcess, IoCapture } from '../../../src/diagnose/io/capture.js';
import { DEFAULT_THRESHOLDS, resolveThresholds } from '../../../src/diagnose/thresholds.js';
import type { DiskStat } from '../../../src/kernel/procfs/diskstats.js';
import { parseDiskstats } from '../../../src/kernel/procfs/diskstats.js';
import { ioDocument, renderIoText } from '../../../src/report/io.js';
import { plainStyle } from '../../../src/report/text.js';
import { fixture } from '../../helpers.js';

const disk = (over: Partial<DiskStat> = {}): DiskStat => ({
  major: 254, minor: 0, name: 'vda', reads: 1000, readsMerged: 0, sectorsRead: 80000, readTicksMs: 5000, writes: 500, writesMerged: 0, sectorsWritten: 40000, writeTicksMs: 2500,
  inFlight: 0, ioTicksMs: 10000, timeInQueueMs: 20000, discards: 0, discardsMerged: 0, sectorsDiscarded: 0, discardTicksMs: 0, flushes: 0, flushTicksMs: 0, ...over,
});
const vda = { name: 'vda', scheduler: { active: 'mq-deadline', available: ['none', 'mq-deadline'] }, rotational: false, model: undefined, inflight: { reads: 0, writes: 0 } };
const io = (readBytes: number, writeBytes: number, cancelled = 0) => ({ rchar: 0, wchar: 0, syscr: 0, syscw: 0, readBytes, writeBytes, cancelledWriteBytes: cancelled });
const proc = (pid: number, comm: string, r: number, w: number, cgroup = '/'): CapturedProcess => ({ pid, comm, io: io(r, w), cgroup });

/** A 2-second capture: vda did 200 reads and 100 writes, 10 s of request time, busy 1.9 s. */
function capture(over: Partial<IoCapture> = {}): IoCapture {
  return {
    schema: 'oscope.io-capture/v1',
    intervalS: 2,
    hierarchy: null,
    cgroupIo: null,
    disksBefore: [disk()],
    disksAfter: [disk({ reads: 1200, writes: 600, sectorsRead: 80000 + 2048 * 200, sectorsWritten: 40000 + 4096, readTicksMs: 5000 + 3000, writeTicksMs: 2500 + 1500, ioTicksMs: 10000 + 1900, timeInQueueMs: 20000 + 4000 })],
    devices: [vda],
    processesBefore: [],
    processesAfter: [],
    dTasks: [],
    method: {},
    coverage: [],
    ...over,
  };
}

const hist = (disk: string, stage: 'queue' | 'sched' | 'device' | 'wake', slot: number, count: number, meanMs: number) => {
  const slots = new Array<number>(32).fill(0);
  slots[slot] = count;
  return { disk, stage, slots, count, sumNs: meanMs * 1e6 * count, maxNs: meanMs * 1e6 * 1.2 };
};

test('diskRates: iostat -x arithmetic over the interval', () => {
  const [d] = diskRates(capture().disksBefore, capture().disksAfter, [vda], 2);
  assert.ok(d);
  assert.equal(d.iops, 150);
  assert.equal(d.readBytesPerS, (2048 * 200 * 512) / 2);
  assert.equal(d.writeBytesPerS, (4096 * 512) / 2);
  assert.equal(d.awaitMs, 15); // 4500 ms of request time / 300 requests
  assert.equal(d.utilPct, 95);
  assert.equal(d.queueDepth, 2);
  assert.equal(d.scheduler, 'mq-deadline');
});

test('diskRates: real diskstats of three kernel versions', () => {
  for (const f of ['diskstats-4.14', 'diskstats-4.19', 'diskstats']) {
    const d = parseDiskstats(fixture('proc', f));
    const whole = d.filter((x) => !/\d+p?\d+$/.test(x.name) || x.name.startsWith('loop') || x.name.startsWith('nvme0n1') && !x.name.includes('p')).map((x) => ({ ...vda, name: x.name }));
    const rows = diskRates(d, d, whole, 1);
    for (const r of rows) {
      assert.equal(r.iops, 0, `${f} ${r.name}: no change, no rate`);
      assert.equal(r.utilPct, 0);
    }
  }
});

test('stageOf: percentiles are their bucket\'s mean (from the exact sum) or middle, capped at the max; the mean is exact', () => {
  const slots = new Array<number>(32).fill(0);
  slots[16] = 10; // [65.5, 131) ms
  const s = stageOf(slots, 10 * 100e6, 110e6);
  assert.equal(s.meanMs, 100);
  assert.equal(s.p50Ms, 100);
  assert.equal(s.maxMs, 110);
  assert.equal(s.histogram.length, 17);
  // Two buckets: the lower one at its middle, the upper one's mean from what is left of the sum.
  slots[10] = 10; // [1.02, 2.05) ms, middle 1.536
  const two = stageOf(slots, 10 * 100e6 + 10 * 1.536e6, 110e6);
  assert.equal(two.p50Ms, 1.536);
  assert.equal(two.p99Ms, 100);
  // A sum that does not fit the buckets (a skewed lower bucket): the middle.
  assert.equal(stageOf(slots, 10 * 100e6 + 10 * 1.9e6 + 10 * 40e6, 110e6).p99Ms, 98.304);
});

test('io.latency.device at the threshold, not below; dominant stage named', () => {
  const t = resolveThresholds();
  const at = (meanMs: number) =>
    analyzeIo(capture({ trace: { histograms: [hist('vda', 'device', 14, 10, meanMs), hist('vda', 'queue', 2, 10, 0.01)], slow: [], inflight: [], waits: [], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0 } }), t);
  const a = at(t['io.latencyMs']);
  assert.equal(a.latency.perDisk[0]!.dominant, 'device');
  assert.ok(a.findings.some((f) => f.id === 'io.latency.device'));
  assert.ok(!at(t['io.latencyMs'] - 1).findings.some((f) => f.id.startsWith('io.latency')));
});

test('io.latency.queue when the OS stages carry the latency; io.latency.wake on late wakeups', () => {
  const t = resolveThresholds();
  const a = analyzeIo(
    capture({ trace: { histograms: [hist('vda', 'device', 8, 10, 0.5), hist('vda', 'queue', 14, 10, 30), hist('vda', 'sched', 10, 10, 1), hist('vda', 'wake', 13, 10, 8)], slow: [], inflight: [], waits: [], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0 } }),
    t,
  );
  const ids = a.findings.map((f) => f.id);
  assert.ok(ids.includes('io.latency.queue'));
  assert.ok(!ids.includes('io.latency.device'));
  assert.ok(ids.includes('io.latency.wake'));
  assert.equal(a.latency.perDisk[0]!.dominant, 'queue');
});

test('traffic: deltas per process (born during the interval counts from 0), cgroups summed; io.traffic.dominant', () => {
  const t = resolveThresholds();
  const MiB = 1024 * 1024;
  const before = [proc(10, 'writer', 0, 100 * MiB, '/a'), proc(11, 'reader', 50 * MiB, 0, '/b'), proc(12, 'old', 0, 0)];
  const after = [proc(10, 'writer', 0, 180 * MiB, '/a'), proc(11, 'reader', 60 * MiB, 0, '/b'), proc(13, 'newborn', 2 * MiB, 0, '/b'), { ...proc(12, 'recycled', 9 * MiB, 0) }];
  const rows = processTraffic(before, after);
  assert.deepEqual(rows.map((r) => [r.pid, r.readBytes, r.writeBytes]), [[10, 0, 80 * MiB], [11, 10 * MiB, 0], [12, 9 * MiB, 0], [13, 2 * MiB, 0]]);
  // With the time of each read, a delta over 5 s between the reads is brought to the 4 s interval.
  const timed = processTraffic([{ ...before[0]!, ioAtMs: 1000 }], [{ ...after[0]!, ioAtMs: 6000 }], undefined, 4);
  assert.equal(timed[0]!.writeBytes, 64 * MiB);
  const a = analyzeIo(capture({ processesBefore: before, processesAfter: after }), t);
  // Rows include their descendants, so the root (the host's total: the disks say it) is left out.
  assert.deepEqual(a.traffic.cgroups.map((c) => [c.path, c.readBytes + c.writeBytes]), [['/a', 80 * MiB], ['/b', 12 * MiB]]);
  const f = a.findings.find((x) => x.id === 'io.traffic.dominant');
  assert.ok(f);
  assert.equal(f.params.pid, 10);
  // Below the share threshold: nothing.
  const even = [proc(10, 'w', 0, 50 * MiB), proc(11, 'r', 50 * MiB, 0)];
  assert.ok(!analyzeIo(capture({ processesBefore: [proc(10, 'w', 0, 0), proc(11, 'r', 0, 0)], processesAfter: even }), t).findings.some((x) => x.id === 'io.traffic.dominant'));
});

test('hangs: a traced request older than io.hangS, and a disk with requests in flight and no completion', () => {
  const t = resolveThresholds({ 'io.hangS': 5 });
  const c = capture({ intervalS: 6, disksBefore: [disk({ inFlight: 2 })], disksAfter: [disk({ inFlight: 2 })] });
  const h = findHangs(c, 5);
  assert.deepEqual(h.map((x) => [x.disk, x.kind, x.count]), [['vda', 'disk', 2]]);
  const c2 = capture({ trace: { histograms: [], slow: [], inflight: [{ disk: 'vda', ageS: 5.5, sector: 8, op: 'read', pid: 42, comm: 'victim' }, { disk: 'vda', ageS: 4.9, sector: 16, op: 'read', pid: 42, comm: 'victim' }], waits: [], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0 }, dTasks: [{ pid: 42, tid: 42, comm: 'victim', stack: ['io_schedule+0x46/0x70', '__blkdev_direct_IO_simple+0x1/0x2'] }] });
  const a = analyzeIo(c2, t);
  assert.deepEqual(a.hangs.map((x) => [x.kind, x.ageS]), [['request', 5.5]]);
  const f = a.findings.find((x) => x.id === 'io.hang');
  assert.ok(f);
  assert.equal(f.params.dTasks, 1);
  assert.equal(f.params.frame, '__blkdev_direct_IO_simple');
  assert.equal(a.dTasks[0]!.tasks[0]!.pid, 42);
});

test('io.util.saturated and io.iowait.high at their thresholds', () => {
  const t = resolveThresholds();
  const ids = analyzeIo(capture({ trace: { histograms: [], slow: [], inflight: [], waits: [{ pid: 5, tid: 5, comm: 'db', totalMs: 600, count: 10, maxMs: 100, stack: ['io_schedule', 'folio_wait_bit_common', 'filemap_read'], cgroup: '/' }], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0 } }), t).findings.map((f) => f.id);
  assert.ok(ids.includes('io.util.saturated')); // 95 % ≥ 90 %
  assert.ok(ids.includes('io.iowait.high')); // 600 ms of 2 s = 30 %
  const low = analyzeIo(capture({ trace: { histograms: [], slow: [], inflight: [], waits: [{ pid: 5, tid: 5, comm: 'db', totalMs: 500, count: 10, maxMs: 100, stack: [], cgroup: '/' }], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0 } }), resolveThresholds({ 'io.utilPct': 96 }));
  assert.deepEqual(low.findings.map((f) => f.id), []);
});

test('document: validates against oscope.io/v1, renders in en and zh-CN; empty sections say why', () => {
  assert.ok((DOCUMENT_SCHEMAS as readonly string[]).includes('oscope.io/v1'));
  const a = analyzeIo(capture({ coverage: [{ section: 'latency', status: 'unavailable', reason: 'BPF turned off' }] }), resolveThresholds());
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = ioDocument(a, lang);
    IoDocumentSchema.parse(doc);
    DOCUMENT_SCHEMA_BY_NAME['oscope.io/v1'].parse(doc);
    assert.deepEqual(doc.latency.perDisk, []);
    assert.deepEqual(doc.traffic.files, []);
    const text = renderIoText(doc, lang, plainStyle);
    assert.ok(text.includes('vda'));
    assert.ok(text.includes('BPF turned off'));
  }
  for (const k of Object.keys(DEFAULT_THRESHOLDS).filter((x) => x.startsWith('io.'))) assert.ok(k in a.thresholds);
});
