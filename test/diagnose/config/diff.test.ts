import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_DIFF_SCHEMA, CONFIG_SCHEMA, type ConfigDocument, DOCUMENT_SCHEMA_BY_NAME, DOCUMENT_SCHEMAS } from '../../../src/contract/index.js';
import { diffConfig, flattenConfig } from '../../../src/diagnose/config/diff.js';
import { DRIFT_RULE_IDS, DRIFT_RULES, NOISE, isNoise, ruleFor } from '../../../src/diagnose/config/rules.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { configDiffDocument, parseConfigDocument, renderConfigDiffText } from '../../../src/report/config.js';
import { messages } from '../../../src/report/i18n/index.js';
import { plainStyle } from '../../../src/report/text.js';
import { REPO_ROOT } from '../../helpers.js';

const load = (name: string): ConfigDocument => {
  const r = parseConfigDocument(JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'config', name), 'utf8')));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.doc;
};
const th = resolveThresholds();

test('config: both schemas are registered with the other documents', () => {
  assert.ok((DOCUMENT_SCHEMAS as readonly string[]).includes(CONFIG_SCHEMA));
  assert.ok((DOCUMENT_SCHEMAS as readonly string[]).includes(CONFIG_DIFF_SCHEMA));
  DOCUMENT_SCHEMA_BY_NAME[CONFIG_SCHEMA].parse(load('node-a.json'));
});

test('config-diff: a capture against itself has no differences', () => {
  const a = load('node-a.json');
  const d = diffConfig(a, a, th);
  assert.equal(d.differences, 0);
  assert.equal(d.marked, 0);
  assert.ok(d.excluded > 0, 'noise (boot_id, hostname, per-interface sysctls) is counted as left out');
});

test('config-diff: two differing fixtures — what matters is marked, noise is left out, the rest listed', () => {
  const doc = configDiffDocument(load('node-a.json'), load('node-b.json'), th, 'en');
  DOCUMENT_SCHEMA_BY_NAME[CONFIG_DIFF_SCHEMA].parse(doc);
  const get = (area: string, key: string) => doc.areas.find((x) => x.area === area)?.differences.find((d) => d.key === key);
  const marked = (area: string, key: string, rule: string) => {
    const d = get(area, key);
    assert.ok(d, `${area} ${key} is a difference`);
    assert.equal(d.marked, true, `${area} ${key} is marked`);
    assert.equal(d.rule, rule);
    assert.ok(d.reason && d.reason.length > 20, 'with a reason');
  };
  marked('sysctl', 'vm.swappiness', 'swappiness');
  marked('sysctl', 'vm.dirty_ratio', 'dirty');
  marked('sysctl', 'kernel.hung_task_timeout_secs', 'hung-task');
  marked('sysctl', 'net.core.somaxconn', 'listen-backlog');
  marked('thp', 'enabled', 'thp-enabled');
  marked('cgroup', 'mode', 'cgroup-version');
  marked('cgroup', 'memory.version', 'cgroup-version');
  marked('kernel', 'release', 'kernel-release');
  marked('topology', 'memTotalBytes', 'mem-size');
  marked('cmdline', 'transparent_hugepage', 'thp-enabled');
  assert.equal(get('sysctl', 'vm.swappiness')!.severity, 'warning');
  // Listed, not marked.
  const printk = get('sysctl', 'kernel.printk_ratelimit');
  assert.ok(printk && !printk.marked && printk.reason === undefined);
  const xfs = get('modules', 'xfs');
  assert.ok(xfs && xfs.a === 'loaded' && xfs.b === null && !xfs.marked);
  // Noise never shows.
  for (const [area, key] of [['sysctl', 'kernel.random.boot_id'], ['sysctl', 'kernel.hostname'], ['sysctl', 'fs.dentry-state'], ['sysctl', 'net.ipv4.conf.eth0.rp_filter'], ['cmdline', 'BOOT_IMAGE']] as const) {
    assert.equal(get(area, key), undefined, `${area} ${key} is noise`);
  }
  // Marked first within an area, critical before warning before info.
  for (const a of doc.areas) {
    const firstUnmarked = a.differences.findIndex((d) => !d.marked);
    if (firstUnmarked >= 0) assert.ok(a.differences.slice(firstUnmarked).every((d) => !d.marked), `${a.area}: marked first`);
  }
  assert.equal(doc.summary.marked, doc.areas.flatMap((a) => a.differences).filter((d) => d.marked).length);
  const text = renderConfigDiffText(doc, 'en', plainStyle);
  assert.match(text, /WARNING sysctl vm\.swappiness: \d+ → \d+/);
  assert.match(text, /Other differences/);
  const zh = renderConfigDiffText(configDiffDocument(load('node-a.json'), load('node-b.json'), th, 'zh-CN'), 'zh-CN', plainStyle);
  assert.match(zh, /重要的差异/);
  assert.match(zh, /换出匿名页/);
});

