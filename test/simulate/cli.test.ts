/**
 * The real CLI (`bin/oscope simulate ...`) as a user runs it: list, the safety cap refusal, Ctrl-C during
 * creation, and a detached run killed with SIGKILL whose leftovers `oscope simulate cleanup` removes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT, needsRoot } from '../helpers.js';
import { cleanupRun, type RunResult } from '../../src/simulate/index.js';
import { listStates, parseState, type Resource } from '../../src/simulate/state.js';
import { detectMemoryHierarchy, memoryCgroupProblem } from '../../src/simulate/cgroup.js';
import { findPython } from '../../src/simulate/worker.js';
import { isSameProcessAlive, type ProcIdentity } from '../../src/simulate/proc.js';

const STATE = mkdtempSync('/tmp/oscope-test-simcli-');
const env = { ...process.env, OSCOPE_STATE_DIR: STATE, NO_COLOR: '1' };
const BIN = join(REPO_ROOT, 'bin', 'oscope');

after(async () => {
  for (const s of listStates(STATE)) await cleanupRun(s.runId, STATE).catch(() => undefined);
  rmSync(STATE, { recursive: true, force: true });
});

function oscope(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const noPython = needsRoot || (findPython() ? false : 'python3 is not installed');
const noCgroups = needsRoot || memoryCgroupProblem(detectMemoryHierarchy()) || (findPython() ? false : 'python3 is not installed');

test('simulate list --json names the memory scenarios with their options', () => {
  const r = oscope('simulate', 'list', '--json');
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { scenarios: { name: string; area: string; options: { flag: string }[] }[] };
  // Other areas (memleak, runlatency) add their own scenarios; the memory ones come first, in this order.
  assert.deepEqual(
    doc.scenarios.map((s) => s.name).slice(0, 5),
    ['shm-leak', 'sysv-orphan', 'memcg-zombie', 'dentry-bloat', 'filecache'],
  );
  const shm = doc.scenarios.find((s) => s.name === 'shm-leak')!;
  assert.deepEqual(shm.options.map((o) => o.flag), ['--size', '--file-size', '--rate', '--duration']);
});

test('a size above the safety cap is refused with one sentence and exit code 2', { skip: needsRoot }, () => {
  const r = oscope('simulate', 'shm-leak', '--size', '100T');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^oscope: shm-leak would use .* of MemAvailable.*--force.*\.\n$/);
  assert.equal(readdirSync(STATE).length, 0, 'nothing was started');
  assert.equal(oscope('simulate', 'shm-leak', '--size', 'lots').status, 2);
});

test('foreground --duration creates, prints the JSON summary, holds and cleans up by itself', { skip: needsRoot }, () => {
  const r = oscope('simulate', 'shm-leak', '--size', '1MiB', '--duration', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as RunResult;
  assert.equal(sum.schema, 'oscope.simulate/v1');
  assert.equal(sum.created.bytes, 1024 ** 2);
  assert.equal(sum.options.duration, 1);
  const dir = sum.resources.find((x) => x.kind === 'dir') as Extract<Resource, { kind: 'dir' }>;
  assert.ok(!existsSync(dir.path), 'removed at the end of the duration');
  assert.ok(!existsSync(sum.stateFile));
});

test('Ctrl-C during creation stops the run and removes what it had created', { skip: noPython }, async () => {
  // A slow dentry-bloat (1000 lookups/s) is still creating when SIGINT arrives.
  const child = spawn(process.execPath, [BIN, 'simulate', 'dentry-bloat', '--count', '1m', '--rate', '1000'], { env, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let resources: Resource[] = [];
  try {
    for (let i = 0; i < 200 && !resources.some((r) => r.kind === 'process'); i++) {
      await sleep(50);
      resources = listStates(STATE)[0]?.resources ?? [];
    }
    assert.ok(resources.some((r) => r.kind === 'process'), 'the run recorded its helper process');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    for (const r of resources) {
      if (r.kind === 'dir') assert.ok(!existsSync(r.path), `${r.path} removed`);
      if (r.kind === 'process') assert.ok(!isSameProcessAlive(r), `helper ${r.pid} stopped`);
    }
    assert.equal(listStates(STATE).length, 0, 'state file removed');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a detached run killed with SIGKILL is cleaned up by `oscope simulate cleanup`', { skip: noCgroups }, async () => {
  const r = oscope('simulate', 'filecache', '--size', '16MiB', '--detach', '--json');
  assert.equal(r.status, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as RunResult;
  const state = parseState(readFileSync(sum.stateFile, 'utf8'))!;
  const owner: ProcIdentity = state.owner;
  const holder = sum.resources.find((x) => x.kind === 'process') as Extract<Resource, { kind: 'process' }>;
  const cg = sum.resources.find((x) => x.kind === 'cgroup') as Extract<Resource, { kind: 'cgroup' }>;
  const file = sum.resources.find((x) => x.kind === 'file') as Extract<Resource, { kind: 'file' }>;
  try {
    assert.ok(isSameProcessAlive(owner), 'the detached runner is running');
    process.kill(owner.pid, 'SIGKILL');
    for (let i = 0; i < 100 && isSameProcessAlive(owner); i++) await sleep(50);
    assert.ok(!isSameProcessAlive(owner));
    // The crash left everything behind...
    assert.ok(isSameProcessAlive(holder) && existsSync(cg.path) && existsSync(file.path) && existsSync(sum.stateFile));
    const list = oscope('simulate', 'list');
    assert.match(list.stdout, new RegExp(`${sum.runId} .*crashed`));
    // ...and cleanup removes it from the state file.
    const c = oscope('simulate', 'cleanup', '--json');
    assert.equal(c.status, 0, c.stderr);
    const rep = JSON.parse(c.stdout) as { cleaned: { runId: string; owner: string; problems: unknown[] }[] };
    assert.deepEqual(rep.cleaned.map((x) => [x.runId, x.owner, x.problems.length]), [[sum.runId, 'gone', 0]]);
    assert.ok(!isSameProcessAlive(holder), 'holder killed');
    assert.ok(!existsSync(file.path), 'log file removed');
    assert.ok(!existsSync(cg.path), 'cgroup removed');
    assert.ok(!existsSync(sum.stateFile), 'state file removed');
  } finally {
    if (isSameProcessAlive(owner)) process.kill(owner.pid, 'SIGKILL');
  }
});

test('cleanup of a detached run that is still running stops it', { skip: noCgroups }, () => {
  const r = oscope('simulate', 'memcg-zombie', '--count', '3', '--size', '3MiB', '--detach', '--json');
  assert.equal(r.status, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as RunResult;
  const c = oscope('simulate', 'cleanup', sum.runId);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /stopped the running run/);
  assert.ok(!existsSync(sum.stateFile));
  for (const x of sum.resources) if (x.kind === 'dir' || x.kind === 'cgroup') assert.ok(!existsSync(x.path));
});
