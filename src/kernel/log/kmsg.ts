/**
 * /dev/kmsg — the kernel ring buffer, one record per read(2) (Documentation/ABI/testing/dev-kmsg):
 *
 *   6,1234,5678901,-[,caller=T123];message text\x0awith escaped bytes
 *    SUBSYSTEM=pci
 *    DEVICE=+pci:0000:00:1f.2
 *
 * - prefix: syslog facility*8+level, sequence number, microseconds since boot (local_clock, which does
 *   not count suspend), flags (`-` new record, `c` continuation), then optional key=value fields such as
 *   `caller=T123` (CONFIG_PRINTK_CALLER).
 * - text: non-printable bytes are escaped as `\xNN`; an embedded newline (`\x0a`) splits a message.
 * - lines starting with a space are dictionary key=value pairs of the record above.
 *
 * Wall-clock times come from the boot time: now − /proc/uptime (the same approximation `dmesg -T`
 * makes; after a suspend, times drift by the time spent suspended).
 *
 * Reading: /dev/kmsg blocks at the end of the buffer, so the live reader opens it O_NONBLOCK and reads
 * until EAGAIN. That is the one kernel file read outside the Host's readText (which would block): a
 * bundle host gives the captured text of `/dev/kmsg` through tryReadText instead.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { Host } from '../../host/host.js';
import { HostError, toHostError } from '../../host/host.js';
import { ParseError } from '../errors.js';
import type { LogLine } from './line.js';

export const KMSG_PATH = '/dev/kmsg';

export interface KmsgRecord {
  /** syslog level 0–7 and facility (0 = kernel). */
  level: number;
  facility: number;
  seq: number;
  /** Microseconds since boot. */
  tsUs: number;
  /** `caller=` field (T123 task / C1 cpu), when printk caller info is on. */
  caller?: string;
  /** The message, unescaped; may span lines. */
  text: string;
}

const RECORD_RE = /^(\d+),(\d+),(\d+),([^,;]*)((?:,[^;]*)?);(.*)$/;

function unescape(s: string): string {
  return s.includes('\\x') ? s.replace(/\\x([0-9a-fA-F]{2})/g, (_w, h: string) => String.fromCharCode(parseInt(h, 16))) : s;
}

/** Parses /dev/kmsg text (records separated by newlines, dictionary lines start with a space). */
export function parseKmsg(text: string, file = KMSG_PATH): KmsgRecord[] {
  const out: KmsgRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' || line.startsWith(' ')) continue;
    const m = RECORD_RE.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "level,seq,usec,flags;text", got ${JSON.stringify(line.slice(0, 80))}`);
    const pri = Number(m[1]);
    const seq = Number(m[2]);
    const tsUs = Number(m[3]);
    if (!Number.isSafeInteger(pri) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(tsUs)) {
      throw new ParseError(file, i + 1, 'record prefix out of range');
    }
    const caller = /,caller=([TC]\d+)/.exec(m[5] ?? '')?.[1];
    out.push({ level: pri & 7, facility: pri >> 3, seq, tsUs, caller, text: unescape(m[6]!) });
  }
  return out;
}

/** Records → log lines (multi-line messages split), with wall-clock times from `bootWallMs`. */
export function kmsgLines(records: KmsgRecord[], bootWallMs?: number): LogLine[] {
  const out: LogLine[] = [];
  for (const r of records) {
    if (r.facility !== 0) continue; // user-space writes to /dev/kmsg (facility 1+): not the kernel
    const monoS = r.tsUs / 1e6;
    const wallMs = bootWallMs !== undefined ? bootWallMs + r.tsUs / 1000 : undefined;
    for (const text of r.text.split('\n')) {
      out.push({ text: text.replace(/\r$/, ''), ctx: r.caller ?? 'console', monoS, wallMs, prio: r.level });
    }
  }
  return out;
}

/**
 * Reads every record now in the ring buffer from a live /dev/kmsg without blocking. Returns the text in
 * /dev/kmsg format (one record per line). Throws HostError (EACCES when dmesg_restrict forbids it).
 */
export function readKmsgLive(fd?: number): string {
  const own = fd === undefined;
  let f: number;
  try {
    f = fd ?? openSync(KMSG_PATH, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw toHostError(KMSG_PATH, err);
  }
  const buf = Buffer.alloc(16 * 1024);
  const parts: string[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(f, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EAGAIN') break;
        // EPIPE: records were overwritten while we read; the next read continues with the oldest one.
        if (code === 'EPIPE') continue;
        if (code === 'EINVAL') break;
        throw toHostError(KMSG_PATH, err);
      }
      if (n === 0) break;
      parts.push(buf.subarray(0, n).toString('utf8'));
    }
  } finally {
    if (own) closeSync(f);
  }
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

/** Opens /dev/kmsg for following (non-blocking); read new records with readKmsgLive(fd). */
export function openKmsgFollow(seekEnd: boolean): number {
  try {
    const fd = openSync(KMSG_PATH, constants.O_RDONLY | constants.O_NONBLOCK);
    if (seekEnd) readKmsgLive(fd); // drain what is already there
    return fd;
  } catch (err) {
    throw toHostError(KMSG_PATH, err);
  }
}

/** The kernel log of a host: live /dev/kmsg, or the captured copy in a bundle. */
export async function readKmsg(host: Host): Promise<KmsgRecord[]> {
  if (host.live) return parseKmsg(host.live.readKmsg());
  const text = await host.tryReadText(KMSG_PATH);
  if (text === undefined) throw new HostError(KMSG_PATH, 'ENOENT');
  return parseKmsg(text);
}
