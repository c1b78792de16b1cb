/**
 * analyzeFileCache on hand-made captures: ranking, scopes, containers, coverage, and each filecache.*
 * finding at its threshold and not below, localized in English and Simplified Chinese.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScopeNotFoundError, analyzeFileCache } from '../../../src/diagnose/filecache/analyze.js';
import { type CapturedFile, FILECACHE_CAPTURE_SCHEMA, type FileCacheCapture, FileCacheCaptureSchema } from '../../../src/diagnose/filecache/capture.js';
import { type Thresholds, resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { FileCacheDocumentSchema, fileCacheDocument, renderFileCacheText } from '../../../src/report/filecache.js';
import type { Style } from '../../../src/report/text.js';

const MiB = 1024 * 1024;
const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s, green: (s) => s };
const CTR = 'a'.repeat(64);
const POD = '0a1b2c3d-1111-2222-3333-444455556666';
const CTR_CG = `/kubepods/burstable/pod${POD}/${CTR}`;

let ino = 100;
function file(path: string, cachedBytes: number, more: Partial<CapturedFile> = {}): CapturedFile {
  return {
    path,
    device: '8:1',
    inode: ino++,
    cachedBytes,
    dirtyBytes: 0,
    writebackBytes: 0,
    sizeBytes: cachedBytes,
    deleted: false,
    shmem: false,
    holders: [],
    measured: true,
    deviceNode: false,
    sample: null,
    ...more,
  };
}

/** A sample charged wholly to one cgroup inode. */
const charged = (cgIno: number, pages = 10, activePages = 5): CapturedFile['sample'] => ({ pages, activePages, cgroupPages: [{ ino: cgIno, pages }] });

function capture(files: CapturedFile[], more: Partial<FileCacheCapture> = {}): FileCacheCapture {
  const c: FileCacheCapture = {
    schema: FILECACHE_CAPTURE_SCHEMA,
    pageSize: 4096,
    method: { discovery: 'bpf-inode-walk', measure: 'cachestat', attribution: 'pagemap+kpageflags+kpagecgroup', samplePages: 10, filesMeasured: files.length, durationMs: 5 },
    coverage: [{ section: 'discovery', status: 'complete', reason: 'hand-made' }],
    totals: { files: files.length, cachedBytes: files.reduce((s, f) => s + f.cachedBytes, 0) },
    files,
    examined: { scope: null, coverage: [] },
    cgroups: {
      mountPoint: '/sys/fs/cgroup/memory',
      list: [
        { path: '/', ino: 1, fileBytes: 0 },
        { path: '/system.slice', ino: 2, fileBytes: 0 },
        { path: `/kubepods/burstable/pod${POD}`, ino: 3, fileBytes: 0 },
        { path: CTR_CG, ino: 4, fileBytes: 0 },
      ],
    },
    processes: [{ pid: 42, memoryCgroup: CTR_CG }, { pid: 7, memoryCgroup: '/system.slice' }],
    containers: [{ cgroup: CTR_CG, container: { runtime: 'containerd', id: CTR, name: 'web', podName: 'web-0', podNamespace: 'shop', podUid: POD } }],
    tasks: {},
    overlays: [],
    ...more,
  };
  // Whatever the test made is a valid, JSON-serialisable capture.
  return FileCacheCaptureSchema.parse(JSON.parse(JSON.stringify(c)));
}

const th = (o: Partial<Thresholds> = {}): Thresholds => ({ ...resolveThresholds(), ...o });
const ids = (c: FileCacheCapture, t: Thresholds, scope?: Parameters<typeof analyzeFileCache>[1]['scope']): string[] =>
  analyzeFileCache(c, { top: 30, ...(scope ? { scope } : {}) }, t).findings.map((f) => f.id);
const finding = (c: FileCacheCapture, t: Thresholds, id: string) => analyzeFileCache(c, {}, t).findings.find((f) => f.id === id);

