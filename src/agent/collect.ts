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
  /** Sources that failed this time (name → reason); the rest of the snapshot is still good. */
  errors: Record<string, string>;
  durationMs: number;
}

export interface CollectOptions {
  /** Cgroups deeper than this get a series only when they are containers (default 2). */
  cgroupMaxDepth?: number;
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
    const hugetlb = mi.bytes('Hugetlb') ?? (mi.fields.get('HugePages_Total') ?? 0) * (mi.bytes('Hugepagesize') ?? 0);
    const memory: MemorySnapshot = {
      totalBytes: total,
      availableBytes: mi.bytes('MemAvailable') ?? b('MemFree'),
      freeBytes: b('MemFree'),
      components: {
        anon: b('AnonPages'),
        // Page cache without shmem (Cached counts shmem too), plus buffers.
        file: Math.max(0, b('Cached') - b('Shmem')) + b('Buffers'),
        shmem: b('Shmem'),
        slab_reclaimable: b('SReclaimable'),
        slab_unreclaimable: b('SUnreclaim'),
        kernel_stack: b('KernelStack'),
        page_tables: b('PageTables') + b('SecPageTables'),
        vmalloc: b('VmallocUsed'),
        percpu: b('Percpu'),
        hugetlb,
      },
    };

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
    return { ts, memory, cgroups, zombies, psi, errors, durationMs: performance.now() - t0 };
  }
}

/** The compact sample sent to the console's metrics history (a few hundred bytes plus the top cgroups). */
export function sampleOf(s: Snapshot, topCgroups = 20): Record<string, unknown> {
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
    cgroups: top.map((c) => ({
      path: c.path,
      container: c.container ? (c.container.podName ? `${c.container.podNamespace ?? ''}/${c.container.podName}/${c.container.name ?? ''}` : (c.container.name ?? c.container.id)) : null,
      usageBytes: c.usageBytes,
      workingsetBytes: c.workingsetBytes,
      limitBytes: c.limitBytes,
    })),
  };
}
