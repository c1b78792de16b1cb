/**
 * Every process once: status, smaps_rollup, cgroup and open files. The panorama's process table, the
 * shared-memory section (deleted-but-open and memfd files) and the BPF count all come from this one
 * scan, so /proc/PID files are read once per report.
 */
import type { Host } from '../../host/host.js';
import { type FdEntry, readFds } from '../../kernel/procfs/pid/fd.js';
import { type ProcessInfo, listPids, readProcess } from '../../kernel/procfs/pid/process.js';
import { mapLimit } from '../../util/concurrency.js';
import type { ContainerRef, ProcessRow } from './types.js';

export interface ProcessScan {
  processes: ProcessInfo[];
  fds: Map<number, FdEntry[]>;
  /** Pids whose files could not be read (permission), e.g. when not root. */
  unreadable: number;
}

export async function scanProcesses(host: Host, opts: { fds?: boolean; concurrency?: number } = {}): Promise<ProcessScan> {
  const pids = await listPids(host);
  const fds = new Map<number, FdEntry[]>();
  let unreadable = 0;
  const infos = await mapLimit(pids, opts.concurrency ?? 16, async (pid) => {
    const info = await readProcess(host, pid);
    if (!info) return undefined;
    if (info.unreadable.length > 0) unreadable++;
    if (opts.fds !== false) {
      try {
        fds.set(pid, await readFds(host, pid));
      } catch {
        /* gone, or not ours to read */
      }
    }
    return info;
  });
  return { processes: infos.filter((p): p is ProcessInfo => p !== undefined), fds, unreadable };
}

/** Rows of the process table, largest RSS first; kernel threads (no RSS) are left out. */
export function processRows(scan: ProcessScan, containerOf: (cgroupPath: string) => ContainerRef | undefined): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const p of scan.processes) {
    const s = p.status;
    const rss = s.vmRssBytes ?? p.smapsRollup?.rssBytes;
    if (rss === undefined || rss === 0) continue;
    const row: ProcessRow = {
      pid: p.pid,
      comm: s.name,
      rssBytes: rss,
      anonBytes: s.rssAnonBytes ?? 0,
      fileBytes: s.rssFileBytes ?? 0,
      shmemBytes: s.rssShmemBytes ?? 0,
      swapBytes: s.vmSwapBytes ?? 0,
      threads: s.threads,
    };
    if (p.smapsRollup) row.pssBytes = p.smapsRollup.pssBytes;
    if (s.vmPteBytes !== undefined) row.pageTableBytes = s.vmPteBytes;
    if (p.memoryCgroup !== undefined) {
      row.cgroup = p.memoryCgroup;
      const c = containerOf(p.memoryCgroup);
      if (c) row.container = c;
    }
    rows.push(row);
  }
  return rows.sort((a, b) => b.rssBytes - a.rssBytes);
}

export function commOf(scan: ProcessScan): Map<number, string> {
  return new Map(scan.processes.map((p) => [p.pid, p.status.name]));
}
