/**
 * `oscope filecache` against real kernel objects this test makes: a large cached file whose pages are
 * charged to two memory cgroups of ours, a deleted-but-open file, a tmpfs file, and a file in an overlay
 * mount; each must be reported with sizes within 10 % of what was made, by both discovery methods
 * (processes' files + tmpfs + a file system walk, and the BPF in-core inode walk). Everything is
 * removed in finally.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeFileCache } from '../../../src/diagnose/filecache/analyze.js';
import { FileCacheCaptureSchema } from '../../../src/diagnose/filecache/capture.js';
import { type FileCacheOptions, collectFileCache, runFileCache } from '../../../src/diagnose/filecache/run.js';
import type { FileCacheAnalysis } from '../../../src/diagnose/filecache/types.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { liveInodeWalker } from '../../../src/kernel/pagecache/inode-walk.js';
import { liveProbe } from '../../../src/kernel/pagecache/probe.js';
import { FileCacheDocumentSchema, fileCacheDocument } from '../../../src/report/filecache.js';
import { needsRoot, testName } from '../../helpers.js';

const MiB = 1024 * 1024;
const V1_ROOT = '/sys/fs/cgroup/memory';
const probeStatus = liveProbe();
const skip = needsRoot || (probeStatus.available ? false : probeStatus.reason) || (existsSync(`${V1_ROOT}/memory.stat`) ? false : 'no cgroup v1 memory hierarchy on this host');

async function runIn(cgroupDir: string, script: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && ${script}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `child failed: ${err}`);
}

const within = (got: number | null | undefined, want: number, what: string): void => {
  assert.ok(got !== null && got !== undefined && Math.abs(got - want) <= want * 0.1, `${what}: ${got} is not within 10 % of ${want}`);
};

const walker = liveInodeWalker();
const bpfSkip = skip || (walker.available ? false : walker.reason);

test('filecache (live, processes + tmpfs + walk): cached file in two cgroups, deleted-but-open, tmpfs and overlay files', { skip }, async () => {
  await scenario('procfs');
});

test('filecache (live, BPF in-core inode walk): the same files, found without walking a directory', { skip: bpfSkip }, async () => {
  await scenario('bpf-inode-walk');
});

async function scenario(discovery: 'procfs' | 'bpf-inode-walk'): Promise<void> {
  if (!probeStatus.available) return;
  const probe = probeStatus.probe;
  const base = join('/var/tmp', testName('fc'));
  const cgA = join(V1_ROOT, testName('fc-a'));
  const cgB = join(V1_ROOT, testName('fc-b'));
  const shmFile = join('/dev/shm', testName('fc-shm'));
  const big = join(base, 'big.bin');
  const gone = join(base, 'deleted.bin');
  const ovl = { lower: join(base, 'lower'), upper: join(base, 'upper'), work: join(base, 'work'), merged: join(base, 'merged') };
  let holder: ChildProcess | undefined;
  let mounted = false;
  mkdirSync(base);
  try {
    mkdirSync(cgA);
    mkdirSync(cgB);
    // 48 MiB: the first half written from cgroup A, the second half from cgroup B.
    await runIn(cgA, `dd if=/dev/urandom of='${big}' bs=1M count=24 status=none`);
    await runIn(cgB, `dd if=/dev/urandom of='${big}' bs=1M count=24 seek=24 conv=notrunc status=none`);
    // A 16 MiB file, held open by a process and then unlinked.
    holder = spawn('/bin/sh', ['-c', `dd if=/dev/urandom of="$0" bs=1M count=16 status=none && exec 3<"$0" && rm "$0" && echo ready && exec sleep 600`, gone], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(holder.stdout!, 'data');
    // 8 MiB in /dev/shm.
    spawnSync('dd', ['if=/dev/urandom', `of=${shmFile}`, 'bs=1M', 'count=8', 'status=none']);
    // 12 MiB written through an overlay mount: it lands in the upper directory.
    for (const d of Object.values(ovl)) mkdirSync(d);
    const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ovl.lower},upperdir=${ovl.upper},workdir=${ovl.work}`, ovl.merged]);
    assert.equal(m.status, 0, `mount overlay: ${m.stderr.toString()}`);
    mounted = true;
    spawnSync('dd', ['if=/dev/urandom', `of=${join(ovl.merged, 'data.bin')}`, 'bs=1M', 'count=12', 'status=none']);

    const host = new LiveHost();
    // Method 2 walks the test's tree and lists every file; method 1 needs no walk and finds these
    // files among the largest few hundred of the host.
    const opts: FileCacheOptions = discovery === 'procfs' ? { discovery, roots: [base], top: 100000, walk: true, maps: true } : { discovery, top: 300, maxExamined: 400 };
    const a = await runFileCache(host, probe, opts);
    const doc = fileCacheDocument(a);
    FileCacheDocumentSchema.parse(JSON.parse(JSON.stringify(doc)));
    assert.equal(a.method.measure, 'cachestat');
    assert.equal(a.method.discovery, discovery === 'procfs' ? 'procfs+tmpfs+walk' : 'bpf-inode-walk');
    if (discovery === 'bpf-inode-walk') assert.ok(!a.coverage.some((c) => c.section === 'walk'), 'no file system walk with the inode walk');
    assert.equal(a.method.attribution, 'pagemap+kpageflags+kpagecgroup');

    const relA = `/${cgA.slice(V1_ROOT.length + 1)}`;
    const relB = `/${cgB.slice(V1_ROOT.length + 1)}`;
    const bigRow = a.files.find((f) => f.path === big);
    assert.ok(bigRow, 'the large file is reported');
    within(bigRow.cachedBytes, 48 * MiB, 'large file cached');
    within(bigRow.sizeBytes, 48 * MiB, 'large file size');
    assert.equal(bigRow.deleted, false);
    assert.equal(bigRow.shmem, false);
    within(bigRow.cgroups.find((c) => c.path === relA)?.bytes, 24 * MiB, 'large file: bytes charged to cgroup A');
    within(bigRow.cgroups.find((c) => c.path === relB)?.bytes, 24 * MiB, 'large file: bytes charged to cgroup B');
    assert.ok(bigRow.activeBytes !== null && bigRow.activeBytes <= bigRow.cachedBytes);
    assert.ok(bigRow.dirtyBytes !== null && bigRow.dirtyBytes <= bigRow.cachedBytes);

    const del = a.files.find((f) => f.path === gone);
    assert.ok(del, 'the deleted-but-open file is reported');
    assert.equal(del.deleted, true);
    within(del.cachedBytes, 16 * MiB, 'deleted file cached');
    assert.ok(del.holders.some((h) => h.pid === holder!.pid), 'its holder is named');

    const shm = a.files.find((f) => f.path === shmFile);
    assert.ok(shm, 'the tmpfs file is reported');
    assert.equal(shm.shmem, true);
    within(shm.cachedBytes, 8 * MiB, 'tmpfs file cached');

    const ov = a.files.find((f) => f.path === join(ovl.upper, 'data.bin'));
    assert.ok(ov, `the overlay file is reported by its upper path (got ${a.files.map((f) => f.path).join(', ')})`);
    assert.equal(ov.containerPath, '/data.bin');
    within(ov.cachedBytes, 12 * MiB, 'overlay file cached');

    // Scoped to cgroup A: only the part of the large file charged to A.
    const scopedOpts: FileCacheOptions = discovery === 'procfs' ? { discovery, roots: [base] } : { discovery, maxExamined: 400 };
    const scoped = await runFileCache(host, probe, { ...scopedOpts, scope: { kind: 'cgroup', query: cgA }, top: 5 });
    assert.equal(scoped.scope.kind, 'cgroup');
    assert.deepEqual(scoped.scope.cgroups, [relA]);
    assert.equal(scoped.files[0]?.path, big, 'the large file comes first for cgroup A');
    within(scoped.scope.cachedBytes, 24 * MiB, 'bytes charged to cgroup A');
    assert.ok(!scoped.files.some((f) => f.path === shmFile), 'files not charged to A are left out');

    // Collect, then analyse: the capture survives JSON (a bundle) unchanged for the analysis, and a
    // host-wide capture analysed for cgroup A later gives what the scoped run gave.
    const capture = await collectFileCache(host, probe, { ...scopedOpts, keep: discovery === 'procfs' ? 100000 : 400 });
    const replayed = FileCacheCaptureSchema.parse(JSON.parse(JSON.stringify(capture)));
    const norm = (x: FileCacheAnalysis): FileCacheAnalysis => ({ ...x, method: { ...x.method, durationMs: 0 } });
    assert.deepEqual(norm(analyzeFileCache(replayed, { top: 30 }, resolveThresholds())), norm(analyzeFileCache(capture, { top: 30 }, resolveThresholds())));
    const offline = analyzeFileCache(replayed, { scope: { kind: 'cgroup', query: cgA }, top: 5 }, resolveThresholds());
    assert.deepEqual(offline.scope.cgroups, [relA]);
    assert.equal(offline.files[0]?.path, big, 'offline too, the large file comes first for cgroup A');
    within(offline.scope.cachedBytes, 24 * MiB, 'offline: bytes charged to cgroup A');
    const deletedFinding = analyzeFileCache(replayed, { top: 300 }, resolveThresholds()).findings.find((f) => f.id === 'filecache.deleted.cached');
    assert.ok(deletedFinding, 'the deleted-but-open file is a finding');
    assert.ok(String(deletedFinding.params.holders).includes(`(${holder.pid})`), 'naming its holder');
  } finally {
    if (holder && holder.exitCode === null) {
      holder.kill('SIGKILL');
      await once(holder, 'exit').catch(() => undefined);
    }
    if (mounted) spawnSync('umount', [ovl.merged]);
    rmSync(shmFile, { force: true });
    rmSync(base, { recursive: true, force: true });
    // The files are gone, so their pages are uncharged and the cgroups can go without leaving zombies.
    for (const cg of [cgA, cgB]) if (existsSync(cg)) rmdirSync(cg);
  }
}
