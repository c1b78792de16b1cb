/**
 * The console under a simulated fleet: N agents (OSCOPE_BENCH_AGENTS, default 500), each saying hello
 * (one of three kernels, rack and env labels), sending a sample with its health score every 15 s (a mix
 * of the four levels, so the fleet page has every level and a drop alert now and then) and asking for
 * tasks every 3 s, plus a person on the fleet page (the node list and the alerts it loads, every 5 s
 * as the page does), the crashes list and a stored memory panorama report, for
 * OSCOPE_BENCH_CONSOLE_S seconds (default 60). Reports API latency p50/p99 per endpoint, next to
 * GET /healthz (the HTTP floor of the same server) measured in the same run. Target (issue 7, again
 * in issue 16): API p99 under 100 ms with 500 agents.
 *
 * While the agents run, the fleet page in headless Chromium (bench/web.ts timeFleetPage): navigation
 * until the level shares and all N nodes with their health are shown, cold and warm cache; then once
 * more on the same console with the agents stopped. Target (issue 16): under 300 ms. Then the render
 * time of a node's memory panorama result page (bench/web.ts; target under 1 s). The host's load
 * average is printed before and after.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './benches.js';
import type { BrowserContext, Page } from 'playwright-core';
import { measureResultRender, openBrowser, timeFleetPage, timingLine, uiLogin } from './web.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * Node i's health: a spread over the four levels (most healthy, as in a real fleet), one reason below
 * 100; each tick about one node in fifty moves (some of them drops that store a `node.health.drop` alert).
 */
function healthOf(i: number, tick: number): Record<string, unknown> {
  const moved = (i * 31 + tick * 17) % 50 === 0 ? tick : 0;
  const r = (i * 7919 + moved * 104729) % 100;
  const score = r < 70 ? 90 + (r % 11) : r < 85 ? 70 + (r % 20) : r < 95 ? 40 + (r % 30) : r % 40;
  const level = score >= 90 ? 'healthy' : score >= 70 ? 'at-risk' : score >= 40 ? 'warning' : 'error';
  const reasons = score < 100 ? [{ subscore: 'saturation', signal: 'mem-used', detail: `memory in use ${100 - (100 - score) / 10}% of 24 GiB (warning at 90%)`, penalty: 100 - score, suggestedDiagnosis: 'mem' }] : [];
  return { score, level, subscores: { errors: 100, latency: 100, load: 100, saturation: score }, reasons };
}

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
      const sample = (ts: number, i: number, tick: number) => ({
        ts: new Date(ts).toISOString(),
        data: { memTotalBytes: 25e9, memAvailableBytes: 20e9, components: { anon: 1e9, file: 2e9 }, cgroups: rows.slice(0, 20), health: healthOf(i, tick) },
      });
      const KERNELS = ['6.18.44-fc-v1272', '6.1.0-18-amd64', '5.15.0-91-generic'];
      const agentLoop = async (a: { id: string; token: string }, i: number, offsetMs: number): Promise<void> => {
        const H = { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' };
        await new Promise((r) => setTimeout(r, offsetMs));
        const hello = { hostname: `bench-${i}`, kernel: KERNELS[i % 3], agentVersion: 'bench', diagnoses: ['mem', 'health'], intervalS: 15, labels: { rack: `r${i % 20}`, env: i % 5 === 0 ? 'staging' : 'prod' } };
        await timed('POST /api/agent/hello', `${url}/api/agent/hello`, { method: 'POST', headers: H, body: JSON.stringify(hello) });
        let nextSample = 0;
        let tick = 0;
        while (Date.now() < end) {
          if (Date.now() >= nextSample) {
            nextSample = Date.now() + 15_000;
            await timed('POST /api/agent/samples', `${url}/api/agent/samples`, { method: 'POST', headers: H, body: JSON.stringify({ samples: [sample(Date.now(), i, tick++)] }) });
          }
          await timed('POST /api/agent/tasks/claim', `${url}/api/agent/tasks/claim`, { method: 'POST', headers: H, body: '{}' });
          await new Promise((r) => setTimeout(r, 3000));
        }
      };
      const personLoop = async (): Promise<void> => {
        while (Date.now() < end) {
          await timed('GET /api/nodes', `${url}/api/nodes`, { headers: P });
          await timed('GET /api/alerts?limit=1000', `${url}/api/alerts?limit=1000`, { headers: P });
          await timed('GET /api/crashes', `${url}/api/crashes`, { headers: P });
          await timed('GET /api/tasks/:id/report', `${url}/api/tasks/${task.task.id}/report`, { headers: P });
          await timed('GET /healthz', `${url}/healthz`, {});
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      // The fleet page in a real browser while the agents run (once every agent has sent a sample).
      const fleet: { busy?: { coldMs: number[]; warmMs: number[] }; idle?: { coldMs: number[]; warmMs: number[] }; error?: string } = {};
      let ctx: BrowserContext | undefined;
      let page: Page | undefined;
      const browserLoop = async (): Promise<void> => {
        if (process.env.OSCOPE_BENCH_FLEET_PAGE === '0') return;
        try {
          const b = await openBrowser(dir);
          ctx = b.ctx;
          page = b.page;
          await uiLogin(page, url, 'admin', pw);
          await new Promise((r) => setTimeout(r, Math.min(8000, (seconds * 1000) / 4)));
          if (Date.now() < end) fleet.busy = await timeFleetPage(page, url, agents, 5);
        } catch (err) {
          fleet.error = (err as Error).message.split('\n')[0];
        }
      };
      const load0 = loadavg();
      await Promise.all([...tokens.map((a, i) => agentLoop(a, i, (i * 3000) / agents)), personLoop(), browserLoop()]);
      const load1 = loadavg();
      if (page && !fleet.error) {
        try {
          fleet.idle = await timeFleetPage(page, url, agents, 5);
        } catch (err) {
          fleet.error = (err as Error).message.split('\n')[0];
        }
      }
      await ctx?.close().catch(() => undefined);
      const floor = pct(lat.get('GET /healthz') ?? [], 50);
      console.log(`   ${agents} agents for ${seconds} s, ${errors} errors; load average ${load0} before, ${load1} after (${cpus().length} CPUs)`);
      for (const [name, xs] of [...lat.entries()].sort()) {
        console.log(`   ${name.padEnd(28)} n=${String(xs.length).padStart(6)}  p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  (p50 ${(pct(xs, 50) / floor).toFixed(1)}x healthz)`);
      }
      const all = [...lat.entries()].filter(([n]) => n.startsWith('POST /api/agent') || n.startsWith('GET /api')).flatMap(([, xs]) => xs);
      console.log(`   API p99 overall ${pct(all, 99).toFixed(1)} ms  (target < 100 ms)`);
      if (fleet.error) console.log(`   fleet page: skipped (${fleet.error})`);
      console.log(`   fleet page, ${agents} nodes with health: navigation → level shares + all ${agents} rows with their score visible (target < 300 ms):`);
      if (fleet.busy) {
        console.log(timingLine('busy, cold', fleet.busy.coldMs));
        console.log(timingLine('busy, warm', fleet.busy.warmMs));
      } else if (!fleet.error) console.log('   (busy: the run was too short for the browser)');
      if (fleet.idle) {
        console.log(timingLine('idle, cold', fleet.idle.coldMs));
        console.log(timingLine('idle, warm', fleet.idle.warmMs));
      }
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
