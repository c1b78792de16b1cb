import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { BUDDYINFO_PATH, freeBytesAtOrder, parseBuddyinfo, readBuddyFreeBytes, readBuddyinfo } from '../../../src/kernel/procfs/buddyinfo.js';
import { parseZoneinfo } from '../../../src/kernel/procfs/zoneinfo.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('buddyinfo: fixture from this machine', () => {
  const b = parseBuddyinfo(fixture('proc', 'buddyinfo'));
  assert.deepEqual(b.zones.map((z) => z.zone), ['DMA', 'DMA32', 'Normal']);
  const dma = b.zones[0]!;
  assert.equal(dma.freeBlocks.length, 11);
  assert.equal(dma.freePages, 256 + 512 + 3 * 1024);
  assert.equal(freeBytesAtOrder(dma, 9, 4096), (512 + 3 * 1024) * 4096);
  // Cross-check with zoneinfo captured a moment later: free pages per zone agree within drift.
  const zi = parseZoneinfo(fixture('proc', 'zoneinfo'));
  for (const z of b.zones) {
    const free = zi.zones.find((x) => x.zone === z.zone)!.free;
    assert.ok(Math.abs(free - z.freePages) <= free * 0.05 + 64, `${z.zone}: ${z.freePages} vs ${free}`);
  }
});

test('buddyinfo: two NUMA nodes (hand-written)', () => {
  const b = parseBuddyinfo(fixture('proc', 'buddyinfo-numa'));
  assert.deepEqual(b.zones.map((z) => `${z.node}/${z.zone}`), ['0/DMA', '0/DMA32', '0/Normal', '1/Normal']);
});

test('buddyinfo: malformed input', () => {
  assert.throws(() => parseBuddyinfo(''), (e: unknown) => e instanceof ParseError && e.file === BUDDYINFO_PATH);
  assert.throws(() => parseBuddyinfo('Node 0, zone DMA 1 2 x\n'), (e: unknown) => e instanceof ParseError && e.line === 1);
});

test('buddyinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseBuddyinfo(t), fixture('proc', 'buddyinfo-numa'), BUDDYINFO_PATH);
});

test('buddyinfo: live host', async () => {
  const host = new LiveHost();
  const b = await readBuddyinfo(host);
  assert.ok(b.zones.some((z) => z.freePages > 0));
  const f = await readBuddyFreeBytes(host);
  assert.ok(f.some((z) => z.freeBytes > 0));
});