test('analyzeFileCache: host-wide ranking by cache, top N, scope bytes are all files found; summary always', () => {
  const c = capture([file('/b', 2 * MiB), file('/a', 8 * MiB), file('/c', 1 * MiB)], { totals: { files: 900, cachedBytes: 100 * MiB } });
  const a = analyzeFileCache(c, { top: 2 }, th());
  assert.deepEqual(a.files.map((f) => f.path), ['/a', '/b']);
  assert.equal(a.scope.cachedBytes, 100 * MiB);
  assert.deepEqual(ids(c, th()), ['filecache.summary']);
  const s = a.findings[0]!;
  assert.equal(s.severity, 'info');
  assert.deepEqual({ files: s.params.files, listedBytes: s.params.listedBytes, sharePct: s.params.sharePct, topFile: s.params.topFile }, { files: 2, listedBytes: 10 * MiB, sharePct: 10, topFile: '/a' });
  // An empty capture still has its summary.
  assert.deepEqual(ids(capture([]), th()), ['filecache.summary']);
});

test('analyzeFileCache: page samples become active bytes and cgroups; containers from cgroups and holders', () => {
  const c = capture([
    file('/var/log/web.log', 40 * MiB, { sample: { pages: 10, activePages: 5, cgroupPages: [{ ino: 4, pages: 6 }, { ino: 2, pages: 4 }] } }),
    file('/srv/held', 4 * MiB, { holders: [{ pid: 42, comm: 'nginx' }] }),
    file('/opt/new', 4 * MiB, { sample: { pages: 4, activePages: 0, cgroupPages: [{ ino: 999, pages: 4 }] } }),
  ]);
  const a = analyzeFileCache(c, {}, th());
  const [log, held, fresh] = [a.files.find((f) => f.path === '/var/log/web.log')!, a.files.find((f) => f.path === '/srv/held')!, a.files.find((f) => f.path === '/opt/new')!];
  assert.equal(log.activeBytes, 20 * MiB);
  assert.deepEqual(log.cgroups, [{ path: CTR_CG, bytes: 24 * MiB }, { path: '/system.slice', bytes: 16 * MiB }]);
  assert.equal(log.container?.name, 'web');
  assert.equal(held.container?.id, CTR, 'from its holder');
  assert.deepEqual(fresh.cgroups, [{ path: 'ino:999', bytes: 4 * MiB }], 'a cgroup made after the walk keeps its bytes');
  FileCacheDocumentSchema.parse(fileCacheDocument(a));
});

test('analyzeFileCache: scopes resolve offline; scoped ranking by bytes charged; unknown scope throws', () => {
  const c = capture([file('/big', 40 * MiB, { sample: charged(2) }), file('/mixed', 30 * MiB, { sample: { pages: 10, activePages: 0, cgroupPages: [{ ino: 4, pages: 5 }, { ino: 2, pages: 5 }] } }), file('/ctr', 10 * MiB, { sample: charged(4) })]);
  for (const scope of [{ kind: 'container', query: 'web' }, { kind: 'container', query: CTR.slice(0, 12) }, { kind: 'pod', query: 'web-0/shop' }, { kind: 'cgroup', query: `/sys/fs/cgroup/memory/kubepods/burstable/pod${POD}` }] as const) {
    const a = analyzeFileCache(c, { scope }, th());
    assert.deepEqual(a.files.map((f) => f.path), ['/mixed', '/ctr'], scope.kind);
    assert.equal(a.scope.cachedBytes, 25 * MiB);
  }
  assert.throws(() => analyzeFileCache(c, { scope: { kind: 'container', query: 'nope' } }, th()), ScopeNotFoundError);
  assert.throws(() => analyzeFileCache(c, { scope: { kind: 'cgroup', query: '/nope' } }, th()), ScopeNotFoundError);
  // A host-wide capture that examined only some files says so for a scope.
  const partial = capture(c.files, { totals: { files: 5000, cachedBytes: 900 * MiB } });
  const p = analyzeFileCache(partial, { scope: { kind: 'container', query: 'web' } }, th());
  assert.ok(p.coverage.some((r) => r.section === 'scope' && r.status === 'partial' && /examined the 3 files/.test(r.reason ?? '')));
  // The scope collect examined for keeps its own coverage rows.
  const same = capture(c.files, { examined: { scope: { kind: 'container', query: 'web' }, coverage: [{ section: 'scope', status: 'complete', reason: 'stopped after 3 files' }] } });
  assert.ok(analyzeFileCache(same, { scope: { kind: 'container', query: 'web' } }, th()).coverage.some((r) => r.reason === 'stopped after 3 files'));
  // Without page attribution, the container's holders put files in the scope.
  const noAttr = capture([file('/held', 4 * MiB, { holders: [{ pid: 42, comm: 'nginx' }] }), file('/other', 8 * MiB)], { method: { ...c.method, attribution: 'none', samplePages: 0 } });
  const n = analyzeFileCache(noAttr, { scope: { kind: 'container', query: 'web' } }, th());
  assert.deepEqual(n.files.map((f) => f.path), ['/held']);
  assert.ok(n.coverage.some((r) => r.section === 'scope' && /without page attribution/.test(r.reason ?? '')));
});

