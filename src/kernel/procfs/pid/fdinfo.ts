/**
 * /proc/PID/fdinfo/FD — per-descriptor details (Documentation/filesystems/proc.rst, "fdinfo").
 *
 * Every file has `pos:`, `flags:` (octal), `mnt_id:` and `ino:`; some kinds add their own lines, which
 * we keep as raw strings. For BPF objects (fd → anon_inode:bpf-map / bpf-prog): `map_type`, `key_size`,
 * `value_size`, `max_entries`, `map_flags`, `memlock` (bytes the map is charged for), `map_id`;
 * `prog_type`, `prog_jited`, `prog_tag`, `memlock`, `prog_id`.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';

export interface FdInfo {
  pos?: number;
  flags?: number;
  mntId?: number;
  ino?: number;
  /** Every `key: value` line, raw. */
  fields: Map<string, string>;
}

export function fdinfoPath(pid: number, fd: number): string {
  return `/proc/${pid}/fdinfo/${fd}`;
}

export function parseFdinfo(text: string, file = '/proc/PID/fdinfo/FD'): FdInfo {
  const fields = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    if (!m) continue; // multi-value lines (inotify, eventpoll "tfd:") are kept only as fields they start with
    if (!fields.has(m[1]!)) fields.set(m[1]!, m[2]!.trim());
  }
  const num = (k: string, radix = 10): number | undefined => {
    const v = fields.get(k);
    if (v === undefined) return undefined;
    const n = radix === 8 ? parseInt(v, 8) : Number(v);
    if (!Number.isFinite(n)) throw new ParseError(file, lines.findIndex((l) => l.startsWith(`${k}:`)) + 1, `bad ${k}: ${JSON.stringify(v)}`);
    return n;
  };
  return { pos: num('pos'), flags: num('flags', 8), mntId: num('mnt_id'), ino: num('ino'), fields };
}

export async function readFdinfo(host: Host, pid: number, fd: number): Promise<FdInfo | undefined> {
  const text = await host.tryReadText(fdinfoPath(pid, fd));
  return text === undefined ? undefined : parseFdinfo(text, fdinfoPath(pid, fd));
}
