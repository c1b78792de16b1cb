/**
 * What the agent collects every interval: only cheap reads (a few /proc files and the memory cgroup
 * tree's stat files; no per-process or per-page scans). One `Snapshot` feeds the Prometheus metrics,
 * the alert rules and the sample sent to the console.
 */
import type { Host } from '../host/host.js';
import { containerLookup, type ContainerLookup } from '../diagnose/memory/containers.js';
import type { ContainerRef } from '../diagnose/memory/types.js';
import { walkMemoryCgroups } from '../kernel/cgroup/walk.js';
import { computeZombies } from '../kernel/cgroup/zombie.js';
import { readMeminfo } from '../kernel/procfs/meminfo.js';
import { type PsiLine, type PsiResource, readPsi } from '../kernel/procfs/psi.js';
import { readVmallocinfo, vmallocTotalBytes } from '../kernel/procfs/vmallocinfo.js';
import { pageSize } from '../kernel/procfs/vmstat.js';
import { readUnaccountedInputs, unaccountedBytes } from '../diagnose/memory/unaccounted.js';
import type { KernelLogSource, LogAnomalies } from './kernel-log.js';
import type { RunqueueReading, RunqueueSource } from './runqueue.js';
import type { NodeSampleData } from '../contract/agent-wire.js';
import { containerLabel } from '../report/format.js';

export interface MemorySnapshot {
  totalBytes: number;
  availableBytes: number;
  freeBytes: number;
  /** Where the used memory is, from /proc/meminfo (component → bytes). */
  components: Record<MemoryComponent, number>;
}

export const MEMORY_COMPONENTS = ['anon', 'file', 'shmem', 'slab_reclaimable', 'slab_unreclaimable', 'kernel_stack', 'page_tables', 'vmalloc', 'percpu', 'hugetlb'] as const;
export type MemoryComponent = (typeof MEMORY_COMPONENTS)[number];

export interface CgroupSnapshot {
  path: string;
  depth: number;
  container?: ContainerRef;
  usageBytes: number;
  workingsetBytes: number;
  limitBytes: number | null;
  fileBytes: number;
  shmemBytes: number;
}

export interface PsiSnapshot {
  resource: PsiResource;
  some?: PsiLine;
  full?: PsiLine;
}

export interface Snapshot {
  ts: number;
  memory: MemorySnapshot;
  /** Memory cgroups worth a series: depth ≤ maxDepth, or a container at any depth. Root excluded. */
  cgroups: CgroupSnapshot[];
  zombies?: { count?: number; bytes: number };
  psi: PsiSnapshot[];
  /**
   * The three counters of memleak's instant check, computed the way collectCheckInput does:
   * SUnreclaim, vmalloc (VmallocUsed, or the sum of /proc/vmallocinfo where the kernel prints 0 there)
   * and memory no meminfo counter explains (per-CPU free pages from /proc/zoneinfo subtracted).
   */
  leak?: LeakCounters;
  /** Run-queue latency this interval; null when the source is unavailable (no BPF), absent in old tests. */
  runqueue?: RunqueueReading | null;
  /** Kernel-log anomalies this interval; null when the kernel log cannot be followed. */
  logAnomalies?: LogAnomalies | null;
  /** Sources that failed this time (name → reason); the rest of the snapshot is still good. */
  errors: Record<string, string>;
  durationMs: number;
}

export interface LeakCounters {
  slabUnreclaimableBytes: number;
  vmallocBytes: number;
  unaccountedBytes: number;
}

export interface CollectOptions {
  /** Cgroups deeper than this get a series only when they are containers (default 2). */
  cgroupMaxDepth?: number;
  /** The run-queue latency histogram source (BPF); undefined = none. */
  runqueue?: RunqueueSource;
  /** The kernel-log follower; undefined = none. */
  kernelLog?: KernelLogSource;
}

export class Collector {
  private lookup: ContainerLookup | undefined;
  private lookupKey = '';

  constructor(
    private readonly host: Host,
    private readonly opts: CollectOptions = {},
  ) {}

