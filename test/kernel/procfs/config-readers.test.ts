import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseKernelConfig, readKernelConfig } from '../../../src/kernel/config/kconfig.js';
import { parseCmdline } from '../../../src/kernel/procfs/cmdline.js';
import { MODULES_PATH, parseModules } from '../../../src/kernel/procfs/modules.js';
import { normalizeSysctlValue, readSysctls, sysctlMatches, sysctlName } from '../../../src/kernel/procfs/sysctl.js';
import { thpSelected } from '../../../src/kernel/sysfs/thp.js';
import { parseCpuList, readTopology } from '../../../src/kernel/sysfs/topology.js';
import { fuzzParser } from '../../helpers.js';

test('cmdline: quotes group, flags have no value, repeats are kept', () => {
  assert.deepEqual(parseCmdline('BOOT_IMAGE=/vmlinuz root=UUID=ab-cd ro quiet "dyndbg=file a.c +p" console=tty0 console=ttyS0,115200\n'), [
    { key: 'BOOT_IMAGE', value: '/vmlinuz' },
    { key: 'root', value: 'UUID=ab-cd' },
    { key: 'ro', value: undefined },
    { key: 'quiet', value: undefined },
    { key: 'dyndbg', value: 'file a.c +p' },
    { key: 'console', value: 'tty0' },
    { key: 'console', value: 'ttyS0,115200' },
  ]);
  assert.deepEqual(parseCmdline('  '), []);
});

const MODULES = `nf_conntrack 176128 3 nf_nat,nft_ct,xt_conntrack, Live 0x0000000000000000
nvidia 56119296 1 - Live 0x0000000000000000 (POE)
xfs 2002944 - - Live 0x0000000000000000
`;

test('modules: fields, users, taints, refcount "-"', () => {
  const m = parseModules(MODULES);
  assert.deepEqual(m.map((x) => x.name), ['nf_conntrack', 'nvidia', 'xfs']);
  assert.deepEqual(m[0]!.usedBy, ['nf_nat', 'nft_ct', 'xt_conntrack']);
  assert.equal(m[1]!.taints, 'POE');
  assert.equal(m[2]!.refcount, null);
  assert.throws(() => parseModules('xfs abc 1 - Live 0x0\n'), (e: unknown) => e instanceof ParseError && e.file === MODULES_PATH && e.line === 1);
  fuzzParser((t) => parseModules(t), MODULES, MODULES_PATH);
});

test('kernel config: set options kept, quotes removed, "is not set" dropped, junk refused', () => {
  const o = parseKernelConfig('#\n# Automatically generated\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=""\nCONFIG_X="a b"\n# CONFIG_KPROBES is not set\nCONFIG_MEMCG=y\n', '/boot/config-x');
  assert.deepEqual(o, { CONFIG_HZ: '250', CONFIG_LOCALVERSION: '', CONFIG_MEMCG: 'y', CONFIG_X: 'a b' });
  assert.throws(() => parseKernelConfig('HZ=250\n', '/boot/config-x'), (e: unknown) => e instanceof ParseError && e.line === 1);
});

test('sysctl names and values as sysctl(8) shows them', () => {
  assert.equal(sysctlName('net/ipv4/conf/eth0.100/rp_filter'), 'net.ipv4.conf.eth0/100.rp_filter');
  assert.equal(normalizeSysctlValue('4096\t131072\t6291456\n'), '4096 131072 6291456');
  assert.ok(sysctlMatches('net.ipv6.conf.eth0.stable_secret', 'net.ipv6.conf.*.stable_secret'));
  assert.ok(!sysctlMatches('net.ipv6.conf.stable_secret', 'net.ipv6.conf.*.stable_secret'));
});

test('thp and cpu lists', () => {
  assert.equal(thpSelected('always [madvise] never\n'), 'madvise');
  assert.equal(thpSelected('1\n'), '1');
  assert.deepEqual(parseCpuList('0-3,8\n'), [0, 1, 2, 3, 8]);
  assert.deepEqual(parseCpuList('\n'), []);
  assert.throws(() => parseCpuList('0-x'), ParseError);
});

test('config readers: live host', async () => {
  const h = new LiveHost();
  const s = await readSysctls(h);
  assert.ok(Object.keys(s.values).length > 100);
  assert.ok(s.values['kernel.osrelease']);
  assert.equal(s.values['net.ipv4.tcp_fastopen_key'], undefined, 'secrets are not read');
  assert.ok(!Object.keys(s.values).some((k) => k.startsWith('fs.binfmt_misc')));
  const topo = await readTopology(h);
  assert.ok((topo.cpusOnlineCount ?? 0) >= 1);
  const k = await readKernelConfig(h, s.values['kernel.osrelease']!);
  if ('missing' in k) assert.equal(k.missing.length, 2);
  else assert.ok(Object.keys(k.options).length > 100, `${k.source} has options`);
});
