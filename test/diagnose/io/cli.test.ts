/**
 * `oscope io` bad input through bin/oscope, as a user meets it: one sentence on stderr, no stack, and
 * the documented exit code (src/cli/errors.ts: 2 usage, 3 permission); --no-bpf still runs the /proc
 * and /sys parts and says in coverage what is missing; a kernel without BTF is a notice, not an error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { IoDocumentSchema } from '../../../src/report/io.js';
import { ioBpfBlocker } from '../../../src/cli/commands/io.js';
import { REPO_ROOT, fixturePath, isRoot } from '../../helpers.js';
import type { Host } from '../../../src/host/host.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');

function oscope(args: string[], asNobody = false): { code: number; stdout: string; stderr: string } {
  const cmd = asNobody ? 'setpriv' : process.execPath;
  const argv = asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const oneSentence = (r: { stderr: string }, re: RegExp): void => {
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
};

test('io: an interval of 0, "abc" or too long is a usage error (2)', () => {
  for (const i of ['0', 'abc', '-1', '4000']) {
    const r = oscope(['io', '-i', i, '--no-bpf']);
    assert.equal(r.code, 2, `-i ${i}: ${r.stderr}`);
    oneSentence(r, /-i takes a number of seconds above 0/);
  }
});

test('io: an unknown disk, a cgroup that does not exist, no such container or pod, two scopes → 2', () => {
  const cases: [string[], RegExp][] = [
    [['--disk', 'oscope-test-nodisk'], /no disk oscope-test-nodisk in \/proc\/diskstats/],
    [['--cgroup', '/oscope-test-no-such-cgroup'], /no cgroup \/oscope-test-no-such-cgroup under /],
    [['--container', 'deadbeefcafe0000'], /no running container matches "deadbeefcafe0000"/],
    [['--pod', 'oscope-test-nopod/default'], /no pod named "oscope-test-nopod\/default" has a running container here/],
    [['--pid', '1', '--pod', 'x'], /give at most one of --pid, --cgroup, --container and --pod/],
    [['--pid', 'abc'], /--pid takes a process id/],
  ];
  for (const [args, re] of cases) {
    const r = oscope(['io', '-i', '0.2', '--no-bpf', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    oneSentence(r, re);
  }
});

test('io --no-bpf: disks and traffic from /proc and /sys, coverage names what is missing', () => {
  const r = oscope(['io', '-i', '0.3', '--no-bpf', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = IoDocumentSchema.parse(JSON.parse(r.stdout));
  const cov = new Map(doc.coverage.map((c) => [c.section, c]));
  assert.equal(cov.get('latency')?.status, 'unavailable');
  assert.equal(cov.get('traffic.files')?.status, 'unavailable');
  assert.equal(cov.get('iowait')?.status, 'unavailable');
  assert.deepEqual(doc.traffic.files, []);
  assert.ok(doc.traffic.processes.every((p) => p.dirtiedBytes === null));
});

test('io: not root without --no-bpf is a permission error (3); with --no-bpf it runs', { skip: isRoot ? false : 'needs root to become nobody' }, () => {
  const r = oscope(['io', '-i', '0.2'], true);
  assert.equal(r.code, 3, r.stderr);
  oneSentence(r, /oscope io needs root .* run it with sudo/);
  const n = oscope(['io', '-i', '0.2', '--no-bpf', '--json'], true);
  assert.equal(n.code, 0, n.stderr);
  IoDocumentSchema.parse(JSON.parse(n.stdout));
});

test('io: a kernel without BTF is one sentence, and the run goes on without BPF', async () => {
  const noBtf = { exists: async (p: string) => p !== '/sys/kernel/btf/vmlinux' } as unknown as Host;
  const why = await ioBpfBlocker(noBtf);
  assert.match(why ?? '', /^this kernel has no BTF \(\/sys\/kernel\/btf\/vmlinux\), so request latency, iowait and per-file traffic are not traced; disks, processes and cgroups are measured without it/);
  assert.equal(await ioBpfBlocker({ exists: async () => true } as unknown as Host), undefined);
});

test('io --from: the io golden bundle is analysed; a bundle without an io capture is a usage error (2)', () => {
  const ok = oscope(['io', '--from', fixturePath('bundles', 'io-golden.tar.gz'), '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const doc = IoDocumentSchema.parse(JSON.parse(ok.stdout));
  assert.ok(doc.traffic.files.some((f) => f.path.includes('oscope-test-golden-io-w')));
  const no = oscope(['io', '--from', fixturePath('bundles', 'fixture-6.1-cgroup-v2.tar.gz')]);
  assert.equal(no.code, 2);
  oneSentence(no, /has no io capture/);
});
