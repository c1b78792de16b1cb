/**
 * `oscope load` from fixtures: the /proc/stat and cpu.stat parsers (real files, fuzzed), the BPF record
 * decoder, and the analysis on captures built from them (every finding, its numbers, both languages).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOCUMENT_SCHEMA_BY_NAME, DOCUMENT_SCHEMAS } from '../../../src/contract/index.js';
import { LOAD_SCHEMA, LoadDocumentSchema } from '../../../src/contract/load.js';
import { analyzeLoad, cpuSplit, dStackGroups, trendOf } from '../../../src/diagnose/load/analyze.js';
import { LOAD_F, LOAD_TASK_LAYOUT, decodeLoadTasks } from '../../../src/diagnose/load/bpf.js';
import type { CapturedTask, LoadCapture } from '../../../src/diagnose/load/collect.js';
import { LoadParamsSchema } from '../../../src/diagnose/load/params.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { parseCfsQuota, parseCpuMax, parseCpuStatV1, parseCpuStatV2 } from '../../../src/kernel/cgroup/cpu-stat.js';
import { parseLoadavg } from '../../../src/kernel/procfs/loadavg.js';
import { type CpuTimes, type ProcStatFile, parseProcStatFile } from '../../../src/kernel/procfs/stat.js';
import { loadDocument, renderLoadText } from '../../../src/report/load.js';
import { plainStyle } from '../../../src/report/text.js';
import { fixture, fuzzParser } from '../../helpers.js';
import { loadParamsFrom } from '../../../src/cli/commands/load.js';
import { UserError } from '../../../src/cli/errors.js';

test('/proc/stat: this kernel (6.18) and a 4.19 file', () => {
  const s = parseProcStatFile(fixture('proc', 'stat'));
  assert.ok(s.perCpu.size >= 1);
  assert.ok(s.processes > 0 && s.ctxt > 0);
  const old = parseProcStatFile(fixture('proc', 'stat-4.19-4cpu'));
  assert.equal(old.perCpu.size, 4);
  assert.deepEqual(old.perCpu.get(2), { user: 3703572, nice: 114407, system: 977375, idle: 10068930, iowait: 3239, irq: 0, softirq: 2248, steal: 0, guest: 0, guestNice: 0 });
  assert.equal(old.processes, 20713);
  assert.equal(old.procsRunning, 3);
  // A 2.6.10-era line without iowait/irq/softirq/steal reads them as 0.
  const ancient = parseProcStatFile('cpu  1 2 3 4\ncpu0 1 2 3 4\nctxt 5\nprocesses 6\nprocs_running 1\nprocs_blocked 0\n');
  assert.equal(ancient.total.steal, 0);
  assert.throws(() => parseProcStatFile('cpu0 1 2 3 4\nctxt 1\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n'), /no aggregate "cpu" line/);
  assert.throws(() => parseProcStatFile('cpu 1 2 x 4\n'), /\/proc\/stat:1: expected an integer for system/);
  fuzzParser((t) => parseProcStatFile(t), fixture('proc', 'stat-4.19-4cpu'), '/proc/stat');
});

test('cpu.stat: v1 (6.18 with bursts, 4.19) and v2 (with and without the cpu controller), quotas', () => {
  assert.deepEqual(parseCpuStatV1(fixture('cgroup', 'cpu.stat.v1')), { nrPeriods: 0, nrThrottled: 0, throttledUs: 0, usageUs: null });
  assert.deepEqual(parseCpuStatV1(fixture('cgroup', 'cpu.stat.v1-4.19')), { nrPeriods: 52, nrThrottled: 37, throttledUs: 4417362, usageUs: null });
  assert.deepEqual(parseCpuStatV2(fixture('cgroup', 'cpu.stat.v2')), { nrPeriods: 11390, nrThrottled: 10952, throttledUs: 898462207, usageUs: 90721306 });
  assert.deepEqual(parseCpuStatV2(fixture('cgroup', 'cpu.stat.v2-nocpu')), { nrPeriods: 0, nrThrottled: 0, throttledUs: 0, usageUs: 1218433 });
  assert.throws(() => parseCpuStatV1('nr_periods 1\n', 'x/cpu.stat'), /x\/cpu.stat:1: nr_throttled is missing/);
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCpuMax('20000 100000\n'), 0.2);
  assert.equal(parseCfsQuota('-1\n', '100000\n'), null);
  assert.equal(parseCfsQuota('150000\n', '100000\n'), 1.5);
  assert.throws(() => parseCpuMax('lots'), /cpu.max:1/);
  fuzzParser((t) => parseCpuStatV1(t), fixture('cgroup', 'cpu.stat.v1-4.19'), 'cpu.stat');
  fuzzParser((t) => parseCpuStatV2(t), fixture('cgroup', 'cpu.stat.v2'), 'cpu.stat');
});

test('decodeLoadTasks: records with and without stacks, a truncated tail dropped', () => {
  const L = LOAD_TASK_LAYOUT;
  const rec = (tgid: number, pid: number, state: 0 | 1, frames: bigint[], flags = 0): Buffer => {
    const b = Buffer.alloc(L.size + frames.length * 8);
    b.writeBigUInt64LE(42n, L.cgroupId);
    b.writeBigUInt64LE(1_500_000_000n, L.waitNs);
    b.writeBigUInt64LE(7n, L.switches);
    b.writeUInt32LE(tgid, L.tgid);
    b.writeUInt32LE(pid, L.pid);
    b.writeUInt32LE(1, L.cpu);
    b.writeUInt32LE(2, L.allowed);
    b.writeUInt32LE(state, L.state);
    b.writeUInt32LE(flags, L.flags);
    b.writeUInt32LE(state ? 77 : 0, L.ownerPid);
    b.writeUInt32LE(frames.length, L.nframes);
    b.write('worker', L.comm);
    if (state) b.write('holder', L.ownerComm);
    frames.forEach((f, i) => b.writeBigUInt64LE(f, L.size + i * 8));
    return b;
  };
  const buf = Buffer.concat([rec(10, 10, 0, []), rec(20, 21, 1, [0xffffffff81000010n, 0xffffffff81000020n], LOAD_F.waitSwitch | LOAD_F.ownerMutex), rec(30, 30, 0, []).subarray(0, 40)]);
  const out = decodeLoadTasks(buf);
  assert.equal(out.length, 2);
  assert.equal(out[0]!.state, 'R');
  assert.deepEqual(out[0]!.stack, []);
  assert.equal(out[1]!.state, 'D');
  assert.equal(out[1]!.comm, 'worker');
  assert.equal(out[1]!.ownerComm, 'holder');
  assert.equal(out[1]!.waitNs, 1.5e9);
  assert.deepEqual(out[1]!.stack, [0xffffffff81000010n, 0xffffffff81000020n]);
});

const times = (o: Partial<CpuTimes>): CpuTimes => ({ user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0, ...o });
const stat = (perCpu: CpuTimes[], processes: number): ProcStatFile => {
  const total = perCpu.reduce((a, c) => times(Object.fromEntries(Object.keys(a).map((k) => [k, a[k as keyof CpuTimes] + c[k as keyof CpuTimes]]))), times({}));
  return { total, perCpu: new Map(perCpu.map((c, i) => [i, c])), ctxt: 1, btime: 0, processes, procsRunning: 1, procsBlocked: 0 };
};
const task = (o: Partial<CapturedTask> & Pick<CapturedTask, 'pid' | 'tid' | 'state'>): CapturedTask => ({ comm: `t${o.pid}`, cpu: 0, allowed: 2, cgroup: '/', waitMs: null, waitSource: null, switches: 1, stack: [], ...o });

/** 2 s on 2 CPUs, 10 samples; whatever `over` replaces. */
function capture(over: Partial<LoadCapture> = {}): LoadCapture {
  return {
    intervalS: 2,
    cpus: 2,
    scope: null,
    loadavgBefore: parseLoadavg('1.00 1.00 1.00 2/300 100\n'),
    loadavgAfter: parseLoadavg('1.00 1.00 1.00 2/300 100\n'),
    statBefore: stat([times({}), times({})], 1000),
    statAfter: stat([times({ user: 50, idle: 150 }), times({ user: 50, idle: 150 })], 1010),
    samples: Array.from({ length: 10 }, (_, i) => ({ atMs: i * 200, tasks: [] })),
    forks: { forks: 0, execs: 0, parents: [] },
    cgroupVersion: 1,
    cgroups: [],
    method: {},
    coverage: [],
    ...over,
  };
}

