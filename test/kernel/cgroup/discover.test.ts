import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixtureDirHost } from '../../../src/host/dir.js';
import { LiveHost } from '../../../src/host/live.js';
import { chooseMemoryHierarchy, discoverMemoryHierarchy } from '../../../src/kernel/cgroup/discover.js';
import { parseCgroups } from '../../../src/kernel/procfs/cgroups.js';
import { parseMountinfo } from '../../../src/kernel/procfs/pid/mountinfo.js';
import { fixture, fixturePath } from '../../helpers.js';

test('discover: hybrid host (captured) picks v1 memory, not the v2 mount without memory', () => {
  const mounts = parseMountinfo(fixture('pid', 'mountinfo'));
  const row = parseCgroups(fixture('proc', 'cgroups')).controllers.get('memory');
  const h = chooseMemoryHierarchy(mounts, row, new Map([['/sys/fs/cgroup/unified', 'hugetlb\n']]));
  assert.equal(h?.version, 1);
  assert.equal(h?.mountPoint, '/sys/fs/cgroup/memory');
  assert.ok((h?.hierarchyId ?? 0) > 0);
});

test('discover: v2 chosen only when cgroup.controllers lists memory', () => {
  const mounts = parseMountinfo(fixture('pid', 'mountinfo-container-host'));
  assert.equal(chooseMemoryHierarchy(mounts, undefined, new Map([['/sys/fs/cgroup', 'cpu io pids']])), undefined);
  const h = chooseMemoryHierarchy(mounts, undefined, new Map([['/sys/fs/cgroup', 'cpuset cpu io memory pids']]));
  assert.deepEqual(h, { version: 2, mountPoint: '/sys/fs/cgroup', mountRoot: '/' });
});

test('discover: old v1-only host, memory disabled', () => {
  const mounts = parseMountinfo(fixture('pid', 'mountinfo-v1-kernel4'));
  assert.equal(chooseMemoryHierarchy(mounts, undefined, new Map())?.mountPoint, '/sys/fs/cgroup/memory');
  assert.equal(chooseMemoryHierarchy(mounts, { subsys_name: 'memory', hierarchy: 4, num_cgroups: 1, enabled: false }, new Map()), undefined);
});

test('discover: fixture v2 host and the live host', async () => {
  const v2 = await discoverMemoryHierarchy(new FixtureDirHost(fixturePath('cgroup', 'v2')));
  assert.equal(v2?.version, 2);
  assert.equal(v2?.hierarchyId, 0);
  const live = await discoverMemoryHierarchy(new LiveHost());
  assert.equal(live?.version, 1, 'this machine has memory on cgroup v1');
  assert.equal(live?.mountPoint, '/sys/fs/cgroup/memory');
});

test('FixtureDirHost: maps absolute paths into its root and refuses escapes', async () => {
  const host = new FixtureDirHost(fixturePath('cgroup', 'v2'));
  assert.match(await host.readText('/sys/fs/cgroup/cgroup.controllers'), /memory/);
  await assert.rejects(host.readText('/../../pid/status'), /escapes the fixture root/);
  await assert.rejects(host.readText('relative'), /not an absolute path/);
  await assert.rejects(host.readText('/nope'), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
  assert.equal(await host.exists('/sys/fs/cgroup/system.slice'), true);
  assert.equal(host.kind, 'bundle');
});
