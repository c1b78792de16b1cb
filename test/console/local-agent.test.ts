/**
 * What `make start` runs: a console with the local agent. A person logs in, sees this host online, runs
 * the memory panorama with one request and reads the report; killing the console with SIGKILL takes the
 * agent down too (it watches its parent), leaving no process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls until `f` is truthy; fails with `what` after `ms`. */
async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await sleep(200);
  }
}

test('console with the local agent: log in, run mem, read the report; SIGKILL leaves nothing', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-local-');
  const db = join(dir, 'console.db');
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'console', '--listen', '127.0.0.1:0', '--db', db, '--local-agent', '--agent-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let agentPid: number | undefined;
  try {
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(err)?.[1], 'console listening');
    assert.match(err, /created user "admin" with password \S+/);
    assert.equal(statSync(`${db}.admin-password`).mode & 0o777, 0o600);
    const pw = readFileSync(`${db}.admin-password`, 'utf8').trim();
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: pw }) });
    assert.equal(login.status, 200);
    const H = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'content-type': 'application/json' };
    const node = await until(async () => {
      const nodes = ((await (await fetch(`${url}/api/nodes`, { headers: H })).json()) as { nodes: { id: string; name: string; online: boolean; latest: unknown }[] }).nodes;
      return nodes.find((n) => n.name === hostname() && n.online && n.latest);
    }, 'the local node online with a sample');
    agentPid = childrenOf(child.pid!)[0];
    assert.ok(agentPid, 'the agent is a child process');
    const created = await fetch(`${url}/api/nodes/${node.id}/tasks`, { method: 'POST', headers: H, body: JSON.stringify({ diagnosis: 'mem', params: { kpage: false } }) });
    assert.equal(created.status, 201);
    const taskId = ((await created.json()) as { task: { id: string } }).task.id;
    const done = await until(async () => {
      const t = ((await (await fetch(`${url}/api/tasks/${taskId}`, { headers: H })).json()) as { task: { status: string; error: string | null } }).task;
      return t.status === 'queued' || t.status === 'running' ? undefined : t;
    }, 'the task to finish', 120_000);
    assert.equal(done.status, 'done', done.error ?? '');
    const report = (await (await fetch(`${url}/api/tasks/${taskId}/report`, { headers: H })).json()) as { schema: string; findings: unknown[]; processes: unknown };
    assert.equal(report.schema, 'oscope.mem/v1');
    assert.ok(Array.isArray(report.findings));

    child.kill('SIGKILL');
    const a = agentPid;
    await until(() => !alive(a), 'the agent to exit after its console died', 15_000);
  } finally {
    for (const pid of [child.pid, agentPid]) {
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