test('config-diff: every area the issue names marks the differences that matter (kernel build and config, modules, cgroup controllers, CPU and NUMA topology, cmdline panics)', () => {
  const a = load('node-a.json');
  const b = structuredClone(a);
  b.kernel.version = '#2 SMP PREEMPT_DYNAMIC Tue Dec  1 00:00:00 UTC 2026';
  b.kernelConfig!.options = { ...a.kernelConfig!.options, CONFIG_HZ: '1000', CONFIG_HZ_1000: 'y' };
  delete b.kernelConfig!.options.CONFIG_HZ_250;
  delete b.kernelConfig!.options.CONFIG_PREEMPT_NONE;
  b.kernelConfig!.options.CONFIG_PREEMPT = 'y';
  b.kernelConfig!.options.CONFIG_BOOTPARAM_HUNG_TASK_PANIC = 'y';
  b.modules = a.modules!.filter((m) => m.name !== 'nf_conntrack');
  b.cgroup.controllers = { ...a.cgroup.controllers, hugetlb: false };
  b.topology.cpusOnlineCount = 16;
  b.topology.cpusPossible = '0-15';
  b.topology.smtActive = true;
  b.topology.numaNodes = [
    { id: 0, cpus: '0-7', memTotalBytes: a.topology.memTotalBytes! / 2 },
    { id: 1, cpus: '8-15', memTotalBytes: a.topology.memTotalBytes! / 2 },
  ];
  b.topology.swapTotalBytes = 8 * 2 ** 30;
  b.topology.hugepages = { '2048kB': 512 };
  b.cmdline = { raw: `${a.cmdline!.raw} isolcpus=2-7 softlockup_panic=1`, params: [...a.cmdline!.params, { key: 'isolcpus', value: '2-7' }, { key: 'softlockup_panic', value: '1' }] };
  b.thp = { ...a.thp!, defrag: 'always', shmem_enabled: 'advise' };
  b.sysctls = { ...b.sysctls, 'vm.overcommit_memory': '2', 'vm.panic_on_oom': '1', 'kernel.numa_balancing': '0', 'net.ipv4.tcp_rmem': '4096 87380 16777216' };
  const doc = configDiffDocument(a, b, th, 'en');
  DOCUMENT_SCHEMA_BY_NAME[CONFIG_DIFF_SCHEMA].parse(doc);
  const get = (area: string, key: string) => doc.areas.find((x) => x.area === area)?.differences.find((d) => d.key === key);
  const expect: [string, string, string, string][] = [
    ['kernel', 'version', 'kernel-build', 'info'],
    ['kernel-config', 'CONFIG_HZ', 'hz', 'info'],
    ['kernel-config', 'CONFIG_HZ_250', 'hz', 'info'],
    ['kernel-config', 'CONFIG_HZ_1000', 'hz', 'info'],
    ['kernel-config', 'CONFIG_PREEMPT', 'preemption', 'warning'],
    ['kernel-config', 'CONFIG_PREEMPT_NONE', 'preemption', 'warning'],
    ['kernel-config', 'CONFIG_BOOTPARAM_HUNG_TASK_PANIC', 'hung-task', 'warning'],
    ['modules', 'nf_conntrack', 'conntrack', 'info'],
    ['cgroup', 'controller.hugetlb', 'cgroup-controllers', 'info'],
    ['topology', 'cpusOnlineCount', 'cpus', 'warning'],
    ['topology', 'cpusPossible', 'cpus', 'warning'],
    ['topology', 'smtActive', 'cpus', 'warning'],
    ['topology', 'numaNodes', 'numa', 'warning'],
    ['topology', 'swapTotalBytes', 'swap', 'warning'],
    ['topology', 'hugepages.2048kB', 'hugepages', 'warning'],
    ['cmdline', 'isolcpus', 'cpu-isolation', 'warning'],
    ['cmdline', 'softlockup_panic', 'panic', 'critical'],
    ['thp', 'defrag', 'thp-defrag', 'warning'],
    ['thp', 'shmem_enabled', 'thp-shmem', 'info'],
    ['sysctl', 'vm.overcommit_memory', 'overcommit', 'warning'],
    ['sysctl', 'vm.panic_on_oom', 'panic', 'critical'],
    ['sysctl', 'kernel.numa_balancing', 'numa-balancing', 'info'],
    ['sysctl', 'net.ipv4.tcp_rmem', 'socket-memory', 'warning'],
  ];
  for (const [area, key, rule, severity] of expect) {
    const d = get(area, key);
    assert.ok(d, `${area} ${key} is a difference`);
    assert.equal(d.marked, true, `${area} ${key} is marked`);
    assert.equal(d.rule, rule, `${area} ${key}`);
    assert.equal(d.severity, severity, `${area} ${key}`);
    assert.ok(d.reason && d.reason.length > 20, `${area} ${key} has a reason`);
  }
  // The per-NUMA-node sizes are noise (the total and the node count are compared).
  assert.equal(get('topology', 'numaNode0.memTotalBytes'), undefined);
  // Critical first in its area.
  assert.equal(doc.areas.find((x) => x.area === 'cmdline')!.differences[0]!.key, 'softlockup_panic');
  assert.equal(doc.areas.find((x) => x.area === 'sysctl')!.differences[0]!.key, 'vm.panic_on_oom');
  // Every change made above matters, and nothing else differs.
  assert.equal(doc.summary.marked, expect.length);
  assert.equal(doc.summary.differences, expect.length);
});

