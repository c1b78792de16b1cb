/**
 * CPU and memory topology from sysfs (Documentation/ABI/stable/sysfs-devices-system-cpu, -node) and the
 * hugetlb pools (/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages).
 *
 *   /sys/devices/system/cpu/{possible,present,online}   CPU lists: "0-3,8-11"
 *   /sys/devices/system/cpu/smt/active                  1 when sibling threads are online
 *   /sys/devices/system/node/online                     NUMA nodes online: "0-1"
 *   /sys/devices/system/node/nodeN/{cpulist,meminfo}    "Node 0 MemTotal:  16314772 kB"
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const CPU_DIR = '/sys/devices/system/cpu';
export const NODE_DIR = '/sys/devices/system/node';
export const HUGEPAGES_DIR = '/sys/kernel/mm/hugepages';

/** The kernel's list format ("0-3,5", "" for none) → the ids. */
export function parseCpuList(text: string, file = 'cpulist'): number[] {
  const out: number[] = [];
  const t = text.trim();
  if (t === '') return out;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ParseError(file, 1, `expected a list like "0-3,5", got ${JSON.stringify(t)}`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a || b - a > 1 << 20) throw new ParseError(file, 1, `bad range ${part}`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** "Node 0 MemTotal:       16314772 kB" in a node's meminfo → bytes. */
export function parseNodeMemTotal(text: string, file: string): number {
  const m = /MemTotal:\s+(\d+) kB/.exec(text);
  if (!m) throw new ParseError(file, 1, 'no MemTotal line');
  return Number(m[1]) * 1024;
}

export interface NumaNode {
  id: number;
  cpus: string;
  memTotalBytes: number | undefined;
}

export interface Topology {
  cpusPossible: string | undefined;
  cpusOnline: string | undefined;
  cpusOnlineCount: number | undefined;
  smtActive: boolean | undefined;
  /** NUMA nodes online; empty when the kernel has no NUMA sysfs (CONFIG_NUMA=n). */
  nodes: NumaNode[];
  /** Hugetlb pool per page size: `2048kB` → pages. */
  hugepages: Record<string, number>;
}

export async function readTopology(host: Host): Promise<Topology> {
  const possible = (await host.tryReadText(`${CPU_DIR}/possible`))?.trim();
  const online = (await host.tryReadText(`${CPU_DIR}/online`))?.trim();
  const smt = (await host.tryReadText(`${CPU_DIR}/smt/active`))?.trim();
  const nodes: NumaNode[] = [];
  const nodeOnline = await host.tryReadText(`${NODE_DIR}/online`);
  if (nodeOnline !== undefined) {
    for (const id of parseCpuList(nodeOnline, `${NODE_DIR}/online`)) {
      const mi = await host.tryReadText(`${NODE_DIR}/node${id}/meminfo`);
      nodes.push({ id, cpus: (await host.tryReadText(`${NODE_DIR}/node${id}/cpulist`))?.trim() ?? '', memTotalBytes: mi === undefined ? undefined : parseNodeMemTotal(mi, `${NODE_DIR}/node${id}/meminfo`) });
    }
  }
  const hugepages: Record<string, number> = {};
  let sizes: string[] = [];
  try {
    sizes = (await host.readDir(HUGEPAGES_DIR)).filter((n) => /^hugepages-\d+kB$/.test(n));
  } catch {
    sizes = [];
  }
  for (const s of sizes.sort((a, b) => parseInt(a.slice(10), 10) - parseInt(b.slice(10), 10))) {
    const v = (await host.tryReadText(`${HUGEPAGES_DIR}/${s}/nr_hugepages`))?.trim();
    if (v !== undefined && /^\d+$/.test(v)) hugepages[s.slice(10)] = Number(v);
  }
  return {
    cpusPossible: possible,
    cpusOnline: online,
    cpusOnlineCount: online !== undefined ? parseCpuList(online, `${CPU_DIR}/online`).length : undefined,
    smtActive: smt === undefined ? undefined : smt === '1',
    nodes,
    hugepages,
  };
}
