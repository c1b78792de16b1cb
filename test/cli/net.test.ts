/**
 * `oscope net` bad input through bin/oscope, as a user meets it (issue 14, "Bad input"): one sentence on
 * stderr, no stack, and the documented exit code (src/cli/errors.ts: 2 usage, 3 permission). A port out
 * of range, a --netns path that is not a network namespace, a container, pod, pid or cgroup with no
 * process → 2; not root without --no-bpf → 3; --no-bpf runs the counter and socket parts (also as
 * nobody); a kernel without BTF (injected through the Host) is one sentence and the run goes on.
 * Every run is short (-i 0.2 or it fails before measuring).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { netBpfBlocker } from '../../src/cli/commands/net.js';
import { NET_NO_BTF, collectNet } from '../../src/diagnose/net/collect.js';
import { NetParamsSchema } from '../../src/diagnose/net/params.js';
import { resolveThresholds } from '../../src/diagnose/thresholds.js';
import type { Host } from '../../src/host/host.js';
import { LiveHost } from '../../src/host/live.js';
import { NetDocumentSchema } from '../../src/report/net.js';
import { REPO_ROOT, isRoot } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');
const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

type Run = { code: number; stdout: string; stderr: string };

function oscope(args: string[], asNobody = false): Run {
  const cmd = asNobody ? 'setpriv' : process.execPath;
  const argv = asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Many command lines in one node process (the CLI's main() once per line, its stdout, stderr and exit
 * code kept apart), so each case does not pay node's start-up: the same code path as bin/oscope.
 */
