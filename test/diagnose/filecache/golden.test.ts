/**
 * `oscope filecache --from BUNDLE`: the committed bundle (test/fixtures/bundles/filecache-golden.tar.gz,
 * made on this project's VM by test/support/make-filecache-bundle.ts: a cached file, a log, a deleted
 * file a `sleep` keeps open, a dirty file and a /dev/shm file, all charged to the memory cgroup
 * /oscope-test-golden-filecache) gives the golden document field for field, whatever the machine.
 * OSCOPE_UPDATE_GOLDEN=1 rewrites the golden document.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RecordingHost } from '../../../src/host/bundle.js';
import { LiveHost } from '../../../src/host/live.js';
import { FileCacheDocumentSchema } from '../../../src/report/filecache.js';
import { VERSION } from '../../../src/version.js';
import { REPO_ROOT, needsRoot } from '../../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');
const BUNDLE = join(REPO_ROOT, 'test', 'fixtures', 'bundles', 'filecache-golden.tar.gz');
const GOLDEN = join(REPO_ROOT, 'test', 'fixtures', 'golden', 'filecache-golden.filecache.json');
/** Thresholds low enough for the fixture's small files (every finding but the container one fires). */
const THRESHOLDS = ['filecache.shmemMinBytes=1048576', 'filecache.dirtyMinBytes=524288', 'filecache.dirtyHighPct=5'].flatMap((t) => ['--threshold', t]);

function oscope(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Drops what changes from run to run (the analysis's own time). */
function normalize(doc: Record<string, unknown>): Record<string, unknown> {
  const method = doc.method as Record<string, unknown>;
  return { ...doc, method: { ...method, durationMs: 0 } };
}

test('filecache --from: the golden bundle gives the golden document, valid against the schema', () => {
  const r = oscope(['filecache', '--from', BUNDLE, '--json', '--lang', 'en', ...THRESHOLDS]);
  assert.equal(r.code, 0, r.stderr);
  const doc = normalize(JSON.parse(r.stdout) as Record<string, unknown>);
  const parsed = FileCacheDocumentSchema.parse(doc);
  if (process.env.OSCOPE_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(doc, null, 2)}\n`);
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(doc, golden);
  // What the scenario made is what the document says.
  assert.deepEqual(parsed.findings.map((f) => f.id), ['filecache.summary', 'filecache.deleted.cached', 'filecache.dirty.high', 'filecache.shmem.unreclaimable']);
  const del = parsed.files.find((f) => f.deleted)!;
  assert.match(del.path, /deleted\.bin$/);
  assert.deepEqual(del.holders.map((h) => h.comm), ['sleep']);
  assert.ok(parsed.files.find((f) => f.path.endsWith('dirty.bin'))!.dirtyBytes! > 0);
  assert.ok(parsed.files.find((f) => f.path.startsWith('/dev/shm/'))!.shmem);
  for (const f of parsed.files) assert.deepEqual(f.cgroups.map((c) => c.path), ['/oscope-test-golden-filecache']);
});

test('filecache --from: scope flags work on the capture; text in both languages puts findings first', () => {
  const c = oscope(['filecache', '--from', BUNDLE, '--json', '--cgroup', '/oscope-test-golden-filecache', '--top', '2']);
  assert.equal(c.code, 0, c.stderr);
  const doc = FileCacheDocumentSchema.parse(JSON.parse(c.stdout));
  assert.equal(doc.scope.kind, 'cgroup');
  assert.deepEqual(doc.scope.cgroups, ['/oscope-test-golden-filecache']);
  assert.equal(doc.files.length, 2);
  assert.match(doc.files[0]!.path, /data\.bin$/);
  const none = oscope(['filecache', '--from', BUNDLE, '--cgroup', '/oscope-test-no-such-cgroup']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no memory cgroup \/oscope-test-no-such-cgroup .*in the bundle/);
  const live = oscope(['filecache', '--from', BUNDLE, '--mincore']);
  assert.equal(live.code, 0, live.stderr);
  assert.match(live.stderr, /--mincore only change how the live host is measured/);

  const en = oscope(['filecache', '--from', BUNDLE, '--lang', 'en', ...THRESHOLDS]);
  assert.equal(en.code, 0, en.stderr);
  assert.ok(en.stdout.indexOf('Findings') < en.stdout.indexOf('Files holding page cache'), 'findings first');
  assert.match(en.stdout, /Deleted files still hold 4\.00 MiB of page cache/);
  assert.match(en.stdout, /Restart or reload sleep \(pid \d+\)/);
  const zh = oscope(['filecache', '--from', BUNDLE, '--lang', 'zh-CN', ...THRESHOLDS]);
  assert.equal(zh.code, 0, zh.stderr);
  assert.match(zh.stdout, /诊断结论/);
  assert.match(zh.stdout, /已删除的文件仍占用 4\.00 MiB 页缓存/);
  assert.match(zh.stdout, /共享内存文件占用 2\.00 MiB/);
});

test('filecache --from: a bundle without a filecache capture says so in one sentence, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-nofc-'));
  try {
    const rec = new RecordingHost(new LiveHost());
    await rec.readText('/proc/meminfo');
    const bundle = join(dir, 'b.tar.gz');
    await rec.writeBundle(bundle, VERSION);
    const r = oscope(['filecache', '--from', bundle]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no filecache capture/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('oscope capture records the filecache capture; filecache --from analyses it', { skip: needsRoot }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-fccap-'));
  try {
    const bundle = join(dir, 'host.tar.gz');
    const c = oscope(['capture', '-o', bundle, '--no-kpage', '--json']);
    assert.equal(c.code, 0, c.stderr);
    if (/no filecache capture/.test(c.stderr)) return; // the page cache probe cannot run here; capture said why
    const r = oscope(['filecache', '--from', bundle, '--json', '--top', '5']);
    assert.equal(r.code, 0, r.stderr);
    const doc = FileCacheDocumentSchema.parse(JSON.parse(r.stdout));
    assert.equal(doc.files.length, 5);
    assert.ok(doc.scope.cachedBytes >= doc.files.reduce((s, f) => s + f.cachedBytes, 0));
    const rank = { critical: 0, warning: 1, info: 2 };
    assert.deepEqual(doc.findings.map((f) => rank[f.severity]), doc.findings.map((f) => rank[f.severity]).sort(), 'most severe first');
    assert.ok(doc.findings.some((f) => f.id === 'filecache.summary'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
