/**
 * /proc/PID/io — a process's I/O counters (fs/proc/base.c, do_io_accounting(); summed over every thread
 * of the group, dead ones included). CONFIG_TASK_IO_ACCOUNTING; readable by the owner or root.
 *
 *   rchar, wchar          bytes passed to read()/write()-like calls (page cache hits included)
 *   syscr, syscw          read/write-like calls
 *   read_bytes            bytes the task caused to be fetched from storage (readahead included)
 *   write_bytes           bytes the task caused to be sent to storage: counted when it DIRTIES a page
 *                         (folio_account_dirtied) or submits direct I/O — so writeback done later by a
 *                         kworker is already charged to the dirtier here
 *   cancelled_write_bytes dirty page cache the task truncated before writeback (never written)
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface ProcIo {
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

const KEYS: Record<string, keyof ProcIo> = {
  rchar: 'rchar',
  wchar: 'wchar',
  syscr: 'syscr',
  syscw: 'syscw',
  read_bytes: 'readBytes',
  write_bytes: 'writeBytes',
  cancelled_write_bytes: 'cancelledWriteBytes',
};

export const procIoPath = (pid: number): string => `/proc/${pid}/io`;

export function parseProcIo(text: string, file = '/proc/PID/io'): ProcIo {
  const out: Partial<ProcIo> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^(\w+):\s+(\S+)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "name: value", got ${JSON.stringify(line)}`);
    const key = KEYS[m[1]!];
    if (!key) continue; // a newer kernel's field
    if (out[key] !== undefined) throw new ParseError(file, i + 1, `duplicate ${m[1]!}`);
    const v = parseIntField(m[2], file, i + 1, m[1]!);
    if (v < 0) throw new ParseError(file, i + 1, `${m[1]!} is negative`);
    out[key] = v;
  }
  for (const [name, key] of Object.entries(KEYS)) {
    if (out[key] === undefined) throw new ParseError(file, lines.length, `${name} is missing`);
  }
  return out as ProcIo;
}

export async function readProcIo(host: Host, pid: number): Promise<ProcIo> {
  const path = procIoPath(pid);
  return parseProcIo(await host.readText(path), path);
}
