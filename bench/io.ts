/**
 * `oscope io` against the tools a user would pick instead, in one run (issue 13, Performance):
 *   1. overhead: a 4 KiB random-read fio job (psync, O_DIRECT) on a file on the host's disk (the target:
 *      what a real device costs per request) and on a RAM-backed loop device (the worst case), IOPS alone
 *      and with `oscope io` tracing (every detector on) and the agent's histogram, rotating rounds, medians
 *      (targets ≤ 3 % and ≤ 1 %);
 *   2. the same injected latency (io-slow, a FUSE-backed loop device whose every request takes 10 ms):
 *      oscope's device-stage histogram against libbpf-tools `biolatency` on the same disk;
 *   3. the same traffic (io-burst, a buffered writer and a cache-dropped reader at 4 MiB/s each):
 *      oscope's per-process bytes against /proc/PID/io and `pidstat -d`, its disk figures against
 *      `iostat -x`, all over the same 5 s;
 *   4. `oscope io -i 5` on this host: wall time against the interval, peak RSS.
 * The peers are installed by scripts/ensure-bench-deps.sh (`make bench` runs it; so does this bench
 * when one is missing). Everything it creates has an oscope-test-/oscope-sim- name and is removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IoDocument } from '../src/contract/io.js';
import { startIolatBpf } from '../src/agent/iolat.js';
import { startIoTracer } from '../src/diagnose/io/bpf.js';
import { cleanupRun, runScenario } from '../src/simulate/index.js';
import type { Bench } from './benches.js';
import { attached, collect, done, median, ratio, sleep, which } from './util.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'oscope');
const INTERVAL_S = 5;
const INJECT_MS = 10;
const RATE = 4 * 1024 * 1024;




/** 4 KiB random reads, O_DIRECT, one job, for `secs`: IOPS and the job's CPU (usr+sys %). */
function fio(device: string, secs: number): { iops: number; cpuPct: number; ios: number; bpfNs?: number } {
  const r = spawnSync('fio', ['--name=oscope-test-randread', `--filename=${device}`, '--rw=randread', '--bs=4k', '--direct=1', '--ioengine=psync', '--numjobs=1', `--runtime=${secs}`, '--time_based', '--output-format=json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fio failed: ${(r.stderr || '').trim().split('\n').at(-1) ?? ''}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: Array<{ read: { iops: number; total_ios: number }; usr_cpu: number; sys_cpu: number }> };
  return { iops: j.jobs[0]!.read.iops, cpuPct: j.jobs[0]!.usr_cpu + j.jobs[0]!.sys_cpu, ios: j.jobs[0]!.read.total_ios };
}

/**
 * Nanoseconds the kernel spent in the loaded BPF programs whose name starts with `prefix` (run_time_ns
 * of `bpftool prog show`, counted while kernel.bpf_stats_enabled is 1), per fio request. On a shared VM
 * this is steadier than IOPS: it counts the programs' own time, whatever else runs. It includes the
 * programs' runs for other tasks' I/O and context switches in the same window.
 */
function bpfNsPerRequest(prefix: string, ios: number): number | undefined {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' });
  if (r.status !== 0 || ios <= 0) return undefined;
  const progs = JSON.parse(r.stdout) as Array<{ name?: string; run_time_ns?: number }>;
  return progs.filter((p) => p.name?.startsWith(prefix)).reduce((a, p) => a + (p.run_time_ns ?? 0), 0) / ios;
}

/** Where fio reads: a file on the disk this host's / is on (the target), or a loop device on /dev/shm (the worst case). */
interface FioTarget {
  label: string;
  path: string;
  cleanup: () => void;
}

function diskTarget(): FioTarget {
  const path = '/var/tmp/oscope-test-bench-io.dat';
  // Random data, written once and synced: reads go to the disk (O_DIRECT), not to zero-page shortcuts.
  spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', 'count=512', 'conv=fsync', 'status=none']);
  const dev = spawnSync('findmnt', ['-n', '-o', 'SOURCE', '--target', '/var/tmp'], { encoding: 'utf8' }).stdout.trim() || 'the root disk';
  return { label: `a 512 MiB file on ${dev} (the host's disk)`, path, cleanup: () => rmSync(path, { force: true }) };
}

function ramLoopTarget(): FioTarget | string {
  const img = '/dev/shm/oscope-test-bench-io.img';
  writeFileSync(img, '');
  truncateSync(img, 256 * 1024 * 1024);
  const lo = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
  if (lo.status !== 0) {
    rmSync(img, { force: true });
    return `losetup failed: ${lo.stderr.trim()}`;
  }
  const device = lo.stdout.trim();
  spawnSync('dd', ['if=/dev/zero', `of=${device}`, 'bs=1M', 'count=256', 'oflag=direct', 'status=none']);
  return {
    label: `${device} on /dev/shm (RAM-backed: the worst case, each request a few µs)`,
    path: device,
    cleanup: () => {
      spawnSync('losetup', ['-d', device]);
      rmSync(img, { force: true });
    },
  };
}

type Variant = 'alone' | 'block' | 'all' | 'cli' | 'agent' | 'agentw' | 'base';

/**
 * IOPS of fio alone and with each tracer, rotating rounds, medians; kernel.bpf_stats_enabled stays 0
 * during these (its two clock reads per program run would count against the tracers). One more round
 * per traced variant with the stats on gives the programs' own time per request.
 */
async function overheadOn(t: FioTarget, secs: number, rounds: number): Promise<void> {
  // OSCOPE_BENCH_IO_BASE=DIR adds a variant: every detector on with DIR/io.bpf.o (A/B of a change).
  const baseDir = process.env.OSCOPE_BENCH_IO_BASE;
  const res: Record<Variant, Array<{ iops: number; cpuPct: number }>> = { alone: [], block: [], all: [], cli: [], agent: [], agentw: [], base: [] };
  const bpfNs: Partial<Record<Variant, number>> = {};
  const measure = async (v: Variant, stats: boolean): Promise<void> => {
    const keep = (f: { iops: number; cpuPct: number; ios: number }, prefix: string): void => {
      if (stats) bpfNs[v] = bpfNsPerRequest(prefix, f.ios);
      else res[v].push(f);
    };
    if (v === 'alone') {
      res.alone.push(fio(t.path, secs));
      return;
    }
    if (v === 'agent' || v === 'agentw') {
      // The agent's always-on histogram (bpf/iolat.bpf.c) as the agent starts it; agentw: with --io-wake.
      const tr = startIolatBpf({ wake: v === 'agentw' });
      try {
        keep(fio(t.path, secs), 'oscope_iolat');
      } finally {
        tr.close();
      }
      return;
    }
    if (v === 'cli') {
      const tracer = spawn(process.execPath, [BIN, 'io', '-i', '120', '--json'], { stdio: 'ignore' });
      try {
        if (!(await attached(tracer.pid!))) throw new Error('oscope io did not attach its tracer');
        keep(fio(t.path, secs), 'oscope_io_');
      } finally {
        tracer.kill('SIGINT');
        await done(tracer);
      }
      return;
    }
    // The tracer in this process, with or without the wake/iowait work in sched_switch.
    const saved = process.env.OSCOPE_BPF_DIR;
    if (v === 'base') process.env.OSCOPE_BPF_DIR = baseDir;
    const r = startIoTracer({ slowMs: 50, wake: v !== 'block', onEvent: () => undefined });
    if (v === 'base') {
      if (saved === undefined) delete process.env.OSCOPE_BPF_DIR;
      else process.env.OSCOPE_BPF_DIR = saved;
    }
    if ('unavailable' in r) throw new Error(r.unavailable);
    try {
      keep(fio(t.path, secs), 'oscope_io_');
    } finally {
      r.tracer.close();
    }
  };
  // Rotating order (each variant first, second, ... once) so that load drifting on a shared VM hits all.
  const order: Variant[] = ['alone', 'block', 'all', 'cli', 'agent', 'agentw', ...(baseDir ? (['base'] as const) : [])];
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (let round = 0; round < rounds; round++) for (let k = 0; k < order.length; k++) await measure(order[(k + round) % order.length]!, false);
  const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  try {
    for (const v of order) if (v !== 'alone') await measure(v, true);
  } finally {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
  }
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const ns = (v: Variant): string => (bpfNs[v] === undefined ? '' : `, BPF ${bpfNs[v]!.toFixed(0)} ns/request`);
  const iops = (v: Variant): number => median(res[v].map((x) => x.iops));
  // The issuing task's CPU per request carries the cost of the programs that run in its context.
  const us = (v: Variant): number => median(res[v].map((x) => ((x.cpuPct / 100) * 1e6) / x.iops));
  const pct = (v: Variant): string => `${(((iops('alone') - iops(v)) / iops('alone')) * 100).toFixed(1)} % lower`;
  const row = (name: string, v: Variant, extra = ''): void => {
    console.log(`     ${name.padEnd(44)} ${iops(v).toFixed(0).padStart(7)} IOPS  ${us(v).toFixed(2)} µs${v === 'alone' ? '' : `  ${pct(v)}, ratio ${ratio(iops(v), iops('alone'))}${ns(v)}${extra}`}`);
  };
  console.log(`   4 KiB randread (fio psync, O_DIRECT, QD 1) on ${t.label}; median of ${rounds} rotating rounds of ${secs} s (load ${load0} → ${load1}); IOPS, fio CPU per request:`);
  row('alone', 'alone');
  row('block stages (queue/sched/device)', 'block');
  row('+ wake stage and iowait (sched_switch)', 'all');
  row('oscope io -i 120 (the CLI, every detector)', 'cli', ' (target ≤ 3 %)');
  row('agent always-on histogram (iolat)', 'agent', ' (target ≤ 1 %)');
  row('agent with --io-wake (+ sched_switch)', 'agentw');
  if (baseDir) row(`every detector, ${baseDir}/io.bpf.o`, 'base');
  console.log(`     rounds (IOPS ${order.join('/')}): ${res.alone.map((_, i) => order.map((v) => res[v][i]?.iops.toFixed(0) ?? '?').join('/')).join(', ')}`);
}

async function overhead(): Promise<void> {
  if (!which('fio')) {
    console.log('   overhead: fio not installed (apt install fio)');
    return;
  }
  const secs = Number(process.env.OSCOPE_BENCH_IO_SECS) || 4;
  const rounds = Number(process.env.OSCOPE_BENCH_IO_ROUNDS) || 4;
  const disk = diskTarget();
  try {
    await overheadOn(disk, secs, rounds);
  } finally {
    disk.cleanup();
  }
  const ram = ramLoopTarget();
  if (typeof ram === 'string') {
    console.log(`   overhead on a RAM-backed loop device: ${ram}`);
    return;
  }
  try {
    await overheadOn(ram, secs, rounds);
  } finally {
    ram.cleanup();
  }
}

/** p50 of a biolatency-style table ("lo -> hi : count"), as the middle of its bucket. */
function tableP50(text: string): { p50: number; count: number; unit: string } {
  const unit = /usecs|msecs/.exec(text)?.[0] ?? 'usecs';
  const rows = text.split('\n').map((l) => /^\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => ({ lo: Number(m[1]), hi: Number(m[2]), n: Number(m[3]) }));
  const count = rows.reduce((a, r) => a + r.n, 0);
  let acc = 0;
  for (const r of rows) {
    acc += r.n;
    if (acc >= Math.ceil(count / 2)) return { p50: (r.lo + r.hi + 1) / 2, count, unit };
  }
  return { p50: NaN, count, unit };
}

async function latency(): Promise<void> {
  const run = await runScenario('io-slow', { latencyMs: INJECT_MS });
  try {
    const disk = String(run.created.details!.disk);
    const osc = collect(process.execPath, [BIN, 'io', '-i', String(INTERVAL_S), '--disk', disk, '--json']);
    const bl = which('biolatency');
    const peer = bl ? collect(bl, ['-d', disk, String(INTERVAL_S + 1), '1']) : undefined;
    await Promise.all([done(osc.child), ...(peer ? [done(peer.child)] : [])]);
    const doc = JSON.parse(osc.out()) as IoDocument;
    const d = doc.latency.perDisk.find((x) => x.disk === disk);
    console.log(`   injected: every request on ${disk} takes ${INJECT_MS} ms in the device (io-slow: FUSE-backed loop), one O_DIRECT 4 KiB reader`);
    if (!d) console.log(`   oscope io: no latency for ${disk}`);
    else {
      const s = d.stages.device;
      console.log(`   oscope io (device stage)   ${String(s.count).padStart(4)} requests, p50 ${s.p50Ms.toFixed(3)} ms, mean ${s.meanMs.toFixed(3)} ms, p99 ${s.p99Ms.toFixed(3)} ms, dominant ${d.dominant}; p50/injected ${ratio(s.p50Ms, INJECT_MS)}`);
    }
    if (!peer) console.log('   biolatency: not installed (apt install libbpf-tools)');
    else if (peer.child.exitCode !== 0 || !/->/.test(peer.out())) console.log(`   biolatency: could not attach on this kernel (exit ${peer.child.exitCode}): ${peer.err().trim().split('\n').at(-1) ?? ''}`);
    else {
      const t = tableP50(peer.out());
      const ms = t.unit === 'msecs' ? t.p50 : t.p50 / 1000;
      console.log(`   biolatency -d ${disk}       ${String(t.count).padStart(4)} requests, p50 ~${ms.toFixed(3)} ms (log2 bucket middle, ${INTERVAL_S + 1} s window); oscope p50 / biolatency p50 ${d ? ratio(d.stages.device.p50Ms, ms) : 'n/a'}, counts per second ${d ? ratio(d.stages.device.count / doc.intervalS, t.count / (INTERVAL_S + 1)) : 'n/a'}`);
    }
  } finally {
    await cleanupRun(run.runId);
  }
}

function procIo(pid: number): { read: number; write: number } {
  const t = readFileSync(`/proc/${pid}/io`, 'utf8');
  const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(t)?.[1] ?? NaN);
  return { read: get('read_bytes'), write: get('write_bytes') - get('cancelled_write_bytes') };
}

async function traffic(): Promise<void> {
  const run = await runScenario('io-burst', { rate: RATE });
  try {
    const det = run.created.details!;
    const disk = String(det.disk);
    const w = Number(det.writerPid);
    const r = Number(det.readerPid);
    await sleep(1000);
    // oscope first (its interval starts once its tracer is attached), then the peers over the same 5 s.
    const osc = collect(process.execPath, [BIN, 'io', '-i', String(INTERVAL_S), '--json']);
    await attached(osc.child.pid!);
    const p0 = { w: procIo(w), r: procIo(r), at: performance.now() };
    const ps = which('pidstat') ? collect('pidstat', ['-d', '-p', `${w},${r}`, String(INTERVAL_S), '1']) : undefined;
    const io = which('iostat') ? collect('iostat', ['-x', '-d', '-k', '-y', disk, String(INTERVAL_S), '1']) : undefined;
    await sleep(INTERVAL_S * 1000);
    const p1 = { w: procIo(w), r: procIo(r), at: performance.now() };
    await Promise.all([osc, ps, io].filter((x) => x !== undefined).map((x) => done(x.child)));
    const doc = JSON.parse(osc.out()) as IoDocument;
    const dt = (p1.at - p0.at) / 1000;
    const oW = doc.traffic.processes.find((p) => p.pid === w);
    const oR = doc.traffic.processes.find((p) => p.pid === r);
    const oscW = (oW?.writeBytes ?? 0) / doc.intervalS;
    const oscR = (oR?.readBytes ?? 0) / doc.intervalS;
    const procW = (p1.w.write - p0.w.write) / dt;
    const procR = (p1.r.read - p0.r.read) / dt;
    const kib = (x: number): string => `${(x / 1024).toFixed(0)} KiB/s`;
    console.log(`   injected: ${det.writer} writes (buffered) and ${det.reader} reads (cache dropped) ${kib(RATE)} each on ${disk}, over ${INTERVAL_S} s`);
    console.log(`   writer  oscope ${kib(oscW)}  /proc/PID/io ${kib(procW)}  ratio ${ratio(oscW, procW)}  (injected ${kib(RATE)}: ${ratio(oscW, RATE)})`);
    console.log(`   reader  oscope ${kib(oscR)}  /proc/PID/io ${kib(procR)}  ratio ${ratio(oscR, procR)}  (injected ${kib(RATE)}: ${ratio(oscR, RATE)})`);
    if (ps) {
      // Average:      UID       PID   kB_rd/s   kB_wr/s kB_ccwr/s iodelay  Command
      const rows = ps.out().split('\n').filter((l) => /^Average:/.test(l)).map((l) => l.trim().split(/\s+/));
      const hdr = rows.find((f) => f.includes('kB_rd/s'));
      const col = (name: string): number => hdr?.indexOf(name) ?? -1;
      const row = (pid: number): string[] | undefined => rows.find((f) => f[col('PID')] === String(pid));
      const pw = Number(row(w)?.[col('kB_wr/s')] ?? NaN) * 1024;
      const pr = Number(row(r)?.[col('kB_rd/s')] ?? NaN) * 1024;
      console.log(`   pidstat -d     writer ${kib(pw)}, reader ${kib(pr)}; oscope/pidstat writer ${ratio(oscW, pw)}, reader ${ratio(oscR, pr)}`);
    } else console.log('   pidstat: not installed (apt install sysstat)');
    const od = doc.disks.find((x) => x.name === disk);
    if (io && od) {
      const lines = io.out().split('\n').map((l) => l.trim().split(/\s+/));
      const hdr = lines.find((f) => f[0] === 'Device' || f[0] === 'Device:');
      const row = lines.find((f) => f[0] === disk);
      const v = (name: string): number => (hdr && row ? Number(row[hdr.indexOf(name)]) : NaN);
      const rows: Array<[string, number, number]> = [
        ['r/s + w/s', od.iops, v('r/s') + v('w/s')],
        ['read KiB/s', od.readBytesPerS / 1024, v('rkB/s')],
        ['write KiB/s', od.writeBytesPerS / 1024, v('wkB/s')],
        ['await ms', od.awaitMs, (v('r_await') * v('r/s') + v('w_await') * v('w/s')) / Math.max(1e-9, v('r/s') + v('w/s'))],
        ['util %', od.utilPct, v('%util')],
        ['queue depth', od.queueDepth, v('aqu-sz')],
      ];
      console.log(`   ${disk} vs iostat -x ${INTERVAL_S} 1: ${rows.map(([k, a, b]) => `${k} ${a.toFixed(1)}/${b.toFixed(1)} (${ratio(a, b)})`).join(', ')}`);
    } else if (!io) console.log('   iostat: not installed (apt install sysstat)');
  } finally {
    await cleanupRun(run.runId);
  }
}

/** Runs `oscope io -i 5 --json` (under bash, for its CPU time), sampling VmHWM until it exits: wall time, CPU, peak RSS. */
async function idle(): Promise<void> {
  const startup = performance.now();
  spawnSync(process.execPath, [BIN, '--version'], { stdio: 'ignore' });
  const startupS = (performance.now() - startup) / 1000;
  const t0 = performance.now();
  const sh = collect('bash', ['-c', `"${process.execPath}" "${BIN}" io -i ${INTERVAL_S} --json > /dev/null & pid=$!; echo $pid; wait $pid; code=$?; times; exit $code`]);
  let pid = 0;
  let hwm = 0;
  let over = false;
  void done(sh.child).then(() => (over = true));
  while (!over) {
    pid ||= Number(sh.out().split('\n')[0]) || 0;
    try {
      const m = pid ? /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
      if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
    } catch {
      /* exiting */
    }
    await sleep(50);
  }
  const wallS = (performance.now() - t0) / 1000;
  // `times`: the shell's own user/sys, then its children's ("0m1.234s 0m0.456s").
  const t = sh.out().trim().split('\n').at(-1)?.match(/(\d+)m([\d.]+)s/g) ?? [];
  const cpuS = t.map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x)!; return Number(m[1]) * 60 + Number(m[2]); }).reduce((a, b) => a + b, 0);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`   oscope io -i ${INTERVAL_S}: wall ${wallS.toFixed(2)} s = ${(wallS / INTERVAL_S).toFixed(2)}x the interval (target < 1.5x), CPU ${cpuS.toFixed(2)} s, peak RSS ${(hwm / 1024 / 1024).toFixed(0)} MiB (target < 150 MB), exit ${sh.child.exitCode}`);
  console.log(`     (host not idle: load average ${load}; \`oscope --version\` alone took ${startupS.toFixed(2)} s wall here)`);
}

export const ioBench: Bench = {
  name: 'io',
  description: 'oscope io: fio 4 KiB randread overhead; device-stage latency vs biolatency; per-process bytes vs /proc/PID/io, pidstat -d; disks vs iostat -x; wall time and RSS',
  run: async () => {
    if (process.geteuid?.() !== 0) throw new Error('needs root');
    if (['fio', 'biolatency', 'pidstat', 'iostat'].some((c) => !which(c))) spawnSync(join(ROOT, 'scripts', 'ensure-bench-deps.sh'), { stdio: 'inherit' });
    // OSCOPE_BENCH_IO_PARTS=overhead,traffic runs a subset.
    const parts = process.env.OSCOPE_BENCH_IO_PARTS?.split(',');
    for (const [name, part] of [['overhead', overhead], ['latency', latency], ['traffic', traffic], ['wall time', idle]] as const) {
      if (parts && !parts.includes(name)) continue;
      try {
        await part();
      } catch (err) {
        console.log(`   ${name}: skipped (${(err as Error).message})`);
      }
    }
  },
};
