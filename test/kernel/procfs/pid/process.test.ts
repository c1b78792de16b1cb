import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { listPids, readProcess } from '../../../../src/kernel/procfs/pid/process.js';

test('process: listPids includes this process and only numbers', async () => {
  const pids = await listPids(new LiveHost());
  assert.ok(pids.includes(process.pid));
  assert.ok(pids.every((p) => Number.isInteger(p) && p > 0));
});

test('process: readProcess of this process', async () => {
  const p = (await readProcess(new LiveHost(), process.pid))!;
  assert.equal(p.status.pid, process.pid);
  assert.ok(p.smapsRollup!.rssBytes > 0);
  assert.ok(p.memoryCgroup?.startsWith('/'));
});

test('process: a kernel thread exists but has no smaps_rollup', async () => {
  const p = await readProcess(new LiveHost(), 2);
  assert.ok(p, 'kthreadd is read');
  assert.equal(p.smapsRollup, undefined);
});

test('process: a process that vanished gives undefined', async () => {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await once(child, 'exit');
  // The child is reaped once 'exit' fires; its /proc entry is gone (pids are not reused this fast).
  assert.equal(await readProcess(new LiveHost(), pid), undefined);
});

test('process: every process on this host reads without throwing (vanished → undefined, protected → unreadable)', async () => {
  const host = new LiveHost();
  let read = 0;
  for (const pid of await listPids(host)) {
    const p = await readProcess(host, pid);
    if (!p) continue;
    read++;
    assert.equal(p.status.pid, pid);
    if (p.unreadable.length > 0) assert.equal(p.smapsRollup, undefined);
  }
  assert.ok(read > 1);
});
