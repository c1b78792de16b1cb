/**
 * `oscope filecache --container` against a REAL containerd + runc container (test/support/containerd.ts)
 * that writes a large log under /var/log: the log must come first for that container, with its path
 * inside the container and a size within 10 %; `--pod` must find it too.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runFileCache } from '../../../src/diagnose/filecache/run.js';
import { LiveHost } from '../../../src/host/live.js';
import { liveProbe } from '../../../src/kernel/pagecache/probe.js';
import { containerLog, containerdAvailable, runContainer, startContainerd, stopAll } from '../../support/containerd.js';

const MiB = 1024 * 1024;
const LOG_MIB = 96;
const probeStatus = liveProbe();
const skip = containerdAvailable() || (probeStatus.available ? false : probeStatus.reason);

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

test('filecache --container: a real container\'s large log comes first, with its container path', { skip, timeout: 120_000 }, async () => {
  if (!probeStatus.available) return;
  await startContainerd();
  const script = [
    `dd if=/dev/zero of=/var/log/oscope-test-big.log bs=1M count=${LOG_MIB} 2>/dev/null`,
    'touch /var/log/oscope-test-ready',
    'while :; do sleep 1; done',
  ].join('; ');
  const c = await runContainer({ name: 'logger', podName: 'oscope-test-fc-0', podNamespace: 'oscope-test-ns', command: ['sh', '-c', script] });
  await waitFor('the container writing its log', () => {
    try {
      statSync(join(c.rootfsHostPath, 'var/log/oscope-test-ready'));
      return true;
    } catch {
      return false;
    }
  }, 60_000, () => containerLog(c));
  const host = new LiveHost();
  // Walk only the container's upper directory: the whole disk is not needed to find the log.
  const roots = [c.rootfsHostPath];
  const a = await runFileCache(host, probeStatus.probe, { roots, scope: { kind: 'container', query: c.id.slice(0, 12) }, top: 5 });
  assert.equal(a.scope.kind, 'container');
  assert.deepEqual(a.scope.cgroups, [c.cgroupPath]);
  const first = a.files[0];
  assert.ok(first, `files found for the container: ${JSON.stringify(a.coverage)}`);
  assert.equal(first.containerPath, '/var/log/oscope-test-big.log');
  assert.equal(first.path, join(c.rootfsHostPath, 'var/log/oscope-test-big.log'));
  const want = LOG_MIB * MiB;
  assert.ok(Math.abs(first.cachedBytes - want) <= want * 0.1, `cached ${first.cachedBytes} within 10 % of ${want}`);
  assert.ok(Math.abs(first.sizeBytes - want) <= want * 0.1);
  assert.equal(first.container?.id, c.id);
  assert.equal(first.container?.podName, 'oscope-test-fc-0');
  const charged = first.cgroups.find((g) => g.path === c.cgroupPath)?.bytes ?? 0;
  assert.ok(Math.abs(charged - want) <= want * 0.1, `charged to the container's cgroup: ${charged}`);

  const byPod = await runFileCache(host, probeStatus.probe, { roots, scope: { kind: 'pod', query: 'oscope-test-fc-0/oscope-test-ns' }, top: 5 });
  assert.equal(byPod.files[0]?.containerPath, '/var/log/oscope-test-big.log');
});