test('filecache.deleted.cached: at its threshold and not below; warning from the warning threshold; holders suggested', () => {
  const c = capture([file('/data/a.log', 90 * MiB), file('/data/old.log (deleted)', 10 * MiB, { deleted: true, holders: [{ pid: 42, comm: 'nginx' }] }), file('/memfd:x', 50 * MiB, { deleted: true, shmem: true })]);
  const at = finding(c, th({ 'filecache.deletedMinBytes': 10 * MiB }), 'filecache.deleted.cached');
  assert.equal(at?.severity, 'info');
  assert.equal(at?.params.deletedBytes, 10 * MiB, 'a memfd is shared memory, not a deleted file');
  assert.equal(at?.params.holders, 'nginx(42)');
  assert.deepEqual(at?.extraSuggestions, [{ key: 'filecache.suggest.restartHolder', params: { pid: 42, comm: 'nginx' } }]);
  assert.equal(finding(c, th({ 'filecache.deletedMinBytes': 10 * MiB + 1 }), 'filecache.deleted.cached'), undefined);
  assert.equal(finding(c, th({ 'filecache.deletedWarnBytes': 10 * MiB }), 'filecache.deleted.cached')?.severity, 'warning');
  assert.equal(finding(c, th({ 'filecache.deletedWarnBytes': 10 * MiB + 1 }), 'filecache.deleted.cached')?.severity, 'info');
  const orphan = capture([file('/x', 4 * MiB, { deleted: true, measured: false })]);
  assert.deepEqual(finding(orphan, th({ 'filecache.deletedMinBytes': 1 }), 'filecache.deleted.cached')?.extraSuggestions, [{ key: 'filecache.suggest.deletedNoHolder', params: {} }]);
});

test('filecache.dirty.high: both the bytes and the share must reach their thresholds', () => {
  const c = capture([file('/db/wal', 60 * MiB, { dirtyBytes: 15 * MiB, writebackBytes: 5 * MiB }), file('/db/data', 40 * MiB, { dirtyBytes: null, writebackBytes: null })]);
  // 20 MiB of 100 MiB = 20%.
  const t = th({ 'filecache.dirtyMinBytes': 20 * MiB, 'filecache.dirtyHighPct': 20 });
  const f = finding(c, t, 'filecache.dirty.high');
  assert.equal(f?.severity, 'info');
  assert.equal(f?.params.dirtyBytes, 20 * MiB);
  assert.equal(f?.params.dirtyPct, 20);
  assert.equal(f?.params.topFile, '/db/wal');
  assert.equal(finding(c, { ...t, 'filecache.dirtyMinBytes': 20 * MiB + 1 }, 'filecache.dirty.high'), undefined);
  assert.equal(finding(c, { ...t, 'filecache.dirtyHighPct': 20.1 }, 'filecache.dirty.high'), undefined);
  assert.equal(finding(c, { ...t, 'filecache.dirtyWarnBytes': 20 * MiB }, 'filecache.dirty.high')?.severity, 'warning');
});

test('filecache.container.dominant: one pod holding most of the host\'s listed cache, at both thresholds', () => {
  const c = capture([file('/var/log/web.log', 60 * MiB, { sample: charged(4) }), file('/usr/bin/x', 40 * MiB, { sample: charged(2) })]);
  const t = th({ 'filecache.containerDominantPct': 60, 'filecache.containerDominantMinBytes': 60 * MiB });
  const f = finding(c, t, 'filecache.container.dominant');
  assert.equal(f?.params.container, 'pod web-0/shop');
  assert.equal(f?.params.scopeFlag, '--pod web-0/shop');
  assert.equal(f?.params.sharePct, 60);
  assert.equal(finding(c, { ...t, 'filecache.containerDominantPct': 60.1 }, 'filecache.container.dominant'), undefined);
  assert.equal(finding(c, { ...t, 'filecache.containerDominantMinBytes': 60 * MiB + 1 }, 'filecache.container.dominant'), undefined);
  // Not within a scope: there it is the scope itself.
  assert.ok(!ids(c, t, { kind: 'container', query: 'web' }).includes('filecache.container.dominant'));
});

