/**
 * `oscope mem` reads each process's /proc files once: the panorama's process scan also reads the mapped
 * files and mount namespace the file cache part needs, and hands them over (collectSources'
 * `processes`), instead of the file cache reading /proc/PID/{comm,cgroup,fd,maps} again. Checked with a
 * host that counts every path it is asked for; and the file cache's sources are the same either way.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectSources } from '../../../src/diagnose/filecache/sources.js';
import { runMemPanorama } from '../../../src/diagnose/memory/panorama.js';
import { scanProcesses, scannedProcesses } from '../../../src/diagnose/memory/processes.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { liveProbe } from '../../../src/kernel/pagecache/probe.js';
import { needsRoot, testName } from '../../helpers.js';

/** The live machine, counting how often each path is asked for. */
class CountingHost extends LiveHost {
  readonly counts = new Map<string, number>();
  protected override resolvePath(path: string): string {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    return super.resolvePath(path);
  }
  matching(re: RegExp): [string, number][] {
    return [...this.counts].filter(([p]) => re.test(p));
  }
}

const probe = liveProbe();
const skip = needsRoot || (probe.available ? false : probe.reason);

async function withHolder(fn: (child: ChildProcess, file: string) => Promise<void>): Promise<void> {
  const file = join('/var/tmp', testName('scan'));
  writeFileSync(file, Buffer.alloc(1 << 20, 3));
  const child = spawn('/bin/sh', ['-c', 'exec 3<"$0"; echo ready; exec sleep 600', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(child.stdout!, 'data');
    await fn(child, file);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => undefined);
    }
    rmSync(file, { force: true });
  }
}

test('mem: /proc/PID/maps, fd, cgroup are read once per process, and comm not at all', { skip }, async () => {
  if (!probe.available) return;
  await withHolder(async (child) => {
    const host = new CountingHost();
    const r = await runMemPanorama(host, { thresholds: resolveThresholds(), kpage: false, fileCache: probe.probe });
    assert.ok(r.analysis.fileCache, `the file cache part ran (${JSON.stringify(r.analysis.coverage.filter((c) => c.section === 'filecache'))})`);
    const maps = host.matching(/^\/proc\/\d+\/maps$/);
    assert.ok(maps.some(([p]) => p === `/proc/${child.pid}/maps`), 'the maps of our holder were read');
    assert.deepEqual(maps.filter(([, n]) => n > 1), [], '/proc/PID/maps read more than once');
    assert.deepEqual(host.matching(/^\/proc\/\d+\/fd$/).filter(([, n]) => n > 1), [], '/proc/PID/fd listed more than once');
    assert.deepEqual(host.matching(/^\/proc\/\d+\/cgroup$/).filter(([, n]) => n > 1), [], '/proc/PID/cgroup read more than once');
    assert.deepEqual(host.matching(/^\/proc\/\d+\/comm$/), [], 'comm comes from status');
  });
  probe.probe.close();
});

test('collectSources: the same files and processes from the panorama\'s scan as from its own reads', { skip: needsRoot }, async () => {
  await withHolder(async (child, file) => {
    const host = new LiveHost();
    const own = await collectSources(host);
    const scan = await scanProcesses(host, { maps: true });
    const counting = new CountingHost();
    const given = await collectSources(counting, { processes: scannedProcesses(scan) });
    assert.deepEqual(counting.matching(/^\/proc\/\d+\/(maps|fd|comm|cgroup)$/), [], 'nothing per process is read again');

    const pid = child.pid!;
    const of = (s: typeof own): string[] =>
      s.candidates
        .filter((c) => c.holders.some((h) => h.pid === pid))
        .map((c) => JSON.stringify(c))
        .sort();
    assert.ok(of(own).some((c) => c.includes(file)), 'the held file is a candidate');
    assert.deepEqual(of(given), of(own));
    const strip = (p: { pid: number; comm: string; memoryCgroup?: string; mntNs?: string } | undefined) => p && { ...p };
    assert.deepEqual(strip(given.processes.get(pid)), strip(own.processes.get(pid)));
    // Processes present in both scans have the same candidates (others may come and go meanwhile).
    const pids = [...own.processes.keys()].filter((p) => given.processes.has(p) && p !== process.pid);
    const count = (s: typeof own, p: number): number => s.candidates.filter((c) => c.holders.some((h) => h.pid === p)).length;
    const differ = pids.filter((p) => count(own, p) !== count(given, p));
    assert.ok(differ.length <= Math.max(2, pids.length * 0.02), `candidates differ for pids ${differ.join(' ')}`);
    assert.deepEqual(given.tmpfsDevs, own.tmpfsDevs);
    assert.deepEqual(given.overlays.length, own.overlays.length);
  });
});
