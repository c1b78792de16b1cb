/**
 * `oscope memleak -c` and the agent's history: a small fake agent speaks the local socket contract
 * (src/agent/local.ts: GET /v1/history → {points: MemHistoryPoint[]}) on a temp unix socket
 * ($OSCOPE_STATE_DIR/agent.sock), and the real CLI (bin/oscope, a child process) must compute the trend
 * from it and say from how many points over how long. Without an agent (or with one that fails, or has
 * too little history) the check still works and coverage says why there is no trend.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, testName } from '../helpers.js';
import type { MemHistoryPoint } from '../../src/agent/local.js';
import { MemleakDocumentSchema } from '../../src/report/memleak.js';

const DIR = mkdtempSync(`/tmp/${testName('mltrend')}-`);
const EMPTY = mkdtempSync(`/tmp/${testName('mltrend-none')}-`);
const SOCK = join(DIR, 'agent.sock');
const MiB = 1024 ** 2;

/** What the fake agent answers on /v1/history. */
const reply: { status: number; body: unknown } = { status: 200, body: { points: [] } };
const requests: string[] = [];

const server = createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/v1/runlatency') return send(200, { running: false, pid: 4242 });
  if (req.method === 'GET' && req.url === '/v1/history') return send(reply.status, reply.body);
  send(404, { error: `no route ${req.url}` });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(SOCK, resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(DIR, { recursive: true, force: true });
  rmSync(EMPTY, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process (the fake agent answers from its event loop). */
function cli(args: string[], stateDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), ...args], { env: { ...process.env, OSCOPE_STATE_DIR: stateDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function check(stateDir: string): Promise<ReturnType<typeof MemleakDocumentSchema.parse>> {
  const r = await cli(['memleak', '-c', '--json'], stateDir);
  assert.equal(r.code, 0, r.stderr);
  return MemleakDocumentSchema.parse(JSON.parse(r.stdout));
}

/** History points every 5 minutes over the last `n × 5` minutes, slab growing at `slabPerS`. */
function points(n: number, slabPerS: number): MemHistoryPoint[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => {
    const tS = now - (n - i) * 300;
    return { tS, slabUnreclaimableBytes: 100 * MiB + (tS - now) * slabPerS, vmallocBytes: 50 * MiB, unaccountedBytes: 20 * MiB };
  }).map((p) => ({ ...p, slabUnreclaimableBytes: Math.max(0, p.slabUnreclaimableBytes) }));
}

test('memleak -c with an agent: the trend comes from its history, with the number of points and the span', async () => {
  reply.status = 200;
  reply.body = { points: points(12, 10) };
  requests.length = 0;
  const doc = await check(DIR);
  assert.ok(requests.includes('GET /v1/history'), `the CLI asked the agent: ${requests.join(', ')}`);
  const trend = doc.coverage.find((c) => c.section === 'trend');
  assert.equal(trend?.status, 'complete', JSON.stringify(doc.coverage));
  assert.match(trend?.reason ?? '', /12 points of the agent's history over 60 min/);
  assert.match(doc.method.trend ?? '', /12 points and now, over 60 min: unreclaimable slab [+-][\d.]+ MiB\/h, vmalloc [+-][\d.]+ MiB\/h, unaccounted pages [+-][\d.]+ MiB\/h/);
  const text = await cli(['memleak', '-c'], DIR);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /trend: .*12 points/);
});

test('memleak -c with an agent that has one point, or answers with an error: no trend, and why', async () => {
  reply.status = 200;
  reply.body = { points: points(1, 0) };
  let doc = await check(DIR);
  let trend = doc.coverage.find((c) => c.section === 'trend');
  assert.equal(trend?.status, 'unavailable');
  assert.match(trend?.reason ?? '', /1 usable history point so far; the trend needs at least 2/);
  assert.equal(doc.method.trend, undefined);

  reply.status = 503;
  reply.body = { error: 'the history store is not open yet' };
  doc = await check(DIR);
  trend = doc.coverage.find((c) => c.section === 'trend');
  assert.equal(trend?.status, 'unavailable');
  assert.match(trend?.reason ?? '', /did not give its history: the history store is not open yet/);
});

test('memleak -c without an agent: the check works alone and says the trend needs the agent', async () => {
  const doc = await check(EMPTY);
  assert.equal(doc.type, 'check');
  const trend = doc.coverage.find((c) => c.section === 'trend');
  assert.equal(trend?.status, 'unavailable');
  assert.match(trend?.reason ?? '', /no oscope agent answers on .*agent\.sock: the trend needs the agent's history/);
});
