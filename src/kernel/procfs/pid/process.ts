/**
 * Enumerating processes and reading the per-process files the memory panorama needs.
 *
 * Processes come and go while we read: a pid listed a moment ago may be gone (ENOENT, or ESRCH from
 * some files), which is not an error. `readProcess` returns `undefined` for a vanished process.
 * Files a process protects from us (EACCES/EPERM, e.g. smaps_rollup of a process under another
 * security domain) are left `undefined` and named in `unreadable`, so callers can report coverage.
 */
import { HostError, type Host } from '../../../host/host.js';
import { type ProcCgroupEntry, memoryCgroupPath, readProcCgroup } from './cgroup.js';
import { type SmapsRollup, readSmapsRollup } from './smaps-rollup.js';
import { type ProcStatus, readProcStatus } from './status.js';

/** Numeric entries of /proc (thread-group leaders), ascending. */
export async function listPids(host: Host): Promise<number[]> {
  const names = await host.readDir('/proc');
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ProcessInfo {
  pid: number;
  status: ProcStatus;
  /** Undefined for kernel threads (ESRCH or empty), on kernels before 4.14, or when unreadable. */
  smapsRollup?: SmapsRollup;
  cgroups?: ProcCgroupEntry[];
  /** memoryCgroupPath(cgroups). */
  memoryCgroup?: string;
  /** Files that existed but could not be read (EACCES/EPERM). */
  unreadable: string[];
}

function vanished(err: unknown): boolean {
  return err instanceof HostError && err.notFound;
}

/**
 * status + smaps_rollup + cgroup of one process, or `undefined` if it vanished. Parse errors and other
 * host errors propagate. A permission error on status propagates too (nothing useful without it).
 */
export async function readProcess(host: Host, pid: number): Promise<ProcessInfo | undefined> {
  let status: ProcStatus;
  try {
    status = await readProcStatus(host, pid);
  } catch (err) {
    if (vanished(err)) return undefined;
    throw err;
  }
  const unreadable: string[] = [];
  // Kernel threads answer ESRCH for smaps_rollup although they exist; so a "not found" on a later file
  // means "gone" only when the process directory is gone too.
  const optional = async <T>(read: () => Promise<T>): Promise<T | undefined | 'gone'> => {
    try {
      return await read();
    } catch (err) {
      if (vanished(err)) return (await host.exists(`/proc/${pid}/status`)) ? undefined : 'gone';
      if (err instanceof HostError && err.denied) {
        unreadable.push(err.path);
        return undefined;
      }
      throw err;
    }
  };
  const smaps = await optional(() => readSmapsRollup(host, pid));
  if (smaps === 'gone') return undefined;
  const cgroups = await optional(() => readProcCgroup(host, pid));
  if (cgroups === 'gone') return undefined;
  return {
    pid,
    status,
    smapsRollup: smaps,
    cgroups,
    memoryCgroup: cgroups ? memoryCgroupPath(cgroups) : undefined,
    unreadable,
  };
}
