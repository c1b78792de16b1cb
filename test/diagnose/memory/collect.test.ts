/**
 * collectMem reads, analyzeMem is pure: on every golden bundle, the panorama reads each file once (the
 * exceptions are named below) and analysing one capture twice gives the same analysis as runMemPanorama.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeMem, collectMem, runMemPanorama } from '../../../src/diagnose/memory/panorama.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { BundleHost } from '../../../src/host/bundle.js';
import type { Host } from '../../../src/host/host.js';
import { fixturePath } from '../../helpers.js';

/**
 * Read twice on purpose or by modules outside the panorama: /proc/cgroups (the hierarchy's discovery,
 * then right after the cgroup walk for the v1 zombie count), /proc/self/mountinfo (the hierarchy's
 * discovery, then the tmpfs list), the containerd task directories (src/containers lists them per lookup).
 */
const READ_TWICE = new Set(['/proc/cgroups', '/proc/self/mountinfo', '/run/containerd/io.containerd.runtime.v2.task', '/run/k3s/containerd/io.containerd.runtime.v2.task']);

/** A Host that counts the reads of each path. */
function counting(host: Host): { host: Host; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (path: string): void => {
    reads.set(path, (reads.get(path) ?? 0) + 1);
  };
  const wrapped: Host = {
    kind: host.kind,
    live: host.live,
    info: () => host.info(),
    readText: (p) => (count(p), host.readText(p)),
    tryReadText: (p) => (count(p), host.tryReadText(p)),
    readDir: (p) => (count(p), host.readDir(p)),
    readLink: (p) => host.readLink(p),
    stat: (p, o) => host.stat(p, o),
    statfs: (p) => host.statfs(p),
    exists: (p) => host.exists(p),
    scanFile: (p, n, f) => (count(p), host.scanFile(p, n, f)),
  };
  return { host: wrapped, reads };
}

const bundles = readdirSync(fixturePath('bundles'))
  // Host bundles only (filecache-golden holds a filecache capture alone).
  .filter((f) => f.endsWith('.tar.gz') && (f.startsWith('vm-') || f.startsWith('fixture-')))
  .sort();

for (const bundle of bundles) {
  test(`collectMem reads each file once; analyzeMem is pure (${bundle})`, async () => {
    const bundleHost = await BundleHost.load(join(fixturePath('bundles'), bundle));
    const { host, reads } = counting(bundleHost);
    const capture = await collectMem(host, { kpage: false });
    const twice = [...reads].filter(([p, n]) => n > 1 && !(READ_TWICE.has(p) && n === 2));
    assert.deepEqual(twice, [], 'files read more than once');
    const th = resolveThresholds();
    const a = analyzeMem(capture, th, { top: 30 });
    const b = analyzeMem(capture, th, { top: 30 });
    assert.deepEqual(a, b);
    const r = await runMemPanorama(bundleHost, { thresholds: th, kpage: false, top: 30 });
    assert.deepEqual(r.analysis, a.analysis);
    assert.equal(r.availableBytes, a.availableBytes);
  });
}
