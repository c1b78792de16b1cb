/**
 * `oscope runlatency enable|report|disable` with a running agent: a small fake agent speaks the local
 * socket contract (src/agent/local.ts) on a temp unix socket ($OSCOPE_STATE_DIR/agent.sock), and the
 * real CLI (bin/oscope, a child process) must host the monitor there, say so, and write the agent's
 * analysis. A socket nobody listens on (an agent that died) means no agent: the CLI works alone.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, testName } from '../helpers.js';
import { analyzeLatency } from '../../src/diagnose/latency/analyze.js';
import type { KindThresholds, LatencyAnalysis } from '../../src/diagnose/latency/types.js';
import type { RunlatencyEnableRequest, RunlatencyMonitorStatus } from '../../src/agent/local.js';
import { RunlatencyDocumentSchema } from '../../src/report/runlatency.js';

const DIR = mkdtempSync(`/tmp/${testName('lagent')}-`);
const SOCK = join(DIR, 'agent.sock');
const AGENT_PID = 4242;

/** The fake agent's state and what it was asked. */
const agent = { running: false, thresholds: undefined as KindThresholds | undefined, requests: [] as string[], enableBodies: [] as RunlatencyEnableRequest[] };

function analysis(th: KindThresholds): LatencyAnalysis {
  return analyzeLatency({
    durationS: 12,
    cpus: 2,
    thresholds: th,
    events: [{ kind: 'runqueue', cpu: 1, pid: 77, comm: 'victim', latencyMs: 61.5, at: new Date(0).toISOString(), stack: [], culprit: { pid: 88, comm: 'hog' } }],
    histograms: { runqueue: { perCpu: [], perCgroup: [] } },
    stealGaps: 0,
    timerGaps: 0,
    lostEvents: 0,
    method: { runqueue: 'fake agent' },
    coverage: [],
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

const status = (): RunlatencyMonitorStatus => ({ running: agent.running, pid: AGENT_PID, ...(agent.running ? { startedAt: new Date(0).toISOString(), thresholds: agent.thresholds! } : {}) });

const server = createServer((req, res) => {
  void (async () => {
    agent.requests.push(`${req.method} ${req.url}`);
    const b = req.method === 'POST' ? await body(req) : undefined;
    if (req.method === 'GET' && req.url === '/v1/runlatency') return send(res, 200, status());
    if (req.method === 'POST' && req.url === '/v1/runlatency/enable') {
      if (agent.running) return send(res, 409, { error: 'a runlatency monitor already runs in the agent' });
      const r = b as RunlatencyEnableRequest;
      agent.enableBodies.push(r);
      agent.running = true;
      agent.thresholds = r.thresholds;
      return send(res, 200, status());
    }
    if (req.method === 'GET' && req.url === '/v1/runlatency/report') {
      if (!agent.running) return send(res, 409, { error: 'no runlatency monitor runs in the agent' });
      return send(res, 200, analysis(agent.thresholds!));
    }
    if (req.method === 'POST' && req.url === '/v1/runlatency/disable') {
      agent.running = false;
      return send(res, 200, status());
    }
    return send(res, 404, { error: `no ${req.method} ${req.url}` });
  })();
});

before(async () => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(SOCK, () => resolve());
  });
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(DIR, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process (asynchronous: the fake agent answers from this process). */
function oscope(args: string[], stateDir = DIR): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), ...args], { env: { ...process.env, OSCOPE_STATE_DIR: stateDir, LANG: 'C' }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('enable, report --out, disable go to the running agent and say so', async () => {
  const en = await oscope(['runlatency', 'enable', 'runqueue=30ms', '--cpu', '1', '--json']);
  assert.equal(en.code, 0, en.stderr);
  const e = JSON.parse(en.stdout) as { where: string; pid: number; running: boolean; socket: string; thresholds: KindThresholds };
  assert.deepEqual([e.where, e.pid, e.running, e.socket, e.thresholds.runqueue], ['agent', AGENT_PID, true, SOCK, 30]);
  assert.equal(agent.enableBodies.length, 1);
  assert.equal(agent.enableBodies[0]!.thresholds.runqueue, 30);
  assert.deepEqual(agent.enableBodies[0]!.filters, { cpu: 1 });
  // No detached process was started: no monitor state file.
  assert.equal(existsSync(join(DIR, 'runlatency-monitor.json')), false);

  const again = await oscope(['runlatency', 'enable']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already runs in the agent/);

  const out = join(DIR, 'report');
  const rep = await oscope(['runlatency', 'report', '--out', out]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, /runlatency\.json .*agent \(pid 4242\)/);
  const doc = RunlatencyDocumentSchema.parse(JSON.parse(readFileSync(join(out, 'runlatency.json'), 'utf8')));
  assert.equal(doc.thresholds.runqueue, 30);
  assert.deepEqual(doc.events.map((x) => [x.comm, x.culprit?.comm]), [['victim', 'hog']]);
  assert.match(readFileSync(join(out, 'runlatency.txt'), 'utf8'), /monitor in the agent \(pid 4242\)/);

  const text = await oscope(['runlatency', 'report']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /in the agent \(pid 4242\)/);
  assert.match(text.stdout, /victim\[77\]/);

  const dis = await oscope(['runlatency', 'disable', '--json']);
  assert.equal(dis.code, 0, dis.stderr);
  assert.deepEqual(JSON.parse(dis.stdout), { running: false, where: 'agent', stopped: AGENT_PID });
  assert.equal(agent.running, false);

  const none = await oscope(['runlatency', 'report']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no runlatency monitor is running/);
  const dis2 = await oscope(['runlatency', 'disable']);
  assert.equal(dis2.code, 0);
  assert.match(dis2.stdout, /no runlatency monitor is running/);
  assert.ok(agent.requests.includes('POST /v1/runlatency/disable'));
});

test('a socket nobody listens on is no agent: the CLI works alone', async (t) => {
  const dead = mkdtempSync(`/tmp/${testName('lagent-dead')}-`);
  try {
    // A stale socket file of an agent that died: bound, never listened on, its process gone.
    const py = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(dead, 'agent.sock')]);
    if (py.status !== 0 || !existsSync(join(dead, 'agent.sock'))) {
      t.skip('python3 is needed to leave a stale unix socket behind');
      return;
    }
    const before = agent.requests.length;
    const dis = await oscope(['runlatency', 'disable', '--json'], dead);
    assert.equal(dis.code, 0, dis.stderr);
    assert.deepEqual(JSON.parse(dis.stdout), { running: false });
    const rep = await oscope(['runlatency', 'report'], dead);
    assert.equal(rep.code, 2);
    assert.match(rep.stderr, /no runlatency monitor is running/);
    assert.equal(agent.requests.length, before, 'the CLI asked an agent of another state dir');
  } finally {
    rmSync(dead, { recursive: true, force: true });
  }
});
