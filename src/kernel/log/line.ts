/**
 * One kernel log line, whatever it came from: /dev/kmsg, the journal, a syslog file (/var/log/kern.log,
 * /var/log/messages), `dmesg` output (plain, `-T`, `-x`) or a serial console capture.
 *
 * `parseLogPrefix` splits a line into its prefix (priority, timestamp, caller) and the message text the
 * kernel printed. It never throws: a line without a recognised prefix is all message text.
 */

/** A kernel log line with its prefix decoded. */
export interface LogLine {
  /** The message as the kernel printed it, prefixes removed, no trailing CR. */
  text: string;
  /**
   * Who printed it, as syzkaller/printk define it: `T123` / `C1` with CONFIG_PRINTK_CALLER, `console`
   * for a timestamped line without caller, `` (empty) for a line without any kernel timestamp
   * (user-space output interleaved on a console, or a continuation of a previous line).
   */
  ctx: string;
  /** Seconds since boot from the `[  12.345678]` printk timestamp or the kmsg record, if known. */
  monoS?: number;
  /** Wall-clock time in ms since the epoch, if known (syslog prefix, journal, kmsg + boot time). */
  wallMs?: number;
  /** syslog priority 0 (emerg) .. 7 (debug), if known. */
  prio?: number;
  /** 1-based line number in its source, when it came from a file. */
  lineNo?: number;
}

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

const DMESG_X_LEVELS: Record<string, number> = {
  emerg: 0, alert: 1, crit: 2, err: 3, warn: 4, notice: 5, info: 6, debug: 7,
};

// `<4>[   12.345678][  T123] text` (console with printk caller), also bare `[ 12.3] text`.
const KERNEL_TS = /^(?:<(\d{1,3})>)?\[ *(\d+)\.(\d+)\](?:\[ *([CT]\d+)\])? ?/;
// `Jan  2 03:04:05 host kernel: ` (classic syslog; year unknown).
const SYSLOG_BSD = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) \S+ kernel: ?/;
// `2024-01-02T03:04:05.123456+00:00 host kernel: ` (rsyslog RFC 3339).
const SYSLOG_ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) \S+ kernel: ?/;
// `[Tue Jan  2 03:04:05 2024] ` (dmesg -T).
const DMESG_T = /^\[(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] ?/;
// `kern  :warn  : ` (dmesg -x).
const DMESG_X = /^(?:kern|user|daemon|syslog) *:(emerg|alert|crit|err|warn|notice|info|debug) *: ?/;
// Some consoles prepend output such as `syzkaller login: ` or dropped-message notes.
const CONSOLE_NOISE = /^(?:\*\* \d+ printk messages dropped \*\* |\S+ login: )+(?=<\d|\[)/;

export interface PrefixOptions {
  /** The year for BSD syslog lines, which carry none (default: the current year). */
  year?: number;
  /** Boot time in ms since the epoch: turns `[uptime]` stamps into wall-clock times. */
  bootWallMs?: number;
}

/** Decodes the prefixes of one line. */
export function parseLogPrefix(raw: string, opts: PrefixOptions = {}): LogLine {
  let s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  let wallMs: number | undefined;
  let prio: number | undefined;
  let m: RegExpExecArray | null;
  if (s.charCodeAt(0) === 0x2a /* '*' */ || s.includes(' login: ')) {
    const noise = CONSOLE_NOISE.exec(s);
    if (noise) s = s.slice(noise[0].length);
  }
  const c0 = s.charCodeAt(0);
  if (c0 >= 0x30 && c0 <= 0x39 && (m = SYSLOG_ISO.exec(s))) {
    const t = Date.parse(m[1]!);
    if (Number.isFinite(t)) wallMs = t;
    s = s.slice(m[0].length);
  } else if (c0 >= 0x41 && c0 <= 0x5a && (m = SYSLOG_BSD.exec(s))) {
    const mon = MONTHS[m[1]!];
    if (mon !== undefined) {
      const year = opts.year ?? new Date().getFullYear();
      wallMs = new Date(year, mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
    }
    s = s.slice(m[0].length);
  } else if (c0 === 0x5b /* '[' */ && (m = DMESG_T.exec(s))) {
    const mon = MONTHS[m[1]!];
    if (mon !== undefined) {
      wallMs = new Date(Number(m[6]), mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
    }
    s = s.slice(m[0].length);
  } else if (c0 >= 0x61 && (m = DMESG_X.exec(s))) {
    prio = DMESG_X_LEVELS[m[1]!];
    s = s.slice(m[0].length);
  }
  const k = s.charCodeAt(0);
  if ((k === 0x5b || k === 0x3c) && (m = KERNEL_TS.exec(s))) {
    if (m[1] !== undefined) prio = Number(m[1]) & 7;
    const monoS = Number(`${m[2]}.${m[3]}`);
    const ctx = m[4] ?? 'console';
    const text = s.slice(m[0].length);
    if (wallMs === undefined && opts.bootWallMs !== undefined) wallMs = opts.bootWallMs + monoS * 1000;
    return { text, ctx, monoS, wallMs, prio };
  }
  if (k === 0x3c /* '<' */) {
    const p = /^<(\d{1,3})>/.exec(s);
    if (p) {
      prio = Number(p[1]) & 7;
      s = s.slice(p[0].length);
    }
  }
  return { text: s, ctx: wallMs !== undefined ? 'console' : '', wallMs, prio };
}
