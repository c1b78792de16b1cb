/**
 * What BPF can do on this host, for `oscope doctor` and for commands choosing their method.
 *
 * Cheap checks come from files (BTF, tracefs, the kprobe PMU) and libbpf's feature probes; with
 * `deep` (the default when root, on a live host, with the addon and the self-test object built) the
 * self-test object is loaded and each attach kind is tried for real, then everything is closed again:
 * that is the only way to be sure of tp_btf and iterators. fentry is probed by attaching a two-
 * instruction program to a kernel function and detaching it at once.
 */
import type { Host } from '../../host/host.js';
import { type NativeAddon, isNativeError, loadNative } from '../native.js';
import { BPF_FUNC, BPF_MAP_TYPE, BPF_PROG_TYPE } from './constants.js';
import { openObject } from './object.js';
import { findBpfObject } from './paths.js';
import { PerfEvent, openNmiWatchdogPerCpu } from './perf.js';
import { SELFTEST_OBJECT, SELFTEST_PROGRAMS, parseTaskIterOutput } from './selftest.js';

export interface BpfFeature {
  /** true / false, or undefined when it could not be told (e.g. on a captured bundle). */
  available: boolean | undefined;
  /** One sentence: how it was found out, or why it is missing. */
  detail: string;
}

export interface BpfCapabilities {
  native: BpfFeature & { libbpf?: string };
  btf: BpfFeature;
  bpfSyscall: BpfFeature;
  tracefs: BpfFeature;
  tracepoints: BpfFeature;
  rawTracepoints: BpfFeature;
  tpBtf: BpfFeature;
  iterators: BpfFeature;
  ringBuffer: BpfFeature;
  stackTraces: BpfFeature;
  bpfLoop: BpfFeature;
  perfEvents: BpfFeature;
  /** A hardware cycles event that samples with NMIs (x86-64): runlatency's irq-off watchdog. */
  nmiWatchdog: BpfFeature;
  kprobes: BpfFeature;
  fentry: BpfFeature;
  /** Whether the deep probe (real load + attach of the self-test object) ran. */
  deep: boolean;
}

export interface ProbeOptions {
  /** Load and attach the self-test object for a definite answer (default: when possible). */
  deep?: boolean;
}

const yes = (detail: string): BpfFeature => ({ available: true, detail });
const no = (detail: string): BpfFeature => ({ available: false, detail });
const unknown = (detail: string): BpfFeature => ({ available: undefined, detail });

