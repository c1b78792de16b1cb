/** Live tests of the generic cleanup: tolerance of gone resources, the prefix guard, recycled pids. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { needsRoot, testName } from '../helpers.js';
import { procIdentity, isSameProcessAlive } from '../../src/simulate/proc.js';
import { cleanupState, removeResource, type RunState } from '../../src/simulate/state.js';

test('cleanup removes files and dirs in reverse order and tolerates what is already gone', async () => {
  const base = `/tmp/oscope-sim-${testName('state')}`;
  try {
    const state: RunState = {
      schema: 'oscope.simulate-state/v1',
      runId: 'x',
      scenario: 'test',
      options: {},
      owner: { pid: process.pid, startTime: '0' },
      detached: false,
      createdAt: new Date().toISOString(),
      status: 'running',
      resources: [
        { kind: 'dir', path: base },
        { kind: 'file', path: `${base}/a` },
        { kind: 'file', path: `${base}/never-created` },
        { kind: 'cgroup', path: '/sys/fs/cgroup/memory/oscope-sim-never-created' },
        { kind: 'sysv-shm', key: 0x05c1ffff, creatorPid: 1, bytes: 4096 },
        { kind: 'mount', path: `${base}/not-a-mount` },
        { kind: 'bpf-pin', path: '/sys/fs/bpf/oscope-sim-never-created' },
      ],
    };
    mkdirSync(base);
    writeFileSync(`${base}/a`, 'x');
    writeFileSync(`${base}/inner`, 'y');
    assert.deepEqual(await cleanupState(state), []);
    assert.ok(!existsSync(base));
    // A second pass finds everything gone and still succeeds.
    assert.deepEqual(await cleanupState(state), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('cleanup refuses paths without the oscope-sim- prefix', async () => {
  const dir = `/tmp/${testName('noprefix')}`;
  mkdirSync(dir);
  try {
    await assert.rejects(removeResource({ kind: 'dir', path: dir }), /no oscope-sim- prefix/);
    await assert.rejects(removeResource({ kind: 'file', path: `${dir}/f` }), /no oscope-sim- prefix/);
    assert.ok(existsSync(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a recorded process is killed only when its start time matches (recycled pids are safe)', { skip: needsRoot }, async () => {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const id = procIdentity(child.pid!);
    assert.ok(id);
    await removeResource({ kind: 'process', pid: id.pid, startTime: String(BigInt(id.startTime) + 1n), role: 'test' });
    assert.ok(isSameProcessAlive(id), 'a different start time must not be signalled');
    await removeResource({ kind: 'process', pid: id.pid, startTime: id.startTime, role: 'test' });
    assert.ok(!isSameProcessAlive(id));
  } finally {
    child.kill('SIGKILL');
  }
});
