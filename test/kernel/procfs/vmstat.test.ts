import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Host } from '../../../src/host/host.js';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { DEFAULT_PAGE_SIZE, pageSize, parseKernelPageSize, parseVmstat, readVmstat, VMSTAT_PATH } from '../../../src/kernel/procfs/vmstat.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('vmstat: fixture counters, pages and bytes', () => {
  const v = parseVmstat(fixture('proc', 'vmstat'));
  assert.ok(v.fields.size > 100);
  assert.equal(v.get('nr_free_pages'), 881099);
  assert.equal(v.pages('nr_slab_reclaimable'), 6430);
  assert.equal(v.bytes('nr_slab_reclaimable', 4096), 6430 * 4096);
  assert.equal(v.get('no_such_counter'), undefined);
  assert.equal(v.bytes('no_such_counter', 4096), undefined);
  assert.equal(v.getOr0('no_such_counter'), 0);
  assert.equal(v.get('oom_kill'), 0);
  assert.equal(v.bytes('nr_kernel_stack', 4096), v.get('nr_kernel_stack')! * 1024, 'nr_kernel_stack is in KiB');
});

test('vmstat: malformed lines name file and line', () => {
  assert.throws(() => parseVmstat('nr_free_pages 1\npgfault x\n'), (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === VMSTAT_PATH);
  assert.throws(() => parseVmstat('pgfault 1\n'), (e: unknown) => e instanceof ParseError && /nr_free_pages/.test(e.message));
  assert.throws(() => parseVmstat('nr_free_pages 1 2\n'), ParseError);
});

test('vmstat: fuzzed input never crashes', () => {
  fuzzParser((t) => parseVmstat(t), fixture('proc', 'vmstat'), VMSTAT_PATH);
});

test('vmstat: KernelPageSize from smaps text', () => {
  assert.equal(parseKernelPageSize('00400000-00401000 r-xp 0 0 0\nKernelPageSize:        4 kB\nMMUPageSize: 4 kB\n'), 4096);
  assert.equal(parseKernelPageSize('KernelPageSize:     2048 kB\nKernelPageSize:       64 kB\n'), 65536);
  assert.equal(parseKernelPageSize('nothing here'), undefined);
  assert.equal(parseKernelPageSize('KernelPageSize: 3 kB\n'), undefined);
});

test('vmstat: pageSize falls back to 4096 when smaps is unreadable', async () => {
  const stub = { tryReadText: () => Promise.resolve(undefined) } as unknown as Host;
  assert.equal(await pageSize(stub), DEFAULT_PAGE_SIZE);
});

test('vmstat: live host', async () => {
  const host = new LiveHost();
  const v = await readVmstat(host);
  assert.ok((v.get('nr_free_pages') ?? 0) > 0);
  assert.ok((v.bytes('nr_kernel_stack', 4096) ?? 0) > 0);
  const ps = await pageSize(host);
  assert.ok(ps >= 4096 && (ps & (ps - 1)) === 0, `page size ${ps} is a power of two`);
});
