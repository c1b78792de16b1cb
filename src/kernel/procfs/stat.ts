/**
 * /proc/stat — kernel/system statistics (fs/proc/stat.c; Documentation/filesystems/proc.rst §1.8).
 *
 *   cpu  4705 356 584 3699 23 23 0 0 0 0      aggregate of every CPU, then one `cpuN` line per online CPU:
 *   cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0
 *        user nice system idle iowait irq softirq steal guest guest_nice   (USER_HZ ticks; guest time is
 *        also counted in user/nice; columns after idle appeared over 2.5.41–2.6.33 and read as 0 when absent)
 *   intr … / ctxt N / btime S / processes N (forks since boot: every clone, threads too) /
 *   procs_running N / procs_blocked N (tasks in D waiting for I/O … in fact every nr_iowait task) / softirq …
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const PROC_STAT_PATH = '/proc/stat';
/** /proc/stat counts in USER_HZ = 100 ticks per second on every architecture that exports it. */
export const USER_HZ = 100;

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
  guestNice: number;
}

export interface ProcStatFile {
  /** The aggregate `cpu` line. */
  total: CpuTimes;
  /** `cpuN` lines by CPU number (online CPUs only). */
  perCpu: Map<number, CpuTimes>;
  /** Context switches since boot. */
  ctxt: number;
  /** Boot time, seconds since the epoch. */
  btime: number;
  /** Forks (clone/fork/vfork, threads included) since boot. */
  processes: number;
  procsRunning: number;
  procsBlocked: number;
}

const FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const;

function cpuTimes(f: string[], file: string, line: number): CpuTimes {
  if (f.length < 4) throw new ParseError(file, line, `expected at least "user nice system idle" after ${f[0] ?? 'cpu'}`);
  const out = {} as CpuTimes;
  FIELDS.forEach((k, i) => (out[k] = i < f.length ? parseIntField(f[i], file, line, k) : 0));
  return out;
}

export function parseProcStatFile(text: string, file = PROC_STAT_PATH): ProcStatFile {
  let total: CpuTimes | undefined;
  const perCpu = new Map<number, CpuTimes>();
  const scalars = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    const key = f[0]!;
    if (key === 'cpu') total = cpuTimes(f.slice(1), file, i + 1);
    else if (/^cpu\d+$/.test(key)) perCpu.set(Number(key.slice(3)), cpuTimes(f.slice(1), file, i + 1));
    else if (['ctxt', 'btime', 'processes', 'procs_running', 'procs_blocked'].includes(key)) scalars.set(key, parseIntField(f[1], file, i + 1, key));
  }
  if (!total) throw new ParseError(file, 1, 'no aggregate "cpu" line');
  const need = (k: string): number => {
    const v = scalars.get(k);
    if (v === undefined) throw new ParseError(file, lines.length, `no "${k}" line`);
    return v;
  };
  return { total, perCpu, ctxt: need('ctxt'), btime: scalars.get('btime') ?? 0, processes: need('processes'), procsRunning: need('procs_running'), procsBlocked: need('procs_blocked') };
}

export async function readProcStatFile(host: Host): Promise<ProcStatFile> {
  return parseProcStatFile(await host.readText(PROC_STAT_PATH));
}

/** Sum of every column but guest/guest_nice (already inside user/nice). */
export function cpuTotalTicks(t: CpuTimes): number {
  return t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}
