/**
 * /proc/PID/stack and /proc/PID/task/TID/stack — a sleeping task's kernel stack (fs/proc/base.c,
 * proc_pid_stack(); CONFIG_STACKTRACE, root only). One frame per line, innermost first:
 *
 *   [<0>] io_schedule+0x46/0x70
 *   [<0>] blk_mq_get_tag+0x11e/0x2b0
 *
 * The address is printed as 0 unless kptr_restrict allows it; we keep `function+off/len` only.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';

export const taskStackPath = (pid: number, tid: number): string => `/proc/${pid}/task/${tid}/stack`;

export function parseStack(text: string, file = '/proc/PID/stack'): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const m = /^\[<([0-9a-fA-F]+)>\]\s+(\S.*)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "[<addr>] function+off/len", got ${JSON.stringify(line)}`);
    out.push(m[2]!.trim());
  }
  return out;
}

export async function readTaskStack(host: Host, pid: number, tid: number): Promise<string[]> {
  const path = taskStackPath(pid, tid);
  return parseStack(await host.readText(path), path);
}
