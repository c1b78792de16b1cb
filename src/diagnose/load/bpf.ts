/**
 * The BPF side of `oscope load` (bpf/load.bpf.c): the TypeScript mirror of bpf/load.h and the sampler
 * that loads it, attaches the sched tracepoints (tp_btf) and runs the task iterator once per sample.
 * Everything is fd-scoped: a `kill -9` leaves nothing attached.
 */
import { type BpfLink, type BpfObject, findBpfObject, openObject } from '../../kernel/bpf/index.js';
import { cString } from '../../kernel/bpf/selftest.js';
import { isNativeError, requireNative } from '../../kernel/native.js';
import type { Coverage } from '../../contract/common.js';

export const LOAD_OBJECT = 'load';
export const LOAD_MAX_FRAMES = 32;

/** Offsets of struct oload_task (88 bytes), followed by nframes × u64. */
export const LOAD_TASK_LAYOUT = {
  cgroupId: 0,
  waitNs: 8,
  switches: 16,
  tgid: 24,
  pid: 28,
  cpu: 32,
  allowed: 36,
  state: 40,
  flags: 44,
  ownerPid: 48,
  nframes: 52,
  comm: 56,
  ownerComm: 72,
  size: 88,
} as const;
/** Offsets of struct oload_parent (40 bytes). */
export const LOAD_PARENT_LAYOUT = { forks: 0, execs: 8, cgroupId: 16, comm: 24, size: 40 } as const;

export const LOAD_F = { onCpu: 1, waitSwitch: 2, waitEstimate: 4, iowait: 8, ownerMutex: 16, ownerRwsem: 32 } as const;

export interface RawLoadTask {
  cgroupId: bigint;
  /** D: ns blocked (0 unknown). */
  waitNs: number;
  switches: number;
  tgid: number;
  pid: number;
  cpu: number;
  allowed: number;
  state: 'R' | 'D';
  flags: number;
  ownerPid: number;
  ownerComm: string;
  comm: string;
  /** Kernel return addresses, innermost first (D only). */
  stack: bigint[];
}

/** Splits one iterator pass into its records; a truncated tail is dropped. */
export function decodeLoadTasks(b: Buffer): RawLoadTask[] {
  const L = LOAD_TASK_LAYOUT;
  const out: RawLoadTask[] = [];
  let off = 0;
  while (off + L.size <= b.length) {
    const nframes = Math.min(b.readUInt32LE(off + L.nframes), LOAD_MAX_FRAMES);
    const end = off + L.size + nframes * 8;
    if (end > b.length) break;
    const stack: bigint[] = [];
    for (let i = 0; i < nframes; i++) stack.push(b.readBigUInt64LE(off + L.size + i * 8));
    out.push({
      cgroupId: b.readBigUInt64LE(off + L.cgroupId),
      waitNs: Number(b.readBigUInt64LE(off + L.waitNs)),
      switches: Number(b.readBigUInt64LE(off + L.switches)),
      tgid: b.readUInt32LE(off + L.tgid),
      pid: b.readUInt32LE(off + L.pid),
      cpu: b.readUInt32LE(off + L.cpu),
      allowed: b.readUInt32LE(off + L.allowed),
      state: b.readUInt32LE(off + L.state) === 1 ? 'D' : 'R',
      flags: b.readUInt32LE(off + L.flags),
      ownerPid: b.readUInt32LE(off + L.ownerPid),
      ownerComm: cString(b, off + L.ownerComm, 16),
      comm: cString(b, off + L.comm, 16),
      stack,
    });
    off = end;
  }
  return out;
}

export interface RawForkParent {
  tgid: number;
  forks: number;
  execs: number;
  cgroupId: bigint;
  comm: string;
}

export function decodeForkParent(key: Buffer, v: Buffer): RawForkParent {
  const L = LOAD_PARENT_LAYOUT;
  if (key.length < 4 || v.length < L.size) throw new Error('load parent entry is too short');
  return { tgid: key.readUInt32LE(0), forks: Number(v.readBigUInt64LE(L.forks)), execs: Number(v.readBigUInt64LE(L.execs)), cgroupId: v.readBigUInt64LE(L.cgroupId), comm: cString(v, L.comm, 16) };
}

