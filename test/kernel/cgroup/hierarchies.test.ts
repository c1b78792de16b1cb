import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { memoryHierarchyOf } from '../../../src/kernel/cgroup/discover.js';
import {
  type CgroupLayout,
  cgroupDir,
  controllerHierarchy,
  parseCgroupHierarchies,
  processCgroups,
  processControllerCgroup,
  readCgroupHierarchies,
  readProcessCgroups,
  v1ControllerHierarchies,
} from '../../../src/kernel/cgroup/hierarchies.js';
import { parseProcCgroup } from '../../../src/kernel/procfs/pid/cgroup.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { fixture } from '../../helpers.js';

function layoutOf(name: 'v1' | 'v2' | 'hybrid'): CgroupLayout {
  const f = (file: string): string => fixture('cgroup', 'hierarchies', name, file);
  let controllers: string | undefined;
  try {
    controllers = f('cgroup.controllers');
  } catch {
    controllers = undefined;
  }
  return parseCgroupHierarchies({ mountinfo: f('mountinfo'), cgroups: f('cgroups'), v2Controllers: () => controllers });
}

const POD = '/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const CTR = `${POD}/2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b`;

test('hierarchies: cgroup v1 (combined and named hierarchies, a sub-tree mount)', () => {
  const l = layoutOf('v1');
  assert.equal(l.mode, 'v1');
  assert.equal(l.v2, undefined);
  const v1 = l.hierarchies.filter((h) => h.version === 1);
  assert.equal(v1.length, 11);
  const cpu = controllerHierarchy(l, 'cpu')!;
  assert.deepEqual([cpu.controllers, cpu.id, cpu.mountPoint], [['cpu', 'cpuacct'], 4, '/sys/fs/cgroup/cpu,cpuacct']);
  assert.equal(controllerHierarchy(l, 'cpuacct'), cpu);
  assert.deepEqual(controllerHierarchy(l, 'net_prio')?.controllers, ['net_cls', 'net_prio']);
  const systemd = l.hierarchies.find((h) => h.name === 'systemd')!;
  // xattr and release_agent= are mount flags, not controllers; a named hierarchy has no /proc/cgroups id.
  assert.deepEqual([systemd.controllers, systemd.id, systemd.mountPoint], [[], undefined, '/sys/fs/cgroup/systemd']);
  // Two mounts of the memory hierarchy: the root one is preferred, the pod view is kept.
  const mem = controllerHierarchy(l, 'memory')!;
  assert.deepEqual([mem.id, mem.mountPoint, mem.mountRoot], [6, '/sys/fs/cgroup/memory', '/']);
  assert.deepEqual(mem.mounts.map((m) => m.root), ['/', POD]);
  assert.deepEqual(memoryHierarchyOf(l), { version: 1, mountPoint: '/sys/fs/cgroup/memory', mountRoot: '/', hierarchyId: 6, numCgroups: 431 });
  // ssid is the /proc/cgroups line index.
  assert.deepEqual([...v1ControllerHierarchies(l)].map(([k, v]) => [k, v.controller.ssid]).sort(), [
    ['blkio', 7], ['cpu', 1], ['cpuacct', 2], ['cpuset', 0], ['devices', 4], ['freezer', 5], ['hugetlb', 9], ['memory', 3], ['net_cls', 6], ['net_prio', 11], ['perf_event', 8], ['pids', 10],
  ]);
  const p = processCgroups(l, parseProcCgroup(fixture('cgroup', 'hierarchies', 'v1', 'pid-cgroup')));
  assert.equal(p.length, 11);
  assert.ok(p.every((x) => x.hierarchy !== undefined && x.path === CTR));
  const pm = processControllerCgroup(l, parseProcCgroup(fixture('cgroup', 'hierarchies', 'v1', 'pid-cgroup')), 'memory')!;
  assert.equal(pm.dir, `/sys/fs/cgroup/memory${CTR}`);
  assert.equal(p.find((x) => x.controllers.includes('name=systemd'))?.hierarchy, systemd);
  // Through the pod's sub-tree mount alone, the same cgroup is under the view's mount point.
  const view = { ...mem, mounts: [mem.mounts[1]!] };
  assert.equal(cgroupDir(view, CTR), `/var/lib/kubelet/pods/0a1b2c3d-4e5f-6789-abcd-ef0123456789/memcg/${CTR.slice(POD.length + 1)}`);
  assert.equal(cgroupDir(view, '/system.slice'), undefined);
});

