/**
 * The agent's I/O collectors on this kernel, as root: the always-on BPF histogram counts this test's
 * own O_DIRECT writes on the disk under /var/tmp, /metrics exports them per disk and stage, a cgroup of
 * the test's own gets its bytes (blkio v1 / io.stat v2), and the `io` task runs. Skips with the reason
 * when not root, without BPF or without the cgroups it needs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { type DiskLatencyInterval, IoLatencySource, type IoLatencyReading, majMinOf, startIolatBpf } from '../../src/agent/iolat.js';
import { IoDocumentSchema } from '../../src/contract/io.js';
import { findBpfObject } from '../../src/kernel/bpf/index.js';
import { LiveHost } from '../../src/host/live.js';
import { needsRoot, testName } from '../helpers.js';

const bpf = findBpfObject('iolat');
const noBpf = needsRoot || ('missing' in bpf ? `iolat BPF object not built: ${bpf.missing}` : false);
const DIR = '/var/tmp';
const BLOCKS = 256;

/** The whole disk (name, "major:minor") holding `path` (a partition's parent disk). */
function diskOf(path: string): { name: string; majMin: string } | undefined {
  const dev = statSync(path).dev;
  const majMin = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  const sys = `/sys/dev/block/${majMin}`;
  if (!existsSync(sys)) return undefined;
  let dir = join('/sys/dev/block', readlinkSync(sys));
  if (existsSync(join(dir, 'partition'))) dir = dirname(dir);
  return { name: basename(dir), majMin: readFileSync(join(dir, 'dev'), 'utf8').trim() };
}

