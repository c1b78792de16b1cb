/**
 * The agent at its default interval (15 s) with every collector on (memory, cgroups, PSI, zombie
 * cgroups, the BPF run-queue latency histogram, the kernel-log follower, the memory history, the local
 * control socket), scraped on /metrics every 15 s the way Prometheus would: CPU share of one core and
 * peak resident memory over the run, next to an idle Node.js process (the runtime's own floor) measured
 * the same way in the same run.
 *
 * Duration: `--duration 10m` when run alone (`node dist/bench/agent.js --duration 10m`), else
 * OSCOPE_BENCH_AGENT_S seconds (default 120); the issue's target is measured over 600 s.
 * Targets (issue 7): under 1 % of one CPU and under 150 MB resident.
 *
 * CPU is the agent process's utime + stime from /proc/<pid>/stat. The BPF programs run in the context
 * of the tasks being scheduled, so their cost is not in that figure: it is spread over every task, and
 * measured by `oscope runlatency`'s own bench.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './benches.js';

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
}

async function measure(args: string[], seconds: number, warmupS: number, scrape?: (stderr: string) => string | undefined): Promise<Measured> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let scrapes = 0;
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
          await res.text();
          scrapes++;
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const cpuS = (cpuTicks(pid) - c0) / TICK;
    return { cpuPct: (cpuS / ((Date.now() - t0) / 1000)) * 100, peakRssMb: peak / 1024 ** 2, stderr, scrapes };
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

async function runAgentBench(seconds: number): Promise<void> {
  const state = mkdtempSync('/tmp/oscope-bench-agent-');
  try {
    const [agent, idle] = await Promise.all([
      measure([BIN, 'agent', '--listen', '127.0.0.1:0', '--interval', '15s', '--state-dir', state], seconds, 5, (err) => {
        const m = /metrics on (http:\/\/\S+\/metrics)/.exec(err);
        return m?.[1];
      }),
      measure(['-e', 'setInterval(() => {}, 15000)'], seconds, 5),
    ]);
    const notes = agent.stderr
      .split('\n')
      .filter((l) => /no run-queue|no kernel-log/.test(l))
      .map((l) => l.replace(/^oscope agent: /, ''));
    console.log(`   over ${seconds} s at the default 15 s interval, /metrics scraped ${agent.scrapes} times`);
    console.log(`   collectors: memory, cgroups, PSI, zombies, memory history, control socket${notes.length ? '' : ', run-queue histogram (BPF), kernel-log follower'}`);
    for (const n of notes) console.log(`   (${n})`);
    console.log(`   oscope agent     ${agent.cpuPct.toFixed(2)} % CPU, peak ${agent.peakRssMb.toFixed(0)} MB  (target < 1 %, < 150 MB)`);
    console.log(`   idle node        ${idle.cpuPct.toFixed(2)} % CPU, peak ${idle.peakRssMb.toFixed(0)} MB`);
    console.log(`   ratio agent/idle RSS ${(agent.peakRssMb / idle.peakRssMb).toFixed(2)}x`);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

export const agentBench: Bench = {
  name: 'agent',
  description: 'oscope agent at the default 15 s interval, every collector on: CPU % of one core and peak RSS, vs an idle node process',
  run: () => runAgentBench(durationArg(process.argv) ?? Number(process.env.OSCOPE_BENCH_AGENT_S ?? 120)),
};

// Run alone: node dist/bench/agent.js [--duration 10m]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`== ${agentBench.name}: ${agentBench.description}`);
  await runAgentBench(durationArg(process.argv) ?? Number(process.env.OSCOPE_BENCH_AGENT_S ?? 120));
}
