/**
 * Live tests of `oscope io`'s per-file traffic and the dirtier's bytes, with the real BPF programs: a
 * child process writes a known amount through the page cache to an oscope-test- file (the file's row
 * and the writer's writeBytes and dirtiedBytes within 10 %), and another reads a file whose cache was
 * dropped (the file's readBytes and the reader's within 10 %). The children start their I/O only once
 * the tracer is attached (the tracer factory tells them), and stay alive until the second read of
 * /proc/PID/io. Files are removed in `finally`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { test } from 'node:test';
import { needsRoot, testName } from '../../helpers.js';
import { findBpfObject, kernelHasTracepoint } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';
import { LiveHost } from '../../../src/host/live.js';
import { collectIo } from '../../../src/diagnose/io/collect.js';
import { analyzeIo } from '../../../src/diagnose/io/analyze.js';
import { IoCaptureSchema } from '../../../src/diagnose/io/capture.js';
import { IoParamsSchema } from '../../../src/diagnose/io/params.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { IoDocumentSchema, ioDocument } from '../../../src/report/io.js';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
const native = loadNative();
const obj = findBpfObject('io');
const dir = '/var/tmp';
const onDisk = (() => {
  try {
    return statfsSync(dir).type !== TMPFS_MAGIC;
  } catch {
    return false;
  }
})();
const skip: string | false = needsRoot || (!native.available ? native.reason : false) || ('missing' in obj ? obj.missing : false) || (onDisk ? false : `${dir} is not on a disk`);

/** A child that does `script` (given the file) when it reads "go", prints "done", and lives until stdin closes. */
function child(script: string, file: string): ChildProcess {
  const code = `
    const fs = require('node:fs');
    const file = ${JSON.stringify(file)};
    let started = false;
    process.stdin.on('data', (d) => {
      if (started || !String(d).includes('go')) return;
      started = true;
      ${script}
      process.stdout.write('done\\n');
    });
    process.stdin.on('end', () => process.exit(0));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function measure(c: ChildProcess, intervalS: number) {
  const done = new Promise<void>((resolve) => c.stdout!.on('data', (d) => String(d).includes('done') && resolve()));
  const th = resolveThresholds();
  const capture = await collectIo(new LiveHost(), IoParamsSchema.parse({ intervalS }), th, {
    onIntervalStart: () => c.stdin!.write('go\n'),
  });
  await done;
  IoCaptureSchema.parse(JSON.parse(JSON.stringify(capture)));
  const doc = ioDocument(analyzeIo(capture, th, 1000), 'en');
  IoDocumentSchema.parse(JSON.parse(JSON.stringify(doc)));
  return doc;
}

const within = (got: number, want: number, what: string): void => {
  assert.ok(Math.abs(got - want) <= want * 0.1, `${what}: ${got} bytes, expected ${want} ± 10 %`);
};

test('buffered writes: the file row and the writer\'s writeBytes and dirtiedBytes within 10 %', { skip, timeout: 60_000 }, async () => {
  const file = `${dir}/${testName('io-write')}`;
  const size = 32 * MiB;
  const c = child(`const fd = fs.openSync(file, 'w'); const b = Buffer.alloc(1 << 20, 7); for (let i = 0; i < ${size / MiB}; i++) fs.writeSync(fd, b); globalThis.keep = fd;`, file);
  try {
    const doc = await measure(c, 3);
    const row = doc.traffic.files.find((f) => f.path === file);
    assert.ok(row, `no row for ${file}: ${JSON.stringify(doc.traffic.files.slice(0, 5))}`);
    within(row.writeBytes, size, 'file writeBytes');
    assert.ok(row.writers.some((w) => w.pid === c.pid), `writers ${JSON.stringify(row.writers)} lack the writer ${c.pid}`);
    const p = doc.traffic.processes.find((x) => x.pid === c.pid);
    assert.ok(p, `no process row for the writer ${c.pid}`);
    within(p.writeBytes, size, 'process writeBytes');
    assert.notEqual(p.dirtiedBytes, null);
    within(p.dirtiedBytes!, size, 'process dirtiedBytes');
  } finally {
    c.stdin!.end();
    await once(c, 'exit').catch(() => undefined);
    rmSync(file, { force: true });
  }
});

test('reads of a file whose cache was dropped: the file row and the reader within 10 %', { skip, timeout: 60_000 }, async () => {
  const file = `${dir}/${testName('io-read')}`;
  const size = 16 * MiB;
  const fd = openSync(file, 'w');
  const b = Buffer.alloc(MiB, 3);
  for (let i = 0; i < size / MiB; i++) writeSync(fd, b);
  fsyncSync(fd);
  closeSync(fd);
  // Drop the file's page cache (GNU dd: posix_fadvise DONTNEED over the whole file).
  const dd = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  assert.equal(dd.status, 0, `dd iflag=nocache failed: ${String(dd.stderr)}`);
  const c = child(`const fd = fs.openSync(file, 'r'); const b = Buffer.alloc(1 << 20); while (fs.readSync(fd, b) > 0); globalThis.keep = fd;`, file);
  try {
    const doc = await measure(c, 3);
    const row = doc.traffic.files.find((f) => f.path === file);
    assert.ok(row, `no row for ${file}: ${JSON.stringify(doc.traffic.files.slice(0, 5))}`);
    within(row.readBytes, size, 'file readBytes');
    const p = doc.traffic.processes.find((x) => x.pid === c.pid);
    assert.ok(p, `no process row for the reader ${c.pid}`);
    within(p.readBytes, size, 'process readBytes');
  } finally {
    c.stdin!.end();
    await once(c, 'exit').catch(() => undefined);
    rmSync(file, { force: true });
  }
});

test('direct I/O (O_DIRECT dd): the file row has its written and read bytes within 10 %, dd among its writers', { skip: skip || (kernelHasTracepoint('iomap_dio_rw_begin') ? false : 'no iomap_dio_rw_begin tracepoint on this kernel'), timeout: 60_000 }, async () => {
  const file = `${dir}/${testName('io-direct')}`;
  const size = 16 * MiB;
  const dd = (args: string[]): string => `if (require('node:child_process').spawnSync('dd', ${JSON.stringify(args)}).status !== 0) process.exit(3);`;
  const c = child(
    // The child keeps the file open, as a database keeps its files: direct I/O leaves no page cache, so
    // the kernel's dentries (the inode walk over cached inodes) would not name it, the open fd does.
    dd(['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${size / MiB}`, 'oflag=direct', 'status=none']) +
      'globalThis.keep = fs.openSync(file, "r");' +
      dd([`if=${file}`, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none']),
    file,
  );
  try {
    const doc = await measure(c, 3);
    const row = doc.traffic.files.find((f) => f.path === file);
    assert.ok(row, `no row for ${file}: ${JSON.stringify(doc.traffic.files.slice(0, 5))}`);
    within(row.writeBytes, size, 'file writeBytes (direct)');
    within(row.readBytes, size, 'file readBytes (direct)');
    assert.ok(row.writers.some((w) => w.comm === 'dd'), `writers ${JSON.stringify(row.writers)} lack dd`);
    assert.match(JSON.stringify(doc.method), /iomap_dio_rw_begin/);
  } finally {
    c.stdin!.end();
    await once(c, 'exit').catch(() => undefined);
    rmSync(file, { force: true });
  }
});