/** BLOCKS × 4 KiB O_DIRECT writes to a file of the test's own, in `cgroupProcs` files first when given. */
function ddDirect(file: string, cgroupProcs: string[] = []): void {
  const join_ = cgroupProcs.map((f) => `echo $$ > ${f}`).join(' && ');
  const r = spawnSync('sh', ['-c', `${join_ ? `${join_} && ` : ''}exec dd if=/dev/zero of=${file} bs=4k count=${BLOCKS} oflag=direct conv=fsync`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('iolat: the always-on histogram counts this test’s O_DIRECT writes on their disk, by stage, on both paths (stamped and sampled; classic with the wake stage)', { skip: noBpf }, async () => {
  const file = join(DIR, testName('iolat'));
  const disk = diskOf(DIR);
  if (!disk) return assert.fail(`no block device under ${DIR}`);
  const classic = await IoLatencySource.start(() => Promise.resolve(startIolatBpf({ wake: true })));
  if (!('source' in classic)) return assert.fail(classic.unavailable);
  const stamped = await IoLatencySource.start(() => Promise.resolve(startIolatBpf({ wake: false })));
  if (!('source' in stamped)) {
    classic.source.close();
    return assert.fail(stamped.unavailable);
  }
  const names = new Map([[disk.majMin, disk.name]]);
  try {
    classic.source.read(names);
    stamped.source.read(names);
    ddDirect(file);
    for (const [label, src] of [['classic', classic.source], ['stamped', stamped.source]] as const) {
      const reading: IoLatencyReading = src.read(names);
      const d: DiskLatencyInterval | undefined = reading.interval.find((x) => x.majMin === disk.majMin);
      assert.ok(d, `${label}: no histogram for ${disk.name} (${disk.majMin}): ${JSON.stringify(reading.interval.map((x) => x.disk))}`);
      assert.equal(d.disk, disk.name);
      assert.ok(d.stages.device.count >= BLOCKS, `${label}: device stage counted ${d.stages.device.count} requests, ${BLOCKS} written`);
      assert.ok(d.stages.device.p50Ms !== null && d.stages.device.meanMs! > 0);
      assert.ok(d.stages.queue.count > 0, `${label}: the queue stage (bio → request) is measured too`);
      const cum = reading.cumulative.find((h) => majMinOf(h.dev) === disk.majMin && h.stage === 'device');
      assert.ok(cum && cum.count >= d.stages.device.count && cum.disk === disk.name);
      console.log(`${label} (${src.method}): ${disk.name}: device p50 ${d.stages.device.p50Ms} ms p99 ${d.stages.device.p99Ms} ms over ${d.stages.device.count}; queue ${d.stages.queue.count}, sched ${d.stages.sched.count}, wake ${d.stages.wake.count}`);
      if (label === 'stamped') {
        // The sample stands for 4 requests each: its scaled counts are near the device stage's (not a timing).
        assert.ok(d.stages.queue.count <= d.stages.device.count * 3, `the sampled queue count ${d.stages.queue.count} is scaled, not multiplied twice`);
        assert.ok(d.stages.queue.count % 4 === 0, 'sampled counts are multiples of 4');
      }
    }
  } finally {
    classic.source.close();
    stamped.source.close();
    rmSync(file, { force: true });
  }
});

const cgroupSkip = ((): string | false => {
  if (needsRoot) return needsRoot;
  if (noBpf) return noBpf;
  const mem = existsSync('/sys/fs/cgroup/memory/memory.stat') ? '/sys/fs/cgroup/memory' : existsSync('/sys/fs/cgroup/memory.stat') ? '/sys/fs/cgroup' : undefined;
  if (mem !== '/sys/fs/cgroup/memory' || !existsSync('/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes_recursive')) return 'needs cgroup v1 memory and blkio hierarchies (this test makes one cgroup in each)';
  return false;
})();

test('agent: /metrics has the stage histogram per disk, disk counters and the bytes of a cgroup of the test’s own; io runs as a task', { skip: cgroupSkip }, async () => {
  const name = testName('io');
  const cg = ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/blkio'].map((h) => join(h, name));
  const file = join(DIR, name);
  const disk = diskOf(DIR)!;
  for (const d of cg) mkdirSync(d);
  const agent = await startAgent({ host: new LiveHost(), registry: defaultRegistry(), intervalMs: 3_600_000, listen: { host: '127.0.0.1', port: 0 }, rules: [], log: () => undefined, runqueue: false, kernelLog: false, cgroupMaxDepth: 1 });
  try {
    assert.deepEqual(agent.coverage.find((c) => c.source === 'io_latency'), { source: 'io_latency', status: 'up' });
    ddDirect(file, cg.map((d) => join(d, 'cgroup.procs')));
    await agent.tick();
    const text = await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text();
    const value = (re: RegExp): number => Number(text.match(re)?.[1] ?? NaN);
    const dev = value(new RegExp(`^oscope_disk_latency_seconds_count\\{disk="${disk.name}",stage="device"\\} (\\d+)$`, 'm'));
    assert.ok(dev >= BLOCKS, `device-stage count ${dev}`);
    assert.ok(value(new RegExp(`^oscope_disk_written_bytes_total\\{disk="${disk.name}"\\} (\\d+)$`, 'm')) >= BLOCKS * 4096);
    assert.match(text, new RegExp(`^oscope_disk_iops\\{disk="${disk.name}"\\} [\\d.]+$`, 'm'));
    const written = value(new RegExp(`^oscope_cgroup_io_written_bytes_total\\{cgroup="/${name}",[^}]*\\} (\\d+)$`, 'm'));
    assert.ok(written >= BLOCKS * 4096, `the cgroup wrote ${written} bytes, the test ${BLOCKS * 4096}`);
    assert.match(text, /^oscope_collector_up\{source="io_latency"\} 1$/m);

    const v = defaultRegistry().validate('io', { intervalS: 1, disk: disk.name, top: 5 });
    assert.ok(v.ok, v.ok ? '' : v.reason);
    const doc = IoDocumentSchema.parse(await v.entry.run(new LiveHost(), v.params, () => undefined));
    assert.equal(doc.intervalS > 0, true);
    assert.ok(doc.disks.every((d) => d.name === disk.name));
  } finally {
    await agent.stop();
    rmSync(file, { force: true });
    for (const d of cg) if (existsSync(d)) rmdirSync(d);
  }
});

test('without the BPF histogram the agent says why and the disk metrics still come', async () => {
  const agent = await startAgent({
    host: new LiveHost(),
    registry: defaultRegistry(),
    intervalMs: 3_600_000,
    listen: { host: '127.0.0.1', port: 0 },
    rules: [],
    log: () => undefined,
    runqueue: false,
    kernelLog: false,
    ioLatency: () => Promise.reject(new Error('the iolat BPF program did not load (no BTF)')),
  });
  try {
    assert.deepEqual(agent.coverage.find((c) => c.source === 'io_latency'), { source: 'io_latency', status: 'unavailable', reason: 'the iolat BPF program did not load (no BTF)' });
    const text = await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text();
    assert.match(text, /^oscope_collector_up\{source="io_latency"\} 0$/m);
    assert.match(text, /^oscope_disk_read_bytes_total\{disk="[^"]+"\} \d+$/m);
    assert.doesNotMatch(text, /^oscope_disk_latency_seconds_count/m);
  } finally {
    await agent.stop();
  }
});
