import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseZoneinfo, readZoneinfo, ZONEINFO_PATH } from '../../../src/kernel/procfs/zoneinfo.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('zoneinfo: 6.18 fixture from this machine', () => {
  const z = parseZoneinfo(fixture('proc', 'zoneinfo'), 4096);
  assert.deepEqual(z.zones.map((x) => x.zone), ['DMA', 'DMA32', 'Normal', 'Movable', 'Device']);
  const normal = z.zones[2]!;
  assert.deepEqual(
    [normal.free, normal.min, normal.low, normal.high, normal.spanned, normal.present, normal.managed, normal.cma],
    [104260, 2943, 3678, 4413, 5505024, 5505024, 163840, 0],
  );
  assert.equal(normal.pages.get('promo'), 5148);
  assert.equal(normal.pages.get('boost'), 0);
  assert.equal(normal.managedBytes, 163840 * 4096);
  assert.deepEqual(normal.protection, [0, 0, 0, 0, 0]);
  assert.equal(normal.stats.get('nr_free_pages'), 104260);
  assert.equal(normal.stats.get('numa_hit'), 1700319);
  assert.equal(normal.misc.get('start_pfn'), 1048576);
  assert.equal(normal.pagesets.length, 2);
  assert.equal(normal.pagesets[1]!.fields.get('high_max'), 10240);
  assert.equal(normal.pagesets[1]!.vmStatsThreshold, 16);
  assert.ok(normal.populated);
  const movable = z.zones[3]!;
  assert.equal(movable.populated, false);
  assert.equal(movable.stats.size, 0);
  assert.equal(z.nodes.length, 1);
  assert.equal(z.nodes[0]!.stats.get('nr_slab_reclaimable'), 6430);
  assert.equal(z.zones[0]!.stats.has('nr_inactive_anon'), false, 'per-node stats are not mixed into the zone');
});

test('zoneinfo: 4.19-style fixture (no boost/promo/cma, node_inactive_ratio)', () => {
  const z = parseZoneinfo(fixture('proc', 'zoneinfo-4.19'), 4096);
  assert.equal(z.zones.length, 4);
  const dma32 = z.zones[1]!;
  assert.equal(dma32.cma, undefined);
  assert.equal(dma32.pages.has('boost'), false);
  assert.deepEqual(dma32.protection, [0, 0, 13044, 13044, 13044]);
  assert.equal(dma32.misc.get('node_inactive_ratio'), 0);
  assert.equal(dma32.pagesets[0]!.fields.get('batch'), 63);
  assert.equal(z.nodes[0]!.stats.get('workingset_refault'), 1022);
  assert.equal(z.zones[3]!.populated, false);
});

test('zoneinfo: malformed input', () => {
  assert.throws(() => parseZoneinfo(''), (e: unknown) => e instanceof ParseError && e.file === ZONEINFO_PATH);
  assert.throws(() => parseZoneinfo('  pages free 1\n'), (e: unknown) => e instanceof ParseError && e.line === 1);
  assert.throws(
    () => parseZoneinfo('Node 0, zone DMA\n  pages free     1\n        min      1\n'),
    (e: unknown) => e instanceof ParseError && e.line === 1 && /low/.test(e.message),
  );
});

test('zoneinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseZoneinfo(t), fixture('proc', 'zoneinfo'), ZONEINFO_PATH);
  fuzzParser((t) => parseZoneinfo(t), fixture('proc', 'zoneinfo-4.19'), ZONEINFO_PATH);
});

test('zoneinfo: live host', async () => {
  const z = await readZoneinfo(new LiveHost());
  assert.ok(z.zones.some((x) => x.populated && x.managed > 0 && x.low >= x.min && x.high >= x.low));
});
