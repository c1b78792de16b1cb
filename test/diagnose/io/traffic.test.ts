import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupTraffic, fileTraffic, processTraffic } from '../../../src/diagnose/io/analyze.js';
import type { CapturedProcess, CapturedTrace } from '../../../src/diagnose/io/capture.js';
import { userDevMajMin } from '../../../src/diagnose/io/files.js';
import { inScope, podMatches } from '../../../src/diagnose/io/scope.js';
import type { IoProcessTraffic } from '../../../src/contract/io.js';
import { ioThresholds } from '../../../src/diagnose/io/analyze.js';
import { DEFAULT_THRESHOLDS } from '../../../src/diagnose/thresholds.js';

const MiB = 1024 * 1024;
const io = (readBytes: number, writeBytes: number) => ({ rchar: 0, wchar: 0, syscr: 0, syscw: 0, readBytes, writeBytes, cancelledWriteBytes: 0 });
const proc = (pid: number, comm: string, r: number, w: number, cgroup = '/'): CapturedProcess => ({ pid, comm, io: io(r, w), cgroup });
const trace = (over: Partial<CapturedTrace> = {}): CapturedTrace => ({ histograms: [], slow: [], inflight: [], waits: [], lostEvents: 0, files: null, dirtiers: null, filesDropped: 0, ...over });
const row = (pid: number, cgroup: string, r: number, w: number): IoProcessTraffic => ({ pid, comm: `p${pid}`, readBytes: r, writeBytes: w, dirtiedBytes: null, cgroup });

test('processTraffic: dirtiedBytes from the tracer (0 for a process it did not see dirty), null without it', () => {
  const before = [proc(1, 'db', 0, 0), proc(2, 'cat', 0, 0)];
  const after = [proc(1, 'db', 0, 8 * MiB), proc(2, 'cat', 4 * MiB, 0)];
  const withTrace = processTraffic(before, after, trace({ dirtiers: [{ pid: 1, comm: 'db', dirtiedBytes: 8 * MiB, readBytes: 0, cgroup: '/' }] }));
  assert.deepEqual(withTrace.map((p) => [p.pid, p.writeBytes, p.dirtiedBytes]), [[1, 8 * MiB, 8 * MiB], [2, 0, 0]]);
  assert.ok(processTraffic(before, after).every((p) => p.dirtiedBytes === null));
  assert.ok(processTraffic(before, after, trace()).every((p) => p.dirtiedBytes === null), 'dirtiers null: not traced');
});

test('fileTraffic: reads, dirtied bytes as writeBytes, writers most first, unresolved files named dev:ino', () => {
  const files = fileTraffic(
    trace({
      files: [
        { device: '254:0', kind: 'inode', ino: 12, path: '/data/a.db', readBytes: 1 * MiB, dirtiedBytes: 6 * MiB, tasks: [{ pid: 7, comm: 'small', readBytes: 0, dirtiedBytes: 1 * MiB }, { pid: 5, comm: 'big', readBytes: 1 * MiB, dirtiedBytes: 5 * MiB }, { pid: 9, comm: 'reader', readBytes: 0, dirtiedBytes: 0 }] },
        { device: '254:0', kind: 'inode', ino: 99, path: null, readBytes: 2 * MiB, dirtiedBytes: 0, tasks: [] },
        { device: '254:0', kind: 'bdev', ino: 0, path: '/dev/vda', readBytes: 0, dirtiedBytes: 64 * 1024, tasks: [{ pid: 300, comm: 'kworker/u8:1', readBytes: 0, dirtiedBytes: 64 * 1024 }] },
        { device: '254:0', kind: 'inode', ino: 5, path: '/idle', readBytes: 0, dirtiedBytes: 0, tasks: [] },
      ],
    }),
  );
  assert.deepEqual(files.map((f) => f.path), ['/data/a.db', '254:0:99 (unresolved)', '/dev/vda']);
  assert.deepEqual(files[0]!.writers, [{ pid: 5, comm: 'big' }, { pid: 7, comm: 'small' }]);
  assert.equal(files[0]!.writeBytes, 6 * MiB);
  assert.deepEqual(files[2]!.writers, [{ pid: 300, comm: 'kworker/u8:1' }]);
  assert.deepEqual(fileTraffic(trace()), []);
  assert.deepEqual(fileTraffic(undefined), []);
});

test('cgroupTraffic: rows include descendants; the root is left out; sums without counters', () => {
  const procs = [row(1, '/a', 10, 20), row(2, '/a/b', 1, 2), row(3, '/c', 5, 0), row(4, '/', 100, 100)];
  const rows = cgroupTraffic(procs);
  assert.deepEqual(rows.map((r) => [r.path, r.readBytes, r.writeBytes]), [['/a', 11, 22], ['/c', 5, 0], ['/a/b', 1, 2]]);
});

test('cgroupTraffic: v2 with memory takes the kernel counters for reads and writes', () => {
  const procs = [row(1, '/a', 10, 20)];
  const rows = cgroupTraffic(procs, { hierarchy: { version: 2, mount: '/sys/fs/cgroup', writebackToDirtier: true }, cgroupIo: [{ path: '/a', source: 'io.stat', before: { readBytes: 100, writeBytes: 1000 }, after: { readBytes: 150, writeBytes: 5000 } }] });
  assert.deepEqual(rows.map((r) => [r.path, r.readBytes, r.writeBytes]), [['/a', 50, 4000]]);
});