  async collect(): Promise<Snapshot> {
    const t0 = performance.now();
    const ts = Date.now();
    const errors: Record<string, string> = {};
    const fail = (src: string) => (err: unknown) => {
      errors[src] = (err as Error).message;
      return undefined;
    };

    const mi = await readMeminfo(this.host);
    const b = (k: string): number => mi.bytesOr0(k);
    const total = b('MemTotal');
    // Derived figures come from the Meminfo getters, the definitions `oscope mem` uses too.
    const memory: MemorySnapshot = {
      totalBytes: total,
      availableBytes: mi.availableBytes(),
      freeBytes: b('MemFree'),
      components: {
        anon: b('AnonPages'),
        file: mi.fileCacheBytes(),
        shmem: b('Shmem'),
        slab_reclaimable: mi.slabReclaimableBytes(),
        slab_unreclaimable: mi.slabUnreclaimableBytes(),
        kernel_stack: b('KernelStack'),
        page_tables: mi.pageTablesBytes(),
        vmalloc: b('VmallocUsed'),
        percpu: b('Percpu'),
        hugetlb: mi.hugetlbBytes(),
      },
    };

    let leak: LeakCounters | undefined;
    try {
      let vmalloc = b('VmallocUsed');
      if (vmalloc === 0) {
        // Kernels before 4.? print 0 in VmallocUsed: sum the areas, as memleak's check does.
        const [info, ps] = await Promise.all([readVmallocinfo(this.host), pageSize(this.host)]);
        vmalloc = vmallocTotalBytes(info, ps);
      }
      // The same inputs and formula as `oscope mem` and `memleak -c` (src/diagnose/memory/unaccounted.ts).
      leak = { slabUnreclaimableBytes: b('SUnreclaim'), vmallocBytes: vmalloc, unaccountedBytes: unaccountedBytes(mi, await readUnaccountedInputs(this.host)) };
    } catch (err) {
      fail('leak')(err);
    }

    let runqueue: RunqueueReading | null = null;
    if (this.opts.runqueue) {
      try {
        runqueue = this.opts.runqueue.read();
      } catch (err) {
        fail('runqueue')(err);
      }
    }
    let logAnomalies: LogAnomalies | null = null;
    if (this.opts.kernelLog) {
      try {
        logAnomalies = this.opts.kernelLog.take();
      } catch (err) {
        fail('kernel_log')(err);
      }
    }

    const psi: PsiSnapshot[] = [];
    for (const r of ['memory', 'cpu', 'io'] as const) {
      const p = await readPsi(this.host, r).catch(fail(`psi.${r}`));
      if (p) psi.push({ resource: r, ...p });
    }

    const cgroups: CgroupSnapshot[] = [];
    let zombies: Snapshot['zombies'];
    const walk = await walkMemoryCgroups(this.host).catch(fail('cgroups'));
    if (walk) {
      const key = walk.cgroups.map((c) => c.path).join('\n');
      if (!this.lookup || key !== this.lookupKey) {
        this.lookup = await containerLookup(this.host, walk.cgroups.map((c) => c.path)).catch(() => undefined);
        this.lookupKey = key;
      }
      const maxDepth = this.opts.cgroupMaxDepth ?? 2;
      for (const c of walk.cgroups) {
        if (c.depth === 0) continue;
        const container = this.lookup?.(c.path);
        if (c.depth > maxDepth && !container) continue;
        cgroups.push({
          path: c.path,
          depth: c.depth,
          container,
          usageBytes: c.memory.usageBytes,
          workingsetBytes: c.memory.workingsetBytes,
          limitBytes: c.memory.limitBytes !== null && c.memory.limitBytes < total ? c.memory.limitBytes : null,
          fileBytes: c.memory.fileBytes,
          shmemBytes: c.memory.shmemBytes,
        });
      }
      try {
        const z = computeZombies(walk);
        zombies = { count: z.zombies, bytes: z.zombieBytes };
      } catch (err) {
        fail('zombies')(err);
      }
    }
    return { ts, memory, cgroups, zombies, psi, leak, runqueue, logAnomalies, errors, durationMs: performance.now() - t0 };
  }
}

/** The compact sample sent to the console's metrics history (a few hundred bytes plus the top cgroups). */
export function sampleOf(s: Snapshot, topCgroups = 20): NodeSampleData {
  const top = [...s.cgroups].sort((a, b) => b.usageBytes - a.usageBytes).slice(0, topCgroups);
  const psiMem = s.psi.find((p) => p.resource === 'memory');
  return {
    memTotalBytes: s.memory.totalBytes,
    memAvailableBytes: s.memory.availableBytes,
    memFreeBytes: s.memory.freeBytes,
    components: s.memory.components,
    zombieCgroups: s.zombies?.count ?? null,
    zombieBytes: s.zombies?.bytes ?? null,
    psiMemorySomeAvg10: psiMem?.some?.avg10 ?? null,
    psiMemoryFullAvg10: psiMem?.full?.avg10 ?? null,
    runqueueLatency: s.runqueue ? s.runqueue.interval : null,
    logAnomalies: s.logAnomalies ? { total: s.logAnomalies.total, byRule: byRule(s.logAnomalies) } : null,
    cgroups: top.map((c) => ({
      path: c.path,
      container: c.container ? containerLabel(c.container) : null,
      usageBytes: c.usageBytes,
      workingsetBytes: c.workingsetBytes,
      limitBytes: c.limitBytes,
    })),
  };
}

/** Reports per inspect kind (levels merged), for the console sample. */
export function byRule(a: LogAnomalies): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of a.counts) out[c.rule] = (out[c.rule] ?? 0) + c.count;
  return out;
}
