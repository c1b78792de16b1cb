/**
 * `oscope net` against the tools a user would pick instead, in one run (issue 14, Performance):
 *   1. overhead: iperf3 TCP throughput over a veth pair between two network namespaces the bench creates
 *      (oscope-test-netbench-<pid>-{s,c}), alone, with the tracer of `oscope net` in this process (every
 *      detector: drops, TCP events, latency by stage), with the CLI `oscope net -i 120` running, and with
 *      the agent's always-on net part (src/agent/collect.ts readNetSnapshot: five /proc files, no BPF)
 *      read every second (the agent's default is every 15 s). Rotating rounds, medians (targets: every
 *      detector ≥ 0.95x, the agent ≥ 0.99x); the load average before and after says how busy the host was.
 *   2. drops (net-drop: an nftables rule drops 10 % of one port's packets): oscope's NETFILTER_DROP count
 *      against the rule's own counter and the server namespace's `nstat` deltas, and bcc `tcpdrop` where
 *      it runs; retransmits against the client namespace's TcpRetransSegs (nstat) and bcc `tcpretrans`.
 *      The client is stopped (SIGSTOP) at both ends of the window, so the counts compare exactly.
 *   3. sockets (net-slow-reader: a server that reads late, so Recv-Q fills): oscope's per-process socket
 *      counts and Recv-Q/Send-Q against `ss -tmpi` in the same namespace, with both processes stopped.
 * The peers come from scripts/ensure-bench-deps.sh (iperf3, bpfcc-tools, iproute2). Everything the bench
 * creates has an oscope-test-/oscope-sim- name and is removed on exit and on Ctrl-C.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetDocument } from '../src/contract/net.js';
import { readNetSnapshot } from '../src/agent/collect.js';
import { startNetTracer } from '../src/diagnose/net/bpf.js';
import { LiveHost } from '../src/host/live.js';
import { cleanupRun, runScenario } from '../src/simulate/index.js';
import { nftDropCounter } from '../src/simulate/scenarios/net.js';
import type { Bench } from './benches.js';
import { attached, collect, done, median, ratio, sleep, which } from './util.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'oscope');
const SRV_ADDR = '10.255.249.1';
const CLI_ADDR = '10.255.249.2';
const IPERF_PORT = 5399;

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const lastLine = (s: string): string => s.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';


function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${lastLine(r.stderr || r.stdout || '')}`);
  return r.stdout;
}


interface ProgRow {
  id: number;
  name?: string;
  run_time_ns?: number;
}
function progs(): ProgRow[] {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout) as ProgRow[]) : [];
}
/** Ids of the oscope_net_* programs loaded now (this bpftool shows no owner pids: ours are the ones new since `before`). */
const netProgIds = (): Set<number> => new Set(progs().filter((p) => p.name?.startsWith('oscope_net')).map((p) => p.id));
/** Run time (ns) of the oscope_net_* programs not in `before` (kernel.bpf_stats_enabled must be 1). */
function bpfRunNs(before: Set<number>): number | undefined {
  const mine = progs().filter((p) => p.name?.startsWith('oscope_net') && !before.has(p.id));
  return mine.length ? mine.reduce((a, p) => a + (p.run_time_ns ?? 0), 0) : undefined;
}

/** `nstat -az` of one namespace (absolute counters, history untouched). */
function nstat(ns: string): Map<string, number> {
  const out = new Map<string, number>();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nstat', '-asz'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^(\w+)\s+(\d+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
const nstatDelta = (a: Map<string, number>, b: Map<string, number>): Map<string, number> => new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as [string, number]).filter(([, v]) => v !== 0));

// ---------------------------------------------------------------------------------------------------
// 1. throughput overhead

interface Pair {
  server: string;
  client: string;
  iperf: ChildProcess;
}
let livePair: Pair | undefined;

function removePair(p: Pair): void {
  p.iperf.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', p.client], { stdio: 'ignore' });
  spawnSync('ip', ['netns', 'del', p.server], { stdio: 'ignore' });
}

/** Ctrl-C during the bench: the namespaces go (the scenarios of parts 2 and 3 clean up through cleanupRun). */
function onSigint(): void {
  if (livePair) removePair(livePair);
  livePair = undefined;
  process.exit(130);
}

