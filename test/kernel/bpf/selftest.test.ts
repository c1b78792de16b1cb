/**
 * Live tests of the whole BPF pipeline with bpf/selftest.bpf.c: CO-RE load, const volatile filter,
 * raw_tp / tp_btf / tracepoint / perf event / iterator attach, hash, per-CPU, stack and ring buffer
 * maps, and the lifecycle: close, SIGKILL and forgotten handles all leave no program behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { isNativeError, loadNative, requireNative } from '../../../src/kernel/native.js';
import {
  type BpfObject,
  SELFTEST_PROGRAMS,
  SELFTEST_SOURCE,
  type SelftestEvent,
  TypedMap,
  decodeSelftestEvent,
  findBpfObject,
  openCpuClockPerCpu,
  openObject,
  parseTaskIterOutput,
  readKernelStack,
  sumPerCpuU64,
  tracefsMounted,
  u32,
  u64,
} from '../../../src/kernel/bpf/index.js';
import { readKallsyms } from '../../../src/kernel/syms/kallsyms.js';
import { isRoot } from '../../helpers.js';

const native = loadNative();
const object = findBpfObject('selftest');
const skip: string | false = !native.available
  ? `native addon unavailable: ${native.reason}`
  : 'missing' in object
    ? object.missing
    : !isRoot
      ? 'needs root (bpf() and perf events)'
      : !existsSync('/sys/kernel/btf/vmlinux')
        ? 'this kernel has no BTF (/sys/kernel/btf/vmlinux)'
        : false;
const objectPath = 'path' in object ? object.path : '';
const P = SELFTEST_PROGRAMS;
const IMPOSSIBLE_PPID = 0x7ffffffe;

function programIds(obj: BpfObject): number[] {
  return obj
    .programs()
    .map((p) => obj.program(p.name).info())
    .filter((i) => i.loaded)
    .map((i) => i.id!);
}

/** Polls until the kernel has freed these program ids (freeing may be RCU-deferred). */
async function remainingAfter(ids: number[], deadlineMs = 15_000): Promise<number[]> {
  const n = requireNative();
  const end = Date.now() + deadlineMs;
  let left = ids;
  while (left.length > 0 && Date.now() < end) {
    left = left.filter((id) => n.progExists(id));
    if (left.length > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return left;
}

function bpftoolIds(): number[] | undefined {
  try {
    const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' });
    return (JSON.parse(out) as Array<{ id: number }>).map((p) => p.id);
  } catch {
    return undefined;
  }
}

async function assertGone(ids: number[]): Promise<void> {
  assert.deepEqual(await remainingAfter(ids), [], 'no program remains in the kernel');
  const listed = bpftoolIds();
  if (listed) assert.deepEqual(listed.filter((id) => ids.includes(id)), [], 'bpftool prog show does not list them');
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('bpf selftest: load, filter, exec events through the ring buffer, stacks, iterator, close', { skip }, async () => {
  const obj = openObject(objectPath);
  let ids: number[] = [];
  try {
    assert.deepEqual(
      obj.globals().filter((g) => g.section === '.rodata' && !g.name.includes('.')).map((g) => g.name).sort(),
      ['filter_ppid', 'want_stacks'],
    );
    obj.setRodata('filter_ppid', process.pid).setRodata('want_stacks', true).load();
    ids = programIds(obj);
    assert.equal(ids.length, Object.keys(P).length);
    for (const name of Object.values(P)) assert.equal(obj.program(name).info().kernelName, name, 'kernel names carry the oscope_ prefix');

    obj.program(P.rawTracepoint).attach();
    obj.program(P.tpBtf).attach();
    const sources = new Set<string>(['rawTracepoint', 'tpBtf']);
    if (tracefsMounted()) {
      obj.program(P.tracepoint).attachTracepoint('sched', 'sched_process_exec');
      sources.add('tracepoint');
    } else {
      assert.throws(() => obj.program(P.tracepoint).attach(), /tracefs is not mounted/);
    }
    const rb = obj.ringBuffer('events');

    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    const childPid = child.pid!;
    await new Promise((r) => child.on('exit', r));

    const seen = new Map<string, SelftestEvent>();
    await withTimeout(
      (async () => {
        for await (const rec of rb) {
          const ev = decodeSelftestEvent(rec);
          assert.equal(ev.ppid, process.pid, 'the filter passes only our children');
          if (ev.pid === childPid) seen.set(ev.source, ev);
          if (seen.size === sources.size) break;
        }
      })(),
      10_000,
      'the child exec events',
    );
    assert.ok(rb.closed, 'leaving the for-await loop closes the ring buffer');
    for (const s of sources) {
      const ev = seen.get(s);
      assert.ok(ev, `${s} saw the exec`);
      assert.equal(ev.filename, '/bin/true');
      assert.equal(ev.comm, 'true');
    }

    // Counts by source, through a batched dump.
    const counts = new TypedMap(obj.map('exec_counts'), u32, u64);
    const byKey = new Map(counts.entries());
    for (const s of sources) assert.ok((byKey.get(SELFTEST_SOURCE[s as keyof typeof SELFTEST_SOURCE]) ?? 0n) >= 1n);
    assert.equal(obj.map('exec_counts').dump().batched, true, 'hash maps dump in batches');

    // The kernel stack of the exec, symbolised.
    const syms = await readKallsyms(new LiveHost());
    const stacks = obj.map('stacks');
    const frames = readKernelStack(stacks, seen.get('tpBtf')!.stackId, syms);
    assert.ok(frames.length > 0, 'a kernel stack was recorded');
    assert.ok(frames.some((f) => /exec/.test(f.symbol ?? '')), `an exec function in ${frames.map((f) => f.text).join(' < ')}`);
    assert.equal(stacks.dump().batched, false, 'stack maps fall back to a key walk');

    // .bss global through its internal map.
    const bss = obj.map('.bss').lookup(Buffer.alloc(4));
    assert.equal(bss?.readBigUInt64LE(0), 0n, 'no event was lost');

    // The task iterator lists this process, sync and async.
    const it = obj.program(P.iterator).attachIter();
    const rows = parseTaskIterOutput(it.readIter().toString('utf8'));
    assert.ok(rows.some((r) => r.tgid === process.pid && r.pid === process.pid));
    const rowsAsync = parseTaskIterOutput((await it.readIterAsync()).toString('utf8'));
    assert.ok(rowsAsync.some((r) => r.tgid === process.pid));
  } finally {
    obj.close();
  }
  obj.close(); // idempotent
  await assertGone(ids);
});

test('bpf selftest: the const volatile filter drops other parents in the kernel', { skip }, async () => {
  const obj = openObject(objectPath);
  let ids: number[] = [];
  try {
    obj.setRodata('filter_ppid', IMPOSSIBLE_PPID).load();
    ids = programIds(obj);
    obj.program(P.rawTracepoint).attach();
    obj.program(P.tpBtf).attach();
    execFileSync('/bin/true');
    // The programs run synchronously in exec: once the child is gone its events would be counted.
    assert.equal(obj.map('exec_counts').dump().entries.length, 0);
  } finally {
    obj.close();
  }
  await assertGone(ids);
});

test('bpf selftest: perf_event programs run on per-CPU cpu-clock events', { skip }, async () => {
  const obj = openObject(objectPath).load();
  const cpus = [...Array(availableParallelism()).keys()];
  const events = openCpuClockPerCpu(1_000_000, cpus);
  let ids: number[] = [];
  try {
    ids = programIds(obj);
    assert.ok(events.length >= 1);
    for (const e of events) obj.program(P.perfEvent).attachPerfEvent(e.event);
    const samples = obj.map('perf_samples');
    assert.equal(samples.info.valueStride, 8 * requireNative().numPossibleCpus());
    let total = 0n;
    const end = Date.now() + 10_000;
    while (total === 0n && Date.now() < end) {
      const t0 = Date.now();
      while (Date.now() - t0 < 20) {
        /* burn CPU so the cpu-clock ticks */
      }
      total = sumPerCpuU64(samples.lookup(Buffer.alloc(4))!);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(total > 0n, 'the perf_event program counted samples');
  } finally {
    obj.close();
    for (const e of events) e.event.close();
  }
  await assertGone(ids);
});

test('bpf maps: update, lookup, walk, delete and batched dump-and-delete', { skip }, async () => {
  const obj = openObject(objectPath).load();
  const ids = programIds(obj);
  try {
    const m = obj.map('exec_counts');
    const t = new TypedMap(m, u32, u64);
    for (let k = 100; k < 110; k++) t.set(k, BigInt(k * 2));
    assert.equal(t.get(105), 210n);
    assert.equal(t.get(999), undefined);
    assert.equal([...m.keys()].length, 10);
    assert.equal(t.delete(100), true);
    assert.equal(t.delete(100), false);
    assert.equal(m.deleteMany([u32.encode(101), u32.encode(102)]), 2);
    const dumped = m.dump({ delete: true });
    assert.equal(dumped.batched, true);
    assert.deepEqual(dumped.entries.map((e) => u32.decode(e.key)).sort((a, b) => a - b), [103, 104, 105, 106, 107, 108, 109]);
    assert.equal(m.dump().entries.length, 0, 'dump-and-delete emptied the map');
    assert.throws(() => m.lookup(Buffer.alloc(3)), /key must be 4 bytes/);
  } finally {
    obj.close();
  }
  await assertGone(ids);
});

test('bpf maps: setMaxEntries sizes a map before load and is refused after', { skip }, async () => {
  const obj = openObject(objectPath);
  try {
    assert.equal(obj.maps().find((m) => m.name === 'exec_counts')?.maxEntries, 1024);
    obj.setMaxEntries('exec_counts', 3000);
    assert.equal(obj.maps().find((m) => m.name === 'exec_counts')?.maxEntries, 3000, 'libbpf sees the new size before load');
    assert.throws(() => obj.setMaxEntries('exec_counts', 0), /from 1 to 4294967295/);
    assert.throws(() => obj.setMaxEntries('oscope_test_no_such_map', 10), (e: unknown) => isNativeError(e) && e.code === 'ENOENT');
    obj.load();
    const m = obj.map('exec_counts');
    assert.equal(m.info.maxEntries, 3000, 'the kernel created the map with 3000 entries');
    const t = new TypedMap(m, u32, u64);
    for (let k = 0; k < 3000; k++) t.set(k, 1n);
    assert.throws(() => t.set(3000, 1n), (e: unknown) => isNativeError(e) && e.code === 'E2BIG', 'entry 3001 does not fit');
    assert.throws(() => obj.setMaxEntries('exec_counts', 10), /can only be sized before load/);
  } finally {
    obj.close();
  }
});

const childScript = fileURLToPath(new URL('./attach-child.js', import.meta.url));

test('bpf lifecycle: kill -9 of a process with attached programs leaves nothing attached', { skip }, async () => {
  const child = spawn(process.execPath, [childScript, 'hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', (code) => reject(new Error(`child exited (${String(code)}): ${stderr}`)));
      }),
      20_000,
      'the child to attach',
    );
    const { ids } = JSON.parse(line) as { ids: number[] };
    assert.equal(ids.length, 4);
    const n = requireNative();
    assert.ok(ids.every((id) => n.progExists(id)), 'the child\'s programs are loaded');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    await assertGone(ids);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('bpf lifecycle: finalizers release objects and links JS forgot to close', { skip }, async () => {
  const out = execFileSync(process.execPath, ['--expose-gc', childScript, 'forget'], { encoding: 'utf8', timeout: 60_000 });
  const { ids, before, remaining } = JSON.parse(out.trim()) as { ids: number[]; before: number[]; remaining: number[] };
  assert.equal(ids.length, 4);
  assert.deepEqual(before, ids, 'the programs were loaded before the references were dropped');
  assert.deepEqual(remaining, [], 'garbage collection detached and unloaded everything');
});

test('bpf selftest: a classic tracepoint attaches where tracefs is mounted (private mount namespace)', { skip }, (t) => {
  if (tracefsMounted()) {
    // The main test attached it already on this host.
    t.skip('tracefs is mounted on this host: covered by the first test');
    return;
  }
  // A mount namespace of our own: mounting tracefs there changes nothing for the host and ends with it.
  const script = `mount -t tracefs nodev /sys/kernel/tracing || exit 77; exec "$0" "$1" tracepoint`;
  let out: string;
  try {
    out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath, childScript], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 77 || (err as { code?: string }).code === 'ENOENT') {
      t.skip('cannot mount tracefs in a private mount namespace here (unshare/mount unavailable)');
      return;
    }
    throw err;
  }
  const { count } = JSON.parse(out.trim()) as { count: number };
  assert.ok(count >= 1, 'the tracepoint program counted the exec of /bin/true');
});

test('bpf lifecycle: repeated open/attach/ring buffer/close cycles leak no fds', { skip }, async () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const cycle = async (): Promise<void> => {
    const obj = openObject(objectPath).setRodata('filter_ppid', process.pid).load();
    try {
      obj.program(P.rawTracepoint).attach();
      const it = obj.program(P.iterator).attachIter();
      await it.readIterAsync();
      const rb = obj.ringBuffer('events', { onRecords: () => undefined });
      execFileSync('/bin/true');
      assert.ok(!rb.closed);
      obj.map('exec_counts').dump();
    } finally {
      obj.close(); // closes the ring buffer mid-stream too
    }
  };
  await cycle(); // warm up lazily opened fds (libbpf's vmlinux BTF, the thread pool)
  const before = fds();
  for (let i = 0; i < 20; i++) await cycle();
  assert.equal(fds(), before, 'every fd the cycles opened was closed');
});

test('bpf errors: a verifier rejection reaches JS with code, errno and the verifier log', { skip }, () => {
  const reject = findBpfObject('selftest_reject');
  assert.ok('path' in reject, 'the reject object is built with the others');
  const obj = openObject(reject.path);
  try {
    assert.throws(
      () => obj.load(),
      (e: unknown) => {
        assert.ok(isNativeError(e));
        assert.equal(e.code, 'EACCES');
        assert.equal(e.errno, -13);
        assert.equal(e.syscall, 'bpf_object__load');
        assert.match(e.log ?? '', /map_value_or_null/, 'the verifier says why');
        assert.match(e.message, /the verifier rejected oscope_st_bad: R0 invalid mem access 'map_value_or_null'/);
        return true;
      },
    );
    assert.throws(() => openObject('/bin/true'), (e: unknown) => isNativeError(e) && e.code === 'LIBBPF_ERRNO__FORMAT' && /not a valid eBPF object/.test(e.log ?? ''));
  } finally {
    obj.close();
  }
});
