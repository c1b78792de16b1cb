#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner.
//
//   node scripts/run-tests.mjs [--group all|unit|live] [SUBSTRING…]
//
// Groups:
//   all   (default, what `make test` and CI run) every file, one at a time: tests create real kernel
//         objects (cgroups, mounts, BPF programs, containers) and must not race each other.
//   unit  (`make unit`) the pure tests: parsers, analyses on fixtures and bundles, rendering, contracts.
//         OSCOPE_TEST_GROUP=unit makes every test that needs root skip (test/helpers.ts `needsRoot`),
//         the files that exist for live work (LIVE_FILES) are left out, and files run in parallel,
//         since nothing they do touches the kernel. No root needed; about a minute.
//   live  (`make test-live`) the live tests: the LIVE_FILES and every file with a root-only test
//         (scenarios, BPF, real containers, PostgreSQL, the browser), one at a time, as root.
//   kernels (`make test-kernels`) the second-kernel tests only (test/kernels/: Debian's 6.1 under
//         QEMU); `all` and `live` include them, and they skip with the reason when qemu cannot run.
// SUBSTRING arguments keep only the files whose path contains one of them.
import { spawnSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Files whose every test drives live machinery (servers and agents killed with SIGKILL, the browser,
 * PostgreSQL, real containers, simulations, BPF tracing). Path substrings under dist/test/.
 */
const LIVE_FILES = [
  'web/console-ui.test.js',
  'web/fleet-ui.test.js',
  'console/local-agent.test.js',
  'console/store-postgres.test.js',
  'console/durability.test.js',
  'containers/real-container.test.js',
  'agent/agent.test.js',
  'agent/local.test.js',
  'agent/io-live.test.js',
  'cli/runlatency-agent.test.js',
  'cli/memleak-trend.test.js',
  'simulate/scenarios.test.js',
  'simulate/cli.test.js',
  'diagnose/latency/live.test.js',
  'diagnose/latency/nmi.test.js',
  'diagnose/io/files.live.test.js',
  'diagnose/io/live.test.js',
  'diagnose/load/live.test.js',
  'diagnose/profile/live.test.js',
  'diagnose/net/live.test.js',
  'diagnose/net/sockets.test.js',
  'kernel/bpf/',
  'kernels/',
];
/** A file with at least one test that needs root (the helpers' gate, or its own euid check). */
const ROOT_MARKERS = /\bneedsRoot\b|\bisRoot\b|geteuid/;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
let group = 'all';
const gi = args.indexOf('--group');
if (gi >= 0) {
  group = args[gi + 1] ?? '';
  args.splice(gi, 2);
}
if (!['all', 'unit', 'live', 'kernels'].includes(group)) {
  console.error(`--group takes all, unit, live or kernels (not ${JSON.stringify(group)})`);
  process.exit(2);
}
const filters = args;
const isLiveFile = (f) => LIVE_FILES.some((x) => f.includes(x));
let files = walk('dist/test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (group === 'unit') files = files.filter((f) => !isLiveFile(f));
if (group === 'kernels') files = files.filter((f) => f.includes('/kernels/'));
if (group === 'live') files = files.filter((f) => isLiveFile(f) || ROOT_MARKERS.test(readFileSync(f, 'utf8')));
if (files.length === 0) {
  console.error(`no test files found under dist/test${filters.length ? ` matching ${filters.join(', ')}` : ''} (run \`make build\` first)`);
  process.exit(1);
}
// One TAP file per run, so that runs in parallel (several people, or CI and a person) do not mix counts.
const tap = join(tmpdir(), `oscope-test-results-${process.pid}.tap`);
// The agents, monitors and simulations the tests start keep their state (agent.sock, outbox.db,
// monitor state files) in a directory of this run, never in the host's /run/oscope: a real agent on the
// machine is neither disturbed nor talked to. Removed at the end.
const stateDir = process.env.OSCOPE_STATE_DIR || mkdtempSync(join(tmpdir(), 'oscope-test-state-'));
const concurrency = group === 'unit' ? Math.max(2, availableParallelism()) : 1;
const env = { ...process.env, OSCOPE_STATE_DIR: stateDir };
if (group === 'unit') env.OSCOPE_TEST_GROUP = 'unit';
else delete env.OSCOPE_TEST_GROUP;
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', env },
);
if (!process.env.OSCOPE_STATE_DIR) rmSync(stateDir, { recursive: true, force: true });
// One plain closing line, whatever the reporter: "tests: N passed, N failed, N skipped".
const text = readFileSync(tap, 'utf8');
const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text) ?? [])[1] ?? 0);
console.log(`${group === 'all' ? 'tests' : group}: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped') + count('todo')} skipped`);
rmSync(tap, { force: true });
process.exit(r.status ?? 1);
