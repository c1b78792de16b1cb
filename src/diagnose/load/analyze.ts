/**
 * `oscope load`, the analysis: pure functions from a LoadCapture (collect.ts) to the document's
 * sections and its RawFindings. No I/O.
 *
 *   runnablePct(process)  = thread-samples in R / samples × 100 (a process with two busy threads: 200)
 *   meanRunnable          = thread-samples in R / samples (what the load average averages, with D)
 *   cpu.xPct              = Δ(column) / Δ(all columns but guest) × 100 over the `cpu` line of /proc/stat
 *   throttledPct(cgroup)  = Δnr_throttled / Δnr_periods × 100
 */
import type { RawFinding, Severity } from '../../contract/common.js';
import type { LoadCpu, LoadCpuQueue, LoadDStack, LoadForkParent, LoadForks, LoadTask, LoadThrottled, Loadavg } from '../../contract/load.js';
import { containerLabel } from '../../contract/label.js';
import { type CpuTimes, cpuTotalTicks } from '../../kernel/procfs/stat.js';
import { waitFrame } from '../io/analyze.js';
import type { Thresholds } from '../thresholds.js';
import type { CapturedTask, LoadCapture, WaitSource } from './collect.js';

const r2 = (n: number): number => Math.round(n * 100) / 100;
const d = (a: number, b: number): number => Math.max(0, b - a);

/** The load.* thresholds. */
export function loadThresholds(t: Thresholds): Record<string, number> {
  return Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('load.')));
}

export function trendOf(load1: number, load15: number): Loadavg['trend'] {
  if (load1 >= 1.25 * load15 + 0.5) return 'rising';
  if (load1 <= 0.75 * load15 - 0.5) return 'falling';
  return 'steady';
}

/** The CPU time split between two reads of a `cpu` line. */
export function cpuSplit(a: CpuTimes, b: CpuTimes): LoadCpu {
  const total = d(cpuTotalTicks(a), cpuTotalTicks(b));
  const pct = (x: number): number => (total > 0 ? r2((x / total) * 100) : 0);
  return {
    userPct: pct(d(a.user + a.nice, b.user + b.nice)),
    sysPct: pct(d(a.system, b.system)),
    irqPct: pct(d(a.irq, b.irq)),
    softirqPct: pct(d(a.softirq, b.softirq)),
    iowaitPct: pct(d(a.iowait, b.iowait)),
    stealPct: pct(d(a.steal, b.steal)),
    idlePct: pct(d(a.idle, b.idle)),
  };
}

export function taskTable(c: LoadCapture): LoadTask[] {
  const n = Math.max(1, c.samples.length);
  const by = new Map<number, { comm: string; cgroup: string; container?: CapturedTask['container']; r: number; d: number; tids: Set<number>; pinned: boolean; leaderComm?: string }>();
  for (const s of c.samples) {
    for (const t of s.tasks) {
      let e = by.get(t.pid);
      if (!e) by.set(t.pid, (e = { comm: t.comm, cgroup: t.cgroup, ...(t.container ? { container: t.container } : {}), r: 0, d: 0, tids: new Set(), pinned: false }));
      if (t.tid === t.pid) e.leaderComm = t.comm;
      e.tids.add(t.tid);
      if (t.state === 'R') {
        e.r++;
        if (t.allowed < c.cpus) e.pinned = true;
      } else e.d++;
    }
  }
  return [...by]
    .map(([pid, e]) => ({
      pid,
      comm: e.leaderComm ?? e.comm,
      cgroup: e.cgroup,
      ...(e.container ? { container: e.container } : {}),
      runnablePct: r2((e.r / n) * 100),
      uninterruptiblePct: r2((e.d / n) * 100),
      threads: e.tids.size,
      pinned: e.pinned,
    }))
    .sort((a, b) => b.runnablePct + b.uninterruptiblePct - (a.runnablePct + a.uninterruptiblePct) || a.pid - b.pid);
}

/**
 * D threads grouped by the kernel stack of their last D sample. A thread's wait is the larger of what the
 * kernel says (sched_switch, or the estimate) at its last sample and the time oscope saw it blocked (D in
 * consecutive samples without a context switch in between).
 */
