/**
 * Makes test/fixtures/bundles/filecache-golden.tar.gz: a bundle holding only a filecache capture, taken
 * on the live host by a scenario this script controls, then cut down to the scenario's files.
 *
 *   sudo node dist/test/support/make-filecache-bundle.js [OUT]
 *
 * Scenario (a shell in the memory cgroup /oscope-test-golden-filecache writes under
 * /var/tmp/oscope-test-golden-filecache/ and /dev/shm; all removed at the end):
 * - data.bin 8 MiB and log.txt 2 MiB, written and read back (cached, clean once synced);
 * - deleted.bin 4 MiB, kept open by a `sleep` child after it is unlinked (deleted but cached);
 * - dirty.bin 1 MiB, written just before the capture without sync (dirty pages);
 * - /dev/shm/oscope-test-golden-filecache.shm 2 MiB (shared memory).
 * The capture is collected with --discovery procfs and a walk of the scenario's directory, then only
 * the scenario's files, their holders and the cgroups their sampled pages name are kept (totals too).
 * Then regenerate the golden document: OSCOPE_UPDATE_GOLDEN=1 node scripts/run-tests.mjs filecache/golden
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectFileCache } from '../../src/diagnose/filecache/run.js';
import type { FileCacheCapture } from '../../src/diagnose/filecache/capture.js';
import { RecordingHost, recordCapture } from '../../src/host/bundle.js';
import { LiveHost } from '../../src/host/live.js';
import { liveProbe } from '../../src/kernel/pagecache/probe.js';
import { memoryCgroupPath, readProcCgroup } from '../../src/kernel/procfs/pid/cgroup.js';
import { readFds } from '../../src/kernel/procfs/pid/fd.js';
import { VERSION } from '../../src/version.js';
import { REPO_ROOT } from '../helpers.js';

const DIR = '/var/tmp/oscope-test-golden-filecache';
const SHM = '/dev/shm/oscope-test-golden-filecache.shm';
/** Our own memory cgroup (cgroup v1 here), removed at the end. */
const CGROUP = '/sys/fs/cgroup/memory/oscope-test-golden-filecache';

/** Keeps only the scenario's files and what they refer to. */
export function cutDown(c: FileCacheCapture, keep: (path: string) => boolean): FileCacheCapture {
  const files = c.files.filter((f) => keep(f.path));
  const pids = new Set(files.flatMap((f) => [...f.holders.map((h) => h.pid), ...(f.viaPid !== undefined ? [f.viaPid] : [])]));
  const inos = new Set(files.flatMap((f) => f.sample?.cgroupPages?.map((g) => g.ino) ?? []));
  const processes = c.processes.filter((p) => pids.has(p.pid));
  const cgroupList = c.cgroups?.list.filter((g) => inos.has(g.ino) || processes.some((p) => p.memoryCgroup === g.path)) ?? [];
  const paths = new Set([...cgroupList.map((g) => g.path), ...processes.flatMap((p) => (p.memoryCgroup !== undefined ? [p.memoryCgroup] : []))]);
  return {
    ...c,
    // The live run's counts of everything it saw would not match the files kept.
    method: { ...c.method, filesMeasured: files.length },
    coverage: c.coverage.filter((r) => r.section !== 'processes').map((r) => (r.section === 'walk' ? { ...r, reason: r.reason?.replace(/: \d+ files in \d+ directories$/, '') } : r)),
    totals: { files: files.length, cachedBytes: files.reduce((s, f) => s + f.cachedBytes, 0) },
    files,
    cgroups: c.cgroups ? { ...c.cgroups, list: cgroupList } : null,
    processes,
    containers: c.containers.filter((x) => paths.has(x.cgroup)),
    tasks: {},
    overlays: [],
  };
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? join(REPO_ROOT, 'test', 'fixtures', 'bundles', 'filecache-golden.tar.gz');
  const st = liveProbe();
  if (!st.available) throw new Error(st.reason);
  let child: ChildProcess | undefined;
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(CGROUP);
  try {
    mkdirSync(DIR, { recursive: true });
    // A shell in our own memory cgroup writes and reads the files (their pages are charged to it),
    // keeps deleted.bin open after unlinking it, writes dirty.bin last, then says so and sleeps.
    const script = [
      `echo $$ > ${CGROUP}/cgroup.procs`,
      `cd ${DIR}`,
      'head -c 8388608 /dev/zero > data.bin',
      "head -c 2097152 /dev/zero | tr '\\0' a > log.txt",
      'head -c 4194304 /dev/zero > deleted.bin',
      `head -c 2097152 /dev/zero > ${SHM}`,
      'sync',
      'cat data.bin log.txt > /dev/null',
      'exec 3<deleted.bin',
      'rm deleted.bin',
      'head -c 1048576 /dev/zero > dirty.bin',
      'echo ready',
      'exec sleep 600',
    ].join('\n');
    child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    if (chunk.toString().trim() !== 'ready') throw new Error(`scenario: ${chunk.toString()}`);
    const host = new LiveHost();
    // Only the scenario's process is scanned (its open files; not its mappings of sleep and libc).
    const pid = child.pid!;
    const memoryCgroup = memoryCgroupPath(await readProcCgroup(host, pid)); // /oscope-test-golden-filecache
    const processes = [{ pid, comm: 'sleep', ...(memoryCgroup !== undefined ? { memoryCgroup } : {}), fds: await readFds(host, pid), maps: [] }];
    const capture = await collectFileCache(host, st.probe, { discovery: 'procfs', roots: [DIR], samplePages: 64, keep: 5000, processes });
    const cut = cutDown(capture, (p) => p.startsWith(`${DIR}/`) || p === SHM);
    // A bundle with nothing but the capture: a fresh recording host, so none of the reads above are in it.
    const rec = new RecordingHost(new LiveHost());
    recordCapture(rec, 'filecache', cut);
    await rec.writeBundle(out, VERSION);
    process.stdout.write(`wrote ${out}: ${cut.files.length} files\n`);
  } finally {
    st.probe.close();
    if (child && child.exitCode === null) {
      child.kill();
      await once(child, 'exit');
    }
    rmSync(DIR, { recursive: true, force: true });
    rmSync(SHM, { force: true });
    rmdirSync(CGROUP);
  }
}

if (process.argv[1]?.endsWith('make-filecache-bundle.js')) await main();
