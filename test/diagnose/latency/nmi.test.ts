/**
 * The irqoff NMI watchdog (bpf/runlatency.bpf.c oscope_rl_nmi) and how the tracer chooses it.
 *
 * The real watchdog needs a CPU PMU whose overflow interrupt is an NMI (x86-64 with a PMU, or a VM with
 * a virtual one). Where there is none, the state machine still runs for real: the same program is
 * attached to cpu-clock events in self-test mode, where the "interrupts were on" flag comes from a map
 * the test sets instead of the interrupted registers. Everything else (runs of samples, the stack and
 * task of the run's first sample, the length estimate, the ring buffer event, the decoding) is the
 * production path. On a host with a PMU, the irq-off simulation test in live.test.ts runs on the real
 * NMI watchdog (auto picks it), and the test below checks that it was picked.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { needsRoot } from '../../helpers.js';
import { findBpfObject, openNmiWatchdogPerCpu } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';
import { LiveHost } from '../../../src/host/live.js';
import { type RawLatencyEvent, startBpfTracer } from '../../../src/diagnose/latency/bpf.js';
import { irqoffMethodFrom, runLatency } from '../../../src/diagnose/latency/run.js';
import type { KindThresholds } from '../../../src/diagnose/latency/types.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { planCommands } from '../../../src/diagnose/doctor.js';
import { readKallsyms } from '../../../src/kernel/syms/kallsyms.js';

const native = loadNative();
const obj = findBpfObject('runlatency');
const skip: string | false =
  needsRoot || (availableParallelism() < 2 ? 'the busy task pins to CPU 1: needs 2 CPUs' : false) || (!native.available ? native.reason : false) || ('missing' in obj ? obj.missing : false);
const OFF: KindThresholds = { irqoff: 0, softirq: 0, hardirq: 0, nosched: 0, runqueue: 0 };
const CPU = 1;

/** Whether this host can open the real watchdog's events (x86-64 with a sampling PMU). */
function pmu(): { ok: true } | { ok: false; why: string } {
  const r = openNmiWatchdogPerCpu(10, [0]);
  if ('unavailable' in r) return { ok: false, why: r.unavailable };
  for (const e of r.events) e.event.close();
  return { ok: true };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A task kept running on `cpu` (an idle CPU's cpu-clock samples stop under nohz). With `fifo`, at
 * SCHED_FIFO 1 so that other work on a shared machine rarely holds the CPU when a window starts (RT
 * throttling still leaves others 5 %); taskset and chrt exec: the child's pid is the busy task's.
 */
function busyOn(cpu: number, fifo = false, argv: string[] = ['sh', '-c', 'while :; do :; done']): ChildProcess {
  return spawn('taskset', ['-c', String(cpu), ...(fifo ? ['chrt', '-f', '1'] : []), ...argv], { stdio: 'ignore' });
}

test('lat.irqoffNmi maps to the irqoff method (1 auto, 0 cpu-clock, 2 NMI only)', () => {
  assert.equal(irqoffMethodFrom(resolveThresholds()), 'auto');
  assert.equal(irqoffMethodFrom(resolveThresholds({ 'lat.irqoffNmi': 0 })), 'cpu-clock');
  assert.equal(irqoffMethodFrom(resolveThresholds({ 'lat.irqoffNmi': 2 })), 'nmi');
});

test('doctor names the NMI watchdog when the PMU is there, and says what is lost without it', () => {
  const f = (ids: string[]) => ['root', 'btf', 'bpf', 'tp_btf', 'perf-events', ...ids].map((id) => ({ id, available: true, detail: '' }));
  const withNmi = planCommands(f(['nmi-watchdog'])).find((p) => p.command === 'runlatency')!;
  assert.match(withNmi.method, /hardware NMI watchdog/);
  assert.ok(!withNmi.limits.some((l) => /NMI/.test(l)), withNmi.limits.join('; '));
  const without = planCommands(f([])).find((p) => p.command === 'runlatency')!;
  assert.match(without.method, /cpu-clock perf events for irq-off and nosched/);
  assert.ok(without.limits.some((l) => /no hardware NMI watchdog/.test(l)), without.limits.join('; '));
});

test('NMI watchdog state machine (self-test on cpu-clock): a run of interrupts-off samples is one irqoff event with the task, its stack and the run length', { skip }, async (t) => {
  const events: RawLatencyEvent[] = [];
  const r = startBpfTracer({ thresholds: { ...OFF, irqoff: 20 }, samplePeriodMs: 1, nmiSelftest: 'flag-map', histograms: false, onEvent: (e) => events.push(e) });
  if ('unavailable' in r) assert.fail(r.unavailable);
  const tracer = r.tracer;
  const busy = busyOn(CPU, true);
  try {
    assert.match(tracer.method.irqoff ?? '', /self-test/);
    assert.equal(tracer.coverage.find((c) => c.section === 'irqoff')?.status, 'complete');
    tracer.nmiSelftestIrqs!(true);
    await sleep(300); // the busy task is on its CPU
    assert.equal(events.length, 0, 'interrupts "on" everywhere: no event');
    const mine = (): RawLatencyEvent[] => events.filter((e) => e.cpu === CPU && e.pid === busy.pid);
    // A window shorter than the threshold: nothing; longer ones: one event each, as long as the window.
    for (const ms of [8, 60, 150]) {
      let got: RawLatencyEvent[] = [];
      let windowMs = 0;
      // A run belongs to whoever ran at its first sample: on a shared machine another task may have
      // held the CPU then (the event is right, but not about the busy task): try again, a few times.
      for (let attempt = 0; attempt < 5; attempt++) {
        events.length = 0;
        const a = process.hrtime.bigint();
        tracer.nmiSelftestIrqs!(false);
        await sleep(ms);
        tracer.nmiSelftestIrqs!(true);
        windowMs = Number(process.hrtime.bigint() - a) / 1e6;
        await sleep(100);
        got = mine();
        if (ms < 20 || got.length > 0) break;
        t.diagnostic(`CPU ${CPU} ran someone else at the window's start: ${JSON.stringify(events.map((e) => [e.cpu, e.comm]))}`);
      }
      if (ms < 20) {
        assert.equal(got.length, 0, `a ${windowMs.toFixed(1)} ms window is under the 20 ms threshold: ${JSON.stringify(got.map((e) => e.latencyNs / 1e6))}`);
        continue;
      }
      assert.equal(got.length, 1, `one event for the busy task on CPU ${CPU}, got ${JSON.stringify(events.map((e) => [e.cpu, e.pid, e.comm, e.latencyNs / 1e6]))}`);
      const e = got[0]!;
      assert.equal(e.kind, 'irqoff');
      assert.equal(e.culpritPid, busy.pid);
      assert.equal(e.comm, 'sh');
      assert.ok(e.extra >= Math.floor(windowMs / 2), `samples in the run: ${e.extra}`);
      const lat = e.latencyNs / 1e6;
      assert.ok(Math.abs(lat - windowMs) <= windowMs * 0.2, `latency ${lat.toFixed(1)} ms for a ${windowMs.toFixed(1)} ms window`);
    }
  } finally {
    busy.kill('SIGKILL');
    tracer.close();
  }
});

test('NMI watchdog stack: a run that starts in kernel code keeps the kernel stack of its first sample (inside the section)', { skip }, async () => {
  const events: RawLatencyEvent[] = [];
  const r = startBpfTracer({ thresholds: { ...OFF, irqoff: 20 }, samplePeriodMs: 1, nmiSelftest: 'flag-map', histograms: false, onEvent: (e) => events.push(e) });
  if ('unavailable' in r) assert.fail(r.unavailable);
  const tracer = r.tracer;
  // dd from /dev/zero spends most of its time in the kernel (read_iter_zero, clearing user pages).
  const dd = busyOn(CPU, true, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M']);
  try {
    const syms = await readKallsyms(new LiveHost());
    await sleep(200);
    let found: string[] | undefined;
    const seen: unknown[] = [];
    for (let i = 0; i < 10 && !found; i++) {
      events.length = 0;
      tracer.nmiSelftestIrqs!(false);
      await sleep(40);
      tracer.nmiSelftestIrqs!(true);
      await sleep(60);
      const e = events.find((x) => x.cpu === CPU && x.pid === dd.pid && x.stackId >= 0);
      seen.push(events.map((x) => [x.cpu, x.comm, x.stackId]));
      if (e) found = syms.symbolize(tracer.stack(e.stackId)).map((f) => f.text);
    }
    assert.ok(found, `a run that started in dd's kernel code: ${JSON.stringify(seen)}`);
    assert.ok(found.length > 0);
    // Kernel text, symbolized (dd's read path, or a page fault it took): where the section "began".
    if (!syms.restricted) assert.ok(found.every((f) => /^[\w.]+\+0x[0-9a-f]+/.test(f)), found.join(' < '));
  } finally {
    dd.kill('SIGKILL');
    tracer.close();
  }
});

test('NMI watchdog with the real register read (EFLAGS.IF) verifies, attaches and reports nothing on cpu-clock events, whose timer interrupt only comes with interrupts on', { skip }, async () => {
  const events: RawLatencyEvent[] = [];
  const r = startBpfTracer({ thresholds: { ...OFF, irqoff: 2 }, samplePeriodMs: 1, nmiSelftest: 'registers', histograms: false, onEvent: (e) => events.push(e) });
  if ('unavailable' in r) assert.fail(r.unavailable);
  const tracer = r.tracer;
  // Busy tasks in user and kernel mode on both CPUs: if the program read another register than the
  // flags (an instruction pointer, a counter), bit 9 would often be clear and runs would be reported.
  const busy = [busyOn(0), busyOn(CPU), busyOn(CPU, false, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64k'])];
  try {
    assert.match(tracer.method.irqoff ?? '', /comes from the registers/);
    await sleep(1500);
    assert.deepEqual(events.map((e) => [e.cpu, e.comm, e.latencyNs / 1e6]), []);
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    tracer.close();
  }
});

test('auto picks the hardware NMI watchdog where the CPU has a PMU and says why not elsewhere; lat.irqoffNmi=2 without one turns irqoff off with the reason', { skip }, async () => {
  const host = new LiveHost();
  const p = pmu();
  const auto = await runLatency(host, { durationS: 0.3, thresholds: { ...OFF, irqoff: 10 }, samplePeriodMs: 1 });
  const cov = auto.coverage.find((c) => c.section === 'irqoff');
  assert.equal(cov?.status, 'complete');
  if (p.ok) {
    assert.match(auto.method.irqoff ?? '', /hardware NMI watchdog/);
  } else {
    assert.match(auto.method.irqoff ?? '', /cpu-clock/);
    assert.match(cov?.reason ?? '', /no hardware NMI watchdog/);
    assert.ok((cov?.reason ?? '').includes(p.why), `${cov?.reason ?? ''} names ${p.why}`);
  }
  const forced = await runLatency(host, { durationS: 0.3, thresholds: { ...OFF, irqoff: 10, nosched: 10 }, samplePeriodMs: 1, irqoffMethod: 'nmi' });
  const fc = forced.coverage.find((c) => c.section === 'irqoff');
  if (p.ok) {
    assert.equal(fc?.status, 'complete');
  } else {
    assert.equal(fc?.status, 'unavailable');
    assert.match(fc?.reason ?? '', /no hardware NMI watchdog/);
    assert.equal(forced.method.irqoff, undefined);
    // nosched keeps its cpu-clock sampler.
    assert.equal(forced.coverage.find((c) => c.section === 'nosched')?.status, 'complete');
  }
  const clock = await runLatency(host, { durationS: 0.3, thresholds: { ...OFF, irqoff: 10 }, samplePeriodMs: 1, irqoffMethod: 'cpu-clock' });
  assert.match(clock.method.irqoff ?? '', /^cpu-clock/);
  assert.doesNotMatch(clock.method.irqoff ?? '', /NMI/);
});
