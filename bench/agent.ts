/**
 * The agent at its default interval (15 s) with every collector on (memory, cgroups, PSI, zombie
 * cgroups, the BPF run-queue latency histogram, the kernel-log follower, the memory history, the local
 * control socket), scraped on /metrics every 15 s the way Prometheus would: CPU share of one core and
 * peak resident memory over the run, next to an idle Node.js process (the runtime's own floor) measured
 * the same way in the same run.
 *
 * Duration: `--duration 10m` when run alone (`node dist/bench/agent.js --duration 10m`), else
 * OSCOPE_BENCH_AGENT_S seconds (default 120); the issue's target is measured over 600 s.
 * Targets (issue 7): under 1 % of one CPU and under 150 MB resident; (issue 16) the health score adds
 * under 0.1 % of one CPU — measured as the agent with and without `--no-health` side by side in
 * rotating rounds, and as the agent's own `oscope_health_cpu_seconds_total`.
 *
 * CPU is the agent process's utime + stime from /proc/<pid>/stat. The BPF programs run in the context
 * of the tasks being scheduled, so their cost is not in that figure: it is spread over every task, and
 * measured by `oscope runlatency`'s own bench.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './benches.js';
import { median } from './util.js';

const BIN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'oscope');
const TICK = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Measured {
  cpuPct: number;
  peakRssMb: number;
  /** Lines the process wrote on stderr (the agent says which collectors are up). */
  stderr: string;
  scrapes: number;
  /** The last /metrics body scraped (empty without scraping). */
  lastMetrics: string;
}

async function measure(args: string[], seconds: number, warmupS: number, scrape?: (stderr: string) => string | undefined): Promise<Measured> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let scrapes = 0;
  let lastMetrics = '';
  try {
    await new Promise((r) => setTimeout(r, warmupS * 1000));
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr.trim()}`);
    const pid = child.pid!;
    const url = scrape?.(stderr);
    const c0 = cpuTicks(pid);
    const t0 = Date.now();
    let peak = 0;
    let nextScrape = t0;
    while (Date.now() - t0 < seconds * 1000) {
      peak = Math.max(peak, rssBytes(pid));
      if (url && Date.now() >= nextScrape) {
        nextScrape += 15_000;
        const res = await fetch(url).catch(() => undefined);
        if (res?.ok) {
          lastMetrics = await res.text();
          scrapes++;
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const cpuS = (cpuTicks(pid) - c0) / TICK;
    const elapsedS = (Date.now() - t0) / 1000;
    if (url) {
      const res = await fetch(url).catch(() => undefined);
      if (res?.ok) lastMetrics = await res.text();
    }
    return { cpuPct: (cpuS / elapsedS) * 100, peakRssMb: peak / 1024 ** 2, stderr, scrapes, lastMetrics };
  } finally {
    child.kill('SIGKILL');
  }
}

/** `--duration 10m` / `--duration=600` / `600s` → seconds; undefined when absent. */
export function durationArg(argv: string[]): number | undefined {
  const i = argv.findIndex((a) => a === '--duration' || a.startsWith('--duration='));
  if (i < 0) return undefined;
  const v = argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[i + 1];
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v ?? '');
  if (!m) throw new Error(`--duration takes 90s, 10m or a number of seconds, got "${v ?? ''}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

const metricsUrl = (err: string): string | undefined => /metrics on (http:\/\/\S+\/metrics)/.exec(err)?.[1];
const metricValue = (body: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
};
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * Rounds (OSCOPE_BENCH_AGENT_ROUNDS, default 3) of `seconds / rounds` each; in every round the agent
 * with the health score (the default), the same agent with `--no-health` and an idle Node.js process
 * run side by side (the same host load for all three), started in a rotating order. Medians over the
 * rounds. The health score's own cost is also read from the agent's `oscope_health_cpu_seconds_total`
 * (CPU of the process while it computed the score, an upper bound) — the direct figure, where the A/B
 * difference of two whole agents is within the noise of a shared host.
 */
