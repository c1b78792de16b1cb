/**
 * LatencySession without the kernel: a fake tracer and a fixture host (FixtureDirHost over a temp
 * tree) check what the agent relies on (a histogram-only session with a subset of detectors, the
 * cumulative per-CPU run-queue histogram, snapshot while running, close), hypervisor steal told apart
 * from irq-off, and the cgroup filter resolution for cgroup v2 and cgroup v1 controller hierarchies.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { testName } from '../../helpers.js';
import { FixtureDirHost } from '../../../src/host/dir.js';
import type { LatencyTracer, RawHistogram, RawLatencyEvent, TracerOptions } from '../../../src/diagnose/latency/bpf.js';
import { LatencySession, LatencyUnavailableError, RUNQUEUE_SLOT_LE_MS, cgroupV1Hierarchies, resolveCgroupFilter } from '../../../src/diagnose/latency/run.js';
import type { KindThresholds } from '../../../src/diagnose/latency/types.js';

const TH: KindThresholds = { irqoff: 10, softirq: 10, hardirq: 5, nosched: 10, runqueue: 50 };

/** A fake tree: /proc/stat (steal per CPU in ticks), /proc/cgroups, /proc/self/mounts + mountinfo, cgroupfs dirs. */
function tree(): { root: string; host: FixtureDirHost; setSteal: (cpu1Ticks: number) => void } {
  const root = mkdtempSync(`/tmp/${testName('latsess')}-`);
  mkdirSync(join(root, 'proc', 'self'), { recursive: true });
  const setSteal = (ticks: number): void =>
    writeFileSync(join(root, 'proc', 'stat'), `cpu  10 0 10 100 0 0 0 ${ticks} 0 0\ncpu0 5 0 5 50 0 0 0 0 0 0\ncpu1 5 0 5 50 0 0 0 ${ticks} 0 0\nintr 0\n`);
  setSteal(0);
  writeFileSync(
    join(root, 'proc', 'cgroups'),
    '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nblkio\t7\t1\t1\nmemory\t4\t9\t1\ndevices\t5\t1\t1\npids\t8\t1\t1\n',
  );
  writeFileSync(
    join(root, 'proc', 'self', 'mountinfo'),
    [
      '30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
      '34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(root, 'proc', 'self', 'mounts'),
    'tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n',
  );
  for (const d of ['memory/app', 'cpu,cpuacct/app', 'unified/app.slice']) mkdirSync(join(root, 'sys', 'fs', 'cgroup', d), { recursive: true });
  return { root, host: new FixtureDirHost(root), setSteal };
}

interface Fake {
  opts?: TracerOptions;
  emit(e: Partial<RawLatencyEvent>): void;
  hists: RawHistogram[];
  closed: boolean;
  start: (o: TracerOptions) => { tracer: LatencyTracer };
}

function fakeTracer(): Fake {
  const f: Fake = {
    hists: [],
    closed: false,
    emit: (e) =>
      f.opts!.onEvent({
        kind: 'irqoff',
        tsNs: process.hrtime.bigint(),
        latencyNs: 40e6,
        cgroupId: 1n,
        cpu: 1,
        pid: 9,
        tgid: 9,
        culpritPid: 9,
        culpritTgid: 9,
        stackId: -1,
        extra: 0,
        comm: 'reader',
        culpritComm: 'reader',
        name: '',
        ...e,
      }),
    start: (o) => {
      f.opts = o;
      return {
        tracer: {
          method: { runqueue: 'fake' },
          coverage: [],
          histograms: () => f.hists,
          stack: () => [],
          lostEvents: () => 0,
          timerGaps: () => 0,
          close: () => {
            f.closed = true;
          },
        },
      };
    },
  };
  return f;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const slots = (at: Record<number, number>): number[] => Array.from({ length: 32 }, (_, i) => at[i] ?? 0);

test('histogram-only session: only the run-queue histogram, per CPU, cumulative; snapshot and close', async () => {
  const { root, host } = tree();
  const fake = fakeTracer();
  try {
    const s = await LatencySession.start(host, { thresholds: TH, samplePeriodMs: 1, histogramsOnly: true, startTracer: fake.start });
    assert.deepEqual(fake.opts!.thresholds, { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 0 });
    assert.equal(fake.opts!.histograms, true);
    assert.equal(fake.opts!.histogramsByCgroup, false);
    fake.hists = [
      { cgroupId: 0n, cpu: 1, slots: slots({ 3: 5, 15: 1 }), count: 6, sumNs: 50_000_000, maxNs: 40_000_000 },
      { cgroupId: 0n, cpu: 0, slots: slots({ 2: 7 }), count: 7, sumNs: 40_000, maxNs: 7000 },
    ];
    const h = s.runqueueHistogram();
    assert.deepEqual(h.map((x) => [x.cpu, x.count, x.slots[3], x.slots[15], x.maxNs]), [
      [0, 7, 0, 0, 7000],
      [1, 6, 5, 1, 40_000_000],
    ]);
    assert.equal(RUNQUEUE_SLOT_LE_MS.length, 32);
    assert.equal(RUNQUEUE_SLOT_LE_MS[15], 65.536); // slot 15 = [32.8, 65.5) ms
    const a = await s.snapshot();
    assert.deepEqual(a.histograms.runqueue.perCgroup, []);
    assert.deepEqual(a.histograms.runqueue.perCpu.map((x) => x.count), [7, 6]);
    assert.deepEqual(a.events, []);
    assert.equal(s.closed, false);
    s.close();
    assert.equal(s.closed, true);
    assert.equal(fake.closed, true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('kinds: only the chosen detectors run, with their thresholds', async () => {
  const { root, host } = tree();
  const fake = fakeTracer();
  try {
    const s = await LatencySession.start(host, { thresholds: TH, samplePeriodMs: 1, kinds: ['runqueue', 'nosched'], startTracer: fake.start });
    assert.deepEqual(fake.opts!.thresholds, { irqoff: 0, softirq: 0, hardirq: 0, nosched: 10, runqueue: 50 });
    assert.deepEqual(s.thresholds, fake.opts!.thresholds);
    assert.equal(fake.opts!.histogramsByCgroup, true);
    s.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('irq-off gaps with hypervisor steal on that CPU are counted as steal, the others reported', async () => {
  const { root, host, setSteal } = tree();
  const fake = fakeTracer();
  try {
    const s = await LatencySession.start(host, { thresholds: TH, samplePeriodMs: 1, startTracer: fake.start });
    try {
      await sleep(80);
      setSteal(5); // 50 ms stolen on CPU 1 ...
      fake.emit({ latencyNs: 40e6 }); // ... during this 40 ms gap
      let a = await s.snapshot();
      assert.equal(a.summary.stealGaps, 1);
      assert.deepEqual(a.events, []);
      await sleep(80);
      fake.emit({ latencyNs: 40e6, comm: 'reader2' }); // no steal this time: a real irq-off
      a = await s.snapshot();
      assert.equal(a.summary.stealGaps, 1);
      assert.deepEqual(a.events.map((e) => [e.kind, e.comm, e.latencyMs]), [['irqoff', 'reader2', 40]]);
      assert.ok(a.findings.some((f) => f.id === 'lat.irqoff'));
    } finally {
      s.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('resolveCgroupFilter: cgroup v2 paths, v1 controller:/path and absolute v1 paths, clear errors', async () => {
  const { root, host } = tree();
  const ino = (p: string): bigint => BigInt(statSync(join(root, p)).ino);
  try {
    const hs = await cgroupV1Hierarchies(host);
    assert.deepEqual([...hs.entries()].map(([k, h]) => [k, h.mount, h.ssid]), [
      ['cpu', '/sys/fs/cgroup/cpu,cpuacct', 1],
      ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct', 2],
      ['memory', '/sys/fs/cgroup/memory', 4],
    ]);
    const v2 = await resolveCgroupFilter(host, { cgroup: '/app.slice' });
    assert.deepEqual([v2?.id, v2?.path, v2?.hierarchy.version], [ino('sys/fs/cgroup/unified/app.slice'), '/app.slice', 2]);
    const v2abs = await resolveCgroupFilter(host, { cgroup: '/sys/fs/cgroup/unified/app.slice' });
    assert.equal(v2abs?.id, v2?.id);
    const v1 = await resolveCgroupFilter(host, { cgroup: 'memory:/app' });
    assert.deepEqual([v1?.id, v1?.path, v1?.hierarchy.version, v1?.hierarchy.ssid], [ino('sys/fs/cgroup/memory/app'), '/app', 1, 4]);
    const v1abs = await resolveCgroupFilter(host, { cgroup: '/sys/fs/cgroup/memory/app' });
    assert.deepEqual([v1abs?.id, v1abs?.hierarchy.controller], [v1?.id, 'memory']);
    const cpu = await resolveCgroupFilter(host, { cgroup: '/sys/fs/cgroup/cpu,cpuacct/app' });
    assert.deepEqual([cpu?.hierarchy.controller, cpu?.hierarchy.ssid], ['cpu', 1]);
    await assert.rejects(resolveCgroupFilter(host, { cgroup: 'memory:/nope' }), (e: unknown) => e instanceof LatencyUnavailableError && /no memory cgroup \/nope under \/sys\/fs\/cgroup\/memory/.test(e.message));
    await assert.rejects(resolveCgroupFilter(host, { cgroup: 'hugetlb:/x' }), (e: unknown) => e instanceof LatencyUnavailableError && /no cgroup v1 hierarchy of the hugetlb controller/.test(e.message));
    await assert.rejects(resolveCgroupFilter(host, { cgroup: '/nope' }), (e: unknown) => e instanceof LatencyUnavailableError && /no cgroup v2 \/nope/.test(e.message));
    assert.equal(await resolveCgroupFilter(host, {}), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a v1 filter reaches the tracer as the controller subsystem id and names histograms controller:/path', async () => {
  const { root, host } = tree();
  const fake = fakeTracer();
  try {
    const s = await LatencySession.start(host, { thresholds: TH, samplePeriodMs: 1, filters: { cgroup: 'memory:/app' }, startTracer: fake.start });
    try {
      const id = BigInt(statSync(join(root, 'sys/fs/cgroup/memory/app')).ino);
      assert.deepEqual([fake.opts!.cgroupId, fake.opts!.cgroupSsid], [id, 4]);
      fake.hists = [{ cgroupId: id, cpu: 1, slots: slots({ 4: 3 }), count: 3, sumNs: 60_000, maxNs: 25_000 }];
      const a = await s.snapshot();
      assert.deepEqual(a.histograms.runqueue.perCgroup.map((h) => [h.cgroup, h.count]), [['memory:/app', 3]]);
      assert.ok(a.coverage.some((c) => c.section === 'filter' && c.reason === 'cgroup v1 memory:/app'));
    } finally {
      s.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
