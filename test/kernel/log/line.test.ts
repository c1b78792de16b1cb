import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLogPrefix } from '../../../src/kernel/log/line.js';

test('log line: console timestamp with printk caller', () => {
  const l = parseLogPrefix('[  584.319520][   T31] INFO: task udevd:5612 blocked for more than 143 seconds.');
  assert.equal(l.text, 'INFO: task udevd:5612 blocked for more than 143 seconds.');
  assert.equal(l.ctx, 'T31');
  assert.equal(l.monoS, 584.31952);
});

test('log line: level prefix, plain timestamp, boot time gives wall clock', () => {
  const l = parseLogPrefix('<4>[   12.500000] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2', { bootWallMs: 1_000_000 });
  assert.equal(l.prio, 4);
  assert.equal(l.ctx, 'console');
  assert.equal(l.wallMs, 1_000_000 + 12_500);
  assert.ok(l.text.startsWith('WARNING:'));
});

test('log line: syslog (BSD and RFC 3339), dmesg -T and -x prefixes', () => {
  const bsd = parseLogPrefix('Mar  3 08:00:01 node-7 kernel: [ 8000.100000] nginx invoked oom-killer: x', { year: 2024 });
  assert.equal(bsd.text, 'nginx invoked oom-killer: x');
  assert.equal(new Date(bsd.wallMs!).getMonth(), 2);
  assert.equal(bsd.monoS, 8000.1);
  const iso = parseLogPrefix('2024-05-06T07:08:09.123456+00:00 host kernel: EXT4-fs (sda1): Remounting filesystem read-only');
  assert.equal(iso.wallMs, Date.parse('2024-05-06T07:08:09.123456+00:00'));
  assert.equal(iso.text, 'EXT4-fs (sda1): Remounting filesystem read-only');
  const t = parseLogPrefix('[Tue Jan  2 03:04:05 2024] Out of memory: Killed process 1 (x)');
  assert.equal(new Date(t.wallMs!).getFullYear(), 2024);
  assert.equal(t.text, 'Out of memory: Killed process 1 (x)');
  const x = parseLogPrefix('kern  :err   : [  1.0] BUG: x');
  assert.equal(x.prio, 3);
  assert.equal(x.text, 'BUG: x');
});

test('log line: console noise before the timestamp, lines without prefix', () => {
  const l = parseLogPrefix('syzkaller login: [   36.852785][ T3615] traps: x');
  assert.equal(l.ctx, 'T3615');
  assert.equal(l.text, 'traps: x');
  const d = parseLogPrefix('** 93 printk messages dropped ** [  322.962139] BUG: KASAN: y');
  assert.equal(d.text, 'BUG: KASAN: y');
  const bare = parseLogPrefix(' active_file:120 inactive_file:80\r');
  assert.equal(bare.ctx, '');
  assert.equal(bare.text, ' active_file:120 inactive_file:80');
});

test('log line: arbitrary bytes never throw', () => {
  for (const s of ['', '[', '[ 1.', '<', '<99999>', '[Tue', 'Jan', '2024-', 'kern :', '\0\u00ff[1.2][T', '[ 1.2][ T1]']) {
    const l = parseLogPrefix(s);
    assert.equal(typeof l.text, 'string');
  }
});
