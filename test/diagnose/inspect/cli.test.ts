/**
 * The command as a user runs it: a crafted kernel log written to a temporary file and read with --log,
 * JSON validated against the oscope.inspect/v1 schema, user errors as one sentence.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InspectJsonSchema, parseSince } from '../../../src/cli/commands/inspect.js';
import { UserError } from '../../../src/cli/errors.js';
import { REPO_ROOT, fixturePath, needsRoot, testName } from '../../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');

/** The environment of a user's shell (without the test runner's NODE_TEST_CONTEXT). */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function oscope(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: userEnv(), timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CRAFTED = [
  '[ 4000.000001] INFO: task oscope-test-dd:4242 blocked for more than 120 seconds.',
  '[ 4000.000002]       Not tainted 6.1.0 #1',
  '[ 4000.000003] task:oscope-test-dd  state:D stack:0     pid:4242  ppid:1      flags:0x00004000',
  '[ 4000.000004] Call Trace:',
  '[ 4000.000005]  <TASK>',
  '[ 4000.000006]  __schedule+0x351/0xa20',
  '[ 4000.000007]  schedule+0x5d/0xe0',
  '[ 4000.000008]  io_schedule+0x42/0x70',
  '[ 4000.000009]  folio_wait_bit_common+0x13d/0x350',
  '[ 4000.000010]  oscope_test_read_disk+0x20/0x40',
  '[ 4000.000011]  vfs_read+0x9d/0x1a0',
  '[ 4000.000012]  </TASK>',
  '[ 4100.000000] Memory cgroup out of memory: Killed process 4343 (oscope-test) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0',
  '',
].join('\n');

test('cli: --log with a crafted hung task and OOM kill, --json validates', () => {
  const dir = join(tmpdir(), testName('inspect'));
  mkdirSync(dir);
  try {
    const file = join(dir, 'kern.log');
    writeFileSync(file, CRAFTED);
    const r = oscope('inspect', '--log', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = InspectJsonSchema.parse(JSON.parse(r.stdout));
    assert.equal(doc.schema, 'oscope.inspect/v1');
    assert.deepEqual(doc.items.map((i) => i.title), ['INFO: task hung in oscope_test_read_disk', 'Out of memory: cgroup-limit']);
    assert.equal(doc.items[0]!.kind, 'HANG');
    assert.equal(doc.items[0]!.level, 'critical');
    assert.ok(doc.items[0]!.stack.includes('oscope_test_read_disk+0x20/0x40'));
    assert.equal(doc.items[0]!.firstUptimeS, 4000.000001);
    assert.deepEqual(doc.sources.map((s) => [s.name, s.status]), [[file, 'used']]);
    assert.deepEqual(doc.findings.map((f) => f.id).sort(), ['inspect.log.hang', 'inspect.log.oom']);
    assert.ok(doc.items.every((i) => i.class === 'log'), 'no host checks with --log');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli: text output, most severe first, in English and Chinese', () => {
  const en = oscope('inspect', '--log', fixturePath('inspect', 'filesystem.log'), '--lang', 'en');
  assert.equal(en.code, 0, en.stderr);
  const lines = en.stdout.split('\n');
  const firstItem = lines.findIndex((l) => /^(FATAL|CRITICAL|ERROR|WARNING|INFO) /.test(l));
  assert.match(lines[firstItem]!, /^CRITICAL +log +ext4 filesystem sdb1 remounted read-only/);
  assert.match(en.stdout, /What to do: /);
  assert.ok(!en.stdout.includes('\u001b['), 'no colours outside a TTY');
  const zh = oscope('inspect', '--log', fixturePath('inspect', 'filesystem.log'), '--lang', 'zh-CN');
  assert.equal(zh.code, 0, zh.stderr);
  assert.match(zh.stdout, /严重 +日志 +ext4 filesystem sdb1 remounted read-only/);
  assert.match(zh.stdout, /建议: /);
});

test('cli: user errors are one sentence and a non-zero exit', () => {
  const missing = oscope('inspect', '--log', join(tmpdir(), testName('missing'), 'nope.log'));
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^oscope: cannot read --log .*: no such file\n$/);
  const dir = oscope('inspect', '--log', tmpdir());
  assert.notEqual(dir.code, 0);
  assert.match(dir.stderr, /^oscope: cannot read --log .*: it is a directory\n$/);
  const since = oscope('inspect', '--since', 'yesterday-ish', '--log', fixturePath('inspect', 'clean.log'));
  assert.equal(since.code, 2);
  assert.match(since.stderr, /^oscope: --since "yesterday-ish" is not a duration/);
  assert.equal(since.stderr.trim().split('\n').length, 1);
  const thr = oscope('inspect', '--threshold', 'nope=1');
  assert.equal(thr.code, 2);
  assert.match(thr.stderr, /^oscope: unknown threshold "nope"\n$/);
});

test('cli: --since parses durations and times', () => {
  const now = Date.parse('2024-05-06T12:00:00Z');
  assert.equal(parseSince('24h', now), now - 86_400_000);
  assert.equal(parseSince('30m', now), now - 1_800_000);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('2024-05-01T00:00:00Z', now), Date.parse('2024-05-01T00:00:00Z'));
  assert.throws(() => parseSince('soon', now), UserError);
});

test('cli: the live host (kernel ring buffer + checks) as root', { skip: needsRoot }, () => {
  const r = oscope('inspect', '--json', '--since', '7d');
  assert.equal(r.code, 0, r.stderr);
  const doc = InspectJsonSchema.parse(JSON.parse(r.stdout));
  const kmsg = doc.sources.find((s) => s.name === '/dev/kmsg' || s.name === 'journalctl -k');
  assert.ok(kmsg && doc.sources.some((s) => s.status === 'used'), 'a kernel log source was read');
  assert.ok(doc.since !== null);
});

test('cli: --follow starts watching /dev/kmsg', { skip: needsRoot }, () => {
  const r = spawnSync(process.execPath, [BIN, 'inspect', '--follow'], { encoding: 'utf8', timeout: 3000, env: userEnv() });
  // Killed by the timeout while watching: it did not exit with an error on its own.
  assert.equal(r.status, null);
  assert.match(r.stderr, /Watching the kernel log \(\/dev\/kmsg\)/);
});

test('inspect thresholds come from the one table: --threshold and --config take inspect.* keys, bad ones are one sentence', () => {
  const dir = join(tmpdir(), testName('inspect-th'));
  mkdirSync(dir);
  try {
    const bad = oscope('inspect', '--no-checks', '--log', fixturePath('inspect', 'oom-6.1-shmem.log'), '--threshold', 'inspect.nope=1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown threshold "inspect\.nope"/);
    const conf = join(dir, 'config.json');
    writeFileSync(conf, JSON.stringify({ thresholds: { 'inspect.diskUsedPct': 'x' } }));
    const badConf = oscope('inspect', '--log', fixturePath('inspect', 'oom-6.1-shmem.log'), '--config', conf);
    assert.equal(badConf.code, 2);
    assert.match(badConf.stderr, /threshold inspect\.diskUsedPct must be a non-negative number/);
    writeFileSync(conf, JSON.stringify({ thresholds: { 'inspect.diskUsedPct': 85, 'mem.availableLowPct': 12 } }));
    const ok = oscope('inspect', '--json', '--log', fixturePath('inspect', 'oom-6.1-shmem.log'), '--config', conf, '--threshold', 'inspect.loadPerCpu=3');
    assert.equal(ok.code, 0, ok.stderr);
    InspectJsonSchema.parse(JSON.parse(ok.stdout));
    const since = oscope('inspect', '--log', fixturePath('inspect', 'oom-6.1-shmem.log'), '--since', '2999-01-01T00:00:00Z');
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since takes a time in the past/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
