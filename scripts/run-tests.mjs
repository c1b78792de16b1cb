#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, one file at a time
// (tests create real kernel objects and must not race each other). Extra args filter by substring.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist/test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files found under dist/test (run `make build` first)');
  process.exit(1);
}
// One TAP file per run, so that runs in parallel (several people, or CI and a person) do not mix counts.
const tap = join(tmpdir(), `oscope-test-results-${process.pid}.tap`);
// The agents, monitors and simulations the tests start keep their state (agent.sock, outbox.db,
// monitor state files) in a directory of this run, never in the host's /run/oscope: a real agent on the
// machine is neither disturbed nor talked to. Removed at the end.
const stateDir = process.env.OSCOPE_STATE_DIR || mkdtempSync(join(tmpdir(), 'oscope-test-state-'));
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', env: { ...process.env, OSCOPE_STATE_DIR: stateDir } },
);
if (!process.env.OSCOPE_STATE_DIR) rmSync(stateDir, { recursive: true, force: true });
// One plain closing line, whatever the reporter: "tests: N passed, N failed, N skipped".
const text = readFileSync(tap, 'utf8');
const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text) ?? [])[1] ?? 0);
console.log(`tests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped') + count('todo')} skipped`);
rmSync(tap, { force: true });
process.exit(r.status ?? 1);
