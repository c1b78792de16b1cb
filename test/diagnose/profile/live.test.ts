/**
 * `oscope profile` on the live kernel: the cpu-hog simulation (a C program built with cc whose three
 * functions take 50/30/20 % of its CPU time) profiled by pid, its shares checked within 5 points and
 * its functions named; off-CPU time of a sleeper; the bad-input sentences and exit codes of the CLI.
 * Every process and file made here is removed in `finally`; the profiles are scoped to our own pids,
 * so other work on the machine does not matter.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProfileDocumentSchema } from '../../../src/contract/profile.js';
import { analyzeProfile } from '../../../src/diagnose/profile/analyze.js';
import { collectProfile } from '../../../src/diagnose/profile/collect.js';
import { ProfileParamsSchema } from '../../../src/diagnose/profile/params.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { findBpfObject } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';
import { profileDocument } from '../../../src/report/profile.js';
import { toPprof } from '../../../src/report/profile-formats.js';
import { cleanupRun, runScenario } from '../../../src/simulate/index.js';
import { CPU_HOG_COMM, CPU_HOG_FUNCTIONS } from '../../../src/simulate/scenarios/cpu-hog.js';
import { REPO_ROOT, needsRoot, testName } from '../../helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const bpfMissing = ((): string | false => {
  if (needsRoot) return needsRoot;
  const o = findBpfObject('profile');
  if ('missing' in o) return o.missing;
  const n = loadNative();
  if (!n.available) return `the native addon is not built (${n.reason})`;
  return has('cc') ? false : 'needs cc (apt install gcc)';
})();

const OSCOPE = join(REPO_ROOT, 'bin', 'oscope');
const cli = (args: string[], opts: { user?: boolean } = {}): { status: number | null; stdout: string; stderr: string } => {
  const argv = opts.user ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, OSCOPE, ...args] : [process.execPath, OSCOPE, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('cpu-hog: the profile by pid names its functions and their shares are 50/30/20 within 5 points', { skip: bpfMissing }, async () => {
  const run = await runScenario('cpu-hog', {});
  try {
    const pid = Number(run.created.details!.pid);
    const params = ProfileParamsSchema.parse({ intervalS: 4, pid, hz: 499 });
    const t = resolveThresholds();
    const doc = profileDocument(analyzeProfile(await collectProfile(new LiveHost(), params), t), 'en');
    ProfileDocumentSchema.parse(doc);
    assert.deepEqual(doc.processes.map((p) => p.pid), [pid], 'only the pid asked for');
    assert.equal(doc.processes[0]!.comm, CPU_HOG_COMM);
    const self = new Map(doc.functions.map((f) => [f.name, f]));
    const shares = CPU_HOG_FUNCTIONS.map((n) => self.get(n)?.selfSamples ?? 0);
    const sum = shares.reduce((a, b) => a + b, 0);
    assert.ok(sum >= 200, `enough samples of the hog functions (${sum} of ${doc.samples})`);
    assert.ok(sum / doc.samples > 0.9, `the hog functions hold most samples (${sum} of ${doc.samples})`);
    const pct = shares.map((s) => (s / sum) * 100);
    [50, 30, 20].forEach((want, i) => assert.ok(Math.abs(pct[i]! - want) <= 5, `${CPU_HOG_FUNCTIONS[i]}: ${pct[i]!.toFixed(1)} % (want ${want} ± 5)`));
    for (const n of CPU_HOG_FUNCTIONS) assert.equal(self.get(n)!.module, 'osc-cpu-hog');
    // Frame pointers all the way: main calls them, and the hottest stack reads root first.
    assert.ok(doc.stacks[0]!.frames.includes('main'), doc.stacks[0]!.frames.join(';'));
    assert.equal(doc.stacks[0]!.frames[doc.stacks[0]!.frames.length - 1], 'osc_hog_a');
    assert.ok(self.get('main')!.totalPct > 90);
    if (has('go')) {
      const dir = join(tmpdir(), testName('pprof'));
      mkdirSync(dir, { recursive: true });
      try {
        writeFileSync(join(dir, 'p.pb.gz'), toPprof(doc));
        const r = spawnSync('go', ['tool', 'pprof', '-top', join(dir, 'p.pb.gz')], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, HOME: dir, GOCACHE: join(dir, 'cache') } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /osc_hog_a/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else console.log('# go is not installed: the `go tool pprof` reading of the pprof output was not checked');
  } finally {
    await cleanupRun(run.runId);
  }
});

test('off-CPU: a sleeper blocks in nanosleep, by stack and time', { skip: bpfMissing }, async () => {
  const child = spawn('sh', ['-c', 'while :; do sleep 0.05; done'], { stdio: 'ignore' });
  try {
    // The shell forks `sleep`: profile the shell's children by their comm instead of one pid.
    const doc = profileDocument(analyzeProfile(await collectProfile(new LiveHost(), ProfileParamsSchema.parse({ intervalS: 2, offCpu: true })), resolveThresholds()), 'en');
    ProfileDocumentSchema.parse(doc);
    assert.equal(doc.mode, 'off-cpu');
    assert.equal(doc.unit, 'us');
    const sleeps = doc.stacks.filter((s) => s.frames.some((f) => /nanosleep/.test(f)));
    assert.ok(sleeps.length > 0, 'some stack blocks in nanosleep');
    assert.ok(doc.processes.some((p) => p.comm === 'sleep' && p.samples > 10_000), 'sleep blocked for more than 10 ms in all');
  } finally {
    child.kill('SIGKILL');
  }
});

test('bad input: a missing pid, rates 0 and 100000, an unwritable -o, not root: one sentence and the exit code', { skip: needsRoot }, () => {
  const gone = cli(['profile', '--pid', '999999999', '-i', '1']);
  assert.equal(gone.status, 2, gone.stderr);
  assert.match(gone.stderr, /no process 999999999/);
  for (const hz of ['0', '100000']) {
    const r = cli(['profile', '--hz', hz, '-i', '1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--hz takes a rate from 1 to 10000/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const out = cli(['profile', '-i', '1', '--format', 'svg', '-o', `/nonexistent-${testName('dir')}/p.svg`]);
  assert.equal(out.status, 2);
  assert.match(out.stderr, /cannot write -o .*its directory does not exist/);
  const scope = cli(['profile', '-i', '1', '--container', 'oscope-test-nosuch']);
  assert.equal(scope.status, 2);
  assert.match(scope.stderr, /no process of container oscope-test-nosuch/);
  const fmt = cli(['profile', '--format', 'png']);
  assert.equal(fmt.status, 2);
  if (has('setpriv')) {
    const user = cli(['profile', '-i', '1'], { user: true });
    assert.equal(user.status, 3, user.stderr);
    assert.match(user.stderr, /needs root/);
  }
});

test('a pid that ends during the profile: what was gathered is reported, coverage says when it ended', { skip: bpfMissing || (has('python3') ? false : 'needs python3') }, () => {
  const child = spawn('python3', ['-c', 'import time\ne = time.time() + 4\nwhile time.time() < e: pass'], { stdio: 'ignore' });
  const dir = join(tmpdir(), testName('profile-out'));
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'p.folded');
    const r = cli(['profile', '--json', '--pid', String(child.pid), '-i', '20', '--hz', '199', '--format', 'folded', '-o', file]);
    assert.equal(r.status, 0, r.stderr);
    const doc = ProfileDocumentSchema.parse(JSON.parse(r.stdout));
    assert.ok(doc.intervalS < 20, `stopped when the process ended (${doc.intervalS} s)`);
    assert.ok(doc.coverage.some((c) => c.section === 'scope' && /ended .* into the profile/.test(c.reason ?? '')));
    if (doc.samples > 0) assert.match(readFileSync(file, 'utf8'), / \d+\n/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
