import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseProcStatus, readProcStatus } from '../../../../src/kernel/procfs/pid/status.js';
import { fixture, fuzzParser } from '../../../helpers.js';

test('status: captured process, kB → bytes, RSS adds up', () => {
  const s = parseProcStatus(fixture('pid', 'status'));
  assert.equal(s.name, 'python3');
  assert.equal(s.state, 'S');
  assert.ok(s.pid > 0 && s.ppid > 0);
  assert.deepEqual(s.uid, [0, 0, 0, 0]);
  assert.deepEqual(s.nsPid, [s.pid]);
  assert.equal(s.threads, 1);
  assert.ok(s.vmRssBytes! > 0 && s.vmRssBytes! % 1024 === 0);
  assert.equal(s.vmRssBytes, s.rssAnonBytes! + s.rssFileBytes! + s.rssShmemBytes!);
  assert.ok(s.rssShmemBytes! >= 4096, 'the fixture process maps shmem (memfd, /dev/shm, SysV)');
  assert.equal(s.vmSwapBytes, 0);
});

test('status: kernel thread has no memory fields (undefined, not 0)', () => {
  const s = parseProcStatus(fixture('pid', 'status-kthread'));
  assert.equal(s.name, 'kworker/u4:2-events_unbound');
  assert.equal(s.state, 'I');
  assert.equal(s.ppid, 2);
  assert.equal(s.vmRssBytes, undefined);
  assert.equal(s.rssAnonBytes, undefined);
});

test('status: containerised process on an older kernel: nested NSpid, name with spaces, swap', () => {
  const s = parseProcStatus(fixture('pid', 'status-4.19-container'));
  assert.equal(s.name, 'nginx: worker process');
  assert.deepEqual(s.nsPid, [23117, 7]);
  assert.deepEqual(s.uid, [101, 101, 101, 101]);
  assert.equal(s.vmRssBytes, 11900 * 1024);
  assert.equal(s.rssShmemBytes, 2000 * 1024);
  assert.equal(s.vmSwapBytes, 256 * 1024);
  assert.equal(s.memFields.get('VmHWM'), 12004 * 1024);
});

test('status: malformed values name the line', () => {
  assert.throws(
    () => parseProcStatus('Name:\tx\nState:\tS (sleeping)\nPid:\t1\nPPid:\t0\nVmRSS:\t12 MB\n', '/proc/1/status'),
    (e: unknown) => e instanceof ParseError && e.line === 5 && e.file === '/proc/1/status',
  );
  assert.throws(() => parseProcStatus('Name:\tx\n'), ParseError);
});

test('status: fuzzed input never crashes', () => {
  fuzzParser((t) => parseProcStatus(t, 'f'), fixture('pid', 'status'), 'f');
  fuzzParser((t) => parseProcStatus(t, 'f'), fixture('pid', 'status-4.19-container'), 'f');
});

test('status: live, this process', async () => {
  const s = await readProcStatus(new LiveHost(), process.pid);
  assert.equal(s.pid, process.pid);
  assert.ok(s.vmRssBytes! > 10 * 1024 * 1024);
});
