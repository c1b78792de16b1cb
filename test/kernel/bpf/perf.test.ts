import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PERF_SAMPLE, PerfEvent, decodePerfRecords } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';

function header(type: number, size: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt16LE(size, 6);
  return h;
}
function u64s(...v: bigint[]): Buffer {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeBigUInt64LE(x, 8 * i));
  return b;
}

test('perf records: samples with call chains, lost and other records decode', () => {
  const S = PERF_SAMPLE;
  const type = S.IP | S.TID | S.TIME | S.CPU | S.CALLCHAIN;
  const body = u64s(
    0xffffffff81000010n, // ip
    (7n << 32n) | 42n, // pid 42, tid 7
    1000n, // time
    3n, // cpu 3
    5n, // nr
    0xffffffffffffff80n, // PERF_CONTEXT_KERNEL
    0xffffffff81000010n,
    0xffffffff81000020n,
    0xfffffffffffffe00n, // PERF_CONTEXT_USER
    0x401000n,
  );
  const sample = Buffer.concat([header(9, 8 + body.length), body]);
  const lost = Buffer.concat([header(2, 24), u64s(1n, 17n)]);
  const comm = Buffer.concat([header(3, 16), Buffer.alloc(8)]);
  const r = decodePerfRecords(Buffer.concat([sample, lost, comm, Buffer.alloc(3)]), type);
  assert.equal(r.samples.length, 1);
  assert.deepEqual(r.samples[0], {
    ip: 0xffffffff81000010n,
    pid: 42,
    tid: 7,
    timeNs: 1000n,
    cpu: 3,
    kernelStack: [0xffffffff81000010n, 0xffffffff81000020n],
    userStack: [0x401000n],
  });
  assert.equal(r.lost, 17);
  assert.equal(r.other, 1);
  assert.throws(() => decodePerfRecords(sample, type | (1 << 4)), /does not read/);
  assert.throws(() => decodePerfRecords(Buffer.concat([header(9, 16), u64s(1n)]), type), /truncated/);
});

const native = loadNative();
test('perf ring: a cpu-clock event on this process samples it, with user call chains', { skip: native.available ? false : native.reason }, () => {
  const S = PERF_SAMPLE;
  const ev = PerfEvent.open({
    type: 1,
    config: 0,
    cpu: -1,
    pid: process.pid,
    samplePeriod: 1_000_000,
    sampleType: S.IP | S.TID | S.TIME | S.CPU | S.CALLCHAIN,
    mmapPages: 16,
  });
  try {
    let samples: ReturnType<PerfEvent['readSamples']>['samples'] = [];
    const end = Date.now() + 10_000;
    while (samples.length === 0 && Date.now() < end) {
      const t0 = Date.now();
      while (Date.now() - t0 < 30) {
        /* burn CPU: cpu-clock only ticks while we run */
      }
      samples = ev.readSamples().samples;
    }
    assert.ok(samples.length > 0, 'samples arrived');
    assert.ok(samples.every((s) => s.pid === process.pid));
    assert.ok(samples.some((s) => (s.userStack?.length ?? 0) > 0), 'user call chains are recorded');
  } finally {
    ev.close();
  }
  assert.throws(() => ev.readSamples(), /closed/);
});
