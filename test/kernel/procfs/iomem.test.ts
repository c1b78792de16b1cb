import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { IOMEM_PATH, parseBootMemoryLine, parseE820UsableBytes, parseIomem, readIomem, systemRamBytes } from '../../../src/kernel/procfs/iomem.js';
import { fixture, fuzzParser, isRoot, needsRoot, REPO_ROOT } from '../../helpers.js';

const GiB = 1024 ** 3;

test('iomem: fixture tree and System RAM', () => {
  const t = parseIomem(fixture('proc', 'iomem'));
  assert.equal(t.addressesHidden, false);
  const ram = t.roots.filter((r) => r.name === 'System RAM');
  assert.equal(ram.length, 3);
  assert.equal(ram[1]!.start, 0x100000);
  assert.equal(ram[1]!.children.map((c) => c.name).join(','), 'Kernel code,Kernel rodata,Kernel data,Kernel bss');
  const ecam = t.all.find((r) => r.name === 'PCI ECAM 0000 [bus 00-00]')!;
  assert.equal(ecam.depth, 1);
  assert.equal(ecam.children[0]!.depth, 2);
  // 0x1000-0x9fbff + 0x100000-0xbfffffff + 0x100000000-0x63fffffff
  assert.equal(systemRamBytes(t), 0x9ec00 + 0xbff00000 + 0x540000000);
  assert.ok(Math.abs(systemRamBytes(t)! - 24 * GiB) < GiB);
});

test('iomem: unprivileged view has hidden addresses', () => {
  const t = parseIomem(fixture('proc', 'iomem-nonroot'));
  assert.equal(t.addressesHidden, true);
  assert.equal(systemRamBytes(t), undefined);
  assert.ok(t.all.every((r) => r.sizeBytes === 0));
  assert.equal(t.roots.length, parseIomem(fixture('proc', 'iomem')).roots.length);
});

test('iomem: malformed input', () => {
  assert.throws(() => parseIomem(''), (e: unknown) => e instanceof ParseError && e.file === IOMEM_PATH);
  assert.throws(() => parseIomem('0-f : a\n    10-1f : b\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
  assert.throws(() => parseIomem('f-0 : a\n'), ParseError);
  assert.throws(() => parseIomem('0-fffffffffffffffff : a\n'), ParseError);
});

test('iomem: fuzzed input never crashes', () => {
  fuzzParser((t) => parseIomem(t), fixture('proc', 'iomem'), IOMEM_PATH);
});

test('iomem: boot memory line from this machine and a 4.19 log', () => {
  const m = parseBootMemoryLine(fixture('proc', 'dmesg-memory'))!;
  assert.equal(m.availableBytes, 3218180 * 1024);
  assert.equal(m.totalBytes, 25165432 * 1024);
  assert.equal(m.reservedBytes, 496564 * 1024);
  assert.equal(m.items.get('kernel code'), 18907 * 1024);
  assert.equal(m.items.get('cma-reserved'), 0);
  const old = parseBootMemoryLine(fixture('proc', 'dmesg-memory-4.19'))!;
  assert.equal(old.totalBytes, 16776680 * 1024);
  assert.equal(old.reservedBytes, 459852 * 1024);
  const ancient = parseBootMemoryLine('Memory: 8063580k/9437184k available (5467k kernel code, 1049160k absent, 324444k reserved)')!;
  assert.equal(ancient.items.get('absent'), 1049160 * 1024);
  assert.equal(parseBootMemoryLine('nothing relevant\n'), undefined);
  assert.equal(parseE820UsableBytes(fixture('proc', 'dmesg-memory')), 0x9fc00 + 0xbff00000 + 0x540000000);
  assert.equal(parseE820UsableBytes('no map'), undefined);
});

test('iomem: live host (root sees addresses)', { skip: needsRoot }, async () => {
  const t = await readIomem(new LiveHost());
  assert.equal(t.addressesHidden, false);
  assert.ok((systemRamBytes(t) ?? 0) > 0);
});

test('iomem: live host as nobody sees hidden addresses', { skip: isRoot ? false : 'needs root to switch to nobody' }, () => {
  const mod = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'kernel', 'procfs', 'iomem.js')).href;
  const live = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'host', 'live.js')).href;
  const snippet = `import { readIomem, systemRamBytes } from ${JSON.stringify(mod)}; import { LiveHost } from ${JSON.stringify(live)};
    const t = await readIomem(new LiveHost()); console.log(JSON.stringify({ hidden: t.addressesHidden, ram: systemRamBytes(t) ?? null }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', snippet], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { hidden: true, ram: null });
});
