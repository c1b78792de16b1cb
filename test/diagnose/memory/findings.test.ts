import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeBreakdown } from '../../../src/diagnose/memory/breakdown.js';
import { type FindingInput, memFindings } from '../../../src/diagnose/memory/findings.js';
import { DEFAULT_THRESHOLDS, resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { parseMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { localizeFinding, FindingSchema } from '../../../src/report/finding.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function meminfo(o: Record<string, number> = {}): string {
  const base: Record<string, number> = {
    MemTotal: 16 * GiB, MemFree: 11.6 * GiB, MemAvailable: 12 * GiB, Buffers: 0, Cached: 2 * GiB, SwapCached: 0,
    AnonPages: 2 * GiB, Shmem: 100 * MiB, KReclaimable: 200 * MiB, SReclaimable: 200 * MiB, SUnreclaim: 100 * MiB,
    KernelStack: 10 * MiB, PageTables: 20 * MiB, VmallocUsed: 30 * MiB, Percpu: 5 * MiB, ...o,
  };
  return Object.entries(base).map(([k, v]) => `${k}: ${Math.round(v / 1024)} kB`).join('\n');
}

function quiet(o: Record<string, number> = {}): FindingInput {
  const m = parseMeminfo(meminfo(o));
  return {
    breakdown: computeBreakdown({ meminfo: m, vmallocStackBytes: 0 }),
    availableBytes: m.bytesOr0('MemAvailable'),
    processes: [{ pid: 42, comm: 'app', rssBytes: GiB, anonBytes: GiB, fileBytes: 0, shmemBytes: 0, swapBytes: 0 }],
    cgroups: [],
    shmem: { totalBytes: 100 * MiB, tmpfs: [], sysv: [], deletedOpen: [], residualBytes: 0 },
    slab: { reclaimableBytes: 200 * MiB, unreclaimableBytes: 100 * MiB, top: [], dentry: { total: 100000, unused: 50000, negative: 1000 }, inodes: null },
    memcg: { total: 10, visible: 10, zombies: 0, zombieBytes: 0, byParent: [], hierarchy: 'v2' },
    unaccounted: { bytes: 0, kpageEstimateBytes: null, vmallocTop: [], vmallocBytes: null, bpf: null, socketBytes: null, pageTableTop: [], kernelStackTop: [], allocinfoTop: null },
  };
}

const ids = (fs: { id: string }[]): string[] => fs.map((f) => f.id).sort();
const th = resolveThresholds();

test('findings: a quiet host has none', () => {
  const q = quiet();
  q.unaccounted.bytes = q.breakdown.unaccountedBytes;
  assert.deepEqual(memFindings(q, th), []);
});

test('findings: each id fires on its condition with numbers, and localizes in both languages', () => {
  const input = quiet({ MemAvailable: 0.5 * GiB, SReclaimable: 3 * GiB, KReclaimable: 3 * GiB, SUnreclaim: 2 * GiB, Shmem: 2 * GiB });
  input.cgroups = [
    { path: '/kubepods/pod1/c1', usageBytes: 1.9 * GiB, anonBytes: 1 * GiB, fileBytes: 0.9 * GiB, activeFileBytes: 0.85 * GiB, shmemBytes: 0, workingsetBytes: 1.85 * GiB, limitBytes: 2 * GiB },
    { path: '/batch/job', usageBytes: 3 * GiB, anonBytes: 0.1 * GiB, fileBytes: 2.5 * GiB, activeFileBytes: GiB, shmemBytes: 0, workingsetBytes: 1.1 * GiB, limitBytes: null },
  ];
  input.shmem.totalBytes = 2 * GiB;
  input.shmem.tmpfs = [{ mount: '/dev/shm', fstype: 'tmpfs', usedBytes: 200 * MiB, sizeBytes: 8 * GiB, files: 5000, truncated: false, topDirs: [{ path: '/dev/shm/cache', files: 5000, bytes: 200 * MiB }] }];
  input.shmem.sysv = [{ key: '0x00001234', shmid: 7, sizeBytes: 64 * MiB, rssBytes: 64 * MiB, swapBytes: 0, nattch: 0, cpid: 1, lpid: 1, orphan: true }];
  input.slab.reclaimableBytes = 3 * GiB;
  input.slab.dentry = { total: 3_000_000, unused: 2_900_000, negative: 2_500_000 };
  input.slab.top = [{ name: 'dentry', bytes: 2 * GiB, activeObjs: 1, objs: 1, objSizeBytes: 192, reclaimable: true }, { name: 'kmalloc-64', bytes: 1.5 * GiB, activeObjs: 1, objs: 1, objSizeBytes: 64, reclaimable: false }];
  input.memcg = { total: 600, visible: 100, zombies: 500, zombieBytes: 300 * MiB, byParent: [{ path: '/kubepods', zombies: 500, zombieBytes: 300 * MiB }], hierarchy: 'v2' };
  input.unaccounted.bytes = 2 * GiB;
  input.unaccounted.socketBytes = 100 * MiB;
  const raw = memFindings(input, th);
  assert.deepEqual(
    [...new Set(ids(raw))],
    ['mem.cgroup.near-limit', 'mem.cgroup.zombie', 'mem.dentry.negative-high', 'mem.filecache.high', 'mem.kernel.leak-suspect', 'mem.shmem.leak', 'mem.slab.reclaimable-high', 'mem.sysv.orphan', 'mem.unaccounted.high', 'mem.usage.high'],
  );
  const fc = raw.find((f) => f.id === 'mem.filecache.high' && String(f.params.place).startsWith('/batch'))!;
  assert.equal(fc.params.fileBytes, 2.5 * GiB);
  const sh = raw.find((f) => f.id === 'mem.shmem.leak')!;
  assert.equal(sh.params.place, '/dev/shm/cache');
  assert.equal(raw.find((f) => f.id === 'mem.cgroup.zombie')!.params.place, '/kubepods');
  assert.equal(raw.find((f) => f.id === 'mem.kernel.leak-suspect')!.params.suspect, 'kmalloc-64');
  for (const lang of ['en', 'zh-CN'] as const) {
    for (const r of raw) {
      const f = localizeFinding(r, lang);
      FindingSchema.parse(f);
      assert.ok(!/\{\w+\}/.test(f.title + f.conclusion + f.suggestions.join('')), `${r.id} (${lang}) has every placeholder filled: ${f.conclusion}`);
      assert.ok(f.suggestions.length >= 2, `${r.id} has suggestions`);
    }
  }
  const zh = localizeFinding(raw.find((f) => f.id === 'mem.sysv.orphan')!, 'zh-CN');
  assert.match(zh.conclusion, /64\.0 MiB/);
  assert.match(zh.title, /孤儿/);
});

test('findings: thresholds are configurable and validated', () => {
  const input = quiet({ MemAvailable: 2 * GiB });
  assert.equal(memFindings(input, th).length, 0);
  assert.deepEqual(ids(memFindings(input, resolveThresholds({ 'mem.availableLowPct': 20 }))), ['mem.usage.high']);
  assert.throws(() => resolveThresholds({ 'mem.nope': 1 }), /unknown threshold/);
  assert.throws(() => resolveThresholds({ 'mem.availableLowPct': 'x' }), /non-negative number/);
  assert.equal(resolveThresholds({ 'mem.availableLowPct': '15' })['mem.availableLowPct'], 15);
  assert.equal(DEFAULT_THRESHOLDS['mem.availableLowPct'], 10);
});

test('findings: shmem charged to a cgroup is not page cache', () => {
  const input = quiet();
  input.cgroups = [
    { path: '/app', usageBytes: 1.2 * GiB, anonBytes: 0.1 * GiB, fileBytes: 1.0 * GiB, activeFileBytes: 0.1 * GiB, shmemBytes: 0.8 * GiB, workingsetBytes: 0.2 * GiB, limitBytes: null },
  ];
  assert.equal(memFindings(input, th).filter((f) => f.id === 'mem.filecache.high').length, 0);
});
