import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  SELFTEST_EVENT_LAYOUT,
  decodeSelftestEvent,
  decodeStack,
  scannedFrames,
  encodeGlobal,
  parseTaskIterOutput,
  perCpu,
  splitBatch,
  sumPerCpuU64,
} from '../../../src/kernel/bpf/index.js';
import { parseKallsyms } from '../../../src/kernel/syms/kallsyms.js';
import { REPO_ROOT } from '../../helpers.js';

test('bpf units: the TypeScript event layout matches bpf/selftest.h', () => {
  const header = readFileSync(join(REPO_ROOT, 'bpf', 'selftest.h'), 'utf8');
  const asserts = [...header.matchAll(/_Static_assert\(__builtin_offsetof\(struct selftest_event, \w+\) == (\d+), "(\w+)"\)/g)];
  assert.ok(asserts.length >= 7);
  for (const [, off, field] of asserts) {
    assert.equal(SELFTEST_EVENT_LAYOUT[field as keyof typeof SELFTEST_EVENT_LAYOUT], Number(off), field);
  }
  const size = /_Static_assert\(sizeof\(struct selftest_event\) == (\d+)/.exec(header);
  assert.equal(Number(size?.[1]), SELFTEST_EVENT_LAYOUT.size);
});

test('bpf units: globals are encoded little-endian in their size, range-checked', () => {
  assert.deepEqual([...encodeGlobal('x', 4, 0x01020304)], [4, 3, 2, 1]);
  assert.deepEqual([...encodeGlobal('x', 1, true)], [1]);
  assert.deepEqual([...encodeGlobal('x', 2, -1)], [0xff, 0xff]);
  assert.deepEqual([...encodeGlobal('x', 8, 1n << 40n)], [0, 0, 0, 0, 0, 1, 0, 0]);
  assert.throws(() => encodeGlobal('x', 1, 256), /does not fit/);
  assert.throws(() => encodeGlobal('x', 3, 1), /pass a Uint8Array/);
  assert.throws(() => encodeGlobal('x', 4, new Uint8Array(2)), /4 bytes/);
});

test('bpf units: ring buffer batches split into records', () => {
  const recs = [Buffer.from('abc'), Buffer.alloc(8, 7), Buffer.alloc(0), Buffer.from('0123456789')];
  const parts: Buffer[] = [];
  for (const r of recs) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(r.length);
    parts.push(len, r, Buffer.alloc(((r.length + 7) & ~7) - r.length));
  }
  const out = splitBatch(Buffer.concat(parts), recs.length);
  assert.deepEqual(out.map((b) => b.toString('hex')), recs.map((b) => b.toString('hex')));
  assert.equal(splitBatch(Buffer.alloc(2), 1).length, 0, 'a truncated batch yields no record');
});

test('bpf units: stacks end at the first zero; per-CPU values split and sum', () => {
  const v = Buffer.alloc(127 * 8);
  v.writeBigUInt64LE(0xffffffff81000010n, 0);
  v.writeBigUInt64LE(0xffffffff81000020n, 8);
  assert.deepEqual(decodeStack(v), [0xffffffff81000010n, 0xffffffff81000020n]);
  const pc = Buffer.alloc(24);
  pc.writeBigUInt64LE(1n, 0);
  pc.writeBigUInt64LE(2n, 8);
  pc.writeBigUInt64LE(3n, 16);
  assert.equal(sumPerCpuU64(pc), 6n);
  assert.equal(perCpu(pc, 4).length, 3);
  assert.equal(perCpu(pc, 4)[2]!.readUInt32LE(0), 3);
});

test('bpf units: selftest events and iterator lines decode', () => {
  const L = SELFTEST_EVENT_LAYOUT;
  const b = Buffer.alloc(L.size);
  b.writeUInt32LE(42, L.pid);
  b.writeUInt32LE(7, L.ppid);
  b.writeUInt32LE(3, L.source);
  b.writeInt32LE(-14, L.stackId);
  b.writeBigUInt64LE(123n, L.tsNs);
  b.write('true', L.comm);
  b.write('/bin/true', L.filename);
  assert.deepEqual(decodeSelftestEvent(b), { pid: 42, ppid: 7, source: 'tpBtf', stackId: -14, tsNs: 123n, comm: 'true', filename: '/bin/true' });
  assert.throws(() => decodeSelftestEvent(Buffer.alloc(10)), /104/);
  assert.deepEqual(parseTaskIterOutput('1 1 systemd\n42 43 kworker/0:1 x\nbad\n'), [
    { tgid: 1, pid: 1, comm: 'systemd' },
    { tgid: 42, pid: 43, comm: 'kworker/0:1 x' },
  ]);
});

test('scannedFrames: kernel text words past a function entry, as "?" frames, innermost first', () => {
  const syms = parseKallsyms(
    ['ffffffff81000000 T _raw_spin_unlock_irq', 'ffffffff81000100 t pagetypeinfo_showfree_print', 'ffffffff81000400 T seq_read_iter', 'ffffffff82000000 D some_data'].join('\n'),
  );
  const words = [
    0x10n, // a saved register
    0xffffffff81000012n,
    0xffffffff81000012n, // the same word twice: one frame
    0xffffffff82000010n, // data, not text
    0xffffffff81000400n, // a function's entry: not a return address
    0xffffffff81000188n,
    0xffff888012345678n, // a heap pointer
    0xffffffff81000433n,
  ];
  assert.deepEqual(scannedFrames(words, syms).map((f) => f.text), ['? _raw_spin_unlock_irq+0x12', '? pagetypeinfo_showfree_print+0x88', '? seq_read_iter+0x33']);
  assert.equal(scannedFrames(words, syms, 1).length, 1);
});