test('cgroupTraffic: without cgroup writeback the writes are the dirtiers\' sums; v1 counters that did not move are not kept', () => {
  const h2 = { version: 2 as const, mount: '/sys/fs/cgroup', writebackToDirtier: false };
  const k = (path: string, r0: number, r1: number, w0: number, w1: number) => ({ path, source: 'x', before: { readBytes: r0, writeBytes: w0 }, after: { readBytes: r1, writeBytes: w1 } });
  assert.deepEqual(cgroupTraffic([row(1, '/a', 10, 20)], { hierarchy: h2, cgroupIo: [k('/a', 0, 70, 0, 3)] }).map((r) => [r.readBytes, r.writeBytes]), [[70, 20]]);
  const h1 = { version: 1 as const, mount: '/sys/fs/cgroup/blkio', writebackToDirtier: false };
  // A v1 cgroup without a throttle limit: its counters stay at 0 although its process read → the sum stands.
  assert.deepEqual(cgroupTraffic([row(1, '/a', 10, 20)], { hierarchy: h1, cgroupIo: [k('/a', 0, 0, 0, 0)] }).map((r) => [r.readBytes, r.writeBytes]), [[10, 20]]);
  // With a limit they move: the kernel's reads, the dirtiers' writes.
  assert.deepEqual(cgroupTraffic([row(1, '/a', 10, 20)], { hierarchy: h1, cgroupIo: [k('/a', 0, 12, 0, 4)] }).map((r) => [r.readBytes, r.writeBytes]), [[12, 20]]);
  // A cgroup only the counters know (its processes exited): listed.
  assert.deepEqual(cgroupTraffic([], { hierarchy: h2, cgroupIo: [k('/gone', 0, 9, 0, 0)] }).map((r) => [r.path, r.readBytes]), [['/gone', 9]]);
});

test('scope: pid, cgroup (and below), container (id prefix or name), pod (name[/ns] or uid)', () => {
  const ref = { runtime: 'containerd', id: 'abcdef0123456789', name: 'web', podName: 'shop', podNamespace: 'prod', podUid: '1111-2222' };
  const t = { pid: 10, cgroup: '/kubepods/pod1111-2222/abcdef0123456789', container: ref };
  assert.ok(inScope(t, {}));
  assert.ok(inScope(t, { pid: 10 }) && !inScope(t, { pid: 11 }));
  assert.ok(inScope(t, { cgroup: '/kubepods' }) && inScope(t, { cgroup: t.cgroup }) && !inScope(t, { cgroup: '/kube' }));
  assert.ok(inScope(t, { container: 'abcd' }) && inScope(t, { container: 'web' }) && !inScope(t, { container: 'bcde' }));
  assert.ok(inScope(t, { pod: 'shop' }) && inScope(t, { pod: 'shop/prod' }) && inScope(t, { pod: '1111-2222' }));
  assert.ok(!inScope(t, { pod: 'shop/dev' }) && !inScope(t, { pod: 'cart' }));
  assert.ok(!inScope({ pid: 1, cgroup: '/' }, { pod: 'shop' }) && !podMatches(undefined, 'x'));
});

test('userDevMajMin: glibc major/minor of st_dev', () => {
  assert.equal(userDevMajMin(0xfe00), '254:0');
  assert.equal(userDevMajMin(259 * 256 + 3), '259:3');
  assert.equal(userDevMajMin(0), '0:0');
});

test('the io thresholds are the io.* keys', () => {
  assert.ok(Object.keys(ioThresholds(DEFAULT_THRESHOLDS)).every((k) => k.startsWith('io.')));
});

test('bpf/io.h and the decoder agree: event, request and per-file layouts, the shared histogram', async () => {
  const { readFileSync } = await import('node:fs');
  const { fixturePath } = await import('../../helpers.js');
  const { IO_EVENT_LAYOUT, IO_REQ_LAYOUT, IO_FILE_LAYOUT, IO_TASK_LAYOUT, IO_HIST_SIZE } = await import('../../../src/diagnose/io/bpf.js');
  const h = readFileSync(fixturePath('..', '..', 'bpf', 'io.h'), 'utf8');
  const size = (name: string): number => Number(new RegExp(`sizeof\\(struct ${name}\\) == (\\d+)`).exec(h)?.[1]);
  assert.equal(size('oio_event'), IO_EVENT_LAYOUT.size);
  assert.equal(size('oio_req'), IO_REQ_LAYOUT.size);
  assert.equal(size('oio_file_task_key'), IO_FILE_LAYOUT.taskKeySize);
  assert.equal(size('oio_file_task'), IO_FILE_LAYOUT.taskSize);
  assert.equal(size('oio_task'), IO_TASK_LAYOUT.size);
  assert.match(h, /#include "hist\.h"/);
  assert.equal(IO_HIST_SIZE, 35 * 8);
});
