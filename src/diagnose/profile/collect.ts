/**
 * `oscope profile`, the collection: runs the BPF sampler (bpf.ts) for the interval on a live host, reads
 * the kernel's aggregated counts and stacks, and names every frame: kernel frames with /proc/kallsyms,
 * user frames with the process's maps, ELF symbols, debug files and JIT maps (src/kernel/syms/user.ts).
 * Processes are scoped by pid in the kernel and by cgroup/container here (from /proc/PID/cgroup). The
 * result is plain data (ProfileCapture) for the pure analysis (analyze.ts).
 */
import { identifyContainer } from '../../containers/identify.js';
import type { ContainerRef, Coverage } from '../../contract/common.js';
import type { Host } from '../../host/host.js';
import { type ProcCgroupEntry, readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { readProcStat } from '../../kernel/procfs/pid/stat.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import { UNKNOWN, type UserFrame, UserSymbolizer, unknownFrame, userStackComplete } from '../../kernel/syms/user.js';
import { abortableSleep } from '../../util/sleep.js';
import { EFAULT, type Sampler, type SamplerOptions, startSampler } from './bpf.js';
import type { ProfileParams } from './params.js';

export class ProfileScopeError extends Error {
  constructor(
    message: string,
    /** usage: a pid/cgroup/container that does not exist; unsupported: the kernel or host lacks something. */
    readonly kind: 'usage' | 'unsupported' = 'usage',
  ) {
    super(message);
    this.name = 'ProfileScopeError';
  }
}

export interface CapturedFrame {
  name: string;
  module: string;
  kernel: boolean;
}

export interface CapturedStack {
  pid: number;
  comm: string;
  container?: ContainerRef;
  /** Root (outermost) first: user frames, then kernel frames. */
  frames: CapturedFrame[];
  /** Samples, or µs blocked off-CPU. */
  count: number;
}

export interface ProfileCapture {
  mode: 'cpu' | 'off-cpu';
  event: string;
  hz: number;
  intervalS: number;
  stacks: CapturedStack[];
  /** The pid asked for ended during the interval (what was gathered until then is kept). */
  exited?: { pid: number; afterS: number };
  method: Record<string, string>;
  coverage: Coverage[];
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** For tests: another sampler factory. */
  startSampler?: (o: SamplerOptions) => { sampler: Sampler } | { unavailable: string };
  /** For tests: where separate debug files are looked for. */
  debugRoot?: string;
}

const monoNs = (): bigint => process.hrtime.bigint();

/** The process still runs: /proc/PID/stat exists and it is not a zombie (ended, not yet reaped) or dead. */
async function alive(host: Host, pid: number): Promise<boolean> {
  try {
    const st = await readProcStat(host, pid);
    return st.state !== 'Z' && st.state !== 'X';
  } catch {
    return false;
  }
}

function containerOfEntries(entries: readonly ProcCgroupEntry[] | undefined): ContainerRef | undefined {
  for (const e of entries ?? []) {
    const c = identifyContainer(e.path);
    if (c && c.runtime !== 'unknown') return { runtime: c.runtime, id: c.containerId, ...(c.serviceName ? { name: c.serviceName } : {}), ...(c.podUid ? { podUid: c.podUid } : {}) };
  }
  return undefined;
}

function inContainer(c: ContainerRef | undefined, want: string): boolean {
  return c !== undefined && (c.id.startsWith(want) || c.name === want);
}

/** `--cgroup` as given: an optional `controller:` prefix, a path under a cgroup mount, or a plain path. */
export function cgroupMatcher(want: string): (entries: readonly ProcCgroupEntry[]) => boolean {
  let ctl: string | undefined;
  let path = want;
  const m = /^([a-z_=,0-9]+):(\/.*)$/.exec(want);
  if (m) {
    ctl = m[1]!;
    path = m[2]!;
  }
  const mount = /^\/sys\/fs\/cgroup(?:\/(?:unified|[a-z_,=]+))?(\/.*)?$/.exec(path);
  if (mount && path.startsWith('/sys/fs/cgroup')) {
    const rest = path.slice('/sys/fs/cgroup'.length);
    const seg = /^\/([^/]+)(\/.*)?$/.exec(rest);
    // /sys/fs/cgroup/cpu/x (v1 hierarchy named by its directory) or /sys/fs/cgroup/x (v2 unified)
    if (seg && !ctl && /^(cpu|cpuacct|cpu,cpuacct|cpuset|memory|blkio|pids|devices|freezer|perf_event|net_cls|net_prio|hugetlb|systemd|unified)$/.test(seg[1]!)) {
      ctl = seg[1] === 'unified' ? '' : seg[1]!.replace(/^systemd$/, 'name=systemd');
      path = seg[2] ?? '/';
    } else path = rest || '/';
  }
  if (!path.startsWith('/')) path = `/${path}`;
  path = path.replace(/\/+$/, '') || '/';
  return (entries) =>
    entries.some((e) => {
      if (ctl !== undefined && !(ctl === '' ? e.controllers.length === 0 : e.controllers.some((c) => ctl!.split(',').includes(c)))) return false;
      const p = e.path.replace(/ \(deleted\)$/, '');
      return path === '/' || p === path || p.startsWith(`${path}/`);
    });
}

/** Kernel frames, innermost first → named; the BPF and tracing frames of an in-kernel probe dropped. */
function kernelFrames(addrs: readonly bigint[], syms: KallsymsTable | undefined): CapturedFrame[] {
  const out: CapturedFrame[] = [];
  for (const a of addrs) {
    const s = syms && !syms.restricted ? syms.lookup(a) : undefined;
    if (!s) {
      out.push({ name: unknownFrame(UNKNOWN.kernelHidden), module: 'kernel', kernel: true });
      continue;
    }
    out.push({ name: s.name, module: s.module !== undefined ? `kernel:${s.module}` : 'kernel', kernel: true });
  }
  let i = 0;
  while (i < out.length && /^(bpf_|__bpf|___bpf)/.test(out[i]!.name)) i++;
  return out.slice(i);
}

/**
 * A user stack (innermost first) as captured frames; a stack whose outermost frame is no process or
 * thread entry lost its chain in code without frame pointers, which the root frame then says.
 */
export function userFrames(frames: readonly UserFrame[]): CapturedFrame[] {
  const out: CapturedFrame[] = frames.map((f) => ({ name: f.name, module: f.module, kernel: false }));
  // The frame-pointer walk can run one frame past the end into garbage: drop unknown frames outside a known entry.
  let end = out.length;
  while (end > 1 && !frames[end - 1]!.known && frames.slice(0, end - 1).some((f) => f.known) && userStackComplete(frames.slice(0, end - 1))) end--;
  const kept = out.slice(0, end);
  if (kept.length > 0 && !userStackComplete(frames.slice(0, end))) kept.push({ name: unknownFrame(UNKNOWN.noFramePointers), module: '', kernel: false });
  return kept;
}

export async function collectProfile(host: Host, params: ProfileParams, o: CollectOptions = {}): Promise<ProfileCapture> {
  if (!host.live) throw new ProfileScopeError('oscope profile samples the live host: it cannot run on a bundle (--from)', 'usage');
  const selfPid = host.live.selfPid;
  if (params.pid !== undefined && !(await alive(host, params.pid))) throw new ProfileScopeError(`no process ${params.pid}`);
  const matchCgroup = params.cgroup !== undefined ? cgroupMatcher(params.cgroup) : undefined;
  if (matchCgroup || params.container !== undefined) {
    // A scope with no process in it is a typo far more often than an idle container: say so now.
    let found = false;
    for (const name of await host.readDir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const entries = await readProcCgroup(host, Number(name)).catch(() => undefined);
      if (!entries) continue;
      if (matchCgroup ? matchCgroup(entries) : inContainer(containerOfEntries(entries), params.container!)) {
        found = true;
        break;
      }
    }
    if (!found) throw new ProfileScopeError(matchCgroup ? `no process in cgroup ${params.cgroup}` : `no process of container ${params.container}`);
  }
  const method: Record<string, string> = {
    kernelSymbols: '/proc/kallsyms',
    userSymbols: 'ELF .symtab (else a debug file by build id or .gnu_debuglink under /usr/lib/debug, else .dynsym) through /proc/PID/maps and /proc/PID/root; JIT code from /tmp/perf-PID.map',
  };
  const coverage: Coverage[] = [];
  const symbolizer = new UserSymbolizer(host, o.debugRoot);
  if (params.pid !== undefined) await symbolizer.snapshot(params.pid);

  // Parsed before the sampler starts: the parse holds the event loop for a second or two, which would
  // stretch the interval if it ran while sampling.
  const symsP = await readKallsyms(host).then(
    (x) => ({ syms: x }),
    (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
  );
  const start = o.startSampler ?? startSampler;
  const r = start({ hz: params.hz, offCpu: params.offCpu, ...(params.pid !== undefined ? { pid: params.pid } : {}) });
  if ('unavailable' in r) throw new ProfileScopeError(r.unavailable, 'unsupported');
  const sampler = r.sampler;
  const t0 = monoNs();
  let exited: ProfileCapture['exited'];
  try {
    const endAt = Date.now() + params.intervalS * 1000;
    while (Date.now() < endAt && !o.signal?.aborted) {
      await abortableSleep(Math.min(250, Math.max(1, endAt - Date.now())), o.signal).catch(() => undefined);
      if (params.pid !== undefined && !(await alive(host, params.pid))) {
        exited = { pid: params.pid, afterS: Number(monoNs() - t0) / 1e9 };
        break;
      }
    }
    const intervalS = Number(monoNs() - t0) / 1e9;
    const counts = sampler.counts();
    const totals = sampler.totals();
    Object.assign(method, sampler.method);
    coverage.push(...sampler.coverage);
    let syms: KallsymsTable | undefined;
    const ks = symsP;
    if ('syms' in ks) {
      syms = ks.syms;
      if (syms.restricted) coverage.push({ section: 'kernelSymbols', status: 'unavailable', reason: syms.restrictedReason ?? 'kernel symbol addresses are hidden' });
    } else coverage.push({ section: 'kernelSymbols', status: 'unavailable', reason: `cannot read /proc/kallsyms (${ks.error})` });
    const cgroupCache = new Map<number, ProcCgroupEntry[] | undefined>();
    const cgroupsOf = async (pid: number): Promise<ProcCgroupEntry[] | undefined> => {
      if (!cgroupCache.has(pid)) cgroupCache.set(pid, await readProcCgroup(host, pid).catch(() => undefined));
      return cgroupCache.get(pid);
    };
    const stacks: CapturedStack[] = [];
    let unscoped = 0;
    let lostUser = 0;
    for (const c of counts) {
      if (c.tgid === selfPid) continue;
      const entries = await cgroupsOf(c.tgid);
      const container = containerOfEntries(entries);
      if (matchCgroup && !(entries && matchCgroup(entries))) {
        if (!entries) unscoped++;
        continue;
      }
      if (params.container !== undefined && !inContainer(container, params.container)) {
        if (!entries) unscoped++;
        continue;
      }
      const k = c.kstack >= 0 ? kernelFrames(sampler.stack(c.kstack), syms) : [];
      let u: CapturedFrame[] = [];
      if (c.ustack >= 0) {
        const addrs = sampler.stack(c.ustack);
        u = userFrames(await symbolizer.symbolize(c.tgid, addrs));
      } else if (c.ustack !== EFAULT && c.tgid !== 0) {
        u = [{ name: unknownFrame(`user stack lost (bpf_get_stackid ${c.ustack})`), module: '', kernel: false }];
        lostUser += c.count;
      }
      const frames = [...u.reverse(), ...k.reverse()];
      if (frames.length === 0) frames.push({ name: unknownFrame(`no stack (bpf_get_stackid ${c.kstack}/${c.ustack})`), module: '', kernel: false });
      const count = params.offCpu ? Math.round(c.count / 1000) : c.count;
      if (count === 0) continue;
      stacks.push({ pid: c.tgid, comm: c.comm, ...(container ? { container } : {}), frames, count });
    }
    if (totals.dropped > 0) coverage.push({ section: 'stacks', status: 'partial', reason: `${totals.dropped} ${params.offCpu ? 'sleeps' : 'samples'} did not fit the kernel's count map (16384 distinct stacks)` });
    if (totals.stackErrors > 0) coverage.push({ section: 'stacks', status: 'partial', reason: `${totals.stackErrors} stacks could not be stored (stack map full or hash collision): those samples show an [unknown: …] frame` });
    if (lostUser > 0 && totals.stackErrors === 0) coverage.push({ section: 'userStacks', status: 'partial', reason: `${lostUser} samples without a user stack` });
    if (unscoped > 0) coverage.push({ section: 'scope', status: 'partial', reason: `${unscoped} stacks of processes that ended before their cgroup could be read were left out` });
    if (symbolizer.strippedFiles.size > 0) {
      const files = [...symbolizer.strippedFiles].slice(0, 5);
      coverage.push({ section: 'userSymbols', status: 'partial', reason: `no .symtab and no debug file for ${symbolizer.strippedFiles.size} files (${files.join(', ')}${symbolizer.strippedFiles.size > 5 ? ', …' : ''}): only exported functions are named` });
    }
    if (symbolizer.debugFilesUsed.size > 0) method.debugFiles = [...symbolizer.debugFilesUsed].slice(0, 10).join(', ');
    if (!params.offCpu) method.idle = `${totals.idle} of ${totals.total} samples were on idle CPUs and are not counted`;
    if (exited) coverage.push({ section: 'scope', status: 'partial', reason: `process ${exited.pid} ended ${exited.afterS.toFixed(1)} s into the profile: this is what was gathered until then` });
    return {
      mode: params.offCpu ? 'off-cpu' : 'cpu',
      event: sampler.event,
      hz: params.offCpu ? 0 : params.hz,
      intervalS,
      stacks,
      ...(exited ? { exited } : {}),
      method,
      coverage,
    };
  } finally {
    sampler.close();
  }
}