test('filecache.shmem.unreclaimable: tmpfs/memfd cache at its threshold and not below; warning threshold', () => {
  const c = capture([file('/dev/shm/seg', 30 * MiB, { shmem: true }), file('/memfd:jit (deleted)', 10 * MiB, { shmem: true, deleted: true }), file('/a', 60 * MiB)]);
  const f = finding(c, th({ 'filecache.shmemMinBytes': 40 * MiB }), 'filecache.shmem.unreclaimable');
  assert.equal(f?.severity, 'info');
  assert.equal(f?.params.files, 2);
  assert.equal(f?.params.shmemPct, 40);
  assert.equal(finding(c, th({ 'filecache.shmemMinBytes': 40 * MiB + 1 }), 'filecache.shmem.unreclaimable'), undefined);
  assert.equal(finding(c, th({ 'filecache.shmemMinBytes': 40 * MiB, 'filecache.shmemWarnBytes': 40 * MiB }), 'filecache.shmem.unreclaimable')?.severity, 'warning');
});

test('filecache findings render in English and Simplified Chinese, most severe first, in the document and the text', () => {
  const c = capture([
    file('/var/log/web.log', 600 * MiB, { sample: charged(4), dirtyBytes: 200 * MiB }),
    file('/data/old (deleted)', 300 * MiB, { deleted: true, holders: [{ pid: 42, comm: 'nginx' }], sample: charged(4) }),
    file('/dev/shm/x', 100 * MiB, { shmem: true, sample: charged(2) }),
  ]);
  const a = analyzeFileCache(c, {}, th());
  assert.deepEqual(a.findings.map((f) => f.id).sort(), ['filecache.container.dominant', 'filecache.deleted.cached', 'filecache.dirty.high', 'filecache.shmem.unreclaimable', 'filecache.summary']);
  const en = FileCacheDocumentSchema.parse(fileCacheDocument(a, 'en'));
  assert.equal(en.findings[0]!.severity, 'warning', 'most severe first');
  const del = en.findings.find((f) => f.id === 'filecache.deleted.cached')!;
  assert.match(del.title, /Deleted files still hold 300 MiB/);
  assert.ok(del.suggestions.some((s) => s.includes('Restart or reload nginx (pid 42)')));
  assert.match(en.findings.find((f) => f.id === 'filecache.summary')!.conclusion, /of page cache of the host/);
  assert.ok(en.findings.find((f) => f.id === 'filecache.container.dominant')!.suggestions.some((s) => s.includes('oscope filecache --pod web-0/shop')));
  assert.ok(en.findings.find((f) => f.id === 'filecache.summary')!.suggestions.some((s) => s.includes('echo 1 > /proc/sys/vm/drop_caches')));
  const zh = FileCacheDocumentSchema.parse(fileCacheDocument(a, 'zh-CN'));
  assert.match(zh.findings.find((f) => f.id === 'filecache.deleted.cached')!.title, /已删除的文件仍占用 300 MiB 页缓存/);
  assert.match(zh.findings.find((f) => f.id === 'filecache.summary')!.conclusion, /本机/);
  for (const doc of [en, zh]) for (const f of doc.findings) assert.doesNotMatch(`${f.title} ${f.conclusion} ${f.suggestions.join(' ')}`, /\{\w+\}/, `${f.id}: every placeholder filled`);
  const text = renderFileCacheText(zh, 'zh-CN', plain);
  assert.ok(text.indexOf('诊断结论') < text.indexOf('占用页缓存的文件'), 'findings first');
  const scoped = fileCacheDocument(analyzeFileCache(c, { scope: { kind: 'container', query: 'web' } }, th()), 'en');
  assert.match(scoped.findings.find((f) => f.id === 'filecache.summary')!.title, /Page cache of container web/);
});