test('hierarchies: cgroup v2 (one hierarchy however often mounted, escaped mount points)', () => {
  const l = layoutOf('v2');
  assert.equal(l.mode, 'v2');
  assert.equal(l.hierarchies.length, 1);
  const v2 = l.v2!;
  assert.deepEqual([v2.id, v2.mountPoint, v2.controllersKnown], [0, '/sys/fs/cgroup', true]);
  assert.deepEqual(v2.controllers, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']);
  assert.deepEqual(v2.mounts.map((m) => m.mountPoint), ['/sys/fs/cgroup', '/run/oscope view/burstable']);
  assert.equal(controllerHierarchy(l, 'memory'), v2);
  assert.equal(controllerHierarchy(l, 'net_cls'), undefined, 'not in cgroup.controllers: mounted nowhere');
  assert.deepEqual(memoryHierarchyOf(l), { version: 2, mountPoint: '/sys/fs/cgroup', mountRoot: '/', hierarchyId: 0, numCgroups: 143 });
  const entries = parseProcCgroup(fixture('cgroup', 'hierarchies', 'v2', 'pid-cgroup'));
  const [p] = processCgroups(l, entries);
  assert.equal(p?.hierarchy, v2);
  assert.match(p?.dir ?? '', /^\/sys\/fs\/cgroup\/kubepods\.slice\/kubepods-burstable\.slice\/.*cri-containerd-2f5a.*\.scope$/);
  assert.equal(processControllerCgroup(l, entries, 'memory')?.dir, p?.dir);
  // Unreadable cgroup.controllers: v2 is mounted but no controller is known to be on it.
  const blind = parseCgroupHierarchies({ mountinfo: fixture('cgroup', 'hierarchies', 'v2', 'mountinfo'), v2Controllers: () => undefined });
  assert.deepEqual([blind.mode, blind.v2?.controllersKnown, memoryHierarchyOf(blind)], ['v2', false, undefined]);
});

test('hierarchies: hybrid (captured here: memory on v1, cgroup2 without memory)', () => {
  const l = layoutOf('hybrid');
  assert.equal(l.mode, 'hybrid');
  assert.deepEqual(l.v2?.controllers, ['hugetlb']);
  assert.equal(l.v2?.mountPoint, '/sys/fs/cgroup/unified');
  assert.equal(controllerHierarchy(l, 'memory')?.mountPoint, '/sys/fs/cgroup/memory');
  assert.equal(controllerHierarchy(l, 'hugetlb'), l.v2);
  assert.equal(memoryHierarchyOf(l)?.version, 1);
  const entries = parseProcCgroup(fixture('cgroup', 'hierarchies', 'hybrid', 'pid-cgroup'));
  const p = processCgroups(l, entries);
  assert.ok(p.every((x) => x.hierarchy !== undefined), 'every line has its hierarchy');
  assert.equal(processControllerCgroup(l, entries, 'memory')?.dir, '/sys/fs/cgroup/memory/process_api/9b960f88695815c975381c285fc04db5');
  assert.equal(p.find((x) => x.hierarchyId === 0)?.dir, '/sys/fs/cgroup/unified');
});

test('hierarchies: no cgroup mounts, a disabled controller, malformed input', () => {
  const none = parseCgroupHierarchies({ mountinfo: '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n' });
  assert.deepEqual([none.mode, none.hierarchies.length, controllerHierarchy(none, 'memory')], ['none', 0, undefined]);
  const disabled = parseCgroupHierarchies({
    mountinfo: fixture('cgroup', 'hierarchies', 'v1', 'mountinfo'),
    cgroups: fixture('cgroup', 'hierarchies', 'v1', 'cgroups').replace('memory\t6\t431\t1', 'memory\t6\t431\t0'),
  });
  assert.equal(controllerHierarchy(disabled, 'memory'), undefined);
  // Without /proc/cgroups the mount's options still name the controllers.
  const bare = parseCgroupHierarchies({ mountinfo: fixture('cgroup', 'hierarchies', 'v1', 'mountinfo') });
  assert.deepEqual(controllerHierarchy(bare, 'cpu')?.controllers, ['cpu', 'cpuacct']);
  assert.equal(v1ControllerHierarchies(bare).size, 0, 'no ssid without /proc/cgroups');
  assert.throws(() => parseCgroupHierarchies({ mountinfo: 'garbage\n' }), ParseError);
  assert.throws(() => parseCgroupHierarchies({ mountinfo: '', cgroups: 'bad header\n' }), ParseError);
});

test('hierarchies: the live host agrees with /proc/self/cgroup', async () => {
  const host = new LiveHost();
  const l = await readCgroupHierarchies(host);
  const mi = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.equal(l.v2 !== undefined, / - cgroup2 /.test(mi));
  assert.equal(l.hierarchies.some((h) => h.version === 1), / - cgroup /.test(mi));
  const mine = await readProcessCgroups(host, process.pid, l);
  assert.equal(mine.length, readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').length);
  for (const p of mine) {
    if (!p.hierarchy || !p.dir) continue;
    // The directory named for our own cgroup lists our pid in cgroup.procs.
    const procs = readFileSync(`${p.dir}/cgroup.procs`, 'utf8').split('\n');
    assert.ok(procs.includes(String(process.pid)), `${p.dir}/cgroup.procs lacks ${process.pid}`);
  }
});
