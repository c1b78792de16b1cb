/**
 * /proc/PID/stat and /proc/PID/task/TID/stat — one line of space-separated fields (fs/proc/array.c,
 * do_task_stat()). `comm` is in parentheses and may itself hold spaces and parentheses, so the fields
 * after it are split from the LAST ')'. Only the fields the io diagnosis needs are returned:
 *   1 pid, 2 comm, 3 state (R S D T t X Z P I), 4 ppid,
 *   39 processor (the CPU it last ran on), 42 delayacct_blkio_ticks (clock ticks spent waiting for block
 *   I/O; 0 unless delay accounting is on).
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** Field 39; undefined on kernels that print fewer fields. */
  processor?: number;
  /** Field 42; undefined on kernels that print fewer fields. */
  blkioTicks?: number;
}

export const taskStatPath = (pid: number, tid: number): string => `/proc/${pid}/task/${tid}/stat`;

export function parseProcStat(text: string, file = '/proc/PID/stat'): ProcStat {
  const line = text.split('\n')[0] ?? '';
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(')');
  if (open <= 0 || close < open) throw new ParseError(file, 1, `expected "pid (comm) state …", got ${JSON.stringify(line.slice(0, 80))}`);
  const pid = parseIntField(line.slice(0, open), file, 1, 'pid');
  const rest = line.slice(close + 1).trim().split(/\s+/);
  const state = rest[0] ?? '';
  if (!/^[A-Za-z]$/.test(state)) throw new ParseError(file, 1, `bad state ${JSON.stringify(state)}`);
  const out: ProcStat = { pid, comm: line.slice(open + 2, close), state, ppid: parseIntField(rest[1], file, 1, 'ppid') };
  if (rest.length > 36) out.processor = parseIntField(rest[36], file, 1, 'processor');
  // Field 42 is rest[39] (rest[0] is field 3).
  if (rest.length > 39) out.blkioTicks = parseIntField(rest[39], file, 1, 'delayacct_blkio_ticks');
  return out;
}

export async function readTaskStat(host: Host, pid: number, tid: number): Promise<ProcStat> {
  const path = taskStatPath(pid, tid);
  return parseProcStat(await host.readText(path), path);
}

export async function readProcStat(host: Host, pid: number): Promise<ProcStat> {
  const path = `/proc/${pid}/stat`;
  return parseProcStat(await host.readText(path), path);
}