function oscopeMany(cases: string[][], asNobody = false): Run[] {
  const script = `
    const { main } = await import(${JSON.stringify(pathToFileURL(MAIN).href)});
    const out = [];
    for (const argv of ${JSON.stringify(cases)}) {
      let so = '', se = '';
      const w1 = process.stdout.write, w2 = process.stderr.write;
      process.stdout.write = (s) => { so += s; return true; };
      process.stderr.write = (s) => { se += s; return true; };
      process.exitCode = 0;
      try { await main(['node', 'oscope', ...argv]); } finally { process.stdout.write = w1; process.stderr.write = w2; }
      out.push({ code: process.exitCode ?? 0, stdout: so, stderr: se });
    }
    process.exitCode = 0;
    process.stdout.write(JSON.stringify(out));`;
  const node = [process.execPath, '--input-type=module', '-e', script];
  const r = spawnSync(asNobody ? 'setpriv' : node[0]!, asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node.slice(1), { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Run[];
}

const oneSentence = (r: { stderr: string }, re: RegExp): void => {
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
};

const FLAG_CASES: [string[], RegExp][] = [
  [['--port', '0'], /--port takes a port number from 1 to 65535, got "0"/],
  [['--port', '65536'], /--port takes a port number from 1 to 65535, got "65536"/],
  [['--port', 'http'], /--port takes a port number from 1 to 65535, got "http"/],
  [['--port', '-1'], /--port takes a port number from 1 to 65535, got "-1"/],
  [['-i', '0'], /-i takes a number of seconds above 0/],
  [['--pid', '1', '--container', 'abcd'], /give at most one of --pid, --cgroup, --container and --pod/],
  [['--netns', 'foo'], /--netns takes "all" or the path of a network namespace file/],
];
const NETNS_CASES: [string, RegExp][] = [
  // Another kind of namespace (the link reads mnt:[...]).
  ['/proc/self/ns/mnt', /\/proc\/self\/ns\/mnt is a mnt namespace, not a network namespace/],
  ['/proc/self/ns/uts', /is a uts namespace, not a network namespace/],
  // A regular file, a directory, and a symlink to a file: not on nsfs.
  ['/etc/hostname', /\/etc\/hostname is not a network namespace \(a namespace file is \/proc\/PID\/ns\/net/],
  ['/proc', /\/proc is not a network namespace/],
  ['/proc/self/exe', /\/proc\/self\/exe is not a network namespace/],
  ['/run/netns/oscope-test-no-such-netns', /\/run\/netns\/oscope-test-no-such-netns does not exist/],
];
const SCOPE_CASES: [string[], RegExp][] = [
  [['--container', 'deadbeefcafe0000'], /no process of container deadbeefcafe0000/],
  [['--pod', 'oscope-test-nopod/default'], /no process of pod oscope-test-nopod\/default/],
  [['--pid', '999999999'], /no process 999999999/],
  [['--cgroup', '/oscope-test-no-such-cgroup'], /no process in cgroup \/oscope-test-no-such-cgroup/],
];
const OWN_NETNS = ['net', '-i', '0.2', '--no-bpf', '--netns', '/proc/self/ns/net', '--json'];
const NO_BPF = ['net', '-i', '0.2', '--no-bpf', '--json'];

/** Every command line the tests below check as the invoking user, run once, in one process. */
const batch = new Map<string, Run>();
function runs(cases: string[][]): Run[] {
  if (batch.size === 0) {
    const all = [...FLAG_CASES.map(([a]) => ['net', '--no-bpf', ...a]), ...NETNS_CASES.map(([p]) => ['net', '-i', '0.2', '--no-bpf', '--netns', p]), ...SCOPE_CASES.map(([a]) => ['net', '-i', '0.2', '--no-bpf', ...a]), OWN_NETNS, NO_BPF];
    oscopeMany(all).forEach((r, i) => batch.set(JSON.stringify(all[i]), r));
  }
  return cases.map((c) => batch.get(JSON.stringify(c))!);
}

test('net: a port out of range, a bad interval or two scopes is a usage error (2)', () => {
  // Once through bin/oscope as a user runs it, then the rest in one process.
  const bin = oscope(['net', '--port', '70000']);
  assert.equal(bin.code, 2, bin.stderr);
  oneSentence(bin, /^oscope: --port takes a port number from 1 to 65535, got "70000"\n$/);
  const rs = runs(FLAG_CASES.map(([args]) => ['net', '--no-bpf', ...args]));
  FLAG_CASES.forEach(([args, re], i) => {
    assert.equal(rs[i]!.code, 2, `${args.join(' ')}: ${rs[i]!.stderr}`);
    oneSentence(rs[i]!, re);
  });
});

test('net: a --netns path that is not a network namespace, or is missing, is a usage error (2)', () => {
  const rs = runs([...NETNS_CASES.map(([path]) => ['net', '-i', '0.2', '--no-bpf', '--netns', path]), OWN_NETNS]);
  NETNS_CASES.forEach(([path, re], i) => {
    assert.equal(rs[i]!.code, 2, `--netns ${path}: ${rs[i]!.stderr}`);
    oneSentence(rs[i]!, re);
  });
  // The own network namespace is one (the run goes through).
  const ok = rs.at(-1)!;
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(NetDocumentSchema.parse(JSON.parse(ok.stdout)).counters.namespaces.length, 1);
});

test('net: a container, pod, pid or cgroup with no process is a usage error (2)', () => {
  const rs = runs(SCOPE_CASES.map(([args]) => ['net', '-i', '0.2', '--no-bpf', ...args]));
  SCOPE_CASES.forEach(([args, re], i) => {
    assert.equal(rs[i]!.code, 2, `${args.join(' ')}: ${rs[i]!.stderr}`);
    oneSentence(rs[i]!, re);
  });
});

test('net --no-bpf: the counters and sockets from /proc, coverage names what is not traced', () => {
  const [r] = runs([NO_BPF]);
  assert.equal(r!.code, 0, r!.stderr);
  assert.equal(r!.stderr, '', 'nothing on stderr with --no-bpf');
  const doc = NetDocumentSchema.parse(JSON.parse(r!.stdout));
  assert.equal(doc.schema, 'oscope.net/v1');
  assert.ok(doc.counters.namespaces.some((n) => n.netns.host), 'the host namespace is counted');
  assert.ok(doc.counters.softnet.length > 0, 'softnet per CPU');
  const cov = new Map(doc.coverage.map((c) => [c.section, c]));
  assert.equal(cov.get('drops')?.status, 'unavailable');
  assert.match(cov.get('drops')?.reason ?? '', /--no-bpf/);
  assert.equal(cov.get('tcp')?.status, 'unavailable');
  assert.deepEqual(doc.drops, []);
});

test('net: not root without --no-bpf is a permission error (3); with --no-bpf it runs', { skip: isRoot ? false : 'needs root to become nobody' }, () => {
  const r = oscope(['net', '-i', '0.2'], true);
  assert.equal(r.code, 3, r.stderr);
  oneSentence(r, /^oscope: oscope net needs root to trace drops, retransmits and latency: run it with sudo \(or with --no-bpf/);
  const [n, p, ns] = oscopeMany([['net', '-i', '0.2', '--no-bpf', '--json'], ['net', '--port', '70000'], ['net', '-i', '0.2', '--no-bpf', '--netns', '/proc/self/ns/mnt']], true);
  assert.equal(n!.code, 0, n!.stderr);
  const doc = NetDocumentSchema.parse(JSON.parse(n!.stdout));
  assert.ok(doc.counters.namespaces.length >= 1);
  // Bad input stays a usage error for nobody too (checked before anything is measured or traced).
  assert.equal(p!.code, 2, p!.stderr);
  assert.equal(ns!.code, 2, ns!.stderr);
  oneSentence(ns!, /is a mnt namespace, not a network namespace/);
});

test('net: a kernel without BTF is one sentence, and the counters run without BPF', async () => {
  const live = new LiveHost();
  assert.match((await netBpfBlocker({ exists: async (p: string) => p !== '/sys/kernel/btf/vmlinux' } as unknown as Host)) ?? '', /^this kernel has no BTF \(\/sys\/kernel\/btf\/vmlinux\), so drops, retransmits, resets and latency by stage are not traced; the counters and sockets are measured without it \(--no-bpf silences this\)$/);
  assert.equal(await netBpfBlocker({ exists: async () => true } as unknown as Host), undefined);
  // The collection on a root host without BTF: no tracer is started, coverage says why, counters are there.
  const noBtf = new Proxy(live, {
    get(target, prop, recv) {
      if (prop === 'exists') return async (p: string) => (p === '/sys/kernel/btf/vmlinux' ? false : target.exists(p));
      if (prop === 'info') return () => ({ ...target.info(), uid: 0 });
      const v = Reflect.get(target, prop, recv) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Host;
  const cap = await collectNet(noBtf, NetParamsSchema.parse({ intervalS: 0.2 }), resolveThresholds(), {
    startTracer: () => {
      throw new Error('the tracer must not start without BTF');
    },
  });
  const drops = cap.coverage.find((c) => c.section === 'drops');
  assert.equal(drops?.status, 'unavailable');
  assert.equal(drops?.reason, NET_NO_BTF);
  assert.ok(cap.namespaces.length >= 1, 'the counters are measured');
});
