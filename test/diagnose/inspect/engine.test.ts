import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogScanner, type LogReport, scanLog, sanitizeTitlePart } from '../../../src/diagnose/inspect/engine.js';
import { foldReports, sortItems } from '../../../src/diagnose/inspect/items.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { parseFrame } from '../../../src/diagnose/inspect/stack.js';
import { fixture } from '../../helpers.js';

const rules = loadRules();

const WARN = [
  '[  10.000000] ------------[ cut here ]------------',
  '[  10.000001] WARNING: CPU: 1 PID: 3214 at kernel/workqueue.c:2911 __flush_work+0x740/0x880',
  '[  10.000002] Modules linked in:',
  '[  10.000003] RIP: 0010:__flush_work+0x740/0x880',
  '[  10.000004] Call Trace:',
  '[  10.000005]  __cancel_work_timer+0x3bf/0x520',
  '[  10.000006]  cancel_work_sync+0x18/0x20',
  '[  10.000007]  blk_sync_queue+0x33/0x1c0',
  '[  10.000008]  blk_cleanup_queue+0x404/0x720',
  '[  10.000009] ---[ end trace 0123456789abcdef ]---',
];

test('engine: a WARNING report titled by its first meaningful frame, noise frames skipped', () => {
  const reps = scanLog(WARN.join('\n'), rules);
  assert.equal(reps.length, 1);
  assert.equal(reps[0]!.title, 'WARNING in blk_sync_queue');
  assert.equal(reps[0]!.kind, 'WARNING');
  assert.equal(reps[0]!.level, 'warning');
  assert.deepEqual(reps[0]!.stack.slice(0, 2), ['__cancel_work_timer+0x3bf/0x520', 'cancel_work_sync+0x18/0x20']);
});

test('engine: repeats fold with count and first/last', () => {
  const later = WARN.map((l) => l.replace('[  10.', '[  99.'));
  const { items } = foldReports(scanLog([...WARN, ...later].join('\n'), rules), rules);
  assert.equal(items.length, 1);
  assert.equal(items[0]!.count, 2);
  assert.equal(items[0]!.firstUptimeS, 10.000001);
  assert.equal(items[0]!.lastUptimeS, 99.000001);
});

test('engine: chunk boundaries anywhere give the same reports', () => {
  const text = fixture('inspect', 'misc.log') + fixture('inspect', 'hung-task-6.1.log');
  const whole = scanLog(text, rules).map((r) => r.title);
  for (const size of [1, 7, 64, 333, 4096]) {
    const s = new LogScanner(rules);
    for (let i = 0; i < text.length; i += size) s.pushText(text.slice(i, i + size));
    const got = s.finish().sort((a, b) => a.seq - b.seq).map((r) => r.title);
    assert.deepEqual(got, whole, `chunks of ${size}`);
    const b = new LogScanner(rules);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += size) b.pushBytes(bytes.subarray(i, i + size));
    assert.deepEqual(b.finish().sort((x, y) => x.seq - y.seq).map((r) => r.title), whole, `byte chunks of ${size}`);
  }
});

test('engine: the fast byte scanner finds headers anywhere in a line and counts lines', () => {
  const n = rules.needles;
  const buf = Buffer.from('a\nbb\nxx BUG: y\nzz\n');
  assert.equal(n.findBytes(buf, 0), 5);
  assert.equal(n.newlines, 2);
  assert.equal(n.findBytes(buf, 16), -1);
  assert.equal(n.newlines, 1);
});

test('engine: interleaved output of another task stays out of the report', () => {
  const text = [
    '[  5.0][ T100] BUG: KASAN: use-after-free in foo_bar+0x10/0x20',
    '[  5.0][ T200] WARNING: this line belongs to someone else',
    '[  5.0][ T100] Read of size 8 at addr ffff888000000000 by task x/100',
    '[  5.0][ T200]  unrelated_func+0x1/0x2',
    '[  5.0][ T100] Call Trace:',
    '[  5.0][ T100]  dump_stack+0x1/0x2',
    '[  5.0][ T100]  kasan_report+0x1/0x2',
    '[  5.0][ T100]  foo_bar+0x10/0x20',
  ].join('\n');
  const reps = scanLog(text, rules);
  assert.equal(reps[0]!.title, 'KASAN: use-after-free Read in foo_bar');
  assert.equal(reps[0]!.kind, 'KASAN-USE-AFTER-FREE-READ');
  assert.ok(!reps[0]!.lines.some((l) => l.includes('unrelated_func')));
});

