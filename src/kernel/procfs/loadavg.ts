/**
 * /proc/loadavg — load averages and task counts (fs/proc/loadavg.c; Documentation/filesystems/proc.rst).
 *
 *   0.55 0.44 0.18 1/80 3366
 * - load1/load5/load15: exponentially-damped averages of runnable + uninterruptible (D state) tasks over
 *   1, 5 and 15 minutes.
 * - running/total: currently runnable scheduling entities / all threads in the system.
 * - lastPid: the most recently allocated pid (in the reader's pid namespace).
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const LOADAVG_PATH = '/proc/loadavg';

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  total: number;
  lastPid: number;
}

export function parseLoadavg(text: string, file = LOADAVG_PATH): Loadavg {
  const lines = text.split('\n');
  if (lines.slice(1).some((l) => l.trim() !== '')) throw new ParseError(file, 2, 'expected a single line');
  const m = /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+)\/(\d+) (\d+)$/.exec((lines[0] ?? '').trim());
  if (!m) throw new ParseError(file, 1, `expected "L1 L5 L15 RUN/TOTAL LASTPID", got ${JSON.stringify(lines[0] ?? '')}`);
  return {
    load1: Number(m[1]),
    load5: Number(m[2]),
    load15: Number(m[3]),
    running: parseIntField(m[4], file, 1, 'running'),
    total: parseIntField(m[5], file, 1, 'total'),
    lastPid: parseIntField(m[6], file, 1, 'last pid'),
  };
}

export async function readLoadavg(host: Host): Promise<Loadavg> {
  return parseLoadavg(await host.readText(LOADAVG_PATH));
}
