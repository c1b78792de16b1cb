import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeBreakdown } from '../../../src/diagnose/memory/breakdown.js';
import { parseMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { fixture } from '../../helpers.js';

const sum = (items: { bytes: number; partOf?: string }[]): number => items.filter((i) => !i.partOf).reduce((s, i) => s + i.bytes, 0);

test('breakdown: items add up to MemTotal plus reserved', () => {
  const meminfo = parseMeminfo(fixture('proc', 'meminfo'));
  const memTotal = meminfo.bytesOr0('MemTotal');
  const b = computeBreakdown({ meminfo, physical: { bytes: memTotal + 512 * 1024 * 1024, source: 'zoneinfo' }, vmallocStackBytes: 0 });
  assert.equal(b.totalBytes, memTotal + 512 * 1024 * 1024);
  if (b.notes.some((n) => n.startsWith('counters exceed'))) return; // a racy capture: the sum overshoots by design
  assert.equal(sum(b.items), b.totalBytes);
  assert.equal(b.groups.reserved, 512 * 1024 * 1024);
});

test('breakdown: unaccounted is what no counter explains', () => {
  const kb = (n: number): string => `${n} kB`;
  const text = [
    `MemTotal: ${kb(1000000)}`, `MemFree: ${kb(400000)}`, `MemAvailable: ${kb(600000)}`, `Buffers: ${kb(10000)}`,
    `Cached: ${kb(200000)}`, `SwapCached: ${kb(0)}`, `AnonPages: ${kb(150000)}`, `Shmem: ${kb(50000)}`,
    `KReclaimable: ${kb(40000)}`, `SReclaimable: ${kb(30000)}`, `SUnreclaim: ${kb(20000)}`, `KernelStack: ${kb(5000)}`,
    `PageTables: ${kb(5000)}`, `VmallocUsed: ${kb(15000)}`, `Percpu: ${kb(1000)}`, `Mlocked: ${kb(1000)}`,
    'HugePages_Total: 10', `Hugepagesize: ${kb(2048)}`, '',
  ].join('\n');
  const b = computeBreakdown({ meminfo: parseMeminfo(text), vmallocStackBytes: 5000 * 1024 });
  const item = (k: string): number => b.items.find((i) => i.key === k)!.bytes;
  assert.equal(item('filecache'), (200000 - 50000 + 10000) * 1024);
  assert.equal(item('hugetlb'), 10 * 2048 * 1024);
  assert.equal(item('vmalloc'), (15000 - 5000) * 1024, 'vmalloc-ed stacks are not counted twice');
  assert.equal(item('kernelReclaimableOther'), 10000 * 1024);
  const explained = 400000 + 150000 + 160000 + 50000 + 20480 + 30000 + 20000 + 5000 + 5000 + 1000 + 10000 + 10000;
  assert.equal(b.unaccountedBytes, (1000000 - explained) * 1024);
  assert.equal(sum(b.items), 1000000 * 1024, 'adds up to MemTotal when the physical size is unknown');
  assert.ok(b.notes.some((n) => n.includes('physical RAM size unknown')));
  assert.equal(b.items.find((i) => i.key === 'mlocked')?.partOf, 'anon+filecache');
});