const ids = (c: LoadCapture, over: Record<string, number> = {}): string[] => analyzeLoad(c, resolveThresholds(over)).findings.map((f) => f.id);

test('a quiet host: no findings, and the document validates in both languages', () => {
  const a = analyzeLoad(capture(), resolveThresholds());
  assert.deepEqual(a.findings, []);
  assert.equal(a.cpu.userPct, 25);
  assert.equal(a.cpu.idlePct, 75);
  assert.equal(a.forks.perS, 5);
  assert.equal(a.loadavg.trend, 'steady');
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = loadDocument(a, lang);
    LoadDocumentSchema.parse(doc);
    assert.ok(renderLoadText(doc, lang, plainStyle).length > 0);
  }
  assert.ok(DOCUMENT_SCHEMAS.includes(LOAD_SCHEMA));
  assert.equal(DOCUMENT_SCHEMA_BY_NAME[LOAD_SCHEMA], LoadDocumentSchema);
});

test('load.runnable.high: 4 busy threads of one process and 2 of another on 2 CPUs', () => {
  const samples = Array.from({ length: 10 }, (_, i) => ({
    atMs: i * 200,
    tasks: [...[1, 2, 3, 4].map((k) => task({ pid: 100, tid: 100 + k - 1, state: 'R', comm: 'busy', cpu: k % 2 })), task({ pid: 200, tid: 200, state: 'R', comm: 'other' }), task({ pid: 200, tid: 201, state: 'R', comm: 'other', cpu: 1 })],
  }));
  const a = analyzeLoad(capture({ samples }), resolveThresholds());
  assert.equal(a.meanRunnable, 6);
  const busy = a.tasks.find((x) => x.pid === 100)!;
  assert.equal(busy.runnablePct, 400);
  assert.equal(busy.threads, 4);
  const f = a.findings.find((x) => x.id === 'load.runnable.high')!;
  assert.equal(f.severity, 'critical'); // 3 per CPU ≥ 2 × 1.5
  assert.equal(f.params.top, 'busy [100]');
  assert.equal(f.params.sharePct, 66.67);
  const doc = loadDocument(a, 'en');
  assert.match(doc.findings[0]!.conclusion, /^Over the interval 6 threads were runnable on average \(3 per CPU, threshold 1\.5; load1 1\)/);
  assert.match(loadDocument(a, 'zh-CN').findings[0]!.title, /2 个 CPU 上有 6 个线程/);
});

