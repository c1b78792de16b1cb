/**
 * Fixtures for every rule family beyond the crash corpus: each fixture file lists what it must produce.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { scanLog } from '../../../src/diagnose/inspect/engine.js';
import { foldReports, sortItems } from '../../../src/diagnose/inspect/items.js';
import { builtinRulesDir, loadRules, readRuleFiles } from '../../../src/diagnose/inspect/rules.js';
import { fixture, testName } from '../../helpers.js';

const rules = loadRules();

function items(file: string): { level: string; kind: string; title: string; count: number }[] {
  const { items: its, order } = foldReports(scanLog(fixture('inspect', file), rules), rules);
  return sortItems(its, order).map((it) => ({ level: it.level, kind: it.kind, title: it.title, count: it.count }));
}

const EXPECT: Record<string, [string, string, string, number][]> = {
  'filesystem.log': [
    ['critical', 'FS-READONLY', 'ext4 filesystem sdb1 remounted read-only', 1],
    ['critical', 'FS-SHUTDOWN', 'XFS filesystem dm-0 shut down', 1],
    ['critical', 'FS-READONLY', 'btrfs filesystem nvme0n1p3 forced read-only', 1],
    ['error', 'IO-ERROR', 'I/O error on sdb', 2],
    ['error', 'IO-ERROR', 'I/O error on sdb1', 1],
    ['error', 'FS-ERROR', 'EXT4-fs error (device sdb1) in ext4_find_entry', 1],
    ['error', 'FS-ERROR', 'XFS error (device dm-0)', 1],
    ['error', 'FS-ERROR', 'BTRFS error (device nvme0n1p3)', 2],
    ['warning', 'IO-TIMEOUT', 'NVMe I/O timeout on nvme0', 1],
  ],
  'hardware.log': [
    ['critical', 'MCE', 'MCE: machine check events logged', 1],
    ['critical', 'MCE', 'MCE: machine check in bank 7', 1],
    ['critical', 'EDAC', 'EDAC UE memory error on MC1', 1],
    ['critical', 'MEMORY-FAILURE', 'memory failure (hwpoison)', 1],
    ['error', 'HW-ERROR', 'hardware error (recoverable)', 1],
    ['warning', 'EDAC', 'EDAC CE memory error on MC0', 2],
  ],
  'known-issues.log': [
    ['error', 'KNOWN-EXT4-DIR-INDEX-FULL', 'ext4 directory index full on sdb1', 1],
    ['error', 'KNOWN-PIDS-LIMIT', 'fork rejected by the pids limit of /kubepods/burstable/pod1b2c3d4e-aaaa-bbbb-cccc-1234567890ab', 1],
    ['warning', 'KNOWN-XFS-ALLOC-DEADLOCK', 'XFS possible memory allocation deadlock', 2],
    ['warning', 'KNOWN-SYN-BACKLOG', 'SYN backlog overflow on port 8080', 1],
  ],
  'network.log': [
    ['error', 'NET-TX-TIMEOUT', 'NIC transmit timeout on eth0 (e1000e)', 1],
    ['error', 'NET-CONNTRACK-FULL', 'conntrack table full', 2],
    ['error', 'NET-TCP-OOM', 'TCP: out of memory', 1],
    ['warning', 'WARNING', 'WARNING in dev_watchdog', 1],
    ['warning', 'NET-LINK-DOWN', 'link down on eth0', 2],
    ['warning', 'HRTIMER-SLOW', 'hrtimer interrupt took too long', 1],
  ],
  'misc.log': [
    ['critical', 'HANG', 'BUG: soft lockup in pipe_write', 1],
    ['critical', 'HANG', 'INFO: rcu detected stall in corrupted', 1],
    ['critical', 'HANG', 'hard LOCKUP in mlx5_eq_comp_int', 1],
    ['error', 'ATOMIC_SLEEP', 'BUG: sleeping function called from invalid context in mydrv_probe', 1],
    ['warning', 'PAGE-ALLOC-FAIL', 'page allocation failure: order:4', 1],
    ['warning', 'LEAK', 'kmemleak: new suspected memory leaks', 1],
  ],
  'hung-task-3.10.log': [['critical', 'HANG', 'INFO: task hung in jbd2_journal_commit_transaction', 1]],
  'hung-task-6.1.log': [['critical', 'HANG', 'INFO: task hung in blk_mq_get_tag', 2]],
  'segfault-storm.log': [['warning', 'SEGFAULT', 'user-space crashes (segfault, trap)', 12]],
  'clean.log': [],
};

for (const [file, want] of Object.entries(EXPECT)) {
  test(`rules: ${file}`, () => {
    assert.deepEqual(
      items(file),
      want.map(([level, kind, title, count]) => ({ level, kind, title, count })),
    );
  });
}

test('rules: the RCU stall report keeps the starved-kthread line', () => {
  const reps = scanLog(fixture('inspect', 'misc.log'), rules);
  const stall = reps.find((r) => r.title.startsWith('INFO: rcu detected stall'));
  assert.ok(stall?.lines.some((l) => l.includes('kthread starved')));
});

test('rules: the built-in files validate and every kind has level and finding', () => {
  const files = readRuleFiles([builtinRulesDir()]);
  assert.ok(files.length >= 2);
  const set = loadRules();
  for (const rule of set.rules) {
    for (const f of rule.formats) {
      if (f.kind) assert.ok(set.kindInfo[f.kind], `kind ${f.kind} has kindInfo`);
    }
  }
  for (const [, kind] of set.kinds) {
    const base = kind.replace('$1', 'READ');
    assert.ok(set.kindInfo[base], `kind ${base} has kindInfo`);
  }
});

test('rules: users extend the rules with their own directory', () => {
  const dir = join(tmpdir(), testName('rules'));
  mkdirSync(dir);
  try {
    writeFileSync(
      join(dir, 'site.json'),
      JSON.stringify({
        rules: [{ header: 'mydrv: firmware crashed', formats: [{ title: 'mydrv: firmware crashed on (\\S+)', fmt: 'mydrv firmware crash on {1}', keepNumbers: true, kind: 'MYDRV-FW', single: true }] }],
        kindInfo: { 'MYDRV-FW': { level: 'critical', finding: 'hardware', class: 'hardware' } },
      }),
    );
    const set = loadRules([dir]);
    const { items: its } = foldReports(scanLog('[ 1.0] mydrv: firmware crashed on card0\n[ 2.0] mydrv: firmware crashed on card0\n', set), set);
    assert.equal(its.length, 1);
    assert.equal(its[0]!.title, 'mydrv firmware crash on card0');
    assert.equal(its[0]!.count, 2);
    assert.equal(its[0]!.class, 'hardware');
    writeFileSync(join(dir, 'bad.json'), '{"rules": [{"header": "x", "formats": [{"title": "(", "fmt": "x"}]}]}');
    assert.throws(() => loadRules([dir]), /bad\.json.*bad regular expression/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
