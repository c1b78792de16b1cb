import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseSlabinfo, readSlabinfo, readSlabinfoSysfs, SLABINFO_PATH, topSlabCaches } from '../../../src/kernel/procfs/slabinfo.js';
import { fixture, fuzzParser, isRoot, needsRoot, REPO_ROOT } from '../../helpers.js';

test('slabinfo: SLUB fixture from this machine', () => {
  const s = parseSlabinfo(fixture('proc', 'slabinfo'), 4096);
  assert.equal(s.version, '2.1');
  assert.ok(s.caches.length > 100);
  const d = s.caches.find((c) => c.name === 'dentry');
  assert.ok(d);
  assert.equal(d.objsize, 192);
  assert.equal(d.objperslab, 21);
  assert.equal(d.pagesperslab, 1);
  assert.equal(d.limit, 0);
  assert.equal(d.bytes, d.num_slabs * 1 * 4096);
  assert.equal(d.activeBytes, d.active_objs * 192);
  assert.ok(d.activeBytes <= d.bytes);
  const top = topSlabCaches(s, 3);
  assert.equal(top.length, 3);
  assert.ok(top[0]!.bytes >= top[1]!.bytes && top[1]!.bytes >= top[2]!.bytes);
});

test('slabinfo: SLAB allocator with statistics (hand-written)', () => {
  const s = parseSlabinfo(fixture('proc', 'slabinfo-slab-statistics'), 4096);
  assert.equal(s.caches.length, 4);
  const t = s.caches.find((c) => c.name === 'task_struct')!;
  assert.deepEqual([t.limit, t.batchcount, t.sharedfactor], [8, 4, 0]);
  assert.equal(t.bytes, 320 * 2 * 4096);
  assert.equal(t.activeBytes, 312 * 5952);
  assert.equal(parseSlabinfo(fixture('proc', 'slabinfo-slab-statistics'), 65536).caches[0]!.bytes, 3480 * 65536);
});

test('slabinfo: malformed input', () => {
  assert.throws(() => parseSlabinfo('slabinfo - version: 1.1\n'), ParseError);
  assert.throws(() => parseSlabinfo('garbage\n'), (e: unknown) => e instanceof ParseError && e.line === 1);
  assert.throws(
    () => parseSlabinfo('slabinfo - version: 2.1\nfoo 1 2 3 4 : tunables 0 0 0 : slabdata 1 1 0\n'),
    (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === SLABINFO_PATH,
  );
});

test('slabinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseSlabinfo(t), fixture('proc', 'slabinfo'), SLABINFO_PATH);
  fuzzParser((t) => parseSlabinfo(t), fixture('proc', 'slabinfo-slab-statistics'), SLABINFO_PATH);
});

test('slabinfo: live host (root)', { skip: needsRoot }, async () => {
  const s = await readSlabinfo(new LiveHost());
  assert.equal(s.source, 'proc');
  assert.ok(s.caches.some((c) => c.name === 'dentry' && c.num_objs > 0));
});

test('slabinfo: sysfs fallback agrees with /proc/slabinfo on dentry', { skip: needsRoot }, async (t) => {
  const host = new LiveHost();
  if (!(await host.exists('/sys/kernel/slab'))) return t.skip('no /sys/kernel/slab (SLAB allocator)');
  const [proc, sys] = await Promise.all([readSlabinfo(host), readSlabinfoSysfs(host)]);
  assert.equal(sys.source, 'sysfs');
  assert.ok(sys.caches.length > 10);
  const a = proc.caches.find((c) => c.name === 'dentry')!;
  const b = sys.caches.find((c) => c.name === 'dentry');
  if (!b) return t.skip('dentry is a merged cache here');
  assert.deepEqual([b.objsize, b.objperslab, b.pagesperslab], [a.objsize, a.objperslab, a.pagesperslab]);
  // Object counts move between the two reads; only the shape is compared, plus a sanity bound.
  assert.ok(b.num_objs > 0 && b.bytes > 0);
});

test('slabinfo: a non-root reader gets HostError EACCES', { skip: isRoot ? false : 'needs root to switch to nobody' }, () => {
  const mod = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'kernel', 'procfs', 'slabinfo.js')).href;
  const live = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'host', 'live.js')).href;
  const snippet = `import { readSlabinfo } from ${JSON.stringify(mod)}; import { LiveHost } from ${JSON.stringify(live)};
    try { await readSlabinfo(new LiveHost()); console.log(JSON.stringify('read')); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, denied: e.denied })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', snippet], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { name: 'HostError', code: 'EACCES', denied: true });
});
