/**
 * A console killed with SIGKILL in the middle of writes loses nothing it acknowledged: every task it
 * answered 201 for, every result it answered 200 for (with its report) and every sample batch it
 * acknowledged is in the SQLite file when it is opened again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/console/store/index.js';
import { REPO_ROOT } from '../helpers.js';

async function json<T>(res: Response): Promise<T> {
  const t = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${t}`);
  return JSON.parse(t) as T;
}

test('SIGKILL during writes loses no acknowledged write', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-durable-');
  const db = join(dir, 'console.db');
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'console', '--listen', '127.0.0.1:0', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`console exited ${code}: ${err}`)));
    });
    const pw = readFileSync(`${db}.admin-password`, 'utf8').trim();
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: pw }) });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const P = { cookie, 'content-type': 'application/json' };
    const node = await json<{ node: { id: string }; token: string }>(await fetch(`${url}/api/nodes`, { method: 'POST', headers: P, body: JSON.stringify({ name: 'durable' }) }));
    const A = { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' };

    const ackedTasks = new Set<string>();
    const ackedResults = new Set<string>();
    const ackedSamples = new Set<number>();
    const padding = 'x'.repeat(20_000);
    let stop = false;
    let top = 0;

    const person = async (): Promise<void> => {
      while (!stop) {
        const r = await fetch(`${url}/api/nodes/${node.node.id}/tasks`, { method: 'POST', headers: P, body: JSON.stringify({ diagnosis: 'mem', params: { top: ++top, kpage: false } }) });
        if (r.status === 201) ackedTasks.add((await json<{ task: { id: string } }>(r)).task.id);
      }
    };
    const agent = async (): Promise<void> => {
      while (!stop) {
        const c = await json<{ task: { id: string } | null }>(await fetch(`${url}/api/agent/tasks/claim`, { method: 'POST', headers: A, body: '{}' }));
        if (!c.task) continue;
        const report = { schema: 'oscope.mem/v1', taskId: c.task.id, padding };
        const r = await fetch(`${url}/api/agent/tasks/${c.task.id}/result`, { method: 'POST', headers: A, body: JSON.stringify({ status: 'done', report }) });
        if (r.status === 200) ackedResults.add(c.task.id);
      }
    };
    let ts = Date.UTC(2026, 0, 1);
    const sampler = async (): Promise<void> => {
      while (!stop) {
        const batch = Array.from({ length: 5 }, () => (ts += 1000));
        const r = await fetch(`${url}/api/agent/samples`, { method: 'POST', headers: A, body: JSON.stringify({ samples: batch.map((t) => ({ ts: new Date(t).toISOString(), data: { t } })) }) });
        if (r.status === 200) for (const t of batch) ackedSamples.add(t);
      }
    };
    const loops = [person(), person(), agent(), agent(), sampler()].map((p) => p.catch(() => undefined));
    while (ackedResults.size < 40) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(loops);

    const store = await openStore(db);
    try {
      for (const id of ackedTasks) assert.ok(await store.getTask(id), `acknowledged task ${id} is stored`);
      for (const id of ackedResults) {
        const t = await store.getTask(id);
        assert.equal(t?.status, 'done');
        const rep = await store.getReport(id);
        assert.equal((rep?.document as { taskId?: string } | undefined)?.taskId, id, `report of ${id} is stored`);
      }
      const stored = new Set((await store.listSamples(node.node.id, 0, ts + 1, 100_000)).map((s) => s.ts));
      for (const t of ackedSamples) assert.ok(stored.has(t), `acknowledged sample ${t} is stored`);
      assert.ok(ackedTasks.size > 40 && ackedSamples.size > 0);
    } finally {
      await store.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
