/**
 * Child process for the lifecycle tests (not a test file itself):
 *   node attach-child.js hold     loads the self-test object, attaches every kind it can, opens its ring
 *                                 buffer, prints {"ids":[...]} and waits to be killed (SIGKILL test);
 *   node attach-child.js tracepoint
 *                                 attaches the classic tracepoint program (run it where tracefs is
 *                                 mounted, e.g. in a private mount namespace), execs /bin/true and prints
 *                                 {"count":N} (its exec_counts entry);
 *   node --expose-gc attach-child.js forget
 *                                 loads and attaches, drops every reference without closing, runs the
 *                                 GC, and prints {"ids":[...],"before":[...],"remaining":[...]} (finalizer test).
 */
import { execFileSync } from 'node:child_process';
import { setImmediate as tick } from 'node:timers/promises';
import { requireNative } from '../../../src/kernel/native.js';
import { PerfEvent, SELFTEST_PROGRAMS, SELFTEST_SOURCE, bpfObjectPath, openObject } from '../../../src/kernel/bpf/index.js';

function loadAndAttach(withRingBuffer: boolean): number[] {
  const obj = openObject(bpfObjectPath('selftest')).setRodata('filter_ppid', 0x7ffffffe).load();
  const P = SELFTEST_PROGRAMS;
  obj.program(P.rawTracepoint).attach();
  obj.program(P.tpBtf).attach();
  obj.program(P.iterator).attachIter();
  const ev = PerfEvent.open({ type: 1, config: 0, cpu: 0, pid: -1, samplePeriod: 100_000_000 });
  obj.program(P.perfEvent).attachPerfEvent(ev);
  if (withRingBuffer) obj.ringBuffer('events');
  return Object.values(P)
    .filter((p) => p !== P.tracepoint)
    .map((p) => obj.program(p).info().id ?? -1);
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === 'hold') {
    const ids = loadAndAttach(true);
    process.stdout.write(`${JSON.stringify({ ids })}\n`);
    setInterval(() => undefined, 1000);
    return;
  }
  if (mode === 'tracepoint') {
    const obj = openObject(bpfObjectPath('selftest')).setRodata('filter_ppid', process.pid).load();
    try {
      obj.program(SELFTEST_PROGRAMS.tracepoint).attachTracepoint('sched', 'sched_process_exec');
      execFileSync('/bin/true');
      const v = obj.map('exec_counts').lookup(Buffer.from([SELFTEST_SOURCE.tracepoint, 0, 0, 0]));
      process.stdout.write(`${JSON.stringify({ count: v ? Number(v.readBigUInt64LE(0)) : 0 })}\n`);
    } finally {
      obj.close();
    }
    return;
  }
  if (mode === 'forget') {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run with --expose-gc');
    const ids = loadAndAttach(false);
    const n = requireNative();
    const before = ids.filter((id) => n.progExists(id));
    let remaining = ids;
    for (let i = 0; i < 200 && remaining.length > 0; i++) {
      gc();
      await tick();
      await new Promise((r) => setTimeout(r, 20));
      remaining = remaining.filter((id) => n.progExists(id));
    }
    process.stdout.write(`${JSON.stringify({ ids, before, remaining })}\n`);
    return;
  }
  throw new Error(`unknown mode ${String(mode)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
