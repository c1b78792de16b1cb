/**
 * Every process once: status, smaps_rollup, cgroup, open files and, when the file cache part runs,
 * mapped files and mount namespace. The panorama's process table, the shared-memory section
 * (deleted-but-open and memfd files), the BPF count and the file cache's holders all come from this
 * one scan, so /proc/PID files are read once per report.
 */
import type { Host } from '../../host/host.js';
import type { ScannedProcess } from '../filecache/sources.js';
import { type FdEntry, readFds } from '../../kernel/procfs/pid/fd.js';
import { type MapEntry, readMaps } from '../../kernel/procfs/pid/maps.js';
import { type ProcessInfo, listPids, readProcess } from '../../kernel/procfs/pid/process.js';
import { mapLimit } from '../../util/concurrency.js';
import type { ContainerRef, ProcessRow } from './types.js';

export interface ProcessScan {
  processes: ProcessInfo[];
  fds: Map<number, FdEntry[]>;
  /** /proc/PID/maps of each process (only when asked for: `maps: true`). */
  maps: Map<number, MapEntry[]>;
  /** readlink /proc/PID/ns/mnt (only with `maps: true`, for the file cache's container paths). */
  mntNs: Map<number, string>;
  /** Pids whose files could not be read (permission), e.g. when not root. */
  unreadable: number;
}

export interface ScanOptions {
  /** Read /proc/PID/fd (default true). */
  fds?: boolean;
  /** Read /proc/PID/maps and ns/mnt too (default false): what the file cache needs besides fds. */
  maps?: boolean;
  concurrency?: number;
}

export async function scanProcesses(host: Host, opts: ScanOptions = {}): Promise<ProcessScan> {
  const pids = await listPids(host);
  const fds = new Map<number, FdEntry[]>();
  const maps = new Map<number, MapEntry[]>();
  const mntNs = new Map<number, string>();
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
    if (opts.maps === true) {
      try {
        maps.set(pid, await readMaps(host, pid));
      } catch {
        /* kernel thread, gone, or not ours to read */
      }
      try {
        mntNs.set(pid, await host.readLink(`/proc/${pid}/ns/mnt`));
      } catch {
        /* kernel thread or gone */
      }
    }
    return info;
  });
  return { processes: infos.filter((p): p is ProcessInfo => p !== undefined), fds, maps, mntNs, unreadable };
}

/** The scan in the shape the file cache sources take (collectSources' `processes`). */
export function scannedProcesses(scan: ProcessScan): ScannedProcess[] {
  return scan.processes.map((p) => {
    const out: ScannedProcess = { pid: p.pid, comm: p.status.name };
    if (p.memoryCgroup !== undefined) out.memoryCgroup = p.memoryCgroup;
    const ns = scan.mntNs.get(p.pid);
    if (ns !== undefined) out.mntNs = ns;
    const f = scan.fds.get(p.pid);
    if (f) out.fds = f;
    const m = scan.maps.get(p.pid);
    if (m) out.maps = m;
    return out;
  });
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