function errText(err: unknown): string {
  if (isNativeError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export async function probeBpf(host: Host, opts: ProbeOptions = {}): Promise<BpfCapabilities> {
  const live = host.live !== undefined;
  const exists = (p: string): Promise<boolean> => host.exists(p);

  const btf = (await exists('/sys/kernel/btf/vmlinux'))
    ? yes('/sys/kernel/btf/vmlinux is present (CO-RE programs relocate against it)')
    : no('/sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF), CO-RE programs cannot load');
  const tracefsDir = (await exists('/sys/kernel/tracing/events'))
    ? '/sys/kernel/tracing'
    : (await exists('/sys/kernel/debug/tracing/events'))
      ? '/sys/kernel/debug/tracing'
      : undefined;
  const tracefs = tracefsDir
    ? yes(`tracefs is mounted at ${tracefsDir}`)
    : no('tracefs is not mounted (/sys/kernel/tracing/events is missing): classic tracepoints cannot be attached; raw_tp and tp_btf can');
  const kprobePmu = await exists('/sys/bus/event_source/devices/kprobe/type');
  const kprobeEvents = tracefsDir ? await exists(`${tracefsDir}/kprobe_events`) : false;
  const kprobes =
    kprobePmu || kprobeEvents
      ? yes(kprobePmu ? 'the kprobe perf PMU is present' : `${tracefsDir ?? ''}/kprobe_events is present`)
      : no('no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no kprobe_events: the kernel is built without CONFIG_KPROBES');
  const perfPmu = await exists('/sys/bus/event_source/devices/software');

  const caps: BpfCapabilities = {
    native: unknown('not probed'),
    btf,
    bpfSyscall: unknown('not probed'),
    tracefs,
    tracepoints: tracefsDir ? unknown('tracefs is mounted; attach not tried') : no(tracefs.detail),
    rawTracepoints: unknown('not probed'),
    tpBtf: btf.available ? unknown('not probed') : no(btf.detail),
    iterators: btf.available ? unknown('not probed') : no(btf.detail),
    ringBuffer: unknown('not probed'),
    stackTraces: unknown('not probed'),
    bpfLoop: unknown('not probed'),
    perfEvents: perfPmu ? unknown('the software perf PMU is present; open not tried') : no('no software perf PMU'),
    nmiWatchdog: unknown('not probed'),
    kprobes,
    fentry: btf.available ? unknown('not probed') : no(btf.detail),
    deep: false,
  };
  if (!live) {
    caps.native = unknown('not probed: the host is a captured bundle');
    return caps;
  }
  const st = loadNative();
  if (!st.available) {
    caps.native = no(st.reason);
    return caps;
  }
  const n = st.addon;
  caps.native = { ...yes(`loaded ${st.path}`), libbpf: n.libbpfVersion() };

  const tp = n.probeProgType(BPF_PROG_TYPE.TRACEPOINT);
  if (tp !== true) {
    caps.bpfSyscall = no(
      host.info().uid === 0
        ? 'loading a BPF program failed: bpf() is not allowed here (seccomp, lockdown or a kernel without CONFIG_BPF_SYSCALL)'
        : 'loading a BPF program failed: run as root (or with CAP_BPF and CAP_PERFMON)',
    );
    return caps;
  }
  caps.bpfSyscall = yes('a tracepoint program loads');
  caps.rawTracepoints =
    n.probeProgType(BPF_PROG_TYPE.RAW_TRACEPOINT) === true ? yes('raw tracepoint programs load') : no('raw tracepoint programs do not load');
  caps.ringBuffer =
    n.probeMapType(BPF_MAP_TYPE.RINGBUF) === true ? yes('BPF_MAP_TYPE_RINGBUF can be created') : no('no BPF ring buffer (kernel older than 5.8)');
  caps.stackTraces =
    n.probeMapType(BPF_MAP_TYPE.STACK_TRACE) === true ? yes('BPF_MAP_TYPE_STACK_TRACE can be created') : no('no stack trace maps');
  caps.bpfLoop =
    n.probeHelper(BPF_PROG_TYPE.TRACEPOINT, BPF_FUNC.loop) === true ? yes('the bpf_loop helper is available') : no('no bpf_loop helper (kernel older than 5.17)');
  if (btf.available) caps.fentry = probeFentry(n);
  caps.nmiWatchdog = probeNmiWatchdog();

  const obj = findBpfObject(SELFTEST_OBJECT);
  const deep = opts.deep ?? true;
  if (deep && btf.available && 'path' in obj) {
    await deepProbe(obj.path, caps);
  } else if (deep && btf.available && 'missing' in obj) {
    const why = `not probed: ${obj.missing}`;
    for (const k of ['tpBtf', 'iterators'] as const) caps[k] = unknown(why);
  }
  return caps;
}

/** Opens (and closes) a pinned sampling cycles event on CPU 0: what runlatency's NMI watchdog needs. */
function probeNmiWatchdog(): BpfFeature {
  const r = openNmiWatchdogPerCpu(1, [0]);
  if ('unavailable' in r) return no(r.unavailable);
  for (const e of r.events) e.event.close();
  return r.events.length > 0 ? yes('a pinned cycles sampling event opened (the PMU interrupt is an NMI)') : unknown('CPU 0 is offline');
}

function probeFentry(n: NativeAddon): BpfFeature {
  for (const fn of ['do_nanosleep', 'vfs_read']) {
    try {
      n.probeFentry(fn);
      return yes(`an fentry program attached to ${fn}`);
    } catch (err) {
      if (isNativeError(err) && err.code === 'ESRCH') continue;
      return no(`fentry does not attach here: ${errText(err)}`);
    }
  }
  return unknown('no known function to probe fentry with');
}

async function deepProbe(path: string, caps: BpfCapabilities): Promise<void> {
  let obj;
  try {
    // A ppid filter no task has: the programs run but record nothing.
    obj = openObject(path).setRodata('filter_ppid', 0x7ffffffe).load();
  } catch (err) {
    const why = `the self-test object does not load: ${errText(err)}`;
    caps.tpBtf = no(why);
    caps.iterators = no(why);
    return;
  }
  caps.deep = true;
  try {
    const P = SELFTEST_PROGRAMS;
    const attempt = (f: () => unknown, ok: string, fail: string): BpfFeature => {
      try {
        f();
        return yes(ok);
      } catch (err) {
        return no(`${fail}: ${errText(err)}`);
      }
    };
    caps.tpBtf = attempt(() => obj.program(P.tpBtf).attach(), 'a tp_btf program attached to sched_process_exec', 'tp_btf attach failed');
    caps.rawTracepoints = attempt(() => obj.program(P.rawTracepoint).attach(), 'a raw_tp program attached to sched_process_exec', 'raw_tp attach failed');
    caps.tracepoints = attempt(
      () => obj.program(P.tracepoint).attach(),
      'a tracepoint program attached to sched:sched_process_exec',
      'tracepoint attach failed',
    );
    caps.iterators = attempt(
      () => {
        const rows = parseTaskIterOutput(obj.program(P.iterator).attachIter().readIter().toString('utf8'));
        if (!rows.some((r) => r.tgid === process.pid)) throw new Error('the task iterator did not list this process');
      },
      'a task iterator ran and listed this process',
      'bpf_iter failed',
    );
    caps.perfEvents = attempt(
      () => {
        const ev = PerfEvent.open({ type: 1, config: 0, cpu: 0, pid: -1, samplePeriod: 1_000_000_000 });
        try {
          obj.program(P.perfEvent).attachPerfEvent(ev).destroy();
        } finally {
          ev.close();
        }
      },
      'a perf_event program attached to a cpu-clock event',
      'perf event attach failed',
    );
  } finally {
    obj.close();
  }
}