async function runAgentBench(seconds: number): Promise<void> {
  const rounds = Math.max(1, Number(process.env.OSCOPE_BENCH_AGENT_ROUNDS ?? 3));
  const perRound = Math.max(30, Math.round(seconds / rounds));
  const load0 = loadavg();
  const withH: Measured[] = [];
  const noH: Measured[] = [];
  const idle: Measured[] = [];
  const direct: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const states = [mkdtempSync('/tmp/oscope-bench-agent-'), mkdtempSync('/tmp/oscope-bench-agent-')];
    try {
      const jobs: (() => Promise<Measured>)[] = [
        () => measure([BIN, 'agent', '--listen', '127.0.0.1:0', '--interval', '15s', '--state-dir', states[0]!], perRound, 5, metricsUrl),
        () => measure([BIN, 'agent', '--listen', '127.0.0.1:0', '--interval', '15s', '--no-health', '--state-dir', states[1]!], perRound, 5, metricsUrl),
        () => measure(['-e', 'setInterval(() => {}, 15000)'], perRound, 5),
      ];
      // Rotate who starts first (a start costs CPU the others see).
      const order = [0, 1, 2].map((i) => (i + r) % 3);
      const started: Promise<Measured>[] = [];
      for (const i of order) {
        started[i] = jobs[i]!();
        await new Promise((res) => setTimeout(res, 200));
      }
      const [a, b, c] = await Promise.all(started);
      withH.push(a!);
      noH.push(b!);
      idle.push(c!);
      const h = metricValue(a!.lastMetrics, 'oscope_health_cpu_seconds_total');
      // The counter covers the whole run (warm-up too): per second of the agent's life.
      if (Number.isFinite(h)) direct.push((h / (perRound + 5)) * 100);
    } finally {
      for (const d of states) rmSync(d, { recursive: true, force: true });
    }
  }
  const load1 = loadavg();
  const med = (xs: Measured[], f: (m: Measured) => number): number => median(xs.map(f));
  const a = withH[0]!;
  const notes = a.stderr
    .split('\n')
    .filter((l) => /no run-queue|no kernel-log/.test(l))
    .map((l) => l.replace(/^oscope agent: /, ''));
  const cpuW = med(withH, (m) => m.cpuPct);
  const cpuN = med(noH, (m) => m.cpuPct);
  console.log(`   ${rounds} round(s) of ${perRound} s at the default 15 s interval, /metrics scraped every 15 s; load average ${load0} before, ${load1} after (${cpus().length} CPUs)`);
  console.log(`   collectors: memory, cgroups, PSI, zombies, memory history, control socket${notes.length ? '' : ', run-queue histogram (BPF), kernel-log follower'}`);
  for (const n of notes) console.log(`   (${n})`);
  console.log(`   oscope agent               ${cpuW.toFixed(2)} % CPU, peak ${med(withH, (m) => m.peakRssMb).toFixed(0)} MB  (target < 1 %, < 150 MB)   rounds: ${withH.map((m) => m.cpuPct.toFixed(2)).join(' ')}`);
  console.log(`   oscope agent --no-health   ${cpuN.toFixed(2)} % CPU, peak ${med(noH, (m) => m.peakRssMb).toFixed(0)} MB   rounds: ${noH.map((m) => m.cpuPct.toFixed(2)).join(' ')}`);
  console.log(`   idle node                  ${med(idle, (m) => m.cpuPct).toFixed(2)} % CPU, peak ${med(idle, (m) => m.peakRssMb).toFixed(0)} MB`);
  console.log(`   health score: ${cpuW - cpuN >= 0 ? '+' : ''}${(cpuW - cpuN).toFixed(3)} % CPU with vs without (A/B of medians); ${median(direct).toFixed(4)} % CPU measured in the agent (oscope_health_cpu_seconds_total, upper bound)   (target < 0.1 %)`);
  console.log(`   ratio agent/idle RSS ${(med(withH, (m) => m.peakRssMb) / med(idle, (m) => m.peakRssMb)).toFixed(2)}x`);
}

export const agentBench: Bench = {
  name: 'agent',
  description: 'oscope agent at the default 15 s interval, every collector on: CPU % of one core and peak RSS, with and without the health score, vs an idle node process',
  run: () => runAgentBench(durationArg(process.argv) ?? Number(process.env.OSCOPE_BENCH_AGENT_S ?? 120)),
};

// Run alone: node dist/bench/agent.js [--duration 10m]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`== ${agentBench.name}: ${agentBench.description}`);
  await runAgentBench(durationArg(process.argv) ?? Number(process.env.OSCOPE_BENCH_AGENT_S ?? 120));
}
