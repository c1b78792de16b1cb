import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixtureDirHost } from '../../../src/host/dir.js';
import { LiveHost } from '../../../src/host/live.js';
import { walkMemoryCgroups } from '../../../src/kernel/cgroup/walk.js';
import { computeZombies } from '../../../src/kernel/cgroup/zombie.js';
import { fixturePath, needsRoot, testName } from '../../helpers.js';

const MiB = 1024 * 1024;
const POD = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice';
const DOCKER = '9d4e1c2b3a495867f8e9d0c1b2a39485766554433221100ffeeddccbbaa99887';
const CTR = `${POD}/cri-containerd-2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b.scope`;

test('walk v2 (fixture cgroupfs): every memory cgroup, pre-order, with stats, limits and children', async () => {
  const host = new FixtureDirHost(fixturePath('cgroup', 'v2'));
  const w = await walkMemoryCgroups(host);
  assert.equal(w.hierarchy.version, 2);
  assert.equal(w.cgroups.length, 8);
  assert.equal(w.cgroups[0]!.path, '/');
  assert.equal(w.cgroups[0]!.memory.usageEstimated, true, 'v2 root has no memory.current');
  const byPath = new Map(w.cgroups.map((c) => [c.path, c]));
  const sys = byPath.get('/system.slice')!;
  assert.equal(sys.children.length, 2);
  assert.equal(sys.memory.usageBytes, 600 * MiB);
  assert.equal(sys.memory.limitBytes, null);
  const ctr = byPath.get(CTR)!;
  assert.equal(ctr.depth, 4);
  assert.equal(ctr.memory.limitBytes, 1100 * MiB);
  assert.equal(ctr.memory.fileBytes, 300 * MiB);
  assert.equal(ctr.memory.workingsetBytes, 900 * MiB);
  assert.equal(ctr.memory.writebackBytes, 1 * MiB);
  assert.equal(ctr.ino, statSync(join(fixturePath('cgroup', 'v2'), 'sys/fs/cgroup', CTR)).ino);
  assert.equal(ctr.cgroupStat?.nrDescendants, 0);
  for (const c of w.cgroups) for (const k of c.children) assert.ok(w.cgroups.indexOf(byPath.get(k)!) > w.cgroups.indexOf(c), 'parents first');
  const shallow = await walkMemoryCgroups(host, { maxDepth: 1 });
  assert.deepEqual(shallow.cgroups.map((c) => c.path).sort(), ['/', '/kubepods.slice', '/system.slice']);
});

test('zombies v2 (fixture): nr_dying_subsys_memory, per-parent count and bytes', async () => {
  const w = await walkMemoryCgroups(new FixtureDirHost(fixturePath('cgroup', 'v2')));
  const z = computeZombies(w);
  assert.equal(z.method, 'v2-nr_dying_subsys_memory');
  assert.equal(z.zombies, 3);
  assert.equal(z.visible, 8);
  assert.equal(z.total, 11);
  assert.deepEqual(z.byParent.map((p) => [p.path, p.zombies, p.zombieBytes]), [['/system.slice', 3, 300 * MiB]]);
  assert.equal(z.zombieBytes, 300 * MiB);
});

test('walk + zombies v1 (fixture cgroupfs): total_* minus own minus live children', async () => {
  const w = await walkMemoryCgroups(new FixtureDirHost(fixturePath('cgroup', 'v1')));
  assert.equal(w.hierarchy.version, 1);
  assert.equal(w.hierarchy.mountPoint, '/sys/fs/cgroup/memory');
  assert.deepEqual(w.cgroups.map((c) => c.path), ['/', '/docker', `/docker/${DOCKER}`, '/user.slice']);
  const ctr = w.cgroups[2]!;
  assert.equal(ctr.memory.limitBytes, 256 * MiB);
  assert.equal(ctr.memory.kernelBytes, 5 * MiB);
  assert.equal(ctr.memory.workingsetBytes, 180 * MiB);
  assert.equal(ctr.memory.dirtyBytes, 1 * MiB);
  assert.equal(w.cgroups[1]!.memory.limitBytes, null);
  const z = computeZombies(w);
  assert.equal(z.total, 6);
  assert.equal(z.visible, 4);
  assert.equal(z.zombies, 2);
  assert.deepEqual(z.byParent, [{ path: '/docker', ino: w.cgroups[1]!.ino, zombieBytes: 52 * MiB, usageResidualBytes: 55 * MiB }]);
  assert.equal(z.zombieBytes, 52 * MiB);
});

/** Runs `sh -c script` after moving the shell into `cgroupDir`; resolves when it exits successfully. */
async function runIn(cgroupDir: string, script: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && ${script}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `child failed: ${err}`);
}

const V1_ROOT = '/sys/fs/cgroup/memory';
const v1Skip = needsRoot || (existsSync(`${V1_ROOT}/memory.stat`) ? false : 'no cgroup v1 memory hierarchy on this host');

test('walk v1 (live): page cache of a 64 MiB file written and read in our own cgroup', { skip: v1Skip }, async () => {
  const parent = join(V1_ROOT, testName('walk'));
  const child = join(parent, 'leaf');
  const file = join('/var/tmp', testName('walk-file'));
  mkdirSync(parent);
  try {
    mkdirSync(child);
    await runIn(child, `dd if=/dev/zero of='${file}' bs=1M count=64 status=none && cat '${file}' > /dev/null`);
    const w = await walkMemoryCgroups(new LiveHost());
    assert.equal(w.hierarchy.version, 1);
    const rel = '/' + parent.slice(V1_ROOT.length + 1);
    const leaf = w.cgroups.find((c) => c.path === `${rel}/leaf`)!;
    const top = w.cgroups.find((c) => c.path === rel)!;
    assert.ok(leaf && top, 'both test cgroups are walked');
    assert.deepEqual(top.children, [`${rel}/leaf`]);
    assert.equal(leaf.ino, statSync(child).ino);
    const want = 64 * MiB;
    assert.ok(Math.abs(leaf.memory.fileBytes - want) <= want * 0.1, `leaf fileBytes ${leaf.memory.fileBytes} within 10 % of ${want}`);
    assert.ok(Math.abs(top.memory.fileBytes - want) <= want * 0.1, 'the parent counts it hierarchically');
    assert.ok(top.memory.own!.fileBytes < MiB, 'but not as its own');
    assert.equal(leaf.memory.limitBytes, null);
    assert.ok(leaf.memory.usageBytes >= leaf.memory.fileBytes * 0.9);
    assert.ok(!w.cgroups.some((c) => c.path === rel + '/..'));
    const z = computeZombies(w);
    assert.ok(!z.byParent.some((p) => p.path === rel && (p.zombieBytes ?? 0) > 4 * MiB), 'no zombie yet under our parent');

    // Remove the leaf while its page cache is still charged to it: it becomes a zombie under our parent.
    rmdirSync(child);
    const w2 = await walkMemoryCgroups(new LiveHost());
    const z2 = computeZombies(w2);
    assert.equal(z2.method, 'v1-num_cgroups+memory.stat-total');
    assert.equal(typeof z2.zombies, 'number');
    const mine = z2.byParent.find((p) => p.path === rel);
    assert.ok(mine, 'our parent holds zombie bytes');
    assert.ok(Math.abs(mine.zombieBytes! - want) <= want * 0.1, `zombieBytes ${mine.zombieBytes} within 10 % of ${want}`);
    assert.ok(mine.usageResidualBytes! >= mine.zombieBytes! * 0.9);
  } finally {
    rmSync(file, { force: true });
    if (existsSync(child)) rmdirSync(child);
    rmdirSync(parent);
  }
});
