import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { ALLOCINFO_PATH, allocByFunction, allocTotalBytes, parseAllocinfo, readAllocinfo, topAllocSites } from '../../../src/kernel/procfs/allocinfo.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('allocinfo: hand-written 6.10+ fixture (version 1.0)', () => {
  const a = parseAllocinfo(fixture('proc', 'allocinfo'));
  assert.equal(a.version, '1.0');
  assert.equal(a.sites.length, 14);
  const top = topAllocSites(a, 2);
  assert.deepEqual(top.map((s) => [s.site, s.function, s.bytes, s.calls]), [
    ['mm/page_ext.c:270', 'alloc_page_ext', 188416000, 46000],
    ['mm/filemap.c:1977', '__filemap_get_folio', 134217728, 32768],
  ]);
  const xfs = a.sites.find((s) => s.module === 'xfs')!;
  assert.equal(xfs.file, 'fs/xfs/xfs_buf.c');
  assert.equal(xfs.lineNo, 380);
  assert.ok(a.sites.every((s) => s.attrs.size === 0));
  assert.equal(a.sites.find((s) => s.function === 'pcpu_mem_zalloc')!.bytes, -4096, 'signed, as printed');
  const byFn = allocByFunction(a);
  const slab = byFn.find((u) => u.function === 'alloc_slab_page')!;
  assert.deepEqual([slab.sites, slab.bytes, slab.calls], [2, 16777216 + 4194304, 4096 + 1024]);
  assert.equal(byFn.find((u) => u.module === 'xfs' && u.function === 'xfs_inode_alloc')!.key, 'xfs_inode_alloc [xfs]');
  assert.equal(allocTotalBytes(a), a.sites.reduce((s, x) => s + x.bytes, 0));
});

test('allocinfo: version 2.0 with accurate:no (hand-written, 6.18+)', () => {
  const a = parseAllocinfo(fixture('proc', 'allocinfo-2.0'));
  assert.equal(a.version, '2.0');
  const inexact = a.sites.filter((s) => s.attrs.get('accurate') === 'no');
  assert.deepEqual(inexact.map((s) => [s.site, s.bytes]), [['mm/slub.c:2412', 16777216], ['kernel/fork.c:311', 524288]]);
  assert.equal(a.sites.length, parseAllocinfo(fixture('proc', 'allocinfo')).sites.length);
});

test('allocinfo: malformed input', () => {
  assert.throws(() => parseAllocinfo('0 0 a.c:1 func:f\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === ALLOCINFO_PATH);
  assert.throws(() => parseAllocinfo('allocinfo - version: 3.0\n'), ParseError);
  assert.throws(() => parseAllocinfo('allocinfo - version: 1.0\n0 0 a.c func:f\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('allocinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseAllocinfo(t), fixture('proc', 'allocinfo'), ALLOCINFO_PATH);
  fuzzParser((t) => parseAllocinfo(t), fixture('proc', 'allocinfo-2.0'), ALLOCINFO_PATH);
});

test('allocinfo: live host', async (t) => {
  const host = new LiveHost();
  if (!(await host.exists(ALLOCINFO_PATH))) return t.skip('no /proc/allocinfo (kernel without CONFIG_MEM_ALLOC_PROFILING)');
  const a = await readAllocinfo(host);
  assert.ok(a.sites.length > 0);
});