test('load.uninterruptible.high: D threads grouped by stack, with the longest wait and the lock owner', () => {
  const fuse = ['fuse_get_req+0x1c6/0x2d0', 'fuse_simple_request+0x3d/0x6a0', 'fuse_lookup_name+0xd4/0x210', 'fuse_lookup+0x5a/0x1c0'];
  const mutex = ['__mutex_lock.constprop.0+0x1a/0x2', 'some_ioctl+0x10/0x40'];
  const samples = Array.from({ length: 10 }, (_, i) => ({
    atMs: i * 200,
    tasks: [
      ...[1, 2, 3].map((k) => task({ pid: 300 + k, tid: 300 + k, state: 'D', comm: 'osc-d-blocked', stack: fuse, waitMs: 5000 + i * 200, waitSource: 'estimate' })),
      // Blocked since before the samples, wait unknown: it counts from the first sample it was seen in.
      task({ pid: 400, tid: 400, state: 'D', comm: 'locker', stack: mutex, switches: 9, owner: { pid: 401, comm: 'holder', lock: 'mutex' } }),
    ],
  }));
  const a = analyzeLoad(capture({ samples }), resolveThresholds());
  assert.equal(a.meanUninterruptible, 4);
  assert.equal(a.dStacks.length, 2);
  const [g, m] = a.dStacks;
  assert.equal(g!.tasks, 3);
  assert.deepEqual(g!.pids, [301, 302, 303]);
  assert.equal(g!.waitIn, 'fuse_get_req');
  assert.equal(g!.maxWaitMs, 6800);
  assert.equal(g!.waitSource, 'estimate');
  assert.deepEqual(g!.stack[0], 'fuse_get_req+0x1c6');
  assert.equal(m!.waitSource, 'observed');
  assert.equal(m!.maxWaitMs, 1800);
  assert.deepEqual(m!.mutexOwner, { pid: 401, comm: 'holder' });
  const f = a.findings.find((x) => x.id === 'load.uninterruptible.high')!;
  assert.equal(f.severity, 'warning');
  assert.equal(f.params.tasks, 3);
  assert.equal(f.params.waitIn, 'fuse_get_req');
  // A thread that woke up (switch count changed) starts a new wait.
  const woke = dStackGroups(capture({ samples: [{ atMs: 0, tasks: [task({ pid: 5, tid: 5, state: 'D', switches: 1 })] }, { atMs: 1000, tasks: [task({ pid: 5, tid: 5, state: 'D', switches: 3 })] }] }));
  assert.equal(woke[0]!.maxWaitMs, 0);
  // Critical past the hung-task time.
  const long = samples.map((s) => ({ ...s, tasks: s.tasks.map((x) => ({ ...x, waitMs: x.waitMs === null ? null : 200_000 })) }));
  assert.equal(analyzeLoad(capture({ samples: long }), resolveThresholds()).findings.find((x) => x.id === 'load.uninterruptible.high')!.severity, 'critical');
});

