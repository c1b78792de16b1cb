/**
 * Processes a simulation starts, identified by pid AND start time (field 22 of /proc/PID/stat, in clock
 * ticks since boot) so that a pid the kernel recycled for somebody else's process is never signalled.
 */
import { readFileSync } from 'node:fs';

export interface ProcIdentity {
  pid: number;
  /** /proc/PID/stat field 22 (starttime), as a decimal string: it can exceed 2^53 in theory. */
  startTime: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

/** Parses /proc/PID/stat. The comm field (2) may hold spaces and parentheses: fields after it follow the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0, so field N is index N - 3.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const state = rest[0];
  const startTime = rest[22 - 3];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { state, startTime };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The identity of a running process, or undefined when it is gone. */
export function procIdentity(pid: number): ProcIdentity | undefined {
  const st = readStat(pid);
  return st ? { pid, startTime: st.startTime } : undefined;
}

/** True while the very process (same pid, same start time) exists and has not exited (zombies count as gone). */
export function isSameProcessAlive(id: ProcIdentity): boolean {
  const st = readStat(id.pid);
  return st !== undefined && st.startTime === id.startTime && st.state !== 'Z' && st.state !== 'X';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Signals the process only if it is still the one recorded, then waits (up to `waitMs`) for it to exit.
 * Returns 'gone' when it had already exited, 'killed' when it exited after the signal, 'alive' when it
 * outlived the wait.
 */
export async function killVerified(
  id: ProcIdentity,
  signal: NodeJS.Signals = 'SIGKILL',
  waitMs = 5000,
): Promise<'gone' | 'killed' | 'alive'> {
  if (!isSameProcessAlive(id)) return 'gone';
  try {
    process.kill(id.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw err;
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    if (!isSameProcessAlive(id)) return 'killed';
    await sleep(20);
  }
  return isSameProcessAlive(id) ? 'alive' : 'killed';
}
