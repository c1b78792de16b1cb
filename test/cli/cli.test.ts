import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { commands } from '../../src/cli/commands/index.js';
import { commandLoaders, commandOf } from '../../src/cli/commands/lazy.js';
import type { CliContext } from '../../src/cli/context.js';
import { MemDocumentSchema } from '../../src/report/mem.js';
import { REPO_ROOT, isRoot, needsRoot } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');

function oscope(args: string[], opts: { env?: Record<string, string>; asNobody?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const cmd = opts.asNobody ? 'setpriv' : process.execPath;
  const argv = opts.asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', ...opts.env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('cli: --help and --version exit 0', () => {
  const h = oscope(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['mem', 'capture', 'doctor', 'simulate']) assert.match(h.stdout, new RegExp(`\\b${c}\\b`));
  assert.match(oscope(['--version']).stdout, /^\d+\.\d+\.\d+/);
});

test('cli: one loader per command (only the named command is imported), the same names as --help', async () => {
  const all = new Command('x');
  for (const r of commands) r(all, () => ({}) as CliContext);
  assert.deepEqual(Object.keys(commandLoaders), all.commands.map((c) => c.name()));
  for (const [name, load] of Object.entries(commandLoaders)) {
    const one = new Command('x');
    (await load())(one, () => ({}) as CliContext);
    assert.deepEqual(one.commands.map((c) => c.name()), [name]);
  }
  assert.equal(commandOf(['node', 'oscope', '--lang', 'mem', 'load', '-i', '1']), 'load', 'the value of --lang is not the command');
  assert.equal(commandOf(['node', 'oscope', '--json', 'profile', 'diff', 'a', 'b']), 'profile');
  assert.equal(commandOf(['node', 'oscope', '--help']), undefined);
  assert.equal(commandOf(['node', 'oscope', 'lod']), undefined, 'a typo gets every command (and the suggestion)');
  const typo = oscope(['lod']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /Did you mean load\?/);
});

test('cli: a bad flag or value is one sentence and exit 2', () => {
  const r = oscope(['mem', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--bogus'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  const l = oscope(['--lang', 'fr', 'mem']);
  assert.equal(l.code, 2);
  assert.equal(l.stderr.trim(), 'oscope: unknown language "fr" (use en or zh-CN)');
  const t = oscope(['mem', '--threshold', 'nope=1']);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /unknown threshold "nope"/);
  // Checked before anything is traced (so also without root).
  const n = oscope(['runlatency', '-i', '1', '--threshold', 'lat.irqoffNmi=3']);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /lat\.irqoffNmi is 0 \(cpu-clock\), 1 .* or 2 .*got 3/);
  assert.match(oscope(['runlatency', '--help']).stdout, /lat\.irqoffNmi=N/);
  const f = oscope(['mem', '--from', '/nonexistent/oscope-test.tar.gz']);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /does not exist/);
});

test('cli: mem --json is one oscope.mem/v1 document', { skip: needsRoot }, () => {
  const r = oscope(['mem', '--json', '--no-kpage']);
  assert.equal(r.code, 0, r.stderr);
  const doc = MemDocumentSchema.parse(JSON.parse(r.stdout));
  assert.equal(doc.schema, 'oscope.mem/v1');
  assert.ok(doc.host.memTotalBytes > 0);
  const summed = doc.breakdown.items.filter((i) => !i.partOf).reduce((s, i) => s + i.bytes, 0);
  // Counters are read at slightly different instants; the sum is exact unless they overshoot MemTotal.
  assert.ok(Math.abs(summed - doc.breakdown.totalBytes) <= doc.breakdown.totalBytes * 0.01, `items sum ${summed} ≈ total ${doc.breakdown.totalBytes}`);
  assert.ok(doc.processes.length > 0 && doc.processes.length <= 30);
  assert.equal(doc.method.kpage, 'skipped');
  assert.ok(!r.stdout.includes('\u001b['), 'no colour codes in JSON');
});

test('cli: mem text in Simplified Chinese, no colour in a pipe', { skip: needsRoot }, () => {
  const r = oscope(['mem', '--lang', 'zh-CN', '--no-kpage']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /内存分布/);
  assert.match(r.stdout, /诊断结论/);
  assert.ok(!r.stdout.includes('\u001b['), 'no colour codes in a pipe');
  const e = oscope(['mem', '--no-kpage'], { env: { LANG: 'zh_CN.UTF-8' } });
  assert.match(e.stdout, /内存分布/, 'language from the locale');
});

test('cli: capture then mem --from gives the same panorama', { skip: needsRoot }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-capture-'));
  try {
    const bundle = join(dir, 'host.tar.gz');
    const c = oscope(['capture', '-o', bundle, '--no-kpage', '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(JSON.parse(c.stdout).files > 10);
    const r = oscope(['mem', '--from', bundle, '--json', '--no-kpage']);
    assert.equal(r.code, 0, r.stderr);
    const doc = MemDocumentSchema.parse(JSON.parse(r.stdout));
    assert.equal(doc.host.source, 'bundle');
    assert.ok(doc.processes.length > 0, 'processes replayed');
    assert.ok(doc.cgroups.length > 0, 'cgroups replayed');
    assert.ok(doc.slab.top.length > 0, 'slab replayed');
    // A corrupt bundle is one sentence, exit 2.
    const bad = join(dir, 'bad.tar.gz');
    writeFileSync(bad, 'not a tarball');
    const b = oscope(['mem', '--from', bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /not (a readable )?an? oscope bundle|not a readable oscope bundle/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli: mem as an unprivileged user says what it cannot see and still reports', { skip: isRoot ? false : 'needs root to switch to nobody' }, () => {
  const r = oscope(['mem', '--json'], { asNobody: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /not root/);
  const doc = MemDocumentSchema.parse(JSON.parse(r.stdout));
  assert.ok(doc.coverage.some((c) => c.section === 'kpage' && c.status === 'unavailable'));
  assert.ok(doc.coverage.some((c) => c.section === 'slab'));
});

test('cli: doctor lists features and a method per command', () => {
  const r = oscope(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { schema: string; features: { id: string; available: boolean }[]; commands: { command: string; method: string }[] };
  assert.equal(d.schema, 'oscope.doctor/v1');
  assert.ok(d.features.some((f) => f.id === 'btf'));
  assert.deepEqual(d.commands.map((c) => c.command).sort(), ['filecache', 'inspect', 'io', 'load', 'mem', 'memleak', 'net', 'profile', 'runlatency']);
});