export function dStackGroups(c: LoadCapture): LoadDStack[] {
  interface Thread {
    last: CapturedTask;
    waitMs: number;
    source: WaitSource;
    runStartMs: number;
    lastAtMs: number;
  }
  const threads = new Map<number, Thread>();
  let prevD = new Map<number, CapturedTask>();
  for (const s of c.samples) {
    const nowD = new Map<number, CapturedTask>();
    for (const t of s.tasks) {
      if (t.state !== 'D') continue;
      nowD.set(t.tid, t);
      const prev = prevD.get(t.tid);
      const cont = prev !== undefined && (t.switches === null || prev.switches === null || t.switches === prev.switches);
      const th = threads.get(t.tid);
      const runStartMs = cont && th ? th.runStartMs : s.atMs;
      const observed = s.atMs - runStartMs;
      const known = t.waitMs ?? 0;
      const [waitMs, source]: [number, WaitSource] = t.waitSource !== null && known >= observed ? [known, t.waitSource] : [observed, 'observed'];
      threads.set(t.tid, { last: t, waitMs, source, runStartMs, lastAtMs: s.atMs });
    }
    prevD = nowD;
  }
  const groups = new Map<string, { stack: string[]; tids: Set<number>; pids: Set<number>; comms: Set<string>; maxWaitMs: number; source: WaitSource; owner: LoadDStack['mutexOwner'] }>();
  for (const [tid, th] of threads) {
    const stack = th.last.stack.map((f) => f.replace(/\/0x[0-9a-f]+$/, ''));
    const k = stack.join('\n');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { stack, tids: new Set(), pids: new Set(), comms: new Set(), maxWaitMs: -1, source: th.source, owner: null }));
    g.tids.add(tid);
    g.pids.add(th.last.pid);
    g.comms.add(th.last.comm);
    if (th.waitMs > g.maxWaitMs) {
      g.maxWaitMs = th.waitMs;
      g.source = th.source;
    }
    if (th.last.owner && !g.owner) g.owner = { pid: th.last.owner.pid, comm: th.last.owner.comm };
  }
  return [...groups.values()]
    .map((g) => ({
      stack: g.stack,
      waitIn: g.stack.length > 0 ? waitFrame(g.stack) : '-',
      tasks: g.tids.size,
      pids: [...g.pids].sort((a, b) => a - b),
      comms: [...g.comms].sort(),
      maxWaitMs: r2(Math.max(0, g.maxWaitMs)),
      waitSource: g.source,
      mutexOwner: g.owner,
    }))
    .sort((a, b) => b.tasks - a.tasks || b.maxWaitMs - a.maxWaitMs);
}

export function forkSection(c: LoadCapture, top: number): LoadForks {
  const t = Math.max(c.intervalS, 1e-3);
  const total = d(c.statBefore.processes, c.statAfter.processes);
  const topParents: LoadForkParent[] = (c.forks?.parents ?? [])
    .filter((p) => p.forks > 0 || p.execs > 0)
    .map((p) => ({ pid: p.pid, comm: p.comm, forks: p.forks, forksPerS: r2(p.forks / t), execs: p.execs, execsPerS: r2(p.execs / t), cgroup: p.cgroup, ...(p.container ? { container: p.container } : {}) }))
    .sort((a, b) => b.forks + b.execs - (a.forks + a.execs) || a.pid - b.pid)
    .slice(0, top);
  return { perS: r2(total / t), execPerS: c.forks ? r2(c.forks.execs / t) : null, total, topParents };
}

export function throttledCgroups(c: LoadCapture): LoadThrottled[] {
  const t = Math.max(c.intervalS, 1e-3);
  const out: LoadThrottled[] = [];
  for (const g of c.cgroups) {
    const periods = d(g.before.stat.nrPeriods, g.after.stat.nrPeriods);
    const throttledPeriods = d(g.before.stat.nrThrottled, g.after.stat.nrThrottled);
    if (throttledPeriods === 0) continue;
    const ub = g.before.stat.usageUs;
    const ua = g.after.stat.usageUs;
    out.push({
      cgroup: g.path,
      ...(g.container ? { container: g.container } : {}),
      version: c.cgroupVersion ?? 1,
      quotaCpus: g.after.quotaCpus === null ? null : r2(g.after.quotaCpus),
      periods,
      throttledPeriods,
      throttledPct: periods > 0 ? r2(Math.min(100, (throttledPeriods / periods) * 100)) : 0,
      throttledMs: r2(d(g.before.stat.throttledUs, g.after.stat.throttledUs) / 1000),
      nrThrottled: g.after.stat.nrThrottled,
      usageCpus: ub !== null && ua !== null ? r2(d(ub, ua) / 1e6 / t) : null,
    });
  }
  return out.sort((a, b) => b.throttledMs - a.throttledMs || b.throttledPct - a.throttledPct);
}