test('config-diff: a small memory-size difference is listed but not marked; the threshold is configurable', () => {
  const a = load('node-a.json');
  const b = structuredClone(a);
  b.topology.memTotalBytes = Math.round(a.topology.memTotalBytes! * 0.98);
  const d = diffConfig(a, b, th).areas.find((x) => x.area === 'topology')!.differences.find((x) => x.key === 'memTotalBytes');
  assert.ok(d && d.rule === undefined);
  const strict = diffConfig(a, b, resolveThresholds({ 'configDiff.memTotalDiffPct': 1 })).areas.find((x) => x.area === 'topology')!.differences.find((x) => x.key === 'memTotalBytes');
  assert.equal(strict?.rule, 'mem-size');
});

test('config-diff: an area one side did not capture is not compared (no kernel config is not "every option unset")', () => {
  const a = load('node-a.json');
  const b = structuredClone(a);
  b.kernelConfig = null;
  b.kernelConfigMissing = ['/boot/config-x', '/proc/config.gz'];
  const d = diffConfig(a, b, th);
  assert.equal(d.differences, 0);
  assert.ok(d.notCompared.some((s) => s.startsWith('kernel-config: not captured on B')));
});

test('config-diff rules: the table reads as documented', () => {
  assert.equal(ruleFor('sysctl', 'kernel.hung_task_panic', '0', '1', th)?.id, 'panic', 'a hung-task panic is a panic first');
  assert.equal(ruleFor('sysctl', 'kernel.softlockup_panic', '0', '1', th)?.id, 'panic');
  assert.equal(ruleFor('sysctl', 'kernel.panic_on_oops', '0', '1', th)?.severity, 'critical');
  assert.equal(ruleFor('sysctl', 'vm.min_free_kbytes', '1', '2', th)?.id, 'watermarks');
  assert.equal(ruleFor('sysctl', 'net.ipv4.tcp_mem', '1 2 3', '4 5 6', th)?.id, 'socket-memory');
  assert.equal(ruleFor('thp', 'defrag', 'madvise', 'always', th)?.id, 'thp-defrag');
  assert.equal(ruleFor('sysctl', 'kernel.printk', '4 4 1 7', '7 4 1 7', th), undefined);
  assert.ok(isNoise('sysctl', 'net.ipv6.conf.veth1234.accept_ra'));
  assert.ok(!isNoise('sysctl', 'net.ipv4.conf.all.rp_filter'));
  assert.ok(!isNoise('sysctl', 'net.ipv4.conf.default.rp_filter'));
  assert.ok(NOISE.every((n) => n.why.length > 0));
  assert.ok(DRIFT_RULES.every((r) => r.keys.length > 0));
});

test('config-diff rules: every rule has its reason in en and zh-CN', () => {
  for (const lang of ['en', 'zh-CN'] as const) {
    for (const id of DRIFT_RULE_IDS) assert.ok(messages(lang).text[`config.reason.${id}`], `${lang}: config.reason.${id}`);
  }
});

test('config: flatten keeps repeated command-line parameters and compares modules by presence', () => {
  const a = load('node-a.json');
  const f = flattenConfig(a);
  assert.equal(f.cmdline.get('tsc'), a.cmdline!.params.filter((p) => p.key === 'tsc').map((p) => p.value ?? '').join(' '));
  assert.equal(f.modules.get('nf_conntrack'), 'loaded');
});

test('config: a capture of another schema or a broken one is refused with one sentence', () => {
  const r = parseConfigDocument({ schema: 'oscope.mem/v1' });
  assert.ok(!r.ok && /not an oscope\.config\/v1 capture/.test(r.reason));
  const broken = parseConfigDocument({ schema: 'oscope.config/v1', host: {} });
  assert.ok(!broken.ok && /not a valid oscope\.config\/v1 capture \(host\.hostname/.test(broken.reason));
});
