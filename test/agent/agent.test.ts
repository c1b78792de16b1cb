/**
 * The live agent: /metrics content from this host, an agent killed with SIGKILL leaves no process
 * behind, and an agent with a console away keeps working and delivers its buffered results later.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { DEFAULT_RULES, resolveRules } from '../../src/agent/alerts.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { newAgentToken } from '../../src/console/auth.js';
import { buildServer, ensureAdmin } from '../../src/console/server.js';
import { openStore } from '../../src/console/store/index.js';
import { LiveHost } from '../../src/host/live.js';
import { connectLocalAgent } from '../../src/agent/local.js';
import { findBpfObject } from '../../src/kernel/bpf/index.js';
import { isRoot, REPO_ROOT, testName } from '../helpers.js';

test('agent /metrics: memory, cgroups, zombies, PSI, agent self-metrics in Prometheus format', async () => {
  const agent = await startAgent({ host: new LiveHost(), registry: defaultRegistry(), intervalMs: 60_000, listen: { host: '127.0.0.1', port: 0 }, rules: DEFAULT_RULES, log: () => undefined });
  try {
    const res = await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (re: RegExp): number => {
      const m = re.exec(text);
      assert.ok(m, `metric ${re} present`);
      return Number(m[1]);
    };
    const total = value(/^oscope_memory_total_bytes (\d+)$/m);
    const meminfoTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    assert.equal(total, meminfoTotal);
    assert.ok(value(/^oscope_memory_available_bytes (\d+)$/m) <= total);
    for (const c of ['anon', 'file', 'shmem', 'slab_reclaimable', 'slab_unreclaimable', 'kernel_stack', 'page_tables']) value(new RegExp(`^oscope_memory_used_bytes\\{component="${c}"\\} (\\d+)$`, 'm'));
    value(/^oscope_memory_slab_bytes\{reclaimable="false"\} (\d+)$/m);
    assert.match(text, /^# TYPE oscope_pressure_stalled_seconds_total counter$/m);
    assert.match(text, /^oscope_pressure_avg10_ratio\{resource="memory",kind="some"\} [\d.]+$/m);
    assert.match(text, /^oscope_cgroup_memory_usage_bytes\{cgroup="\/[^"]*",container="[^"]*",pod="[^"]*",namespace="[^"]*"\} \d+$/m);
    assert.match(text, /^oscope_cgroup_memory_workingset_bytes\{/m);
    assert.ok(value(/^oscope_memcg_zombies (\d+)$/m) >= 0);
    assert.match(text, /^oscope_agent_collect_duration_seconds_count 1$/m);
    assert.match(text, /^oscope_agent_process_resident_memory_bytes \d+/m);
    // Every metric name follows the conventions: prefix, snake case, unit suffix on gauges of sizes.
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      assert.match(m[1]!, /^oscope_[a-z0-9_]+$/);
      if (m[2] === 'counter') assert.match(m[1]!, /_total$/);
    }
    assert.equal((await fetch(`http://127.0.0.1:${agent.address!.port}/nope`)).status, 404);
  } finally {
    await agent.stop();
  }
});

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // ppid is field 4, pgrp field 5.
      if (Number(fields[1]) === pid || Number(fields[2]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** BPF program and link ids a process holds, from its fds' fdinfo. */
function bpfIdsOf(pid: number): { progs: Set<number>; links: Set<number> } {
  const progs = new Set<number>();
  const links = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const prog = /^prog_id:\s+(\d+)$/m.exec(info);
    const link = /^link_id:\s+(\d+)$/m.exec(info);
    if (link) links.add(Number(link[1]));
    else if (prog) progs.add(Number(prog[1]));
  }
  return { progs, links };
}

/** Ids of every BPF program and link on the host (bpftool), or undefined without bpftool. */
function hostBpfIds(): { progs: Set<number>; links: Set<number> } | undefined {
  try {
    const ids = (what: string): Set<number> => new Set((JSON.parse(execFileSync('bpftool', [what, 'show', '-j'], { encoding: 'utf8' })) as { id: number }[]).map((x) => x.id));
    return { progs: ids('prog'), links: ids('link') };
  } catch {
    return undefined;
  }
}