test('engine: a panic right after an oops marks it fatal, and the cascade root sorts first', () => {
  const text = [
    ...WARN,
    '[  10.100000] general protection fault: 0000 [#1] SMP',
    '[  10.100001] RIP: 0010:some_victim+0x1/0x2',
    '[  10.100002] Call Trace:',
    '[  10.100003]  caller_one+0x1/0x2',
    '[  10.100004] ---[ end trace 0123456789abcdef ]---',
    '[  10.100005] Kernel panic - not syncing: Fatal exception',
  ].join('\n');
  const reps: LogReport[] = scanLog(text, rules);
  assert.equal(reps.length, 2);
  assert.equal(reps[1]!.level, 'fatal');
  assert.ok(reps[1]!.panicked);
  const { items, order } = foldReports(reps, rules);
  const sorted = sortItems(items, order);
  assert.equal(sorted[0]!.title, 'WARNING in blk_sync_queue', 'the root cause first');
  assert.equal(sorted[0]!.details.cascadeLevel, 'fatal');
});

test('engine: --since drops older reports, keeps lines without time', () => {
  const t0 = Date.parse('2024-05-06T07:00:00Z');
  const text = [
    '2024-05-06T06:00:00+00:00 h kernel: EXT4-fs (sda1): Remounting filesystem read-only',
    '2024-05-06T08:00:00+00:00 h kernel: EXT4-fs (sdb1): Remounting filesystem read-only',
  ].join('\n');
  const reps = scanLog(text, rules, { sinceMs: t0 });
  assert.deepEqual(reps.map((r) => r.title), ['ext4 filesystem sdb1 remounted read-only']);
});

test('engine: titles replace varying numbers, frames keep their names', () => {
  assert.equal(sanitizeTitlePart('failed(-5) to start app 6'), 'failed(-NUM) to start app NUM');
  assert.equal(sanitizeTitlePart('e1000_clean_rx_irq at 0xffff8801'), 'e1000_clean_rx_irq at ADDR');
  assert.deepEqual(parseFrame(' [<ffffffff8163a909>] schedule+0x29/0x70'), { func: 'schedule', questionable: false });
  assert.deepEqual(parseFrame(' ? __pfx_x+0x10/0x10'), { func: '__pfx_x', questionable: true });
  assert.deepEqual(parseFrame(' kobject_cleanup lib/kobject.c:662 [inline]'), { func: 'kobject_cleanup', questionable: false });
  assert.deepEqual(parseFrame('[<8207ebf0>] (ip6_neigh_lookup) from [<8207ee3c>] (ip6_dst_neigh_lookup+0x44/0x48)'), { func: 'ip6_neigh_lookup', questionable: false });
  assert.equal(parseFrame('RAX: ffff88809bc10640 RBX: dffffc0000000000'), undefined);
});

test('engine: streaming emits reports as they complete, flush closes open ones', () => {
  const got: string[] = [];
  const s = new LogScanner(rules, {}, (r) => got.push(r.title));
  for (const l of WARN) s.pushText(`${l}\n`);
  assert.deepEqual(got, ['WARNING in blk_sync_queue'], 'the end marker completes the report');
  s.pushText('[ 20.0] INFO: task a:1 blocked for more than 120 seconds.\n[ 20.0] Call Trace:\n[ 20.0]  __schedule+0x1/0x2\n[ 20.0]  my_reader+0x1/0x2\n');
  assert.equal(got.length, 1);
  s.flush();
  assert.deepEqual(got, ['WARNING in blk_sync_queue', 'INFO: task hung in my_reader']);
});