export function cpuQueues(c: LoadCapture): LoadCpuQueue[] {
  const n = Math.max(1, c.samples.length);
  const cpus = [...c.statAfter.perCpu.keys()].sort((a, b) => a - b);
  const sum = new Map<number, number>();
  const max = new Map<number, number>();
  const pinned = new Map<number, Map<number, { pid: number; tid: number; comm: string; allowedCpus: number }>>();
  for (const s of c.samples) {
    const per = new Map<number, number>();
    for (const t of s.tasks) {
      if (t.state !== 'R') continue;
      per.set(t.cpu, (per.get(t.cpu) ?? 0) + 1);
      if (t.allowed < c.cpus) {
        let m = pinned.get(t.cpu);
        if (!m) pinned.set(t.cpu, (m = new Map()));
        m.set(t.tid, { pid: t.pid, tid: t.tid, comm: t.comm, allowedCpus: t.allowed });
      }
    }
    for (const [cpu, k] of per) {
      sum.set(cpu, (sum.get(cpu) ?? 0) + k);
      max.set(cpu, Math.max(max.get(cpu) ?? 0, k));
    }
  }
  return cpus.map((cpu) => {
    const a = c.statBefore.perCpu.get(cpu);
    const b = c.statAfter.perCpu.get(cpu)!;
    const split = a ? cpuSplit(a, b) : undefined;
    return {
      cpu,
      meanRunnable: r2((sum.get(cpu) ?? 0) / n),
      maxRunnable: max.get(cpu) ?? 0,
      busyPct: split ? r2(Math.max(0, 100 - split.idlePct - split.iowaitPct)) : 0,
      pinnedTasks: [...(pinned.get(cpu)?.values() ?? [])].slice(0, 20),
    };
  });
}

export interface LoadAnalysis {
  intervalS: number;
  samples: number;
  thresholds: Record<string, number>;
  scope: string | null;
  loadavg: Loadavg;
  cpu: LoadCpu;
  meanRunnable: number;
  meanUninterruptible: number;
  tasks: LoadTask[];
  dStacks: LoadDStack[];
  forks: LoadForks;
  throttled: LoadThrottled[];
  cpus: LoadCpuQueue[];
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: LoadCapture['coverage'];
}

const who = (t: { comm: string; pid: number } | undefined): string => (t ? `${t.comm} [${t.pid}]` : '-');

