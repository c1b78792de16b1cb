/**
 * Live tests of `oscope io` against the I/O simulations: each creates its scenario with the simulation
 * framework, runs the built CLI (`oscope io --json`) and checks what issue 13 asks for:
 *   io-slow   the device stage carries the injected latency (dominant, io.latency.device) with its p50
 *             within 20 % of the injection;
 *   io-burst  the writer and the reader are named with bytes within 10 % of the rate, and (where the kernel
 *             charges them) of their cgroup's own io counters, read here from blkio/io.stat;
 *   io-hang   the hang is found with its age within 1 s, and the D task's kernel stack.
 * Everything is created under oscope-sim- names and removed in `finally`/`after`; other engineers' I/O
 * on the machine is left out by looking only at the scenario's own device, processes and cgroups.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT, needsRoot, testName } from '../../helpers.js';
import { findBpfObject } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';
import { IO_SCHEMA, type IoDocument, IoDocumentSchema } from '../../../src/contract/io.js';
import { type Resource, type RunResult, cleanupRun, runScenario } from '../../../src/simulate/index.js';
import { isSameProcessAlive } from '../../../src/simulate/proc.js';
import { listStates, loopBacking } from '../../../src/simulate/state.js';
import { IO_READER, IO_VICTIM, IO_WRITER } from '../../../src/simulate/scenarios/io.js';

const STATE = mkdtempSync(`/tmp/${testName('iostate')}-`);
process.env.OSCOPE_STATE_DIR = STATE;
after(async () => {
  for (const s of listStates(STATE)) await cleanupRun(s.runId, STATE).catch(() => undefined);
  rmSync(STATE, { recursive: true, force: true });
});

const native = loadNative();
const obj = findBpfObject('io');
const skip: string | false =
  needsRoot || (!native.available ? native.reason : false) || ('missing' in obj ? obj.missing : false) || (!existsSync('/dev/fuse') ? 'no /dev/fuse (io-slow and io-hang are built on FUSE)' : false);

interface CliRun {
  pid: number;
  done: Promise<{ doc: IoDocument; endedAt: number }>;
}

/** Starts the built CLI: `oscope io ARGS --json`; `done` resolves with the validated document. */
function oscopeIo(args: string[]): CliRun {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'oscope'), 'io', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const done = new Promise<{ doc: IoDocument; endedAt: number }>((resolve, reject) => {
    child.once('exit', (code) => {
      const endedAt = Date.now() / 1000;
      if (code !== 0) return reject(new Error(`oscope io ${args.join(' ')} exited ${code}: ${err.trim()}`));
      try {
        const doc = IoDocumentSchema.parse(JSON.parse(out));
        assert.equal(doc.schema, IO_SCHEMA);
        resolve({ doc, endedAt });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
  return { pid: child.pid!, done };
}

/** Waits until the process holds a BPF link (the tracer is attached). */
async function attached(pid: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:bpf_link'; } catch { return false; } })) return;
    } catch {
      throw new Error(`oscope io (${pid}) exited before its tracer was attached`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`oscope io (${pid}) did not attach its tracer within ${timeoutMs} ms`);
}

/** A cgroup's bytes on one device: v1 blkio.throttle.io_service_bytes, v2 io.stat. */
function cgroupBytes(cgroup: string, majMin: string, version: number): { read: number; write: number } {
  if (version === 1) {
    const text = readFileSync(join(cgroup, 'blkio.throttle.io_service_bytes'), 'utf8');
    const get = (op: string): number => Number(new RegExp(`^${majMin} ${op} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { read: get('Read'), write: get('Write') };
  }
  const line = readFileSync(join(cgroup, 'io.stat'), 'utf8').split('\n').find((l) => l.startsWith(`${majMin} `)) ?? '';
  const get = (k: string): number => Number(new RegExp(`\\b${k}=(\\d+)`).exec(line)?.[1] ?? 0);
  return { read: get('rbytes'), write: get('wbytes') };
}

const within = (got: number, want: number, frac: number): boolean => Math.abs(got - want) <= want * frac;

test('io-slow: the device stage carries the injected latency, p50 within 20 %', { skip }, async (t) => {
  const latencyMs = 20;
  const run = await runScenario('io-slow', { latencyMs });
  try {
    const disk = String(run.created.details!.disk);
    const { doc } = await oscopeIo(['-i', '3', '--disk', disk]).done;
    const d = doc.latency.perDisk.find((x) => x.disk === disk);
    assert.ok(d, `no latency for ${disk}: ${JSON.stringify(doc.latency.perDisk.map((x) => x.disk))}`);
    t.diagnostic(`${disk}: ${JSON.stringify(Object.fromEntries(Object.entries(d.stages).map(([k, v]) => [k, { n: v.count, p50: v.p50Ms, mean: v.meanMs }])))}`);
    assert.equal(d.dominant, 'device');
    assert.ok(d.stages.device.count >= 20, `only ${d.stages.device.count} requests traced`);
    assert.ok(within(d.stages.device.p50Ms, latencyMs, 0.2), `device p50 ${d.stages.device.p50Ms} ms vs ${latencyMs} ms injected`);
    const f = doc.findings.find((x) => x.id === 'io.latency.device');
    assert.ok(f, `no io.latency.device in ${doc.findings.map((x) => x.id).join(', ')}`);
    assert.match(f.conclusion, new RegExp(disk));
    assert.ok(!doc.findings.some((x) => x.id === 'io.latency.queue' || x.id === 'io.latency.wake'), 'the latency is not in the queue or the wake-up');
  } finally {
    await cleanupRun(run.runId);
  }
});

test('io-burst: the writer and the reader are named with bytes within 10 % of the rate and of their cgroups\' counters', { skip }, async (t) => {
  const rate = 4 * 1024 * 1024;
  const run = await runScenario('io-burst', { rate });
  try {
    const det = run.created.details!;
    const majMin = String(det.majMin);
    const version = Number(det.cgroupVersion);
    const cgW = String(det.writerCgroup);
    const cgR = String(det.readerCgroup);
    // Let the writer's first flushes settle, then count.
    await new Promise((r) => setTimeout(r, 1000));
    const k0 = { w: cgroupBytes(cgW, majMin, version), r: cgroupBytes(cgR, majMin, version), at: Date.now() / 1000 };
    const { doc } = await oscopeIo(['-i', '4']).done;
    const k1 = { w: cgroupBytes(cgW, majMin, version), r: cgroupBytes(cgR, majMin, version), at: Date.now() / 1000 };
    const want = rate * doc.intervalS;
    const writer = doc.traffic.processes.find((p) => p.comm === IO_WRITER && p.pid === Number(det.writerPid));
    const reader = doc.traffic.processes.find((p) => p.comm === IO_READER && p.pid === Number(det.readerPid));
    assert.ok(writer && reader, `writer/reader not in ${JSON.stringify(doc.traffic.processes.slice(0, 5))}`);
    const kernelR = (k1.r.read - k0.r.read) / (k1.at - k0.at);
    const kernelW = (k1.w.write - k0.w.write) / (k1.at - k0.at);
    const disk = doc.disks.find((x) => x.majMin === majMin);
    t.diagnostic(`interval ${doc.intervalS} s, want ${want}: writer ${writer.writeBytes} B, reader ${reader.readBytes} B; kernel cgroup rates: reader read ${Math.round(kernelR)} B/s, writer write ${Math.round(kernelW)} B/s (v${version}); disk ${disk?.readBytesPerS}/${disk?.writeBytesPerS} B/s`);
    assert.ok(within(writer.writeBytes, want, 0.1), `writer wrote ${writer.writeBytes} B, want ${want} ±10 %`);
    assert.ok(within(reader.readBytes, want, 0.1), `reader read ${reader.readBytes} B, want ${want} ±10 %`);
    assert.ok(writer.readBytes < want * 0.05 && reader.writeBytes < want * 0.05, 'each does one thing');
    // Their cgroups, by path as the kernel names them.
    const rel = (p: string): string => p.slice(p.lastIndexOf('/'));
    const cw = doc.traffic.cgroups.find((c) => c.path === rel(cgW));
    const cr = doc.traffic.cgroups.find((c) => c.path === rel(cgR));
    assert.ok(cw && cr, `cgroups ${rel(cgW)} and ${rel(cgR)} not in ${JSON.stringify(doc.traffic.cgroups.slice(0, 5))}`);
    assert.ok(within(cw.writeBytes, want, 0.1) && within(cr.readBytes, want, 0.1), `cgroup bytes ${cw.writeBytes}/${cr.readBytes} vs ${want}`);
    // The reader's cgroup counter (the kernel's own, read directly) agrees with the rate and with oscope.
    assert.ok(within(kernelR, rate, 0.1), `kernel: reader cgroup read ${kernelR} B/s vs ${rate}`);
    assert.ok(within(cr.readBytes / doc.intervalS, kernelR, 0.1), `oscope ${cr.readBytes / doc.intervalS} B/s vs kernel ${kernelR} B/s`);
    // Writeback is charged to the dirtier's cgroup only with cgroup writeback (v2 memory + io); on v1 the
    // flusher's writes go to the root cgroup, so there the writer's counter cannot be compared.
    const cgwb = version === 2 && readFileSync(join(cgW, '..', 'cgroup.subtree_control'), 'utf8').includes('memory');
    if (cgwb) assert.ok(within(kernelW, rate, 0.1), `kernel: writer cgroup wrote ${kernelW} B/s vs ${rate}`);
    else t.diagnostic(`cgroup v${version} without cgroup writeback: the writer's cgroup counter shows ${Math.round(kernelW)} B/s (writeback is charged to the root), compared through /proc/PID/io only`);
    // The disk writes are writeback's (the writer only dirtied pages).
    assert.ok(disk && within(disk.writeBytesPerS, rate, 0.2), `disk wrote ${disk?.writeBytesPerS} B/s vs ${rate}`);
  } finally {
    await cleanupRun(run.runId);
  }
});

test('io-hang: the request in flight is found with its age within 1 s, the victim in D state with its stack', { skip }, async (t) => {
  // The tracer attaches first, so it sees the request issued (a request issued before it is only seen
  // from /proc/diskstats, without its age).
  const cli = oscopeIo(['-i', '5', '--threshold', 'io.hangS=2']);
  await attached(cli.pid);
  const attachedAt = Date.now() / 1000;
  const run = await runScenario('io-hang', {});
  try {
    const det = run.created.details!;
    const disk = String(det.disk);
    const { doc } = await cli.done;
    const h = doc.hangs.find((x) => x.disk === disk);
    assert.ok(h, `no hang on ${disk}: ${JSON.stringify(doc.hangs)}`);
    // The interval starts when the tracer is attached and the age is taken when it ends.
    const age = attachedAt + doc.intervalS - Number(det.issuedAt);
    t.diagnostic(`hang ${JSON.stringify(h)}; issued ${age.toFixed(2)} s before the interval ended`);
    assert.equal(h.kind, 'request');
    assert.ok(Math.abs(h.ageS - age) <= 1, `age ${h.ageS} s vs ${age.toFixed(2)} s since the read was issued`);
    assert.equal(h.comm, IO_VICTIM);
    assert.ok(doc.findings.some((f) => f.id === 'io.hang'), 'io.hang finding');
    const g = doc.dTasks.find((x) => x.tasks.some((k) => k.pid === Number(det.victimPid)));
    assert.ok(g, `victim ${det.victimPid} not among the D tasks ${JSON.stringify(doc.dTasks.map((x) => x.tasks))}`);
    assert.ok(g.stack.some((f) => /blkdev_direct_IO|submit_bio_wait|blk_io_schedule/.test(f)), `stack: ${g.stack.join(' < ')}`);
  } finally {
    await cleanupRun(run.runId);
  }
  await cli.done.catch(() => undefined);
});

/** The run's loop devices, mounts and processes are all gone (nothing left in D state either). */
function assertGone(resources: readonly Resource[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const r of resources) {
    if (r.kind === 'loop' && r.device) assert.notEqual(loopBacking(r.device), r.backing, `${r.device} detached`);
    if (r.kind === 'mount') assert.ok(!mounts.includes(` ${r.path} `), `${r.path} unmounted`);
    if (r.kind === 'dir' || r.kind === 'file' || r.kind === 'cgroup') assert.ok(!existsSync(r.path), `${r.path} removed`);
    if (r.kind === 'process') assert.ok(!isSameProcessAlive(r), `${r.role} ${r.pid} stopped`);
  }
}

const BIN = join(REPO_ROOT, 'bin', 'oscope');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('io-hang: Ctrl-C releases the held read and removes everything; a crashed detached run is released and cleaned up later', { skip }, async () => {
  const env = { ...process.env, OSCOPE_STATE_DIR: STATE };
  // Ctrl-C of a foreground run while the victim is in D state.
  const child = spawn(process.execPath, [BIN, 'simulate', 'io-hang'], { env, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let resources: Resource[] = [];
  try {
    for (let i = 0; i < 200 && listStates(STATE)[0]?.status !== 'running'; i++) await sleep(50);
    resources = listStates(STATE)[0]?.resources ?? [];
    const victim = resources.find((r) => r.kind === 'process' && r.role === 'victim') as Extract<Resource, { kind: 'process' }> | undefined;
    assert.ok(victim, 'the run recorded its victim');
    for (let i = 0; i < 40 && readFileSync(`/proc/${victim.pid}/stat`, 'utf8').split(') ')[1]![0] !== 'D'; i++) await sleep(50);
    assert.equal(readFileSync(`/proc/${victim.pid}/stat`, 'utf8').split(') ')[1]![0], 'D', 'the victim is in D state');
    child.kill('SIGINT');
    assert.equal(await exited, 0, 'Ctrl-C while holding ends the run normally');
    assertGone(resources);
    assert.equal(listStates(STATE).length, 0, 'state file removed');
  } finally {
    child.kill('SIGKILL');
  }
  // A detached run whose runner dies with SIGKILL: the helpers notice, the held read is answered (the
  // victim leaves D state by itself), and `oscope simulate cleanup` removes the device and the mount.
  const r = spawnSync(process.execPath, [BIN, 'simulate', 'io-hang', '--detach', '--json'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as RunResult;
  const state = listStates(STATE).find((s) => s.runId === sum.runId)!;
  const victim = sum.resources.find((x) => x.kind === 'process' && x.role === 'victim') as Extract<Resource, { kind: 'process' }>;
  process.kill(state.owner.pid, 'SIGKILL');
  for (let i = 0; i < 100 && isSameProcessAlive(victim); i++) await sleep(50);
  assert.ok(!isSameProcessAlive(victim), 'the victim was released and exited after the crash');
  const c = spawnSync(process.execPath, [BIN, 'simulate', 'cleanup'], { env, encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  assertGone(sum.resources);
});
