/**
 * One definition of each memory fact: on the same host, `oscope mem`, `oscope inspect`, `memleak -c`
 * and the agent give the same zombie memory-cgroup count, the same available bytes and the same
 * unaccounted bytes. The hosts are the fixture bundles of the golden tests (cgroup v1 on 4.19, cgroup v2
 * on 6.1, whose root cgroup.stat has 5 dying descendants of which 3 hold memory) and the VM's bundle.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Collector } from '../../../src/agent/collect.js';
import { collectCheckData } from '../../../src/diagnose/inspect/checks.js';
import { collectCheckInput } from '../../../src/diagnose/memleak/run.js';
import { runMemPanorama } from '../../../src/diagnose/memory/panorama.js';
import { explainedItems, unaccountedBytes } from '../../../src/diagnose/memory/unaccounted.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { BundleHost } from '../../../src/host/bundle.js';
import { parseMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { fixturePath } from '../../helpers.js';

const EXPECTED_ZOMBIES: Record<string, number> = { 'fixture-4.19-cgroup-v1': 2, 'fixture-6.1-cgroup-v2': 3 };
const bundles = readdirSync(fixturePath('bundles'))
  // Host bundles only (filecache-golden holds a filecache capture alone).
  .filter((f) => f.endsWith('.tar.gz') && (f.startsWith('vm-') || f.startsWith('fixture-')))
  .sort();

for (const bundle of bundles) {
  const name = bundle.slice(0, -'.tar.gz'.length);
  test(`one definition (${name}): mem, inspect, memleak -c and the agent agree on zombies, available and unaccounted bytes`, async () => {
    const host = await BundleHost.load(join(fixturePath('bundles'), bundle));
    const mem = await runMemPanorama(host, { thresholds: resolveThresholds(), kpage: false });
    const checks = await collectCheckData(host);
    const leak = await collectCheckInput(host, []);
    const snap = await new Collector(host).collect();

    assert.equal(checks.zombieMemcgs?.count, mem.analysis.memcg.zombies, 'inspect counts the zombies mem counts');
    assert.equal(snap.zombies?.count, mem.analysis.memcg.zombies, 'the agent counts the zombies mem counts');
    if (name in EXPECTED_ZOMBIES) assert.equal(mem.analysis.memcg.zombies, EXPECTED_ZOMBIES[name]);

    assert.equal(checks.meminfo?.availableBytes(), mem.availableBytes);
    assert.equal(leak.availableBytes, mem.availableBytes, 'memleak -c');
    assert.equal(snap.memory.availableBytes, mem.availableBytes, 'agent');

    assert.equal(leak.unaccountedBytes, mem.analysis.breakdown.unaccountedBytes, 'memleak -c');
    assert.equal(snap.leak?.unaccountedBytes, mem.analysis.breakdown.unaccountedBytes, 'agent');
    assert.equal(mem.analysis.unaccounted.bytes, mem.analysis.breakdown.unaccountedBytes);
    for (const src of ['leak', 'cgroups', 'zombies']) assert.ok(!(src in snap.errors), `the agent read its ${src} inputs: ${snap.errors[src]}`);
  });
}

const kb = (n: number): string => `${n} kB`;

test('Meminfo getters: MemAvailable, hugetlb and slab on kernels that lack the field', () => {
  const old = parseMeminfo(
    [`MemTotal: ${kb(1000000)}`, `MemFree: ${kb(100000)}`, `Active(file): ${kb(200000)}`, `Inactive(file): ${kb(300000)}`, `Slab: ${kb(90000)}`,
      `SUnreclaim: ${kb(30000)}`, 'HugePages_Total: 4', `Hugepagesize: ${kb(2048)}`, ''].join('\n'),
  );
  assert.equal(old.availableBytes(), (100000 + 200000 + 300000 + 60000) * 1024, 'MemFree + file LRU + reclaimable slab');
  assert.equal(old.hugetlbBytes(), 4 * 2048 * 1024);
  assert.equal(old.hugetlbSource(), 'HugePages_Total × Hugepagesize');
  assert.equal(old.slabReclaimableBytes(), 60000 * 1024);
  assert.equal(old.slabBytes(), 90000 * 1024);
  assert.equal(old.kernelReclaimableOtherBytes(), 0);
  const now = parseMeminfo([`MemTotal: ${kb(1000000)}`, `MemAvailable: ${kb(400000)}`, `Hugetlb: ${kb(8192)}`, 'HugePages_Total: 4', `Hugepagesize: ${kb(2048)}`, ''].join('\n'));
  assert.equal(now.availableBytes(), 400000 * 1024);
  assert.equal(now.hugetlbBytes(), 8192 * 1024, 'Hugetlb counts every page size');
});

test('unaccounted: vmallocinfo where VmallocUsed is 0, LRU pages no mapping counter shows, per-CPU free pages', () => {
  const m = parseMeminfo(
    [`MemTotal: ${kb(1000000)}`, `MemFree: ${kb(100000)}`, `AnonPages: ${kb(200000)}`, `Cached: ${kb(300000)}`, `Active: ${kb(350000)}`,
      `Inactive: ${kb(200000)}`, `SReclaimable: ${kb(50000)}`, `SUnreclaim: ${kb(20000)}`, `VmallocUsed: ${kb(0)}`, ''].join('\n'),
  );
  const base = (1000000 - 100000 - 200000 - 300000 - 50000 - 20000 - 50000) * 1024; // 50000 kB of LRU beyond AnonPages + Cached
  assert.equal(unaccountedBytes(m), base);
  assert.equal(explainedItems(m).items.find((i) => i.key === 'lruUnmapped')?.bytes, 50000 * 1024);
  assert.equal(unaccountedBytes(m, { vmallocinfoBytes: 10000 * 1024 }), base - 10000 * 1024, 'VmallocUsed 0: the vmallocinfo sum stands in');
  assert.equal(unaccountedBytes(m, { vmallocinfoBytes: 10000 * 1024, vmallocStackBytes: 4000 * 1024 }), base - 6000 * 1024, 'stacks are counted once');
  assert.equal(unaccountedBytes(m, { pcpFreeBytes: 1024 * 1024 }), base - 1024 * 1024);
  assert.equal(unaccountedBytes(m, { pcpFreeBytes: 1e15 }), 0, 'never negative');
});
