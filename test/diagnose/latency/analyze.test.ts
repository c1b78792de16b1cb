/**
 * Pure tests: the event decoder against the C layout, the conversion to report events, histograms,
 * findings, the /proc/stat steal parser (real and hand-written fixtures, fuzzed) and the JSON schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, fixturePath, fuzzParser } from '../../helpers.js';
import { RL_EVENT_LAYOUT, RL_HIST_SIZE, RL_KIND, type RawLatencyEvent, decodeHistogram, decodeLatencyEvent } from '../../../src/diagnose/latency/bpf.js';
import { analyzeLatency, buildHistograms, histogramOf, toLatencyEvent, topFrame } from '../../../src/diagnose/latency/analyze.js';
import { isStealGap, parseStatSteal, stealDuring } from '../../../src/diagnose/latency/steal.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { RunlatencyDocumentSchema, renderRunlatencyText, runlatencyDocument } from '../../../src/report/runlatency.js';
import { plainStyle } from '../../../src/report/text.js';
import { latencyThresholds, parseDurationMs } from '../../../src/cli/commands/runlatency.js';

test('rl_event layout matches bpf/runlatency.h', () => {
  const h = readFileSync(fixturePath('..', '..', 'bpf', 'runlatency.h'), 'utf8');
  const m = /sizeof\(struct rl_event\) == (\d+)/.exec(h);
  assert.equal(Number(m?.[1]), RL_EVENT_LAYOUT.size);
  assert.match(h, new RegExp(`char comm\\[RL_COMM_LEN\\];`));
  // The histogram is the shared one (bpf/hist.h): 32 log2 slots, count, sum, max.
  assert.match(h, /#include "hist\.h"/);
  const hist = readFileSync(fixturePath('..', '..', 'bpf', 'hist.h'), 'utf8');
  assert.match(hist, /OSCOPE_HIST_SLOTS 32/);
  assert.equal(RL_HIST_SIZE, 35 * 8);
});

function encode(e: Partial<RawLatencyEvent> & { kindCode: number }): Buffer {
  const L = RL_EVENT_LAYOUT;
  const b = Buffer.alloc(L.size);
  b.writeBigUInt64LE(e.tsNs ?? 5_000_000_000n, L.tsNs);
  b.writeBigUInt64LE(BigInt(e.latencyNs ?? 0), L.latencyNs);
  b.writeBigUInt64LE(e.cgroupId ?? 1n, L.cgroupId);
  b.writeUInt32LE(e.kindCode, L.kind);
  b.writeUInt32LE(e.cpu ?? 0, L.cpu);
  b.writeUInt32LE(e.pid ?? 0, L.pid);
  b.writeUInt32LE(e.tgid ?? 0, L.tgid);
  b.writeUInt32LE(e.culpritPid ?? 0, L.culpritPid);
  b.writeUInt32LE(e.culpritTgid ?? 0, L.culpritTgid);
  b.writeInt32LE(e.stackId ?? -1, L.stackId);
  b.writeUInt32LE(e.extra ?? 0, L.extra);
  b.write(e.comm ?? '', L.comm);
  b.write(e.culpritComm ?? '', L.culpritComm);
  b.write(e.name ?? '', L.name);
  return b;
}

test('decodeLatencyEvent reads every field and rejects short or unknown records', () => {
  const b = encode({ kindCode: RL_KIND.runqueue, latencyNs: 51_234_567, cpu: 1, pid: 42, tgid: 40, culpritPid: 7, culpritTgid: 7, comm: 'victim', culpritComm: 'hog', stackId: 3 });
  const e = decodeLatencyEvent(b);
  assert.deepEqual(
    { kind: e.kind, lat: e.latencyNs, cpu: e.cpu, pid: e.pid, tgid: e.tgid, c: e.culpritComm, comm: e.comm, s: e.stackId },
    { kind: 'runqueue', lat: 51_234_567, cpu: 1, pid: 42, tgid: 40, c: 'hog', comm: 'victim', s: 3 },
  );
  assert.throws(() => decodeLatencyEvent(b.subarray(0, 100)), /expected 120/);
  assert.throws(() => decodeLatencyEvent(encode({ kindCode: 99 })), /unknown kind 99/);
});

test('toLatencyEvent names victims and culprits per kind', () => {
  const stackOf = (): string[] => ['_raw_spin_unlock_irqrestore+0x1d', 'do_thing+0x10'];
  const rq = toLatencyEvent(decodeLatencyEvent(encode({ kindCode: RL_KIND.runqueue, latencyNs: 50e6, tgid: 40, comm: 'v', culpritPid: 7, culpritTgid: 7, culpritComm: 'hog' })), 0, stackOf);
  assert.deepEqual([rq.kind, rq.pid, rq.comm, rq.culprit, rq.latencyMs, rq.stack], ['runqueue', 40, 'v', { pid: 7, comm: 'hog' }, 50, []]);
  assert.equal(rq.at, new Date(5000).toISOString());
  const sd = toLatencyEvent(decodeLatencyEvent(encode({ kindCode: RL_KIND.softirqDelay, extra: 3, tgid: 9, comm: 'busy' })), 0, stackOf);
  assert.deepEqual([sd.kind, sd.comm, sd.culprit], ['softirq', 'softirq:NET_RX:delay', { pid: 9, comm: 'busy' }]);
  const hi = toLatencyEvent(decodeLatencyEvent(encode({ kindCode: RL_KIND.hardirq, extra: 24, name: 'virtio0-input', tgid: 1, comm: 'x', stackId: 2 })), 0, stackOf);
  assert.deepEqual([hi.kind, hi.culprit?.comm, hi.stack.length], ['hardirq', 'irq:24:virtio0-input', 2]);
  assert.equal(topFrame(hi.stack), 'do_thing');
  // A paravirtual irq-enable without unwind data ends the unwound stack; the scanned frames name the section.
  assert.equal(topFrame(['__raw_callee_save_pvm_irq_enable+0x11', '? _raw_spin_unlock_irq+0x12', '? pagetypeinfo_showfree_print+0x88']), 'pagetypeinfo_showfree_print');
  assert.equal(topFrame(['pvm_irq_enable+0x9']), 'pvm_irq_enable');
});

test('histograms merge per CPU and per cgroup with percentiles from log2 buckets', () => {
  const key = (cg: bigint, cpu: number): Buffer => {
    const k = Buffer.alloc(16);
    k.writeBigUInt64LE(cg);
    k.writeUInt32LE(cpu, 8);
    return k;
  };
  const val = (slot: number, n: number, maxNs: number): Buffer => {
    const v = Buffer.alloc(RL_HIST_SIZE);
    v.writeBigUInt64LE(BigInt(n), slot * 8);
    v.writeBigUInt64LE(BigInt(n), 32 * 8);
    v.writeBigUInt64LE(BigInt(n * 1000 * 2 ** slot), 33 * 8);
    v.writeBigUInt64LE(BigInt(maxNs), 34 * 8);
    return v;
  };
  const raw = [decodeHistogram(key(1n, 0), val(4, 100, 30_000)), decodeHistogram(key(1n, 1), val(15, 10, 50_000_000)), decodeHistogram(key(99n, 1), val(2, 5, 7000))];
  const h = buildHistograms(raw, (id) => (id === 1n ? '/' : undefined));
  assert.deepEqual(h.runqueue.perCpu.map((x) => [x.cpu, x.count, x.maxMs]), [[0, 100, 0.03], [1, 15, 50]]);
  assert.deepEqual(h.runqueue.perCgroup.map((x) => [x.cgroup, x.count]), [['/', 110], ['id:99', 5]]);
  const one = histogramOf([0, 0, 10], 10 * 5000, 7000);
  assert.equal(one.p50Ms, 0.005); // the bucket's mean, not its middle (0.006)
  assert.equal(histogramOf([0, 0, 10], 10 * 3000, 7000).p50Ms, 0.006); // a mean outside [4, 8) µs: the middle
  assert.equal(one.buckets.length, 3);
});

test('analyzeLatency: findings say who suffered and who caused it; schema and text render', () => {
  const ev = (kind: 'runqueue' | 'nosched', lat: number, victim: string, culprit: string) => ({
    kind, cpu: 1, pid: 10, comm: victim, latencyMs: lat, at: new Date(0).toISOString(), stack: kind === 'nosched' ? ['do_big+0x1'] : [], culprit: { pid: 20, comm: culprit },
  });
  const a = analyzeLatency({
    durationS: 3,
    cpus: 2,
    thresholds: { irqoff: 10, softirq: 10, hardirq: 5, nosched: 10, runqueue: 20 },
    events: [ev('runqueue', 60, 'victim', 'hog'), ev('runqueue', 55, 'victim', 'hog'), ev('nosched', 30, 'next', 'busy')],
    histograms: { runqueue: { perCpu: [], perCgroup: [] } },
    stealGaps: 1,
    timerGaps: 2,
    lostEvents: 0,
    method: { runqueue: 'test' },
    coverage: [{ section: 'irqoff', status: 'complete' }],
  });
  // lat.summary (info) is always there, last.
  assert.deepEqual(a.findings.map((f) => f.id), ['lat.nosched', 'lat.runqueue.high', 'lat.summary']);
  const rq = a.findings.find((f) => f.id === 'lat.runqueue.high')!;
  assert.equal(rq.params.victim, 'victim');
  assert.equal(rq.params.culprit, 'hog');
  assert.equal(rq.params.maxMs, 60);
  assert.equal(a.summary.byKind.runqueue.count, 2);
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = runlatencyDocument(a, lang);
    RunlatencyDocumentSchema.parse(JSON.parse(JSON.stringify(doc)));
    const text = renderRunlatencyText(doc, lang, plainStyle);
    assert.match(text, /hog/);
    assert.match(text, /do_big/);
  }
  assert.match(runlatencyDocument(a, 'en').findings[1]!.conclusion, /victim \[10\].*hog \[20\]/);
});

test('parseStatSteal: real and hand-written /proc/stat, and malformed input', () => {
  const live = parseStatSteal(fixture('latency', 'proc-stat.txt'));
  assert.ok(live.size >= 1);
  const four = parseStatSteal(fixture('latency', 'proc-stat-4cpu-steal.txt'));
  assert.deepEqual([...four.entries()], [[0, 25000], [1, 31000], [2, 19000], [3, 16200]]);
  const old = parseStatSteal(fixture('latency', 'proc-stat-2.6.9-nosteal.txt'));
  assert.deepEqual([...old.values()], [0, 0]);
  assert.throws(() => parseStatSteal('cpu0 1 2 x 4 5 6 7 8\n', '/proc/stat'), (e: unknown) => e instanceof ParseError && /:1:/.test(e.message));
  assert.throws(() => parseStatSteal('intr 1 2\n'), ParseError);
  fuzzParser((t) => parseStatSteal(t), fixture('latency', 'proc-stat-4cpu-steal.txt'), '/proc/stat');
});

test('steal gaps: a gap covered by steal time is told apart from irq-off', () => {
  const s = [
    { atMs: 0, stealMs: new Map([[0, 100], [1, 0]]) },
    { atMs: 200, stealMs: new Map([[0, 130], [1, 0]]) },
  ];
  assert.equal(stealDuring(s, 0, 50, 150), 30);
  assert.equal(isStealGap(s, 0, 150, 40), true);
  assert.equal(isStealGap(s, 1, 150, 40), false);
  assert.equal(isStealGap(s, 0, 500, 40), false);
});

test('threshold flags: kind=Nms lists, units and generic keys', () => {
  assert.equal(parseDurationMs('500us'), 0.5);
  assert.equal(parseDurationMs('0.1s'), 100);
  assert.equal(parseDurationMs('7'), 7);
  assert.throws(() => parseDurationMs('fast'), /duration/);
  const r = latencyThresholds({ threshold: ['irqoff=20ms,runqueue=30ms', 'lat.noschedMs=15', 'softirq=0'] });
  assert.deepEqual(r.kinds, { irqoff: 20, softirq: 0, hardirq: 5, nosched: 15, runqueue: 30 });
});

test('topFrame: an irq-off sample lands where interrupts came back on; the frame is the lock holder', () => {
  // The stack of a real irq-off event (oscope simulate irq-off: /proc/pagetypeinfo free-list walks).
  assert.equal(topFrame(['_raw_spin_unlock_irq+0x11', 'pagetypeinfo_show+0x18c', 'seq_read_iter+0x12f', 'proc_reg_read_iter+0x5a', 'vfs_read+0x28e']), 'pagetypeinfo_show');
  assert.equal(topFrame(['_raw_spin_unlock_irqrestore+0x19', '__rmqueue_pcplist+0x645', 'get_page_from_freelist+0x2fe']), '__rmqueue_pcplist');
});

test('lat.summary: always one info finding with the window, wakeups, run-queue p99/worst and events over threshold; both languages', () => {
  const hist = (cpu: number, slots: number[], maxNs: number) => ({ cpu, cgroupId: 1n, slots, count: slots.reduce((a, b) => a + b, 0), sumNs: 1e6, maxNs });
  const histograms = buildHistograms([hist(0, [0, 0, 0, 10, 5], 30_000), hist(1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 25_000_000)], () => '/');
  const quiet = analyzeLatency({
    durationS: 10.04,
    cpus: 2,
    thresholds: { irqoff: 10, softirq: 10, hardirq: 5, nosched: 10, runqueue: 50 },
    events: [],
    histograms,
    stealGaps: 0,
    timerGaps: 0,
    lostEvents: 0,
    method: {},
    coverage: [],
  });
  assert.deepEqual(quiet.findings.map((f) => [f.id, f.severity]), [['lat.summary', 'info']]);
  const p = quiet.findings[0]!.params;
  assert.deepEqual([p.durationS, p.cpus, p.wakeups, p.events, p.worstCpu], [10, 2, 19, 0, 1]);
  assert.equal(p.maxMs, 25);
  assert.equal(p.p99Ms, histograms.runqueue.perCpu[1]!.p99Ms);
  for (const lang of ['en', 'zh-CN'] as const) {
    const f = runlatencyDocument(quiet, lang).findings[0]!;
    assert.ok(!/\{\w+\}/.test(f.title + f.conclusion + f.suggestions.join(' ')), `${lang}: ${f.conclusion}`);
    assert.match(f.conclusion, /19/);
    assert.match(f.suggestions[0]!, /--cpu 1/);
  }
  const none = analyzeLatency({ ...{ durationS: 1, cpus: 0, thresholds: quiet.thresholds, events: [], histograms: { runqueue: { perCpu: [], perCgroup: [] } }, stealGaps: 0, timerGaps: 0, lostEvents: 0, method: {}, coverage: [] } });
  assert.deepEqual([none.findings[0]!.params.wakeups, none.findings[0]!.params.p99Ms], [0, 0]);
});