test('load.fork-storm: the rate from /proc/stat, the parent from BPF', () => {
  const c = capture({ statAfter: stat([times({ user: 50, system: 50, idle: 100 }), times({ user: 50, idle: 150 })], 1000 + 420), forks: { forks: 400, execs: 4, parents: [{ pid: 7, comm: 'osc-fork-storm', forks: 398, execs: 0, cgroup: '/user.slice' }, { pid: 1, comm: 'systemd', forks: 2, execs: 4, cgroup: '/' }] } });
  const a = analyzeLoad(c, resolveThresholds());
  assert.equal(a.forks.perS, 210);
  assert.equal(a.forks.execPerS, 2);
  assert.equal(a.forks.topParents[0]!.comm, 'osc-fork-storm');
  assert.equal(a.forks.topParents[0]!.forksPerS, 199);
  const f = a.findings.find((x) => x.id === 'load.fork-storm')!;
  assert.equal(f.params.parent, 'osc-fork-storm [7]');
  assert.deepEqual(ids(c, { 'load.forksPerS': 500 }), []);
});

test('load.cpu.throttled: v1 counters of a cgroup with a 0.2 CPU quota', () => {
  const before = { stat: { nrPeriods: 100, nrThrottled: 90, throttledUs: 7_000_000, usageUs: 20_000_000 }, quotaCpus: 0.2 };
  const after = { stat: { nrPeriods: 120, nrThrottled: 109, throttledUs: 8_500_000, usageUs: 20_400_000 }, quotaCpus: 0.2 };
  const idle = { stat: { nrPeriods: 0, nrThrottled: 0, throttledUs: 0, usageUs: 5 }, quotaCpus: null };
  const a = analyzeLoad(capture({ cgroups: [{ path: '/oscope-sim-x', before, after }, { path: '/idle', before: idle, after: idle }] }), resolveThresholds());
  assert.equal(a.throttled.length, 1);
  assert.deepEqual(a.throttled[0], { cgroup: '/oscope-sim-x', version: 1, quotaCpus: 0.2, periods: 20, throttledPeriods: 19, throttledPct: 95, throttledMs: 1500, nrThrottled: 109, usageCpus: 0.2 });
  const f = a.findings.find((x) => x.id === 'load.cpu.throttled')!;
  assert.equal(f.severity, 'critical');
  assert.match(loadDocument(a, 'en').findings[0]!.conclusion, /in 19 of 20 periods \(95%/);
});

test('load.cpu.imbalance: CPU 0 crowded with pinned threads while CPU 1 idles', () => {
  const samples = Array.from({ length: 10 }, (_, i) => ({ atMs: i * 200, tasks: [1, 2, 3].map((k) => task({ pid: 500 + k, tid: 500 + k, state: 'R', cpu: 0, allowed: 1, comm: 'pinned' })) }));
  const c = capture({ samples, statAfter: stat([times({ user: 200 }), times({ user: 20, idle: 180 })], 1000) });
  const a = analyzeLoad(c, resolveThresholds());
  assert.equal(a.cpus[0]!.meanRunnable, 3);
  assert.equal(a.cpus[0]!.pinnedTasks.length, 3);
  assert.equal(a.cpus[1]!.busyPct, 10);
  const f = a.findings.find((x) => x.id === 'load.cpu.imbalance')!;
  assert.equal(f.params.busyCpu, 0);
  assert.equal(f.params.idleCpu, 1);
  assert.equal(f.params.pinned, 3);
  assert.ok(a.tasks.every((x) => x.pinned));
});

test('load.sys.high: kernel time above 30 %', () => {
  const c = capture({ statAfter: stat([times({ user: 20, system: 120, softirq: 10, idle: 50 }), times({ user: 20, system: 80, idle: 100 })], 1000) });
  const a = analyzeLoad(c, resolveThresholds());
  assert.equal(a.cpu.sysPct, 50);
  assert.equal(a.cpu.softirqPct, 2.5);
  assert.ok(a.findings.some((x) => x.id === 'load.sys.high'));
});

test('cpuSplit and trendOf', () => {
  assert.deepEqual(cpuSplit(times({}), times({})), { userPct: 0, sysPct: 0, irqPct: 0, softirqPct: 0, iowaitPct: 0, stealPct: 0, idlePct: 0 });
  assert.equal(trendOf(8, 2), 'rising');
  assert.equal(trendOf(1, 8), 'falling');
  assert.equal(trendOf(2, 2.2), 'steady');
});

test('params and flags: bad input is one sentence, usage exit code', () => {
  assert.deepEqual(loadParamsFrom({}), { intervalS: 5, sampleHz: 10, top: 20, bpf: true });
  for (const f of [{ interval: '0' }, { interval: 'x' }, { hz: '1000' }, { cgroup: '/a', pod: 'p' }, { container: 'ab' }, { pod: 'a/b/c' }, { top: '0' }]) {
    assert.throws(() => loadParamsFrom(f), (e: unknown) => e instanceof UserError && e.exitCode === 2 && !e.message.includes('\n'), JSON.stringify(f));
  }
  assert.equal(LoadParamsSchema.safeParse({ cgroup: '/a', container: 'abcd' }).success, false);
});
