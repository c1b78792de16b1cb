import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { readMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import {
  parseVmallocinfo,
  readVmallocByCaller,
  readVmallocinfo,
  VMALLOCINFO_PATH,
  vmallocAreaBytes,
  vmallocByCaller,
  vmallocTotalBytes,
} from '../../../src/kernel/procfs/vmallocinfo.js';
import { pageSize } from '../../../src/kernel/procfs/vmstat.js';
import { fixture, fuzzParser, needsRoot } from '../../helpers.js';

test('vmallocinfo: 6.18 fixture (hashed addresses, unpurged areas)', () => {
  const v = parseVmallocinfo(fixture('proc', 'vmallocinfo'));
  assert.ok(v.areas.length > 1000);
  const stack = v.areas.find((a) => a.caller?.func === 'kernel_clone')!;
  assert.equal(stack.size, 20480);
  assert.equal(stack.pages, 4);
  assert.deepEqual(stack.flags, ['vmalloc']);
  assert.equal(stack.numa.get(0), 4);
  assert.equal(stack.caller!.offset, 0xb8);
  // Size includes the guard page: 4 pages of memory in 5 pages of address space.
  assert.equal(vmallocAreaBytes(stack, 4096), stack.size - 4096);
  const io = v.areas.find((a) => a.flags.includes('ioremap'))!;
  assert.ok(io.phys);
  assert.equal(vmallocAreaBytes(io, 4096), 0);
  assert.ok(v.areas.some((a) => a.flags.includes('unpurged') && a.caller === undefined));
  const by = vmallocByCaller(v, 4096);
  assert.ok(by.every((u) => u.bytes === u.pages * 4096));
  assert.ok(!by.some((u) => u.func === 'acpi_os_map_iomem' || u.func === 'pci_mmcfg_arch_map'), 'ioremap callers excluded');
  assert.equal(by.reduce((s, u) => s + u.bytes, 0), vmallocTotalBytes(v, 4096));
  for (let i = 1; i < by.length; i++) assert.ok(by[i - 1]!.bytes >= by[i]!.bytes);
});

test('vmallocinfo: 4.19-style fixture (modules, vpages, user, vm_map_ram, bare address)', () => {
  const v = parseVmallocinfo(fixture('proc', 'vmallocinfo-4.19'));
  assert.equal(v.areas.length, 13);
  const xfs = v.areas.find((a) => a.caller?.module === 'xfs')!;
  assert.equal(xfs.caller!.func, 'xfs_buf_allocate_memory');
  const hash = v.areas.find((a) => a.flags.includes('vpages'))!;
  assert.deepEqual([hash.numa.get(0), hash.numa.get(1)], [513, 512]);
  const ram = v.areas.find((a) => a.flags.includes('vm_map_ram'))!;
  assert.equal(ram.caller, undefined);
  assert.equal(v.areas.find((a) => a.caller?.func === '0xffffffffc06a1234')!.caller!.offset, undefined);
  assert.ok(v.areas.find((a) => a.flags.includes('user')));
  const by = vmallocByCaller(v, 4096);
  assert.deepEqual(
    by.map((u) => [u.caller, u.areas, u.pages]),
    [
      ['alloc_large_system_hash', 1, 1025],
      ['xfs_buf_allocate_memory [xfs]', 1, 16],
      ['_do_fork', 2, 8],
      ['0xffffffffc06a1234', 1, 1],
      ['bpf_prog_alloc_no_stats', 1, 1],
      ['gen_pool_add_virt', 1, 1],
      ['pcpu_get_vm_areas', 1, 0],
    ],
  );
});

test('vmallocinfo: malformed input', () => {
  assert.throws(() => parseVmallocinfo('0x1-0x2 x foo\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === VMALLOCINFO_PATH);
  assert.throws(() => parseVmallocinfo('0x1-0x2 4096 foo+0x1/0x2 pages=1 vmalloc\n0x1-0x2 4096 foo+0x1/0x2 bogus\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('vmallocinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseVmallocinfo(t), fixture('proc', 'vmallocinfo'), VMALLOCINFO_PATH);
  fuzzParser((t) => parseVmallocinfo(t), fixture('proc', 'vmallocinfo-4.19'), VMALLOCINFO_PATH);
});

test('vmallocinfo: live host; vmalloc total is close to meminfo VmallocUsed', { skip: needsRoot }, async (t) => {
  const host = new LiveHost();
  const [v, m, ps] = await Promise.all([readVmallocinfo(host), readMeminfo(host), pageSize(host)]);
  assert.ok(v.areas.length > 0);
  const used = m.bytes('VmallocUsed') ?? 0;
  if (used === 0) return t.skip('this kernel reports VmallocUsed 0 (pre-5.x)');
  const total = vmallocTotalBytes(v, ps);
  // Both count pages of VM_ALLOC areas; thread stacks come and go between the two reads.
  assert.ok(Math.abs(total - used) <= used * 0.2, `vmallocinfo ${total} vs VmallocUsed ${used}`);
  const by = await readVmallocByCaller(host);
  assert.ok(by.length > 0);
});
