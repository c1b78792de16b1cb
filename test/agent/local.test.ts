/**
 * The local control socket: a real agent with a temporary state directory, `connectLocalAgent()` against
 * it, the memory history growing with ticks, bad bodies refused, the runlatency monitor hosted in the
 * agent (needs root and the BPF object), stale and busy sockets, and cleanup on stop.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { MemHistory } from '../../src/agent/history.js';
import { connectLocalAgent, LocalAgentError } from '../../src/agent/local.js';
import { findBpfObject } from '../../src/kernel/bpf/index.js';
import { LiveHost } from '../../src/host/live.js';
import { isRoot, REPO_ROOT, testName } from '../helpers.js';

const bpf = findBpfObject('runlatency');
const noBpf = !isRoot ? 'needs root for BPF' : 'missing' in bpf ? `runlatency BPF object not built: ${bpf.missing}` : false;

/** A socket file nobody listens on, as an agent killed with SIGKILL leaves it. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  assert.ok(statSync(path).isSocket(), 'the stale socket is there');
}

function tmpState(): string {
  return mkdtempSync(`/tmp/${testName('state')}-`);
}

async function agentIn(dir: string, history = new MemHistory({ stepS: 1 })): Promise<Awaited<ReturnType<typeof startAgent>>> {
  return startAgent({ host: new LiveHost(), registry: defaultRegistry({ history: () => history.points() }), intervalMs: 3_600_000, rules: [], log: () => undefined, stateDir: dir, history, runqueue: false, kernelLog: false });
}

/** A raw request on the socket: status and parsed body. */
function raw(socket: string, method: string, path: string, body?: string): Promise<{ status: number; body: { error?: string } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      let t = '';
      res.on('data', (d: Buffer) => (t += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) as { error?: string } }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

test('no agent: connectLocalAgent resolves to undefined (no socket, or a stale one)', async () => {
  const dir = tmpState();
  try {
    assert.equal(await connectLocalAgent(join(dir, 'agent.sock')), undefined);
    // A socket file nobody listens on (an agent killed with SIGKILL leaves one).
    await staleSocket(join(dir, 'agent.sock'));
    assert.equal(await connectLocalAgent(join(dir, 'agent.sock')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the socket: 0600 in a 0700 directory, history grows with ticks, removed on stop', async () => {
  const parent = tmpState();
  const dir = join(parent, 'state'); // missing: the agent creates it
  const agent = await agentIn(dir);
  try {
    const sock = join(dir, 'agent.sock');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.ok(statSync(sock).isSocket());
    const la = await connectLocalAgent(sock);
    assert.ok(la);
    const st = await la.runlatencyStatus();
    assert.deepEqual(st, { running: false, pid: process.pid });
    const h1 = await la.history();
    assert.equal(h1.length, 1, 'the first collection');
    await new Promise((r) => setTimeout(r, 1100));
    await agent.tick();
    const h2 = await la.history();
    assert.equal(h2.length, 2);
    for (const p of h2) {
      assert.ok(Number.isInteger(p.tS) && Math.abs(p.tS - Date.now() / 1000) < 60);
      assert.ok(p.slabUnreclaimableBytes > 0 && p.vmallocBytes > 0 && p.unaccountedBytes >= 0);
    }
    assert.ok(h2[1]!.tS > h2[0]!.tS);
    // A second tick inside the step is not kept.
    await agent.tick();
    assert.equal((await la.history()).length, 2);
  } finally {
    await agent.stop();
  }
  assert.equal(existsSync(join(dir, 'agent.sock')), false, 'socket removed on stop');
  rmSync(parent, { recursive: true, force: true });
});

test('bad requests answer 4xx with a sentence and change nothing', async () => {
  const dir = tmpState();
  const agent = await agentIn(dir);
  const sock = join(dir, 'agent.sock');
  try {
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['POST', '/v1/runlatency/enable', 'not json', 400, /not JSON/],
      ['POST', '/v1/runlatency/enable', '{}', 400, /thresholds/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1 } }), 400, /runqueue/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: -1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 } }), 400, /irqoff/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 0 } }), 400, /at least one kind/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 0.001 } }), 400, /at least 1 ms/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 }, filters: { shell: 'id' } }), 400, /Unrecognized key/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 }, extra: 1 }), 400, /Unrecognized key/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 }, filters: { pid: 1.5 } }), 400, /pid/],
      ['POST', '/v1/runlatency/enable', JSON.stringify({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 }, irqoffMethod: 'kprobe' }), 400, /irqoffMethod/],
      ['POST', '/v1/runlatency/enable', `{"thresholds": "${'x'.repeat(70_000)}"}`, 413, /larger than/],
      ['GET', '/v1/runlatency/report', undefined, 409, /no runlatency monitor/],
      ['POST', '/v1/runlatency/disable', '{}', 409, /no runlatency monitor/],
      ['GET', '/v1/runlatency/enable', undefined, 405, /not allowed/],
      ['DELETE', '/v1/history', undefined, 405, /not allowed/],
      ['GET', '/v1/nope', undefined, 404, /no such endpoint/],
    ];
    for (const [method, path, body, status, why] of cases) {
      const r = await raw(sock, method, path, body).catch((err: Error) => ({ status: -1, body: { error: err.message } }));
      if (status === 413 && r.status === -1) continue; // the agent may cut the connection of an oversize body
      assert.equal(r.status, status, `${method} ${path} ${body?.slice(0, 60)}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error ?? '', why);
    }
    assert.deepEqual((await raw(sock, 'GET', '/v1/runlatency')).body, { running: false, pid: process.pid });
    // The client turns errors into LocalAgentError with the sentence.
    const la = (await connectLocalAgent(sock))!;
    await assert.rejects(la.runlatencyReport(), (err: unknown) => err instanceof LocalAgentError && err.status === 409);
    await assert.rejects(
      la.runlatencyEnable({ thresholds: { irqoff: 1, softirq: 1, hardirq: 1, nosched: 1, runqueue: 1 }, filters: { cgroup: `/${testName('nope')}` } }),
      (err: unknown) => err instanceof LocalAgentError && (err.status === 422 || err.status === 409) && /cgroup|BPF|root/i.test(err.message),
    );
    assert.equal((await la.runlatencyStatus()).running, false);
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the runlatency monitor lives in the agent: enable, a second enable refused, report, disable', { skip: noBpf }, async () => {
  const dir = tmpState();
  const agent = await agentIn(dir);
  try {
    const la = (await connectLocalAgent(join(dir, 'agent.sock')))!;
    // Run-queue events above 5 ms only (a low threshold floods a busy machine with events).
    const thresholds = { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 5 };
    const st = await la.runlatencyEnable({ thresholds, filters: {} });
    assert.equal(st.running, true);
    assert.equal(st.pid, process.pid);
    assert.ok(st.startedAt && Date.parse(st.startedAt) > 0);
    assert.equal(st.thresholds?.runqueue, 5);
    await assert.rejects(la.runlatencyEnable({ thresholds, filters: {} }), (err: unknown) => err instanceof LocalAgentError && err.status === 409 && /already runs/.test(err.message));
    for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 2));
    const rep = await la.runlatencyReport();
    assert.ok(rep.summary.durationS > 0);
    assert.ok(rep.histograms.runqueue.perCpu.length >= 1);
    assert.ok(rep.histograms.runqueue.perCpu.reduce((a, h) => a + h.count, 0) > 0, 'the histograms count this test’s wakeups');
    const off = await la.runlatencyDisable();
    assert.equal(off.running, false);
    assert.equal((await la.runlatencyStatus()).running, false);
    // Enable again after a disable: allowed; the irqoff method the CLI asks for reaches the tracer.
    assert.equal((await la.runlatencyEnable({ thresholds: { ...thresholds, irqoff: 10 }, filters: {}, irqoffMethod: 'cpu-clock' })).running, true);
    const again = await la.runlatencyReport();
    assert.match(again.method.irqoff ?? '', /^cpu-clock/);
    assert.doesNotMatch(again.method.irqoff ?? '', /NMI/);
  } finally {
    await agent.stop(); // closes the monitor too
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale socket is replaced; a socket a live agent answers on is not', async () => {
  const dir = tmpState();
  const sock = join(dir, 'agent.sock');
  try {
    // A dead agent's socket: a real socket file nobody listens on.
    await staleSocket(sock);
    const a = await agentIn(dir);
    try {
      assert.ok(await connectLocalAgent(sock));
      await assert.rejects(agentIn(dir), /another agent answers on/);
      assert.ok(await connectLocalAgent(sock), 'the first agent still answers');
    } finally {
      await a.stop();
    }
    // Not a socket: refused, left alone.
    writeFileSync(sock, 'mine');
    await assert.rejects(agentIn(dir), /is not a socket/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('oscope agent --state-dir: the control socket is announced; an agent killed with SIGKILL leaves a stale socket the next one replaces', async () => {
  const dir = tmpState();
  const run = (): { child: ReturnType<typeof spawn>; up: Promise<string> } => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'agent', '--no-metrics', '--interval', '1s', '--state-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    const up = new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /control socket (\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${err}`)));
    });
    return { child, up };
  };
  const first = run();
  try {
    assert.equal(await first.up, join(dir, 'agent.sock'));
    assert.ok(await connectLocalAgent(join(dir, 'agent.sock')));
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    assert.equal(await connectLocalAgent(join(dir, 'agent.sock')), undefined, 'stale socket: nobody answers');
    const second = run();
    try {
      await second.up;
      const la = await connectLocalAgent(join(dir, 'agent.sock'));
      assert.ok(la);
      assert.ok((await la.runlatencyStatus()).pid === second.child.pid);
    } finally {
      const done = new Promise((r) => second.child.once('exit', r));
      second.child.kill('SIGTERM');
      await done;
    }
    assert.equal(existsSync(join(dir, 'agent.sock')), false, 'SIGTERM: socket removed');
  } finally {
    first.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
