/**
 * /proc/PID/status — a process's identity and memory summary (fs/proc/array.c, task_mem() in
 * fs/proc/task_mmu.c).
 *
 * Each line is `Name:<TAB>value`. Memory lines carry a `kB` unit and are returned in bytes. Kernel threads
 * have no Vm* / Rss* lines at all, so those fields are `undefined` for them (not 0). Fields used here:
 * - Name: the comm (may contain spaces; escaped by the kernel: `\n` → "\\n", `\\` → "\\\\").
 * - State: one letter plus a word, e.g. `S (sleeping)`. Pid, PPid, Tgid: numbers.
 * - Uid/Gid: real, effective, saved, filesystem ids.
 * - VmRSS = RssAnon + RssFile + RssShmem (4.5+). VmSwap: swapped-out anonymous memory.
 * - Threads: thread count. NSpid: the pid in each nested pid namespace, outermost first (4.1+).
 * Every line is also kept raw in `fields` (bytes for kB lines, raw text otherwise in `text`).
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface ProcStatus {
  name: string;
  /** The state letter: R, S, D, T, t, X, Z, P, I. */
  state: string;
  pid: number;
  ppid: number;
  tgid: number;
  /** [real, effective, saved, fs]. */
  uid: [number, number, number, number];
  gid: [number, number, number, number];
  /** Pids in nested namespaces, outermost (the host's) first; [pid] on kernels without NSpid. */
  nsPid: number[];
  threads: number;
  vmRssBytes?: number;
  rssAnonBytes?: number;
  rssFileBytes?: number;
  rssShmemBytes?: number;
  vmSwapBytes?: number;
  vmSizeBytes?: number;
  vmPteBytes?: number;
  /** Every kB line in bytes, by its kernel name (VmPeak, VmHWM, VmLck, HugetlbPages, ...). */
  memFields: Map<string, number>;
  /** Every line's raw value text, by its kernel name. */
  text: Map<string, string>;
}

export function procStatusPath(pid: number): string {
  return `/proc/${pid}/status`;
}

function ids(v: string | undefined, file: string, line: number, what: string): [number, number, number, number] {
  const parts = (v ?? '').trim().split(/\s+/);
  if (parts.length !== 4) throw new ParseError(file, line, `expected 4 ids for ${what}, got ${JSON.stringify(v ?? '')}`);
  return [
    parseIntField(parts[0], file, line, what),
    parseIntField(parts[1], file, line, what),
    parseIntField(parts[2], file, line, what),
    parseIntField(parts[3], file, line, what),
  ];
}

export function parseProcStatus(text: string, file = '/proc/PID/status'): ProcStatus {
  const raw = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const memFields = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError(file, i + 1, `expected "Name:\\tvalue", got ${JSON.stringify(line)}`);
    const key = line.slice(0, colon);
    if (!/^[A-Za-z0-9_]+$/.test(key)) throw new ParseError(file, i + 1, `bad field name ${JSON.stringify(key)}`);
    // Name keeps its exact text (after the tab); other values are trimmed.
    const value = key === 'Name' ? line.slice(colon + 1).replace(/^\t/, '') : line.slice(colon + 1).trim();
    raw.set(key, value);
    lineOf.set(key, i + 1);
    const kb = /^(\d+) kB$/.exec(value);
    if (kb) memFields.set(key, parseIntField(kb[1], file, i + 1, key) * 1024);
    else if (/^(Vm|Rss)/.test(key)) throw new ParseError(file, i + 1, `expected "N kB" for ${key}, got ${JSON.stringify(value)}`);
  }
  const need = (key: string): string => {
    const v = raw.get(key);
    if (v === undefined) throw new ParseError(file, lines.length, `${key} is missing`);
    return v;
  };
  const int = (key: string): number => parseIntField(need(key), file, lineOf.get(key) ?? 1, key);
  const stateText = need('State');
  const sm = /^([A-Za-z])(?: \(.*\))?$/.exec(stateText);
  if (!sm) throw new ParseError(file, lineOf.get('State') ?? 1, `bad State ${JSON.stringify(stateText)}`);
  const pid = int('Pid');
  const nsRaw = raw.get('NSpid');
  const nsPid =
    nsRaw === undefined
      ? [pid]
      : nsRaw.split(/\s+/).map((p) => parseIntField(p, file, lineOf.get('NSpid') ?? 1, 'NSpid'));
  return {
    name: need('Name'),
    state: sm[1]!,
    pid,
    ppid: int('PPid'),
    tgid: raw.has('Tgid') ? int('Tgid') : pid,
    uid: ids(need('Uid'), file, lineOf.get('Uid') ?? 1, 'Uid'),
    gid: ids(need('Gid'), file, lineOf.get('Gid') ?? 1, 'Gid'),
    nsPid,
    threads: int('Threads'),
    vmRssBytes: memFields.get('VmRSS'),
    rssAnonBytes: memFields.get('RssAnon'),
    rssFileBytes: memFields.get('RssFile'),
    rssShmemBytes: memFields.get('RssShmem'),
    vmSwapBytes: memFields.get('VmSwap'),
    vmSizeBytes: memFields.get('VmSize'),
    vmPteBytes: memFields.get('VmPTE'),
    memFields,
    text: raw,
  };
}

export async function readProcStatus(host: Host, pid: number): Promise<ProcStatus> {
  const path = procStatusPath(pid);
  return parseProcStatus(await host.readText(path), path);
}
