/**
 * Kernel-log anomalies, live: the agent follows /dev/kmsg the way `oscope inspect --follow` does (opened
 * O_NONBLOCK at the end of the buffer, read every couple of seconds, fed to inspect's LogScanner), and
 * counts the reports by kind (`OOM`, `HANG`, `IO-ERROR`, … from rules/inspect) and level. A report still
 * open when the log goes quiet for one read is closed then (as `--follow` does).
 *
 * The fd is the only resource; it closes with the process. Without root (dmesg_restrict) or on a host
 * that is not live there is no source, and the agent says so in /healthz and `oscope_collector_up`.
 */
import { closeSync } from 'node:fs';
import type { Host } from '../host/host.js';
import { type LogReport, LogScanner } from '../diagnose/inspect/engine.js';
import { type Level, LEVELS, type RuleSet, loadRules } from '../diagnose/inspect/rules.js';
import { kmsgLines, openKmsgFollow, parseKmsg, readKmsgLive } from '../kernel/log/kmsg.js';
import { bootWallMs } from '../kernel/log/uptime.js';

/** Most report titles kept per interval (for alert messages). */
const MAX_RECENT = 20;
/** Most distinct (kind, level) pairs counted per interval; the rest go to `OTHER`. */
const MAX_KINDS = 64;

/** Kernel-log anomalies found in one interval. */
export interface LogAnomalies {
  /** Reports this interval. */
  total: number;
  /** Reports per (inspect kind, level) this interval. */
  counts: { rule: string; level: Level; count: number }[];
  /** The first reports of the interval: kind, level and title (at most 20). */
  recent: { rule: string; level: Level; title: string; at: string | null }[];
}

/** Where kmsg text comes from: the live /dev/kmsg, or something a test feeds. */
export interface KmsgReader {
  /** Records that arrived since the last call, in /dev/kmsg format ('' when none). */
  read(): string;
  close(): void;
}

/** /dev/kmsg, from its end. Throws HostError (EACCES without root when dmesg_restrict is on). */
export function liveKmsgReader(): KmsgReader {
  const fd = openKmsgFollow(true);
  let closed = false;
  return {
    read: () => (closed ? '' : readKmsgLive(fd)),
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

export class KernelLogSource {
  private readonly scanner: LogScanner;
  private counts = new Map<string, { rule: string; level: Level; count: number }>();
  private recent: LogAnomalies['recent'] = [];
  private total = 0;
  /** Lines that could not be parsed (a malformed record): counted, skipped. */
  parseErrors = 0;

  constructor(
    private readonly reader: KmsgReader,
    private readonly rules: RuleSet,
    private readonly bootMs: number | undefined,
  ) {
    this.scanner = new LogScanner(rules, {}, (r) => this.count(r));
  }

  /**
   * Opens the source: `{source}` or `{unavailable: sentence}`. `reader` replaces /dev/kmsg (tests,
   * other log transports).
   */
  static async open(host: Host, opts: { reader?: KmsgReader; rules?: RuleSet } = {}): Promise<{ source: KernelLogSource } | { unavailable: string }> {
    if (!opts.reader && !host.live) return { unavailable: 'the kernel log is followed on live hosts only' };
    let reader: KmsgReader;
    try {
      reader = opts.reader ?? liveKmsgReader();
    } catch (err) {
      const msg = (err as Error).message || String(err);
      return { unavailable: /EACCES|EPERM|denied/i.test(msg) ? `cannot read /dev/kmsg (${msg}): run the agent as root` : `cannot read /dev/kmsg: ${msg}` };
    }
    let rules: RuleSet;
    try {
      rules = opts.rules ?? loadRules();
    } catch (err) {
      reader.close();
      return { unavailable: `cannot load the inspect rules: ${(err as Error).message}` };
    }
    return { source: new KernelLogSource(reader, rules, await bootWallMs(host)) };
  }

  private count(r: LogReport): void {
    this.total++;
    const key = `${r.kind}\u0000${r.level}`;
    let c = this.counts.get(key);
    if (!c) {
      if (this.counts.size >= MAX_KINDS) {
        const other = `OTHER\u0000${r.level}`;
        c = this.counts.get(other) ?? { rule: 'OTHER', level: r.level, count: 0 };
        this.counts.set(other, c);
      } else {
        c = { rule: r.kind, level: r.level, count: 0 };
        this.counts.set(key, c);
      }
    }
    c.count++;
    if (this.recent.length < MAX_RECENT) {
      this.recent.push({ rule: r.kind, level: r.level, title: r.title.slice(0, 300), at: r.header.wallMs !== undefined ? new Date(r.header.wallMs).toISOString() : null });
    }
  }

  /** Every kind the rules know with its usual level (to create the metric series at 0). */
  knownKinds(): { rule: string; level: Level }[] {
    return Object.entries(this.rules.kindInfo)
      .map(([rule, k]) => ({ rule, level: k.level }))
      .sort((a, b) => a.rule.localeCompare(b.rule));
  }

  /** Reads what arrived and scans it; a quiet read closes the reports still open. */
  poll(): void {
    const text = this.reader.read();
    if (text === '') {
      this.scanner.flush();
      return;
    }
    let records;
    try {
      records = parseKmsg(text);
    } catch {
      // One malformed record must not lose the others: parse record by record.
      records = [];
      for (const line of text.split('\n')) {
        try {
          records.push(...parseKmsg(line));
        } catch {
          this.parseErrors++;
        }
      }
    }
    for (const l of kmsgLines(records, this.bootMs)) this.scanner.push(l);
  }

  /** The anomalies counted since the last call (polls first). */
  take(): LogAnomalies {
    this.poll();
    const out: LogAnomalies = {
      total: this.total,
      counts: [...this.counts.values()].sort((a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || b.count - a.count || a.rule.localeCompare(b.rule)),
      recent: this.recent,
    };
    this.counts = new Map();
    this.recent = [];
    this.total = 0;
    return out;
  }

  close(): void {
    this.reader.close();
  }
}
