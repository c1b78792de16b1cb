import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, openSync, closeSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixtureDirHost } from '../../../../src/host/dir.js';
import { LiveHost } from '../../../../src/host/live.js';
import { classifyFdTarget, readFds } from '../../../../src/kernel/procfs/pid/fd.js';
import { fixture, testName } from '../../../helpers.js';

/** The captured `fd target` lines of a process holding a memfd, a deleted file, /dev/shm, pipes and a socket. */
function capturedLinks(): [number, string][] {
  return fixture('pid', 'fd-links')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return [Number(l.slice(0, sp)), l.slice(sp + 1)];
    });
}

test('fd: classify captured targets', () => {
  const e = new Map(capturedLinks().map(([fd, t]) => [fd, classifyFdTarget(fd, t)]));
  assert.deepEqual(e.get(3), { fd: 3, target: '/memfd:oscope-test-memfd (deleted)', kind: 'memfd', deleted: true, path: 'oscope-test-memfd' });
  assert.equal(e.get(5)!.kind, 'file');
  assert.equal(e.get(5)!.deleted, true);
  assert.equal(e.get(5)!.path, '/tmp/oscope-test-deleted file');
  assert.equal(e.get(7)!.path, '/dev/shm/oscope-test-shm');
  assert.equal(e.get(7)!.deleted, false);
  assert.equal(e.get(11)!.kind, 'pipe');
  assert.equal(e.get(11)!.inode, 5926);
  assert.equal(e.get(12)!.kind, 'socket');
  assert.equal(e.get(0)!.path, '/dev/null');
});

test('fd: other target shapes', () => {
  assert.equal(classifyFdTarget(4, 'anon_inode:[eventfd]').anonClass, '[eventfd]');
  assert.equal(classifyFdTarget(4, 'anon_inode:bpf-map').kind, 'anon_inode');
  assert.equal(classifyFdTarget(4, 'memfd:x (deleted)').kind, 'memfd');
  assert.equal(classifyFdTarget(4, 'net:[4026531840]').kind, 'other');
});

test('fd: readFds through a fixture tree of symlinks', async () => {
  const root = mkdtempSync(join(tmpdir(), 'oscope-test-fd-'));
  try {
    mkdirSync(join(root, 'proc/42/fd'), { recursive: true });
    for (const [fd, t] of capturedLinks()) symlinkSync(t, join(root, 'proc/42/fd', String(fd)));
    const fds = await readFds(new FixtureDirHost(root), 42);
    assert.equal(fds.length, capturedLinks().length);
    assert.deepEqual(fds.map((f) => f.fd), [...fds.map((f) => f.fd)].sort((a, b) => a - b));
    assert.equal(fds.filter((f) => f.kind === 'memfd').length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('fd: live, a deleted-but-open file of this process', async () => {
  const path = join(tmpdir(), testName('fd'));
  writeFileSync(path, 'x');
  const fd = openSync(path, 'r');
  try {
    unlinkSync(path);
    const fds = await readFds(new LiveHost(), process.pid);
    const e = fds.find((f) => f.fd === fd)!;
    assert.equal(e.kind, 'file');
    assert.equal(e.deleted, true);
    assert.equal(e.path, path);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
});