export function analyzeLoad(c: LoadCapture, t: Thresholds, top = 20): LoadAnalysis {
  const n = Math.max(1, c.samples.length);
  const la = c.loadavgAfter;
  const loadavg: Loadavg = { load1: la.load1, load5: la.load5, load15: la.load15, cpus: c.cpus, trend: trendOf(la.load1, la.load15), running: la.running, threads: la.total };
  const cpu = cpuSplit(c.statBefore.total, c.statAfter.total);
  let rSamples = 0;
  let dSamples = 0;
  for (const s of c.samples) {
    for (const x of s.tasks) {
      if (x.state === 'R') rSamples++;
      else dSamples++;
    }
  }
  const meanRunnable = r2(rSamples / n);
  const meanUninterruptible = r2(dSamples / n);
  const tasksAll = taskTable(c);
  const dStacks = dStackGroups(c);
  const forks = forkSection(c, top);
  const throttled = throttledCgroups(c);
  const cpus = cpuQueues(c);
  const findings: RawFinding[] = [];

  const perCpu = meanRunnable / Math.max(1, c.cpus);
  if (perCpu >= t['load.runnablePerCpu']) {
    const runners = tasksAll.filter((x) => x.runnablePct > 0).sort((a, b) => b.runnablePct - a.runnablePct);
    const first = runners[0];
    const sharePct = first && meanRunnable > 0 ? r2(first.runnablePct / 100 / meanRunnable * 100) : 0;
    findings.push({
      id: 'load.runnable.high',
      severity: perCpu >= 2 * t['load.runnablePerCpu'] ? 'critical' : 'warning',
      params: {
        meanRunnable,
        cpus: c.cpus,
        perCpu: r2(perCpu),
        thresholdPerCpu: t['load.runnablePerCpu'],
        load1: la.load1,
        top: who(first),
        pid: first?.pid ?? 0,
        topRunnablePct: first?.runnablePct ?? 0,
        sharePct,
        cgroup: first ? (first.container ? containerLabel(first.container) : first.cgroup) : '-',
        userPct: cpu.userPct,
        sysPct: cpu.sysPct,
      },
      evidence: { tasks: runners.slice(0, 10), cpu },
    });
  }

  if (meanUninterruptible >= t['load.uninterruptibleMin'] && dStacks.length > 0) {
    const g = dStacks[0]!;
    const maxWaitMs = Math.max(...dStacks.map((x) => x.maxWaitMs));
    const owner = g.mutexOwner;
    findings.push({
      id: 'load.uninterruptible.high',
      severity: maxWaitMs >= t['load.dWaitCriticalMs'] ? 'critical' : 'warning',
      params: {
        meanUninterruptible,
        threshold: t['load.uninterruptibleMin'],
        dTasks: dStacks.reduce((a, x) => a + x.tasks, 0),
        groups: dStacks.length,
        tasks: g.tasks,
        waitIn: g.waitIn,
        comms: g.comms.slice(0, 3).join(', '),
        pids: g.pids.slice(0, 5).join(' '),
        maxWaitMs: g.maxWaitMs,
        owner: owner ? `${owner.comm} [${owner.pid}]` : '-',
        iowaitPct: cpu.iowaitPct,
      },
      extraSuggestions: owner ? [{ key: 'load.uninterruptible.owner', params: { owner: `${owner.comm} [${owner.pid}]`, pid: owner.pid } }] : [],
      evidence: { dStacks: dStacks.slice(0, 5) },
    });
  }

  if (forks.perS >= t['load.forksPerS']) {
    const p = forks.topParents[0];
    findings.push({
      id: 'load.fork-storm',
      severity: forks.perS >= 10 * t['load.forksPerS'] ? 'critical' : 'warning',
      params: {
        perS: forks.perS,
        thresholdPerS: t['load.forksPerS'],
        execPerS: forks.execPerS ?? 0,
        parent: p ? `${p.comm} [${p.pid}]` : '-',
        pid: p?.pid ?? 0,
        parentPerS: p?.forksPerS ?? 0,
        parentExecPerS: p?.execsPerS ?? 0,
        cgroup: p ? (p.container ? containerLabel(p.container) : p.cgroup) : '-',
        sysPct: cpu.sysPct,
      },
      evidence: { forks },
    });
  }

  for (const g of throttled) {
    if (g.throttledPct < t['load.throttledPct'] || g.throttledPeriods < t['load.throttledMinPeriods']) continue;
    const sev: Severity = g.throttledPct >= 50 ? 'critical' : 'warning';
    findings.push({
      id: 'load.cpu.throttled',
      severity: sev,
      params: {
        cgroup: g.cgroup,
        who: g.container ? containerLabel(g.container) : g.cgroup,
        throttledPct: g.throttledPct,
        thresholdPct: t['load.throttledPct'],
        throttledPeriods: g.throttledPeriods,
        periods: g.periods,
        throttledMs: g.throttledMs,
        quota: g.quotaCpus === null ? 'no quota of its own (a parent\'s)' : `${g.quotaCpus}`,
        usage: g.usageCpus === null ? '?' : `${g.usageCpus}`,
        file: g.version === 1 ? 'cpu.cfs_quota_us' : 'cpu.max',
      },
      evidence: { cgroup: g },
    });
    if (findings.filter((f) => f.id === 'load.cpu.throttled').length >= 5) break;
  }

  if (cpus.length >= 2) {
    const busiest = [...cpus].sort((a, b) => b.meanRunnable - a.meanRunnable)[0]!;
    const idlest = [...cpus].sort((a, b) => a.busyPct - b.busyPct)[0]!;
    const idlePct = r2(100 - idlest.busyPct);
    if (busiest.cpu !== idlest.cpu && busiest.meanRunnable >= t['load.imbalanceRunnable'] && idlePct >= t['load.imbalanceIdlePct']) {
      const p = busiest.pinnedTasks[0];
      findings.push({
        id: 'load.cpu.imbalance',
        severity: 'warning',
        params: {
          busyCpu: busiest.cpu,
          meanRunnable: busiest.meanRunnable,
          thresholdRunnable: t['load.imbalanceRunnable'],
          thresholdIdlePct: t['load.imbalanceIdlePct'],
          idleCpu: idlest.cpu,
          idlePct,
          pinned: busiest.pinnedTasks.length,
          pinnedTask: p ? `${p.comm} [${p.pid}]` : '-',
          pid: p?.pid ?? 0,
          allowedCpus: p?.allowedCpus ?? 0,
        },
        evidence: { cpus },
      });
    }
  }

  if (cpu.sysPct >= t['load.sysPct']) {
    const first = tasksAll.find((x) => x.runnablePct > 0);
    findings.push({
      id: 'load.sys.high',
      severity: cpu.sysPct >= Math.min(90, 2 * t['load.sysPct']) ? 'critical' : 'warning',
      params: {
        sysPct: cpu.sysPct,
        thresholdPct: t['load.sysPct'],
        irqPct: cpu.irqPct,
        softirqPct: cpu.softirqPct,
        userPct: cpu.userPct,
        forksPerS: forks.perS,
        top: who(first),
        pid: first?.pid ?? 0,
      },
      evidence: { cpu, tasks: tasksAll.slice(0, 5) },
    });
  }

  return {
    intervalS: r2(c.intervalS),
    samples: c.samples.length,
    thresholds: loadThresholds(t),
    scope: c.scope,
    loadavg,
    cpu,
    meanRunnable,
    meanUninterruptible,
    tasks: tasksAll.slice(0, top),
    dStacks: dStacks.slice(0, top),
    forks,
    throttled: throttled.slice(0, top),
    cpus,
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}
