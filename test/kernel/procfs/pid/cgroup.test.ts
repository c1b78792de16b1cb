import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { memoryCgroupPath, parseProcCgroup, readProcCgroup } from '../../../../src/kernel/procfs/pid/cgroup.js';
import { fixture, fuzzParser } from '../../../helpers.js';

const POD = '/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b';

test('proc cgroup: hybrid v1 + v2 (captured): memory line wins over 0::', () => {
  const e = parseProcCgroup(fixture('pid', 'cgroup-v1-hybrid'));
  assert.equal(e.length, 10);
  assert.deepEqual(e.find((x) => x.hierarchyId === 9)!.controllers, ['name=systemd']);
  assert.equal(memoryCgroupPath(e), '/');
  assert.deepEqual(e.find((x) => x.hierarchyId === 0)!.controllers, []);
});

test('proc cgroup: v1 kubepods with combined controllers', () => {
  const e = parseProcCgroup(fixture('pid', 'cgroup-v1-kubepods'));
  assert.deepEqual(e.find((x) => x.hierarchyId === 11)!.controllers, ['cpu', 'cpuacct']);
  assert.equal(memoryCgroupPath(e), POD);
});

test('proc cgroup: pure v2', () => {
  const e = parseProcCgroup(fixture('pid', 'cgroup-v2'));
  assert.equal(e.length, 1);
  assert.match(memoryCgroupPath(e)!, /cri-containerd-2f5a.*\.scope$/);
  assert.equal(memoryCgroupPath(parseProcCgroup('1:name=systemd:/\n')), undefined);
});

test('proc cgroup: malformed', () => {
  assert.throws(() => parseProcCgroup('4:memory:/\nx:memory:/a\n', 'c'), (e: unknown) => e instanceof ParseError && e.line === 2);
  assert.throws(() => parseProcCgroup('4:memory\n', 'c'), ParseError);
  assert.throws(() => parseProcCgroup('', 'c'), ParseError);
});

test('proc cgroup: fuzzed input never crashes', () => {
  fuzzParser((t) => parseProcCgroup(t, 'c'), fixture('pid', 'cgroup-v1-kubepods'), 'c');
});

test('proc cgroup: live, this process', async () => {
  const e = await readProcCgroup(new LiveHost(), process.pid);
  assert.ok(memoryCgroupPath(e)?.startsWith('/'));
});