async function makePair(): Promise<Pair> {
  const base = `oscope-test-netbench-${process.pid}`;
  const server = `${base}-s`;
  const client = `${base}-c`;
  run('ip', ['netns', 'add', server]);
  try {
    run('ip', ['netns', 'add', client]);
    run('ip', ['link', 'add', 'nb-c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'nb-s0', 'netns', server]);
    for (const [ns, dev, addr] of [[server, 'nb-s0', SRV_ADDR], [client, 'nb-c0', CLI_ADDR]] as const) {
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    spawnSync('ip', ['netns', 'del', client], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', server], { stdio: 'ignore' });
    throw err;
  }
  const iperf = spawn('ip', ['netns', 'exec', server, 'iperf3', '-s', '-B', SRV_ADDR, '-p', String(IPERF_PORT)], { stdio: 'ignore' });
  const p = { server, client, iperf };
  livePair = p;
  // Until the server listens.
  for (let i = 0; i < 50; i++) {
    if (spawnSync('ip', ['netns', 'exec', server, 'ss', '-Htln', `sport = :${IPERF_PORT}`], { encoding: 'utf8' }).stdout.trim() !== '') return p;
    await sleep(100);
  }
  removePair(p);
  livePair = undefined;
  throw new Error('iperf3 -s did not listen');
}

/** One iperf3 TCP run, client → server, for `secs` (the first second omitted): received bits/s. */
function iperf(p: Pair, secs: number): { bps: number; bytes: number } {
  const r = spawnSync('ip', ['netns', 'exec', p.client, 'iperf3', '-c', SRV_ADDR, '-p', String(IPERF_PORT), '-t', String(secs), '-O', '1', '-J'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`iperf3 failed: ${lastLine(r.stdout || r.stderr || '')}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
  return { bps: j.end.sum_received.bits_per_second, bytes: j.end.sum_received.bytes };
}

async function overhead(): Promise<void> {
  if (!which('iperf3')) {
    console.log('   overhead: iperf3 not installed (apt install iperf3)');
    return;
  }
  const secs = Number(process.env.OSCOPE_BENCH_NET_SECS) || 4;
  const rounds = Number(process.env.OSCOPE_BENCH_NET_ROUNDS) || 5;
  const load0 = loadavg();
  const p = await makePair();
  type Variant = 'alone' | 'counting' | 'tracer' | 'cli' | 'agent';
  const res: Record<Variant, Array<{ bps: number; bpfNs?: number; bytes: number }>> = { alone: [], counting: [], tracer: [], cli: [], agent: [] };
  const host = new LiveHost();
  const measure = async (v: Variant): Promise<void> => {
    if (v === 'alone') {
      res.alone.push(iperf(p, secs));
      return;
    }
    if (v === 'agent') {
      // The agent's always-on net collection, every second (15x its default rate).
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          await readNetSnapshot(host);
          await sleep(1000);
        }
      })();
      try {
        res.agent.push(iperf(p, secs));
      } finally {
        stop = true;
        await loop;
      }
      return;
    }
    if (v === 'cli') {
      const before = netProgIds();
      const tracer = spawn(process.execPath, [BIN, 'net', '-i', '120', '--json'], { stdio: 'ignore' });
      try {
        if (!(await attached(tracer.pid!))) throw new Error('oscope net did not attach its tracer');
        const f = iperf(p, secs);
        const ns = bpfRunNs(before);
        res.cli.push({ ...f, ...(ns !== undefined ? { bpfNs: ns } : {}) });
      } finally {
        tracer.kill('SIGINT');
        await done(tracer);
      }
      return;
    }
    const before = netProgIds();
    const r = startNetTracer({ latency: v === 'tracer' });
    if ('unavailable' in r) throw new Error(r.unavailable);
    try {
      const f = iperf(p, secs);
      const ns = bpfRunNs(before);
      res[v].push({ ...f, ...(ns !== undefined ? { bpfNs: ns } : {}) });
    } finally {
      r.tracer.close();
    }
  };
  const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  const order: Variant[] = ['alone', 'counting', 'tracer', 'cli', 'agent'];
  try {
    iperf(p, 2); // warm-up
    for (let round = 0; round < rounds; round++) for (let k = 0; k < order.length; k++) await measure(order[(k + round) % order.length]!);
  } finally {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
    removePair(p);
    livePair = undefined;
  }
  const gbps = (v: Variant): number => median(res[v].map((x) => x.bps)) / 1e9;
  const ns = (v: Variant): string => {
    // BPF run time per 1448-byte segment's worth of payload, and as a share of one CPU over the run.
    const xs = res[v].flatMap((x) => (x.bpfNs === undefined ? [] : [{ perSeg: x.bpfNs / (x.bytes / 1448), cpu: x.bpfNs / (secs * 1e9) }]));
    return xs.length ? `, BPF ${median(xs.map((x) => x.perSeg)).toFixed(0)} ns per 1448 B (${(median(xs.map((x) => x.cpu)) * 100).toFixed(1)} % of a CPU)` : '';
  };
  const line = (label: string, v: Variant, target?: string): string => `     ${label.padEnd(46)} ${gbps(v).toFixed(2).padStart(6)} Gbit/s  ratio ${ratio(gbps(v), gbps('alone'))}${v === 'alone' ? '' : ns(v)}${target ? ` (target ${target})` : ''}`;
  console.log(`   iperf3 TCP over a veth pair between two namespaces, ${secs} s per run (first second omitted), median of ${rounds} rotating rounds:`);
  console.log(line('alone', 'alone'));
  console.log(line('drops and TCP events only (no latency stages)', 'counting'));
  console.log(line('every detector (tracer: drops, tcp, latency)', 'tracer', '≥ 0.95x'));
  console.log(line('oscope net -i 120 (the CLI)', 'cli', '≥ 0.95x'));
  console.log(line("agent's always-on net part, read every 1 s", 'agent', '≥ 0.99x'));
  console.log(`     rounds (Gbit/s ${order.join('/')}): ${res.alone.map((_, i) => order.map((v) => ((res[v][i]?.bps ?? NaN) / 1e9).toFixed(2)).join('/')).join(', ')}`);
  console.log(`     host load average before ${load0}, after ${loadavg()} (${readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length} CPUs)`);
}

// ---------------------------------------------------------------------------------------------------
// 2. drops and retransmits

/** Waits until the rule's counter stops moving (the stopped client's last retransmits are through). */
async function quiesce(ns: string): Promise<number> {
  let last = nftDropCounter(ns);
  for (let i = 0; i < 40; i++) {
    await sleep(800);
    const now = nftDropCounter(ns);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** A bcc tool run alongside (bpfcc-tools): the lines it printed, or why it could not run here. */
function bcc(name: string): { child: ChildProcess; out: () => string; err: () => string } | undefined {
  const path = which(`${name}-bpfcc`) ?? which(name);
  return path ? collect(path, []) : undefined;
}
const bccResult = async (b: ReturnType<typeof bcc>, name: string, stop = true): Promise<{ lines: string[]; error?: string }> => {
  if (!b) return { lines: [], error: `not installed (apt install bpfcc-tools)` };
  if (stop && b.child.exitCode === null) b.child.kill('SIGINT');
  await done(b.child);
  const err = `${b.err()}\n${b.out()}`;
  const lines = b.out().split('\n').filter((l) => l.trim() !== '');
  if (lines.length <= 1 && b.child.exitCode !== 0) {
    const why = /Unable to find kernel headers/.test(err) ? 'no kernel headers for this kernel (bcc compiles at run time: CONFIG_IKHEADERS or linux-headers needed)' : /kprobe/i.test(err) ? 'cannot attach its kprobes (this kernel has none)' : lastLine(err);
    return { lines, error: `${name} could not run here: ${why}` };
  }
  return { lines };
};

async function drops(): Promise<void> {
  const port = 5391;
  const run = await runScenario('net-drop', { pct: 10, port });
  try {
    const d = run.created.details!;
    const srv = String(d.serverNetns);
    const cli = String(d.clientNetns);
    const clientPid = Number(d.clientPid);
    const srvIno = statSync(`/run/netns/${srv}`).ino;
    const cliIno = statSync(`/run/netns/${cli}`).ino;
    await sleep(1000);
    process.kill(clientPid, 'SIGSTOP');
    let stopped = true;
    try {
      await quiesce(srv);
      const osc = collect(process.execPath, [BIN, 'net', '-i', '120', '--port', String(port), '--json']);
      if (!(await attached(osc.child.pid!))) throw new Error('oscope net did not attach its tracer');
      const drop = bcc('tcpdrop');
      const retr = bcc('tcpretrans');
      await sleep(1500);
      const rule0 = nftDropCounter(srv);
      const s0 = nstat(srv);
      const c0 = nstat(cli);
      process.kill(clientPid, 'SIGCONT');
      stopped = false;
      await sleep(5000);
      process.kill(clientPid, 'SIGSTOP');
      stopped = true;
      const rule1 = await quiesce(srv);
      const s1 = nstat(srv);
      const c1 = nstat(cli);
      osc.child.kill('SIGINT');
      await done(osc.child);
      const [bd, br] = await Promise.all([bccResult(drop, 'tcpdrop'), bccResult(retr, 'tcpretrans')]);
      const doc = JSON.parse(osc.out()) as NetDocument;
      const rule = rule1 - rule0;
      const nf = doc.drops.filter((x) => x.netns === srvIno && x.reason === 'NETFILTER_DROP');
      const oscDrops = nf.reduce((a, x) => a + x.count, 0);
      const sd = nstatDelta(s0, s1);
      const cd = nstatDelta(c0, c1);
      const dropish = [...sd].filter(([k]) => /Drop|Discard|Overflow|Prune|RcvbufErrors|InErrors/.test(k));
      console.log(`   injected: nft rule "tcp dport ${port} numgen random mod 100 < 10 counter drop" in ${srv}; client stopped at both ends of the window`);
      console.log(`   drops   oscope net: ${oscDrops} NETFILTER_DROP at ${nf[0]?.location ?? '-'} (${nf[0]?.iface ?? '-'}, dport ${nf[0]?.dport ?? '-'}); nft rule counter ${rule}; ratio ${ratio(oscDrops, rule)} (target within 2 %)`);
      console.log(`           nstat (server ns) drop counters moved: ${dropish.length ? dropish.map(([k, v]) => `${k} +${v}`).join(', ') : 'none'} — no SNMP counter counts netfilter drops, so nstat cannot attribute them`);
      console.log(`           tcpdrop: ${bd.error ?? `${Math.max(0, bd.lines.length - 1)} lines (one per drop); oscope/tcpdrop ${ratio(oscDrops, bd.lines.length - 1)}`}`);
      const oscRetr = doc.tcp.retransmits.filter((x) => x.netns === cliIno).reduce((a, x) => a + x.count, 0);
      const segs = cd.get('TcpRetransSegs') ?? 0;
      console.log(`   retrans oscope net: ${oscRetr} retransmitted segments in the client namespace; nstat TcpRetransSegs +${segs}; ratio ${ratio(oscRetr, segs)} (target within 5 %)`);
      console.log(`           tcpretrans: ${br.error ?? `${Math.max(0, br.lines.length - 1)} lines; oscope/tcpretrans ${ratio(oscRetr, br.lines.length - 1)}`}`);
    } finally {
      if (stopped) process.kill(clientPid, 'SIGCONT');
    }
  } finally {
    await cleanupRun(run.runId);
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. sockets

interface SsRow {
  recvQ: number;
  sendQ: number;
  pids: number[];
  rmemAlloc?: number;
  wmemQueued?: number;
  state: string;
}

/** `ss -tmpin` rows (TCP, all states with -a): Recv-Q, Send-Q, users:((...pid=N...)), skmem:(r..,tb..,...,w..). */
function ssRows(ns: string): SsRow[] {
  const text = run('ip', ['netns', 'exec', ns, 'ss', '-tmpinaH']);
  const rows: SsRow[] = [];
  let cur: SsRow | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+/.exec(line);
    if (m) {
      cur = { state: m[1]!, recvQ: Number(m[2]), sendQ: Number(m[3]), pids: [...line.matchAll(/pid=(\d+)/g)].map((x) => Number(x[1])) };
      rows.push(cur);
    }
    if (!cur) continue;
    const sk = /skmem:\(r(\d+),rb\d+,t\d+,tb\d+,f\d+,w(\d+)/.exec(line);
    if (sk) {
      cur.rmemAlloc = Number(sk[1]);
      cur.wmemQueued = Number(sk[2]);
    }
    for (const p of line.matchAll(/pid=(\d+)/g)) if (!cur.pids.includes(Number(p[1]))) cur.pids.push(Number(p[1]));
  }
  return rows;
}

async function sockets(): Promise<void> {
  const run = await runScenario('net-slow-reader', { port: 5393 });
  try {
    const d = run.created.details!;
    const srv = String(d.serverNetns);
    const cli = String(d.clientNetns);
    const pids = [Number(d.serverPid), Number(d.clientPid)];
    await sleep(2000);
    for (const p of pids) process.kill(p, 'SIGSTOP');
    try {
      await sleep(1500); // in-flight segments land
      const table: string[] = [];
      for (const [ns, pid, who] of [[srv, pids[0]!, 'server (reads late)'], [cli, pids[1]!, 'client (writes)']] as const) {
        const osc = collect(process.execPath, [BIN, 'net', '-i', '1', '--no-bpf', '--netns', `/run/netns/${ns}`, '--json']);
        await done(osc.child);
        const doc = JSON.parse(osc.out()) as NetDocument;
        const ss = ssRows(ns);
        const o = doc.sockets.byProcess.find((x) => x.pid === pid);
        // Listeners apart: ss shows their accept queue and backlog in Recv-Q/Send-Q (oscope counts them in listeners).
        const mine = ss.filter((r) => r.pids.includes(pid) && r.state !== 'LISTEN');
        const sum = (f: (r: SsRow) => number): number => mine.reduce((a, r) => a + f(r), 0);
        const listeners = ss.filter((r) => r.pids.includes(pid) && r.state === 'LISTEN').length;
        table.push(`     ${who.padEnd(20)} sockets ${o?.sockets ?? 0}/${mine.length + listeners} (listeners ${o?.listeners ?? 0}/${listeners})  Recv-Q ${o?.recvQBytes ?? 0}/${sum((r) => r.recvQ)} (${ratio(o?.recvQBytes ?? 0, sum((r) => r.recvQ))})  Send-Q ${o?.sendQBytes ?? 0}/${sum((r) => r.sendQ)} (${ratio(o?.sendQBytes ?? 0, sum((r) => r.sendQ))})  ss skmem r ${sum((r) => r.rmemAlloc ?? 0)} w ${sum((r) => r.wmemQueued ?? 0)} B`);
      }
      console.log('   net-slow-reader, both ends stopped: oscope net --no-bpf (sockets.byProcess) / ss -tmpi in the same namespace:');
      for (const l of table) console.log(l);
    } finally {
      for (const p of pids) {
        try {
          process.kill(p, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
    }
  } finally {
    await cleanupRun(run.runId);
  }
}

export const netBench: Bench = {
  name: 'net',
  description: 'oscope net: iperf3 throughput over a veth pair with every detector on and with the agent; drops vs the nft counter, nstat, tcpdrop; retransmits vs TcpRetransSegs, tcpretrans; sockets vs ss -tmpi',
  run: async () => {
    if (process.geteuid?.() !== 0) throw new Error('needs root');
    if (['iperf3', 'nstat', 'ss'].some((c) => !which(c)) || !which('tcpdrop-bpfcc')) spawnSync(join(ROOT, 'scripts', 'ensure-bench-deps.sh'), { stdio: 'inherit' });
    process.on('SIGINT', onSigint);
    // OSCOPE_BENCH_NET_PARTS=overhead,drops runs a subset.
    const parts = process.env.OSCOPE_BENCH_NET_PARTS?.split(',');
    try {
      for (const [name, part] of [['overhead', overhead], ['drops', drops], ['sockets', sockets]] as const) {
        if (parts && !parts.includes(name)) continue;
        try {
          await part();
        } catch (err) {
          console.log(`   ${name}: skipped (${(err as Error).message})`);
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
