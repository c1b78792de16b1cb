import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigDiffDocumentSchema, ConfigDocumentSchema } from '../../src/contract/config.js';
import { REPO_ROOT } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');
const oscope = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

test('cli config-diff: capture this host twice, nothing that matters differs; change a setting in a copy, it is marked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-confdiff-'));
  try {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const c1 = oscope(['config-diff', '--capture', '-o', a]);
    assert.equal(c1.code, 0, c1.stderr);
    assert.match(c1.stdout, /sysctls, \d+ command-line parameters/);
    const doc = ConfigDocumentSchema.parse(JSON.parse(readFileSync(a, 'utf8')));
    assert.ok(Object.keys(doc.sysctls).length > 100);
    // Without -o the capture is the JSON on stdout.
    const c2 = oscope(['config-diff', '--capture']);
    assert.equal(c2.code, 0, c2.stderr);
    writeFileSync(b, c2.stdout);

    const same = oscope(['--json', 'config-diff', a, b]);
    assert.equal(same.code, 0, same.stderr);
    const d = ConfigDiffDocumentSchema.parse(JSON.parse(same.stdout));
    assert.equal(d.summary.marked, 0, `marked: ${JSON.stringify(d.areas.flatMap((x) => x.differences.filter((y) => y.marked)))}`);
    assert.equal(oscope(['config-diff', '--fail-on-marked', a, b]).code, 0);
    // One capture against this host now.
    const live = oscope(['config-diff', a]);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stdout, /No differences that matter/);

    const changed = structuredClone(doc);
    changed.sysctls['vm.swappiness'] = String((Number(changed.sysctls['vm.swappiness'] ?? 60) + 17) % 200);
    changed.sysctls['kernel.random.boot_id'] = 'ffffffff-0000-0000-0000-000000000000';
    writeFileSync(b, JSON.stringify(changed));
    const text = oscope(['config-diff', '--fail-on-marked', a, b]);
    assert.equal(text.code, 1, 'exit 1 with --fail-on-marked when a difference is marked');
    assert.match(text.stdout, /WARNING sysctl vm\.swappiness: /);
    assert.match(text.stdout, /reclaim swaps anonymous memory/);
    assert.doesNotMatch(text.stdout, /boot_id/);
    const zh = oscope(['--lang', 'zh-CN', 'config-diff', a, b]);
    assert.match(zh.stdout, /重要的差异/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli config-diff: user errors are one sentence and exit 2', () => {
  const none = oscope(['config-diff']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs a capture to compare/);
  const missing = oscope(['config-diff', '/nonexistent/oscope-test-a.json']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /capture \/nonexistent\/oscope-test-a\.json does not exist/);
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-confdiff-'));
  try {
    const f = join(dir, 'mem.json');
    writeFileSync(f, JSON.stringify({ schema: 'oscope.mem/v1' }));
    const wrong = oscope(['config-diff', f, f]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /is not an oscope\.config\/v1 capture/);
    assert.doesNotMatch(wrong.stderr, /at .*\.js:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(oscope(['config-diff', '-o', '/tmp/x.json', 'a.json']).code, 2);
});
