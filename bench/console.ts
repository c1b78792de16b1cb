/**
 * The console under a simulated fleet: N agents (OSCOPE_BENCH_AGENTS, default 500) each sending a
 * sample every 15 s and asking for tasks every 3 s, plus a person loading the node list and a stored
 * memory panorama report, for OSCOPE_BENCH_CONSOLE_S seconds (default 60). Reports API latency p50/p99
 * per endpoint, next to GET /healthz (the HTTP floor of the same server) measured in the same run.
 * Target (issue 7): API p99 under 100 ms with 500 agents. Then the render time of a node's memory
 * panorama result page in headless Chromium (bench/web.ts; target under 1 s).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './benches.js';
import { measureResultRender } from './web.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export const consoleBench: Bench = {
  name: 'console',
  description: 'console API latency with 500 simulated agents (samples every 15 s, task polls every 3 s)',
  run: async () => {
    const agents = Number(process.env.OSCOPE_BENCH_AGENTS ?? 500);
    const seconds = Number(process.env.OSCOPE_BENCH_CONSOLE_S ?? 60);
    const dir = mkdtempSync('/var/tmp/oscope-bench-console-');
    const db = join(dir, 'console.db');
    const child = spawn(process.execPath, [BIN, 'console', '--listen', '127.0.0.1:0', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lat = new Map<string, number[]>();
    let errors = 0;
    const timed = async (name: string, url: string, init: RequestInit): Promise<Response | undefined> => {
      const t0 = performance.now();
      try {
        const r = await fetch(url, init);
        await r.arrayBuffer();
        if (!r.ok) errors++;
        return r;
      } catch {
        errors++;
        return undefined;
      } finally {
        const l = lat.get(name) ?? [];
        l.push(performance.now() - t0);
        lat.set(name, l);
      }
    };
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
      const P = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'content-type': 'application/json' };
      const tokens: { id: string; token: string }[] = [];
      for (let i = 0; i < agents; i++) {
        const r = (await (await fetch(`${url}/api/nodes`, { method: 'POST', headers: P, body: JSON.stringify({ name: `bench-${i}` }) })).json()) as { node: { id: string }; token: string };
        tokens.push({ id: r.node.id, token: r.token });
      }
      // One stored panorama-sized report for the person to load.
      const first = tokens[0]!;
      const A0 = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' };
      const task = (await (await fetch(`${url}/api/nodes/${first.id}/tasks`, { method: 'POST', headers: P, body: JSON.stringify({ diagnosis: 'mem', params: {} }) })).json()) as { task: { id: string } };
      await fetch(`${url}/api/agent/tasks/claim`, { method: 'POST', headers: A0, body: '{}' });
      const rows = Array.from({ length: 30 }, (_, i) => ({ pid: i, comm: `proc-${i}`, rssBytes: i * 1e6, pssBytes: i * 1e6, swapBytes: 0, cgroup: `/system.slice/s${i}.service` }));
      const doc = { schema: 'oscope.mem/v1', processes: rows, cgroups: rows, findings: [], padding: 'x'.repeat(200_000) };
      await fetch(`${url}/api/agent/tasks/${task.task.id}/result`, { method: 'POST', headers: A0, body: JSON.stringify({ status: 'done', report: doc }) });

      const end = Date.now() + seconds * 1000;
      const sample = (ts: number) => ({
        ts: new Date(ts).toISOString(),
        data: { memTotalBytes: 25e9, memAvailableBytes: 20e9, components: { anon: 1e9, file: 2e9 }, cgroups: rows.slice(0, 20) },
      });
      const agentLoop = async (a: { id: string; token: string }, offsetMs: number): Promise<void> => {
        const H = { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' };
        await new Promise((r) => setTimeout(r, offsetMs));
        let nextSample = 0;
        while (Date.now() < end) {
          if (Date.now() >= nextSample) {
            nextSample = Date.now() + 15_000;
            await timed('POST /api/agent/samples', `${url}/api/agent/samples`, { method: 'POST', headers: H, body: JSON.stringify({ samples: [sample(Date.now())] }) });
          }
          await timed('POST /api/agent/tasks/claim', `${url}/api/agent/tasks/claim`, { method: 'POST', headers: H, body: '{}' });
          await new Promise((r) => setTimeout(r, 3000));
        }
      };
      const personLoop = async (): Promise<void> => {
        while (Date.now() < end) {
          await timed('GET /api/nodes', `${url}/api/nodes`, { headers: P });
          await timed('GET /api/tasks/:id/report', `${url}/api/tasks/${task.task.id}/report`, { headers: P });
          await timed('GET /healthz', `${url}/healthz`, {});
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      await Promise.all([...tokens.map((a, i) => agentLoop(a, (i * 3000) / agents)), personLoop()]);
      const floor = pct(lat.get('GET /healthz') ?? [], 50);
      console.log(`   ${agents} agents for ${seconds} s, ${errors} errors`);
      for (const [name, xs] of [...lat.entries()].sort()) {
        console.log(`   ${name.padEnd(28)} n=${String(xs.length).padStart(6)}  p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  (p50 ${(pct(xs, 50) / floor).toFixed(1)}x healthz)`);
      }
      const all = [...lat.entries()].filter(([n]) => n.startsWith('POST /api/agent') || n.startsWith('GET /api')).flatMap(([, xs]) => xs);
      console.log(`   API p99 overall ${pct(all, 99).toFixed(1)} ms  (target < 100 ms)`);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    // The page a person opens most: a node's memory panorama, in a real browser (its own console, idle).
    try {
      await measureResultRender();
    } catch (err) {
      console.log(`   web UI render: skipped (${(err as Error).message.split('\n')[0]})`);
    }
  },
};