export interface LoadSamplerOptions {
  /** Our own tgid, left out of the samples. */
  selfPid: number;
  /** The cgroup v1 hierarchy (subsystem id) cgroup ids come from; undefined = cgroup v2. */
  cgroupSsid?: number;
}

export interface LoadSampler {
  readonly method: Record<string, string>;
  readonly coverage: Coverage[];
  /** One pass of the task iterator: the runnable and D threads now. */
  sample(): Promise<RawLoadTask[]>;
  forkParents(): RawForkParent[];
  totals(): { forks: number; execs: number };
  close(): void;
}

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const TRACEPOINTS: Record<string, string> = { oscope_load_switch: 'sched_switch', oscope_load_fork: 'sched_process_fork', oscope_load_exec: 'sched_process_exec' };

/** Loads the program and attaches it, or says in one sentence why it cannot run here. */
export function startLoadSampler(o: LoadSamplerOptions): { sampler: LoadSampler } | { unavailable: string } {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return { unavailable: 'not root: the BPF task iterator needs root (CAP_BPF and CAP_PERFMON)' };
  const found = findBpfObject(LOAD_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  try {
    requireNative();
  } catch (err) {
    return { unavailable: errText(err) };
  }
  let obj: BpfObject;
  try {
    obj = openObject(found.path);
    obj.setRodata('targ_self', o.selfPid).setRodata('targ_ssid', o.cgroupSsid ?? -1);
    obj.load();
  } catch (err) {
    return { unavailable: `the load BPF programs did not load (${errText(err)})` };
  }
  const loaded = obj;
  let iter: BpfLink;
  try {
    iter = loaded.program('oscope_load_iter').attachIter();
  } catch (err) {
    loaded.close();
    return { unavailable: `the task iterator did not attach (${errText(err)}; BPF task iterators need Linux 5.8+)` };
  }
  const coverage: Coverage[] = [];
  const failed: string[] = [];
  for (const [name, tp] of Object.entries(TRACEPOINTS)) {
    try {
      loaded.program(name).attachTrace();
    } catch (err) {
      failed.push(`${tp}: ${errText(err)}`);
    }
  }
  if (failed.some((f) => f.startsWith('sched_switch'))) coverage.push({ section: 'dStacks', status: 'partial', reason: `wait times are estimates only (${failed.find((f) => f.startsWith('sched_switch'))})` });
  const forkFailed = failed.filter((f) => !f.startsWith('sched_switch'));
  if (forkFailed.length > 0) coverage.push({ section: 'forks.topParents', status: 'unavailable', reason: forkFailed.join('; ') });
  const method: Record<string, string> = {
    tasks: 'BPF task iterator (iter/task), one pass per sample: threads in TASK_RUNNING and in TASK_UNINTERRUPTIBLE without TASK_NOLOAD (what the load average counts), their CPU, allowed CPUs and cgroup',
    dStacks: 'the iterator takes each D thread\'s kernel stack (bpf_get_task_stack); its wait is exact from tp_btf sched_switch when it fell asleep while oscope watched, else estimated from sched_info.last_arrival + its last slice against the reading thread\'s own (sched_clock); lock owners from task_struct.blocker (6.15+)',
    forks: 'tp_btf sched_process_fork (new processes, not threads) counted for the parent, sched_process_exec counted for the exec\'ing task\'s parent',
  };
  let closed = false;
  const bssGlobal = (name: string): number => {
    const off = loaded.globals().find((g) => g.name === name)?.offset;
    if (closed || off === undefined) return 0;
    const v = loaded.map('.bss').lookup(Buffer.alloc(4));
    return v && v.length >= off + 8 ? Number(v.readBigUInt64LE(off)) : 0;
  };
  const sampler: LoadSampler = {
    method,
    coverage,
    sample: async () => (closed ? [] : decodeLoadTasks(await iter.readIterAsync())),
    forkParents: () => (closed ? [] : loaded.map('parents').dump().entries.map((e) => decodeForkParent(e.key, e.value))),
    totals: () => ({ forks: bssGlobal('total_forks'), execs: bssGlobal('total_execs') }),
    close: () => {
      if (closed) return;
      closed = true;
      loaded.close();
    },
  };
  return { sampler };
}
