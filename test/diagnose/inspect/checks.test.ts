import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { parseBuddyinfo } from '../../../src/kernel/procfs/buddyinfo.js';
import { parseLoadavg } from '../../../src/kernel/procfs/loadavg.js';
import { parseMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { parsePsi } from '../../../src/kernel/procfs/psi.js';
import { parseVmstat } from '../../../src/kernel/procfs/vmstat.js';
import { DEFAULT_THRESHOLDS as INSPECT_THRESHOLDS, resolveThresholds as resolveInspectThresholds } from '../../../src/diagnose/thresholds.js';
import { type CheckData, checkItem, collectCheckData, cpuListCount, evaluateChecks, mceFromInterrupts, selectedMode } from '../../../src/diagnose/inspect/checks.js';
import { inspectFindings } from '../../../src/diagnose/inspect/findings.js';
import { localizeFindings } from '../../../src/report/finding.js';

const GiB = 1024 * 1024 * 1024;

/** A healthy machine; tests change one thing at a time. */
function healthy(): CheckData {
  return {
    meminfo: parseMeminfo('MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\nSUnreclaim: 102400 kB\nSwapTotal: 0 kB\n'),
    vmstat: parseVmstat('nr_free_pages 100000\nallocstall_normal 0\npgscan_direct 0\n'),
    psi: { memory: parsePsi('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n') },
    buddy: parseBuddyinfo('Node 0, zone   Normal   100 100 100 100 100 100 100 100 100 100 100\n'),
    loadavg: parseLoadavg('0.50 0.40 0.30 2/300 1234\n'),
    cpus: 4,
    tasks: { total: 300, dstate: [], zombie: [] },
    fileNr: { allocated: 1000, max: 1_000_000 },
    pidMax: 4_194_304,
    threadsMax: 100_000,
    mounts: [{ mountpoint: '/', fstype: 'ext4', device: '/dev/sda1', sizeBytes: 100 * GiB, usedPct: 40, inodesUsedPct: 10 }],
    sysctl: { 'vm.panic_on_oom': '0', 'vm.min_free_kbytes': '67584', 'vm.overcommit_memory': '0', 'vm.swappiness': '10' },
    thp: { enabled: 'madvise', defrag: 'madvise' },
    uptimeS: 86400,
    edac: [],
    mceCount: 0,
    clockSynced: true,
    pageSizeBytes: 4096,
  };
}

const T = resolveInspectThresholds();
const checks = (d: CheckData): string[] => evaluateChecks(d, T).map((r) => `${r.class}.${r.check}:${r.level}`);

test('checks: a healthy machine raises nothing', () => {
  assert.deepEqual(checks(healthy()), []);
});

test('checks: simulated conditions, one at a time', () => {
  const cases: [string, (d: CheckData) => void, string][] = [
    ['low memory', (d) => (d.meminfo = parseMeminfo('MemTotal: 16777216 kB\nMemAvailable: 500000 kB\n')), 'indicator.mem-available-low:critical'],
    ['alloc stalls', (d) => (d.vmstat = parseVmstat('nr_free_pages 100000\nallocstall_normal 500000\npgscan_direct 9000000\n')), 'indicator.alloc-stall:warning'],
    ['memory pressure', (d) => (d.psi.memory = parsePsi('some avg10=30.00 avg60=30.00 avg300=5.00 total=1\nfull avg10=25.00 avg60=25.00 avg300=1.00 total=1\n')), 'indicator.psi-memory:critical'],
    ['fragmentation', (d) => (d.buddy = parseBuddyinfo('Node 0, zone   Normal   200000 50000 10 0 0 0 0 0 0 0 0\n')), 'indicator.fragmentation:warning'],
    ['load', (d) => (d.loadavg = parseLoadavg('20.0 20.0 20.0 30/300 1234\n')), 'indicator.load-high:critical'],
    ['D state', (d) => (d.tasks!.dstate = Array.from({ length: 12 }, (_, i) => ({ pid: i + 1, comm: 'dd' }))), 'indicator.dstate-tasks:warning'],
    ['zombies', (d) => (d.tasks!.zombie = Array.from({ length: 60 }, (_, i) => ({ pid: i + 100, comm: 'z', ppid: 42 }))), 'indicator.zombies:warning'],
    ['disk', (d) => (d.mounts[0]!.usedPct = 98), 'indicator.disk-full:critical'],
    ['inodes', (d) => (d.mounts[0]!.inodesUsedPct = 92), 'indicator.inode-full:warning'],
    ['fds', (d) => (d.fileNr = { allocated: 900_000, max: 1_000_000 }), 'indicator.fd-exhaustion:critical'],
    ['pids', (d) => (d.threadsMax = 320), 'indicator.pid-exhaustion:critical'],
    ['clock', (d) => (d.clockSynced = false), 'indicator.clock-unsynced:warning'],
    ['sunreclaim', (d) => (d.meminfo = parseMeminfo('MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\nSUnreclaim: 4000000 kB\n')), 'indicator.sunreclaim-high:warning'],
    ['panic_on_oom', (d) => (d.sysctl['vm.panic_on_oom'] = '1'), 'config.panic-on-oom:warning'],
    ['hung_task_panic', (d) => (d.sysctl['kernel.hung_task_panic'] = '1'), 'config.hung-task-panic:info'],
    ['min_free_kbytes', (d) => (d.sysctl['vm.min_free_kbytes'] = '1024'), 'config.min-free-kbytes:warning'],
    ['overcommit', (d) => (d.sysctl['vm.overcommit_memory'] = '2'), 'config.overcommit:warning'],
    ['swappiness', (d) => (d.sysctl['vm.swappiness'] = '60'), 'config.swappiness-no-swap:info'],
    ['thp', (d) => (d.thp = { enabled: 'always', defrag: 'always' }), 'config.thp-always:warning'],
    ['edac', (d) => (d.edac = [{ mc: 'mc0', ce: 3, ue: 1 }]), 'hardware.edac:critical'],
    ['mce', (d) => (d.mceCount = 2), 'hardware.mce:warning'],
    ['zombie memcgs', (d) => (d.zombieMemcgs = { count: 5000, method: 'cgroup.stat' }), 'indicator.zombie-memcgs:warning'],
  ];
  for (const [what, change, want] of cases) {
    const d = healthy();
    change(d);
    assert.deepEqual(checks(d), [want], what);
  }
});

test('checks: thresholds are configurable, unknown keys refused', () => {
  const d = healthy();
  d.mounts[0]!.usedPct = 85;
  assert.deepEqual(checks(d), []);
  assert.deepEqual(evaluateChecks(d, resolveInspectThresholds({ 'inspect.diskUsedPct': 80 })).map((r) => r.check), ['disk-full']);
  assert.throws(() => resolveInspectThresholds({ 'inspect.nope': 1 }), /unknown threshold/);
  assert.throws(() => resolveInspectThresholds({ 'inspect.diskUsedPct': 'x' }), /non-negative number/);
  assert.equal(INSPECT_THRESHOLDS['inspect.diskUsedPct'], 90);
});

test('checks: items and localized findings for every check (en and zh-CN)', () => {
  const d = healthy();
  d.meminfo = parseMeminfo('MemTotal: 16777216 kB\nMemAvailable: 500000 kB\nSUnreclaim: 4000000 kB\nSwapTotal: 0 kB\n');
  d.sysctl = { 'vm.panic_on_oom': '1', 'kernel.softlockup_panic': '1', 'kernel.hung_task_panic': '1', 'vm.min_free_kbytes': '1024', 'vm.overcommit_memory': '1', 'vm.swappiness': '60' };
  d.thp = { enabled: 'always', defrag: 'always' };
  d.edac = [{ mc: 'mc0', ce: 3, ue: 0 }];
  d.mceCount = 1;
  d.zombieMemcgs = { count: 2000, method: 'proc-cgroups-minus-dirs' };
  d.clockSynced = false;
  d.mounts[0]!.usedPct = 99;
  d.mounts[0]!.inodesUsedPct = 99;
  for (const r of ['memory', 'io', 'cpu'] as const) d.psi[r] = parsePsi('some avg10=50.00 avg60=50.00 avg300=5.00 total=1\nfull avg10=25.00 avg60=25.00 avg300=1.00 total=1\n');
  const items = evaluateChecks(d, T).map(checkItem);
  assert.ok(items.length >= 15);
  assert.equal(new Set(items.map((i) => i.id)).size, items.length, 'item ids are unique');
  for (const lang of ['en', 'zh-CN'] as const) {
    const f = localizeFindings(inspectFindings(items), lang);
    assert.equal(f.length, items.length);
    for (const x of f) assert.ok(!/\{\w+\}/.test(x.conclusion), `${x.id}: every placeholder filled: ${x.conclusion}`);
  }
});

test('checks: small parsers', () => {
  assert.equal(selectedMode('always [madvise] never\n'), 'madvise');
  assert.equal(cpuListCount('0-3,8,10-11\n'), 7);
  assert.equal(cpuListCount('x'), undefined);
  assert.equal(mceFromInterrupts('           CPU0       CPU1\n  MCE:          1          2   Machine check exceptions\n'), 3);
  assert.equal(mceFromInterrupts('  NMI: 0 0\n'), undefined);
});

test('checks: the live host is read without errors', async () => {
  const d = await collectCheckData(new LiveHost());
  assert.ok(d.meminfo, 'meminfo read');
  assert.ok(d.cpus && d.cpus >= 1);
  assert.ok(d.tasks && d.tasks.total > 0);
  assert.ok(d.mounts.length >= 0);
  if (d.zombieMemcgs) assert.ok(d.zombieMemcgs.count >= 0);
  for (const r of evaluateChecks(d, T)) assert.ok(r.title.length > 0);
});

test('inspect: the diagnosis returns its findings (report/ only localizes); one level → severity mapping', async () => {
  const { runInspect } = await import('../../../src/diagnose/inspect/inspect.js');
  const { severityOf } = await import('../../../src/diagnose/inspect/findings.js');
  const { inspectDocument } = await import('../../../src/report/inspect.js');
  const { LiveHost } = await import('../../../src/host/live.js');
  const { fixturePath } = await import('../../helpers.js');
  assert.deepEqual((['fatal', 'critical', 'error', 'warning', 'info'] as const).map(severityOf), ['critical', 'critical', 'warning', 'warning', 'info']);
  const r = await runInspect(new LiveHost(), { logFiles: [fixturePath('inspect', 'oom-6.1-shmem.log')] });
  assert.ok(r.findings.length > 0);
  assert.deepEqual(r.findings, inspectFindings(r.items));
  for (const lang of ['en', 'zh-CN'] as const) assert.deepEqual(inspectDocument(r, lang).findings.map((f) => f.id), r.findings.map((f) => f.id));
});
