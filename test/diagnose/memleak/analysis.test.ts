/**
 * The memleak analysis on synthetic series: fitting, ranking by sustained growth, the instant check,
 * the verdict, grouping of live allocations by stack, and the oscope.memleak/v1 document in both
 * languages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkVerdict, decideVerdict, instantCheck } from '../../../src/diagnose/memleak/analyze.js';
import { type GrowthSample, fitSeries, linearFit, monotonicity, pickSuspect, rankGrowth } from '../../../src/diagnose/memleak/growth.js';
import { pageSeries, unaccountedBytes } from '../../../src/diagnose/memleak/sample.js';
import { ALLOC_INFO_LAYOUT, addrHash, attachFromEnv, callsiteOf, decodeAlloc, floorShift, groupOutstanding, lowerShift, programsFor, thinEntries, withoutTracingFrames } from '../../../src/diagnose/memleak/trace.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { parseMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { MemleakDocumentSchema, memleakDocument, renderMemleakText } from '../../../src/report/memleak.js';
import { plainStyle } from '../../../src/report/text.js';

const th = resolveThresholds();
const MiB = 1024 ** 2;

function series(fns: Record<string, (tS: number) => number>, n = 30, stepS = 1): GrowthSample[] {
  const out: GrowthSample[] = [];
  for (let i = 0; i < n; i++) {
    const tS = i * stepS;
    out.push({ tMs: tS * 1000, bytes: new Map(Object.entries(fns).map(([k, f]) => [k, Math.round(f(tS))])) });
  }
  return out;
}

test('linearFit: exact slope and R² of a line, zero for a flat or single point', () => {
  const f = linearFit([0, 1, 2, 3], [10, 12, 14, 16]);
  assert.equal(f.slope, 2);
  assert.equal(f.r2, 1);
  assert.deepEqual(linearFit([0, 1, 2], [5, 5, 5]), { slope: 0, r2: 0 });
  assert.deepEqual(linearFit([1], [1]), { slope: 0, r2: 0 });
});

test('median3: a one-sample spike is removed, steps and ramps are kept', async () => {
  const { median3 } = await import('../../../src/diagnose/memleak/growth.js');
  assert.deepEqual(median3([1, 2, 50, 4, 5]), [1, 2, 4, 5, 5]);
  assert.deepEqual(median3([0, 0, 0, 9, 9, 9]), [0, 0, 0, 9, 9, 9]);
  assert.deepEqual(median3([1, 2, 3, 4]), [1, 2, 3, 4]);
});

test('rankGrowth: a steady leak with one spike from another tool stays sustained', () => {
  const s = series({ leak: (t) => t * MiB + (t === 7 ? 40 * MiB : 0) });
  assert.equal(rankGrowth(s, th)[0]!.sustained, true);
});

test('monotonicity: zero steps are neutral, a sawtooth is not monotonic', () => {
  assert.equal(monotonicity([1, 1, 2, 2, 3]), 1);
  assert.equal(monotonicity([1, 2, 1, 2, 1]), 0.5);
  assert.equal(monotonicity([4, 4, 4]), 0);
});

test('rankGrowth: a small steady leak outranks a big flat cache and a burst', () => {
  const s = series({
    big: () => 500 * MiB, // huge and flat
    leak: (t) => 2 * MiB + t * 1 * MiB, // 1 MiB/s steady, in 16 KiB steps
    burst: (t) => (t < 15 ? 1 * MiB : 40 * MiB), // one jump: monotonic but a poor fit
    noisy: (t) => 10 * MiB + (t % 2 === 0 ? 0 : 3 * MiB) + (t % 4 === 1 ? -6 * MiB : 0), // sawtooth, no trend
  });
  const ranked = rankGrowth(s, th);
  assert.equal(ranked[0]!.name, 'leak');
  assert.ok(ranked[0]!.sustained);
  assert.ok(Math.abs(ranked[0]!.bytesPerS - MiB) < 1024);
  for (const n of ['big', 'burst', 'noisy']) assert.equal(ranked.find((r) => r.name === n)!.sustained, false, n);
  assert.equal(pickSuspect(ranked)!.name, 'leak');
  assert.equal(pickSuspect(ranked, 'big')!.name, 'big', '--cache names the suspect even when flat');
  assert.equal(pickSuspect(rankGrowth(s, th, (n) => n === 'leak')), undefined, 'excluded names never become suspects');
});

test('fitSeries: growth below the rate or total thresholds is not sustained', () => {
  const slow = series({ slow: (t) => t * 8 * 1024 });
  assert.equal(fitSeries('slow', slow, th).sustained, false);
  const short = series({ x: (t) => t * MiB }, 2);
  assert.equal(fitSeries('x', short, th).sustained, false, 'two samples are not enough');
});

const MEMINFO = `MemTotal:       16000000 kB
MemFree:         8000000 kB
MemAvailable:   12000000 kB
Active:          2000000 kB
Inactive:        3000000 kB
Unevictable:           0 kB
Slab:             900000 kB
SUnreclaim:       400000 kB
KernelStack:       20000 kB
PageTables:        30000 kB
VmallocUsed:       50000 kB
Percpu:            10000 kB
Hugetlb:               0 kB
`;

test('unaccountedBytes: MemTotal minus every explaining counter and the per-CPU free lists', () => {
  const m = parseMeminfo(MEMINFO);
  const explained = 8000000 + 2000000 + 3000000 + 900000 + 20000 + 30000 + 50000 + 10000;
  assert.equal(unaccountedBytes(m), (16000000 - explained) * 1024);
  assert.equal(unaccountedBytes(m, 1024 * 1024), (16000000 - explained) * 1024 - 1024 * 1024);
  assert.equal(pageSeries(m).get('unaccounted'), unaccountedBytes(m));
  assert.equal(unaccountedBytes(m, 1e15), 0, 'never negative');
});

test('instantCheck: counters over their thresholds give mem.kernel.leak-suspect, with trend from history', () => {
  const total = 16 * 1024 * MiB;
  const quiet = instantCheck({ memTotalBytes: total, slabUnreclaimableBytes: 300 * MiB, vmallocBytes: 50 * MiB, unaccountedBytes: 100 * MiB }, th);
  assert.deepEqual(quiet.findings, []);
  assert.equal(checkVerdict(quiet).confidence, 'none');
  const high = instantCheck(
    {
      memTotalBytes: total,
      slabUnreclaimableBytes: 3 * 1024 * MiB,
      vmallocBytes: 50 * MiB,
      unaccountedBytes: 100 * MiB,
      topSlab: { name: 'kmalloc-256', bytes: 2 * 1024 * MiB },
      history: [
        { tS: 0, slabUnreclaimableBytes: 1024 * MiB, vmallocBytes: 50 * MiB, unaccountedBytes: 100 * MiB },
        { tS: 1000, slabUnreclaimableBytes: 2 * 1024 * MiB, vmallocBytes: 50 * MiB, unaccountedBytes: 100 * MiB },
      ],
    },
    th,
    2000,
  );
  assert.deepEqual(high.over, ['slab']);
  assert.equal(high.findings[0]!.id, 'mem.kernel.leak-suspect');
  assert.equal(high.findings[0]!.params.suspect, 'kmalloc-256');
  assert.ok(Math.abs(high.counters.slab.bytesPerS! - 1024 * MiB / 1000) < 1);
  assert.equal(high.findings[0]!.extraSuggestions?.[0]?.key, 'memleak.suggest.trend');
  const v = checkVerdict(high);
  assert.equal(v.leaking, false);
  assert.equal(v.kind, 'slab');
});

const allocStack = ['bpf_prog_1_oscope_ml_cache+0x229 [bpf]', 'bpf_trace_run5+0x112', 'kmem_cache_alloc_noprof+0x230', 'do_epoll_ctl+0x3dc', '__x64_sys_epoll_ctl+0x6b'];

test('callsiteOf / groupOutstanding: skips allocator frames, keeps only old allocations, groups by stack', () => {
  assert.equal(callsiteOf(allocStack), 'do_epoll_ctl+0x3dc');
  assert.equal(callsiteOf([]), '(no stack)');
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(0xffff888000001000n);
  const val = Buffer.alloc(24);
  val.writeBigUInt64LE(128n, 0);
  val.writeBigUInt64LE(5_000_000_000n, 8);
  val.writeInt32LE(7, 16);
  assert.deepEqual(decodeAlloc(key, val), { address: 0xffff888000001000n, sizeBytes: 128, tsNs: 5_000_000_000n, stackId: 7, shift: 0 });
  val.writeUInt32LE(6, ALLOC_INFO_LAYOUT.shift);
  assert.equal(decodeAlloc(key, val).shift, 6);
  const now = 20_000_000_000n;
  const allocs = [
    { address: 1n, sizeBytes: 128, tsNs: 1_000_000_000n, stackId: 7 },
    { address: 2n, sizeBytes: 128, tsNs: 2_000_000_000n, stackId: 7 },
    { address: 3n, sizeBytes: 4096, tsNs: 19_000_000_000n, stackId: 8 }, // too young
    { address: 4n, sizeBytes: 64, tsNs: 3_000_000_000n, stackId: 9 },
  ];
  const stacks: Record<number, string[]> = { 7: allocStack, 8: ['alloc_pages_noprof+0x4c', 'anon_pipe_write+0x1a8'], 9: ['kmalloc_trace+0x1', 'other_fn+0x2'] };
  const g = groupOutstanding(allocs, now, 10, (id) => stacks[id] ?? []);
  assert.equal(g.length, 2);
  assert.deepEqual(
    { symbol: g[0]!.symbol, bytes: g[0]!.outstandingBytes, count: g[0]!.count, oldest: g[0]!.oldestAgeS },
    { symbol: 'do_epoll_ctl+0x3dc', bytes: 256, count: 2, oldest: 19 },
  );
  const focused = groupOutstanding(allocs, now, 10, (id) => stacks[id] ?? [], 'other_fn');
  assert.deepEqual(focused.map((c) => c.symbol), ['other_fn+0x2']);
});

test('groupOutstanding: a sampled allocation stands for 2^shift of its size', () => {
  const allocs = [
    { address: 1n, sizeBytes: 128, tsNs: 1_000_000_000n, stackId: 7, shift: 6 },
    { address: 2n, sizeBytes: 128, tsNs: 1_000_000_000n, stackId: 7, shift: 5 },
    { address: 3n, sizeBytes: 128, tsNs: 1_000_000_000n, stackId: 7 },
  ];
  const [g] = groupOutstanding(allocs, 20_000_000_000n, 1, () => allocStack);
  assert.deepEqual({ count: g!.count, bytes: g!.outstandingBytes }, { count: 64 + 32 + 1, bytes: 128 * 97 });
});

test('programsFor: only the programs the filter needs, per attach method', () => {
  const names = (m: 'tp_btf' | 'raw_tp', name?: string): string[] => programsFor(m, { type: 'slab', ...(name !== undefined ? { name } : {}) }).map((x) => x.tracepoint);
  assert.deepEqual(names('tp_btf', 'eventpoll_epi'), ['kmem_cache_alloc', 'kmem_cache_free']);
  assert.deepEqual(names('tp_btf', 'kmalloc-64'), ['kmalloc', 'kfree']);
  assert.deepEqual(names('raw_tp', 'dma-kmalloc-128'), ['kmalloc', 'kmalloc_node', 'kfree']);
  assert.deepEqual(names('raw_tp', 'eventpoll_epi'), ['kmem_cache_alloc', 'kmem_cache_alloc_node', 'kmem_cache_free']);
  assert.equal(names('tp_btf').length, 4, 'no cache: every slab tracepoint');
  assert.deepEqual(programsFor('raw_tp', { type: 'vmalloc' }).map((x) => x.name), ['oscope_mlr_va', 'oscope_mlr_vf']);
  assert.ok(programsFor('raw_tp', { type: 'slab', name: 'x' }).filter((x) => x.optional).every((x) => /_node$/.test(x.tracepoint)), 'only the pre-6.1 NUMA variants are optional');
});

test('lowerShift / floorShift: user space lowers the sampling shift only with room to spare, never below the floor', () => {
  // 2 CPUs, budget 20,000/s: room is 2,500/s at the lowered shift.
  assert.equal(lowerShift(1_000_000, 20_000, 2, 9, 0), 9, '1M/s needs 1 in 512 (1,953/s): stays');
  assert.equal(lowerShift(100_000, 20_000, 2, 9, 0), 6, '100k/s: 1 in 64 gives 1,562/s');
  assert.equal(lowerShift(1_000, 20_000, 2, 9, 0), 0, 'a quiet cache: every allocation again');
  assert.equal(lowerShift(1_000, 20_000, 2, 9, 4), 4, 'not below a fixed memleak.sampleEvery');
  assert.equal(lowerShift(1_000, 0, 2, 3, 0), 3, 'budget 0: no adaptation');
  assert.equal(lowerShift(1e9, 20_000, 2, 2, 0), 2, 'never raises (the kernel does)');
  assert.deepEqual([1, 2, 3, 16, 17].map(floorShift), [0, 1, 2, 4, 5]);
});

test('thinEntries: re-sampling to a higher shift keeps the addresses that shift keeps, promoted, and about 1 in 2^k of the rest', () => {
  const entry = (addr: bigint, shift: number): { key: Buffer; value: Buffer } => {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(addr);
    const value = Buffer.alloc(ALLOC_INFO_LAYOUT.bytes);
    value.writeBigUInt64LE(128n, ALLOC_INFO_LAYOUT.size);
    value.writeUInt32LE(shift, ALLOC_INFO_LAYOUT.shift);
    return { key, value };
  };
  // 4,096 slab-like addresses (128-byte objects) kept at shift 0, and one already at shift 5.
  const entries = Array.from({ length: 4096 }, (_, i) => entry(0xffff888100000000n + BigInt(i) * 128n, 0));
  entries.push(entry(0xffff888200000000n, 5));
  const { promote, drop } = thinEntries(entries, 3);
  assert.equal(promote.length + drop.length, 4096, 'the entry already at shift 5 is left alone');
  for (const e of promote) {
    assert.equal(addrHash(e.key.readBigUInt64LE(0)) & 7n, 0n);
    assert.equal(e.value.readUInt32LE(ALLOC_INFO_LAYOUT.shift), 3);
  }
  for (const k of drop) assert.notEqual(addrHash(k.readBigUInt64LE(0)) & 7n, 0n);
  // Scaled back (×8), the thinned sample estimates the 4,096 it replaces.
  assert.ok(Math.abs(promote.length * 8 - 4096) < 0.15 * 4096, `${promote.length} × 8 is not near 4096`);
  assert.equal(entries[0]!.value.readUInt32LE(ALLOC_INFO_LAYOUT.shift), 0, 'the input is not modified');
  assert.equal(addrHash(0n), 0n);
  assert.equal(addrHash(1n), 0x9e3779b9n, 'the high half of the golden-ratio product, as in addr_hash()');
});

test('attachFromEnv: OSCOPE_MEMLEAK_ATTACH picks attach methods, anything else is one clear sentence', () => {
  assert.equal(attachFromEnv(undefined), undefined);
  assert.equal(attachFromEnv(' '), undefined);
  assert.deepEqual(attachFromEnv('raw_tp'), ['raw_tp']);
  assert.deepEqual(attachFromEnv('tp_btf, raw_tp'), ['tp_btf', 'raw_tp']);
  assert.deepEqual(attachFromEnv('kprobe'), ['kprobe']);
  assert.deepEqual(attachFromEnv('fentry,kprobe'), ['fentry', 'kprobe']);
  assert.throws(() => attachFromEnv('fexit'), /OSCOPE_MEMLEAK_ATTACH takes tp_btf, raw_tp, fentry, kprobe \(comma-separated\), got "fexit"/);
});

function leakRun(callsites: boolean): ReturnType<typeof decideVerdict> {
  const s = series({ eventpoll_epi: (t) => MiB + t * MiB, filp: () => 5 * MiB }, 20);
  const ranked = rankGrowth(s, th);
  const check = instantCheck({ memTotalBytes: 16 * 1024 * MiB, slabUnreclaimableBytes: 300 * MiB, vmallocBytes: 0, unaccountedBytes: 0 }, th);
  return decideVerdict(
    {
      type: 'slab',
      durationS: 19,
      memTotalBytes: 16 * 1024 * MiB,
      availableBytes: 12 * 1024 * MiB,
      ranked,
      suspect: pickSuspect(ranked),
      suspectAliases: ['eventpoll_epi', 'fib6_node'],
      minAgeS: 6,
      check,
      ...(callsites ? { callsites: [{ symbol: 'do_epoll_ctl+0x3dc', stack: allocStack, outstandingBytes: 5 * MiB, count: 40960, oldestAgeS: 18 }] } : {}),
    },
    th,
  );
}

test('decideVerdict: growth + old live allocations = mem.kernel.leak (high), growth alone = leak-suspect (medium)', () => {
  const confirmed = leakRun(true);
  assert.equal(confirmed.verdict.leaking, true);
  assert.equal(confirmed.verdict.confidence, 'high');
  assert.equal(confirmed.findings[0]!.id, 'mem.kernel.leak');
  assert.equal(confirmed.findings[0]!.params.name, 'eventpoll_epi (fib6_node)');
  assert.equal(confirmed.findings[0]!.params.symbol, 'do_epoll_ctl+0x3dc');
  const growthOnly = leakRun(false);
  assert.equal(growthOnly.verdict.leaking, true);
  assert.equal(growthOnly.verdict.confidence, 'medium');
  assert.equal(growthOnly.findings[0]!.id, 'mem.kernel.leak-suspect');
});

test('oscope.memleak/v1: schema-valid in en and zh-CN, with exactly the documented fields, and text renders', () => {
  const { verdict, findings } = leakRun(true);
  const analysis = {
    type: 'slab' as const,
    durationS: 19,
    verdict,
    growth: [{ name: 'eventpoll_epi', startBytes: MiB, endBytes: 20 * MiB, bytesPerS: MiB }],
    callsites: [{ symbol: 'do_epoll_ctl+0x3dc', stack: allocStack, outstandingBytes: 5 * MiB, count: 40960, oldestAgeS: 18 }],
    findings,
    method: { growth: 'slabinfo' },
    coverage: [{ section: 'tracing', status: 'complete' as const }],
  };
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = MemleakDocumentSchema.parse(JSON.parse(JSON.stringify(memleakDocument(analysis, lang))));
    assert.deepEqual(Object.keys(doc).sort(), ['callsites', 'coverage', 'durationS', 'findings', 'growth', 'method', 'schema', 'type', 'verdict']);
    assert.deepEqual(Object.keys(doc.verdict).sort(), ['confidence', 'kind', 'leaking', 'reason']);
    assert.ok(!doc.verdict.reason.includes('{'), doc.verdict.reason);
    for (const f of doc.findings) assert.ok(!f.conclusion.includes('{'), f.conclusion);
    const text = renderMemleakText(doc, lang, plainStyle);
    assert.match(text, /eventpoll_epi/);
    assert.match(text, /do_epoll_ctl\+0x3dc/);
  }
  const check = instantCheck({ memTotalBytes: 1024 * MiB, slabUnreclaimableBytes: 512 * MiB, vmallocBytes: 0, unaccountedBytes: 0 }, th);
  const doc = memleakDocument({ type: 'check', durationS: 0, verdict: checkVerdict(check), growth: [], callsites: [], findings: check.findings, method: {}, coverage: [] }, 'en');
  MemleakDocumentSchema.parse(doc);
  assert.match(renderMemleakText(doc, 'en', plainStyle), /Possible kernel memory leak/);
});

test('bpf/memleak.h and the TypeScript mirror agree on struct memleak_alloc, the stat, control and state indexes', async () => {
  const { readFileSync } = await import('node:fs');
  const { REPO_ROOT } = await import('../../helpers.js');
  const { ALLOC_INFO_LAYOUT, STAT_INDEX, CONTROL, STATE, MEMLEAK_MODE, MEMLEAK_NAME_LEN, MEMLEAK_MAX_TRACKED, MEMLEAK_MAX_SHIFT } = await import('../../../src/diagnose/memleak/trace.js');
  const h = readFileSync(`${REPO_ROOT}/bpf/memleak.h`, 'utf8');
  const offsets = [...h.matchAll(/offsetof\(struct memleak_alloc, \w+\) == (\d+), "(\w+)"/g)].map((m) => [m[2]!, Number(m[1])]);
  assert.deepEqual(Object.fromEntries(offsets), { size: ALLOC_INFO_LAYOUT.size, tsNs: ALLOC_INFO_LAYOUT.tsNs, stackId: ALLOC_INFO_LAYOUT.stackId, shift: ALLOC_INFO_LAYOUT.shift });
  assert.match(h, new RegExp(`sizeof\\(struct memleak_alloc\\) == ${ALLOC_INFO_LAYOUT.bytes}`));
  const num = (name: string): number => Number(new RegExp(`${name}\\s*=?\\s*(\\d+)`).exec(h)?.[1]);
  assert.equal(num('MEMLEAK_STAT_SEEN'), STAT_INDEX.seen);
  assert.equal(num('MEMLEAK_STAT_TRACKED'), STAT_INDEX.tracked);
  assert.equal(num('MEMLEAK_STAT_FULL'), STAT_INDEX.full);
  assert.equal(num('MEMLEAK_STAT_FREED'), STAT_INDEX.freed);
  assert.equal(num('MEMLEAK_STAT_RAISED'), STAT_INDEX.raised);
  assert.equal(num('MEMLEAK_CTL_STATE'), CONTROL.state);
  assert.equal(num('MEMLEAK_CTL_SHIFT'), CONTROL.shift);
  assert.equal(num('MEMLEAK_CTL_FREE_SHIFT'), CONTROL.freeShift);
  assert.equal(num('MEMLEAK_STATE_OFF'), STATE.off);
  assert.equal(num('MEMLEAK_STATE_TRACK'), STATE.track);
  assert.equal(num('MEMLEAK_STATE_CALIBRATE'), STATE.calibrate);
  assert.equal(num('MEMLEAK_STATE_FREES'), STATE.frees);
  assert.equal(num('#define MEMLEAK_MAX_SHIFT'), MEMLEAK_MAX_SHIFT);
  assert.equal(num('MEMLEAK_MODE_SLAB'), MEMLEAK_MODE.slab);
  assert.equal(num('MEMLEAK_MODE_PAGE'), MEMLEAK_MODE.page);
  assert.equal(num('MEMLEAK_MODE_VMALLOC'), MEMLEAK_MODE.vmalloc);
  assert.equal(num('#define MEMLEAK_NAME_LEN'), MEMLEAK_NAME_LEN);
  assert.equal(num('#define MEMLEAK_MAX_TRACKED'), MEMLEAK_MAX_TRACKED);
});

test('withoutTracingFrames: drops our BPF program and the tracepoint dispatch at the top, nothing else', () => {
  const stack = ['bpf_prog_f2fee707b0475dc9_oscope_ml_cache+0x464 [bpf]', 'bpf_trace_run5+0x112', 'kmem_cache_alloc_noprof+0x230', 'do_epoll_ctl+0x3dc', '__x64_sys_epoll_ctl+0x6b'];
  assert.deepEqual(withoutTracingFrames(stack), stack.slice(2));
  assert.equal(callsiteOf(withoutTracingFrames(stack)), 'do_epoll_ctl+0x3dc');
  assert.deepEqual(withoutTracingFrames(['kmalloc_trace+0x10', 'bpf_trace_run2+0x1']), ['kmalloc_trace+0x10', 'bpf_trace_run2+0x1']);
  assert.deepEqual(withoutTracingFrames(['bpf_trace_run2+0x1']), ['bpf_trace_run2+0x1']);
  assert.deepEqual(withoutTracingFrames([]), []);
});