test('an agent killed with SIGKILL leaves no process, BPF program or link behind', async () => {
  const dir = mkdtempSync(`/tmp/${testName('state')}-`);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'agent', '--listen', '127.0.0.1:0', '--interval', '1s', '--state-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const pid = child.pid!;
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/control socket/.test(err)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${err}`)));
    });
    // With BPF, host the runlatency monitor in it too, then let it collect a few times.
    const la = await connectLocalAgent(join(dir, 'agent.sock'));
    assert.ok(la);
    if (isRoot) await la.runlatencyEnable({ thresholds: { irqoff: 10, softirq: 10, hardirq: 10, nosched: 10, runqueue: 10 }, filters: {} }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2500));
    const held = bpfIdsOf(pid);
    if (isRoot && !('missing' in findBpfObject('runlatency'))) assert.ok(held.progs.size > 0 && held.links.size > 0, 'the agent holds its BPF programs and links by fd');
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-pid, 'SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(descendants(pid), [], 'no child or process-group member survives');
    if (held.progs.size + held.links.size > 0) {
      // The kernel frees programs once the last reference is gone (after an RCU grace period): wait for it.
      let left: number[] = [];
      for (let i = 0; i < 50; i++) {
        const now = hostBpfIds();
        if (!now) break;
        left = [...held.progs].filter((id) => now.progs.has(id)).concat([...held.links].filter((id) => now.links.has(id)));
        if (left.length === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(left, [], 'the BPF programs and links of the agent are gone');
    }
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agent buffers while the console is away and delivers when it is back', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-agent-');
  const store = await openStore(join(dir, 'console.db'));
  await ensureAdmin(store);
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    // A free port the console will listen on later.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const node = await store.createNode('buffered', '00', Date.now());
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    // The console is not listening yet: the agent keeps collecting and queues the samples.
    agent = await startAgent({
      host: new LiveHost(),
      registry: defaultRegistry(),
      intervalMs: 3_600_000,
      pollMs: 3_600_000,
      console: { url: `http://127.0.0.1:${port}`, token: tok.token },
      rules: [],
      log: () => undefined,
    });
    await agent.tick();
    await agent.tick();
    assert.ok(agent.client!.pending >= 1);
    assert.equal(agent.client!.connected, false);
    // The console comes up: the queue goes out in order.
    await app.listen({ host: '127.0.0.1', port });
    await agent.client!.flush();
    assert.equal(agent.client!.pending, 0);
    assert.equal((await store.listSamples(node.id, 0, Date.now() + 1, 100)).length, 3);
  } finally {
    await agent?.stop();
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a firing rule reaches the console and the webhook, and its diagnosis runs while the problem is live', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-agent-');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  const hooks: unknown[] = [];
  const hook = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.end('ok');
    });
  });
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const port = (app.server.address() as { port: number }).port;
    const node = await store.createNode('alerting', '00', Date.now());
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    // A rule that holds on any host: memory in use ≥ 0 %.
    const rules = resolveRules([{ id: 'always', kind: 'memory_usage', thresholdPct: 0, forS: 0, severity: 'info', autoDiagnose: { diagnosis: 'mem', params: { kpage: false, top: 3 } } }]).filter((r) => r.id === 'always');
    agent = await startAgent({
      host: new LiveHost(),
      registry: defaultRegistry(),
      intervalMs: 3_600_000,
      pollMs: 3_600_000,
      console: { url: `http://127.0.0.1:${port}`, token: tok.token },
      rules,
      webhook: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`,
      log: () => undefined,
    });
    const deadline = Date.now() + 60_000;
    let tasks = await store.listTasks({ nodeId: node.id, limit: 10 });
    while ((tasks.length === 0 || hooks.length === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      tasks = await store.listTasks({ nodeId: node.id, limit: 10 });
    }
    const alerts = await store.listAlerts({ nodeId: node.id, limit: 10 });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.rule, 'always');
    assert.equal(alerts[0]?.state, 'firing');
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]?.createdBy, 'alert:always');
    assert.equal(tasks[0]?.status, 'done', tasks[0]?.error ?? '');
    assert.equal(((await store.getReport(tasks[0]!.id))?.document as { schema: string }).schema, 'oscope.mem/v1');
    const h = hooks[0] as { node: string; events: { rule: string; state: string }[] };
    assert.deepEqual(h.events.map((e) => [e.rule, e.state]), [['always', 'firing']]);
  } finally {
    await agent?.stop();
    await new Promise<void>((r) => hook.close(() => r()));
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
