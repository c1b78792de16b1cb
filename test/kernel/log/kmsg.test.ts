import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { KMSG_PATH, kmsgLines, parseKmsg, readKmsg } from '../../../src/kernel/log/kmsg.js';
import { UPTIME_PATH, bootWallMs, parseUptime } from '../../../src/kernel/log/uptime.js';
import { parseJournalJson } from '../../../src/kernel/log/journal.js';
import { fixture, fuzzParser, needsRoot } from '../../helpers.js';

test('kmsg: records captured from this machine (6.18)', () => {
  const recs = parseKmsg(fixture('inspect', 'kmsg-6.18.txt'));
  assert.ok(recs.length >= 50);
  assert.equal(recs[0]!.seq, 0);
  assert.ok(recs[0]!.text.startsWith('Linux version'));
  for (let i = 1; i < recs.length; i++) assert.ok(recs[i]!.seq > recs[i - 1]!.seq, 'sequence numbers increase');
  for (const r of recs) assert.ok(r.level >= 0 && r.level <= 7);
});

test('kmsg: caller, escapes, dictionary lines, user-space records', () => {
  const text = [
    '4,120,5000000,-,caller=T42;first line\\x0asecond line',
    ' SUBSYSTEM=pci',
    ' DEVICE=+pci:0000:00:1f.2',
    '12,121,6000000,-;user-space write to /dev/kmsg',
    '',
  ].join('\n');
  const recs = parseKmsg(text);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.caller, 'T42');
  assert.equal(recs[0]!.text, 'first line\nsecond line');
  assert.equal(recs[1]!.facility, 1);
  const lines = kmsgLines(recs, 1_700_000_000_000);
  assert.deepEqual(lines.map((l) => l.text), ['first line', 'second line'], 'user-space records are dropped');
  assert.equal(lines[0]!.ctx, 'T42');
  assert.equal(lines[0]!.monoS, 5);
  assert.equal(lines[0]!.wallMs, 1_700_000_000_000 + 5000);
});

test('kmsg: a malformed record names file and line', () => {
  assert.throws(() => parseKmsg('6,1,2,-;ok\ngarbage\n'), (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === KMSG_PATH);
});

test('kmsg: fuzzed input never crashes', () => {
  fuzzParser((t) => parseKmsg(t), fixture('inspect', 'kmsg-6.18.txt'), KMSG_PATH);
});

test('uptime: parse, fuzz, boot time of the live host', async () => {
  assert.deepEqual(parseUptime('3017.74 4674.93\n'), { uptimeS: 3017.74, idleS: 4674.93 });
  fuzzParser((t) => parseUptime(t), '3017.74 4674.93\n', UPTIME_PATH);
  const boot = await bootWallMs(new LiveHost());
  assert.ok(boot !== undefined && boot < Date.now() && boot > Date.parse('2000-01-01'));
});

test('journal: journalctl -o json lines, byte-array messages', () => {
  const text = [
    JSON.stringify({ MESSAGE: 'EXT4-fs (sda1): Remounting filesystem read-only', PRIORITY: '2', __REALTIME_TIMESTAMP: '1700000000000000', _SOURCE_MONOTONIC_TIMESTAMP: '12500000' }),
    JSON.stringify({ MESSAGE: [104, 105], PRIORITY: '6', __REALTIME_TIMESTAMP: '1700000001000000' }),
    JSON.stringify({ MESSAGE: null }),
  ].join('\n');
  const lines = parseJournalJson(text);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.wallMs, 1_700_000_000_000);
  assert.equal(lines[0]!.monoS, 12.5);
  assert.equal(lines[0]!.prio, 2);
  assert.equal(lines[1]!.text, 'hi');
  assert.throws(() => parseJournalJson('{"MESSAGE":"x"}\nnot json\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('kmsg: reading the live ring buffer (read only, never written)', { skip: needsRoot }, async () => {
  const recs = await readKmsg(new LiveHost());
  assert.ok(recs.length > 0, 'the ring buffer has records');
  const boot = await bootWallMs(new LiveHost());
  const lines = kmsgLines(recs, boot);
  const last = lines[lines.length - 1]!;
  assert.ok(last.wallMs !== undefined && last.wallMs <= Date.now() + 1000, 'wall-clock times are not in the future');
});
