/**
 * The memory panorama against a REAL containerd + runc container (test/support/containerd.ts): a pod's
 * container, named the way a kubelet names it, writes a 200 MiB log under /var/log and holds some
 * anonymous memory; the panorama must put its cgroup row and its process under that container, with the
 * names from the task's annotations and the file cache it made.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CONTAINERD_TASK_DIR, containerdTaskDirs, listContainerdTasks, resolveContainerNames } from '../../src/containers/runtime.js';
import { runMemPanorama } from '../../src/diagnose/memory/panorama.js';
import { DEFAULT_THRESHOLDS } from '../../src/diagnose/thresholds.js';
import { FixtureDirHost } from '../../src/host/dir.js';
import { LiveHost } from '../../src/host/live.js';
import { fixturePath } from '../helpers.js';
import { containerLog, containerdAvailable, leftovers, runContainer, startContainerd, stopAll } from '../support/containerd.js';

const MiB = 1024 * 1024;
const LOG_MIB = 200;
const ANON_MIB = 32;
const skip = containerdAvailable();

after(async () => {
  await stopAll();
});

async function waitFor(what: string, cond: () => boolean, ms: number, detail: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`${what} did not happen within ${ms} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('containerd state dirs: OSCOPE_CONTAINERD_STATE first, then /run/containerd and k3s; an explicit list wins', async () => {
  assert.deepEqual(containerdTaskDirs({ OSCOPE_CONTAINERD_STATE: '/srv/ctd/:relative::/run/containerd' }), [
    '/srv/ctd/io.containerd.runtime.v2.task',
    CONTAINERD_TASK_DIR,
    '/run/k3s/containerd/io.containerd.runtime.v2.task',
  ]);
  assert.deepEqual(containerdTaskDirs({}), [CONTAINERD_TASK_DIR, '/run/k3s/containerd/io.containerd.runtime.v2.task']);
  const host = new FixtureDirHost(fixturePath('containers', 'state'));
  const tasks = await listContainerdTasks(host, { containerdTaskDirs: ['/nonexistent/io.containerd.runtime.v2.task', CONTAINERD_TASK_DIR] });
  assert.ok(tasks.size > 0, 'tasks found in the second dir');
  assert.equal((await listContainerdTasks(host, { containerdTaskDirs: ['/nonexistent'] })).size, 0);
  const [id] = [...tasks.keys()];
  assert.equal((await resolveContainerNames(host, [id!], { containerdTaskDirs: [] })).get(id!)?.runtime, undefined);
});

test('memory panorama: a real containerd container is named from its CRI annotations, with its file cache', { skip, timeout: 120_000 }, async () => {
  const t0 = Date.now();
  await startContainerd();
  const started = Date.now();
  // The shell holds ANON_MIB of heap (a variable), writes the log, says so, and waits.
  const script = [
    `a=$(head -c ${ANON_MIB * MiB} /dev/zero | tr '\\0' x)`,
    `dd if=/dev/zero of=/var/log/oscope-test-app.log bs=1M count=${LOG_MIB} 2>/dev/null`,
    'touch /var/log/oscope-test-ready',
    'while :; do sleep 1; done',
  ].join('; ');
  const c = await runContainer({ name: 'app', podName: 'oscope-test-web-0', podNamespace: 'oscope-test-ns', command: ['sh', '-c', script] });
  try {
    await waitFor('the container writing its log', () => {
      try {
        statSync(join(c.rootfsHostPath, 'var/log/oscope-test-ready'));
        return true;
      } catch {
        return false;
      }
    }, 60_000, () => containerLog(c));
    const written = statSync(join(c.rootfsHostPath, 'var/log/oscope-test-app.log')).size;
    assert.equal(written, LOG_MIB * MiB, 'the container wrote the whole log (seen through the overlay upperdir)');
    assert.match(await c.exec(['ls', '/var/log']), /oscope-test-app\.log/);
    const ready = Date.now();

    const { analysis } = await runMemPanorama(new LiveHost(), { thresholds: { ...DEFAULT_THRESHOLDS }, kpage: false, top: 1_000_000 });
    const scanned = Date.now();

    const expected = { runtime: 'containerd', id: c.id, name: 'app', podName: 'oscope-test-web-0', podNamespace: 'oscope-test-ns', podUid: c.podUid };
    const row = analysis.cgroups.find((r) => r.path === c.cgroupPath);
    assert.ok(row, `the container's cgroup ${c.cgroupPath} is in the cgroup table`);
    assert.deepEqual(row.container, expected);
    // The log plus what busybox itself brings in (its binary, at most); 10 % either way.
    const busyboxBytes = statSync('/bin/busybox').size;
    const want = LOG_MIB * MiB;
    assert.ok(
      row.fileBytes >= want * 0.9 && row.fileBytes <= (want + busyboxBytes) * 1.1,
      `fileBytes ${row.fileBytes} within 10 % of the ${want} B log (+ ${busyboxBytes} B busybox)`,
    );
    assert.ok(row.anonBytes >= ANON_MIB * MiB * 0.9, `anonBytes ${row.anonBytes} holds the shell's ${ANON_MIB} MiB`);
    assert.ok(row.usageBytes >= row.fileBytes, 'usage covers the file cache');
    // The pod cgroup (the container's parent) is the pod, not the container.
    const podRow = analysis.cgroups.find((r) => r.path === c.cgroupPath.slice(0, c.cgroupPath.lastIndexOf('/')));
    if (podRow?.container) assert.notEqual(podRow.container.id, c.id);

    const proc = analysis.processes.find((p) => p.pid === c.pid);
    assert.ok(proc, `the container's init process ${c.pid} is in the process table`);
    assert.equal(proc.cgroup, c.cgroupPath);
    assert.deepEqual(proc.container, expected);
    assert.ok(proc.anonBytes >= ANON_MIB * MiB * 0.9, `the shell's anon ${proc.anonBytes} B`);

    console.log(
      `# real container: containerd+image ${started - t0} ms, container ready ${ready - started} ms, panorama ${scanned - ready} ms, ` +
        `fileBytes ${row.fileBytes} (log ${want}), anonBytes ${row.anonBytes}`,
    );
  } finally {
    await stopAll();
    assert.deepEqual(leftovers(c), [], 'the harness removed its cgroups and directories');
    console.log(`# real container: whole test ${Date.now() - t0} ms`);
  }
});
