/**
 * A container file whose overlay is mounted nowhere we can see (issue 12, part 6): a containerd
 * overlayfs snapshot tree this test makes under /var/tmp/oscope-test-…, a file in it written from a
 * Kubernetes-shaped memory cgroup of ours (…/kubepods/burstable/pod<uid>/<id>), and no mount at all.
 * `oscope filecache --cgroup` must list the file with its size, the container id and pod uid from the
 * cgroup its pages are charged to, and its path inside the container from the snapshot layout, and
 * say so in `coverage`; by both discovery methods. Everything is removed in finally.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type FileCacheOptions, runFileCache } from '../../../src/diagnose/filecache/run.js';
import { LiveHost } from '../../../src/host/live.js';
import { liveInodeWalker } from '../../../src/kernel/pagecache/inode-walk.js';
import { liveProbe } from '../../../src/kernel/pagecache/probe.js';
import { FileCacheDocumentSchema, fileCacheDocument } from '../../../src/report/filecache.js';
import { needsRoot, testName } from '../../helpers.js';

const MiB = 1024 * 1024;
const V1_ROOT = '/sys/fs/cgroup/memory';
const probeStatus = liveProbe();
const skip = needsRoot || (probeStatus.available ? false : probeStatus.reason) || (existsSync(`${V1_ROOT}/memory.stat`) ? false : 'no cgroup v1 memory hierarchy on this host');
const walker = liveInodeWalker();
const bpfSkip = skip || (walker.available ? false : walker.reason);

test('filecache (live, processes + walk): a containerd snapshot file with no overlay mount gets its container path from the snapshot layout', { skip }, async () => {
  await scenario('procfs');
});

test('filecache (live, BPF in-core inode walk): the same file, found without a walk', { skip: bpfSkip }, async () => {
  await scenario('bpf-inode-walk');
});

async function runIn(cgroupDir: string, script: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && ${script}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `child failed: ${err}`);
}

async function scenario(discovery: 'procfs' | 'bpf-inode-walk'): Promise<void> {
  if (!probeStatus.available) return;
  const base = join('/var/tmp', testName('snap'));
  const fsDir = join(base, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots', '7', 'fs');
  const log = join(fsDir, 'var', 'log', 'app.log');
  const podUid = randomUUID();
  const containerId = randomBytes(32).toString('hex');
  // Every level is ours: the top one carries the test prefix, the rest give the path Kubernetes' shape.
  const top = join(V1_ROOT, testName('snap'));
  const levels = [top, join(top, 'kubepods'), join(top, 'kubepods', 'burstable'), join(top, 'kubepods', 'burstable', `pod${podUid}`)];
  const leaf = join(levels[3]!, containerId);
  levels.push(leaf);
  const made: string[] = [];
  mkdirSync(base);
  try {
    for (const d of levels) {
      mkdirSync(d);
      made.push(d);
    }
    mkdirSync(join(fsDir, 'var', 'log'), { recursive: true });
    // 16 MiB written and read back from the "container's" cgroup: resident, and charged to it.
    await runIn(leaf, `dd if=/dev/urandom of='${log}' bs=1M count=16 status=none && cat '${log}' > /dev/null`);

    const host = new LiveHost();
    const opts: FileCacheOptions = discovery === 'procfs' ? { discovery, roots: [base] } : { discovery, maxExamined: 2000 };
    const a = await runFileCache(host, probeStatus.probe, { ...opts, scope: { kind: 'cgroup', query: leaf }, top: 5 });
    FileCacheDocumentSchema.parse(JSON.parse(JSON.stringify(fileCacheDocument(a))));
    assert.equal(a.method.discovery, discovery === 'procfs' ? 'procfs+tmpfs+walk' : 'bpf-inode-walk');
    assert.equal(a.method.attribution, 'pagemap+kpageflags+kpagecgroup');

    const f = a.files.find((x) => x.path === log);
    assert.ok(f, `the snapshot file is listed (got ${a.files.map((x) => x.path).join(', ')}; coverage ${JSON.stringify(a.coverage)})`);
    assert.equal(f.containerPath, '/var/log/app.log');
    const within = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) <= want * 0.1, `${what}: ${got} is not within 10 % of ${want}`);
    within(f.cachedBytes, 16 * MiB, 'cached');
    within(f.sizeBytes, 16 * MiB, 'size');
    assert.equal(f.container?.id, containerId);
    assert.equal(f.container?.podUid, podUid);
    const rel = leaf.slice(V1_ROOT.length);
    within(f.cgroups.find((c) => c.path === rel)?.bytes ?? 0, 16 * MiB, "bytes charged to the container's cgroup");

    const row = a.coverage.find((c) => c.section === 'containerPath');
    assert.ok(row, `a containerPath coverage row (${JSON.stringify(a.coverage)})`);
    assert.equal(row.status, 'complete');
    assert.match(row.reason ?? '', /\b1 through runtime snapshot layouts on disk \(containerd-overlayfs: 1\)/);
    assert.match(row.reason ?? '', /^0 files mapped through overlay mounts/);
  } finally {
    rmSync(base, { recursive: true, force: true });
    // The file is gone, so its pages are uncharged and the cgroups can go without leaving zombies.
    for (const d of made.reverse()) if (existsSync(d)) rmdirSync(d);
  }
}
