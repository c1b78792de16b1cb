/**
 * /proc/net/snmp and /proc/net/netstat (net/ipv4/proc.c snmp_seq_show(), netstat_seq_show()), as seen
 * from the reader's network namespace (or /proc/PID/net/* for the namespace of PID). Both files are
 * pairs of lines, a header and its values:
 *
 *   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails ... RetransSegs ...
 *   Tcp: 1 200 120000 -1 5 3 0 ... 12 ...
 *   TcpExt: SyncookiesSent ... ListenOverflows ListenDrops ... TCPBacklogDrop ... TCPRcvQDrop ...
 *   TcpExt: 0 ... 3 3 ... 0 ... 0 ...
 *
 * The parser keeps every field as `Proto.Field` → value, the kernel's own names. Values are signed
 * (Tcp MaxConn is -1) and some are 64-bit counters: a value past 2^53 is kept as the nearest double
 * (deltas of such a counter are approximate; none of the counters oscope reads gets there in practice).
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';

export const SNMP_PATH = '/proc/net/snmp';
export const NETSTAT_PATH = '/proc/net/netstat';
export const SNMP6_PATH = '/proc/net/snmp6';

/** `Proto.Field` → value, in file order. */
export type SnmpCounters = Map<string, number>;

/** The "header line / value line" format of snmp and netstat. */
export function parseSnmp(text: string, file = SNMP_PATH): SnmpCounters {
  const out: SnmpCounters = new Map();
  const lines = text.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
  if (lines.length === 0 || (lines.length === 1 && lines[0] === '')) throw new ParseError(file, 1, 'empty');
  for (let i = 0; i < lines.length; i += 2) {
    const h = lines[i]!;
    const v = lines[i + 1];
    const hm = /^([A-Za-z0-9]+):((?: \S+)+)\s*$/.exec(h);
    if (!hm) throw new ParseError(file, i + 1, `expected "Proto: Field ...", got ${JSON.stringify(h.slice(0, 80))}`);
    if (v === undefined) throw new ParseError(file, i + 2, `missing the value line of ${hm[1]}`);
    const vm = /^([A-Za-z0-9]+):((?: \S+)+)\s*$/.exec(v);
    if (!vm || vm[1] !== hm[1]) throw new ParseError(file, i + 2, `expected the values of ${hm[1]}, got ${JSON.stringify(v.slice(0, 80))}`);
    const names = hm[2]!.trim().split(/\s+/);
    const vals = vm[2]!.trim().split(/\s+/);
    if (names.length !== vals.length) throw new ParseError(file, i + 2, `${hm[1]} has ${names.length} fields but ${vals.length} values`);
    names.forEach((n, k) => {
      const t = vals[k]!;
      if (!/^-?\d+$/.test(t)) throw new ParseError(file, i + 2, `expected an integer for ${hm[1]}.${n}, got ${JSON.stringify(t)}`);
      out.set(`${hm[1]}.${n}`, Number(t));
    });
  }
  return out;
}

/** /proc/net/snmp6: "Field value" lines (Ip6InReceives 12). Keys are kept as the kernel names them. */
export function parseSnmp6(text: string, file = SNMP6_PATH): SnmpCounters {
  const out: SnmpCounters = new Map();
  text.split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    const m = /^(\S+)\s+(-?\d+)\s*$/.exec(l);
    if (!m) throw new ParseError(file, i + 1, `expected "Field value", got ${JSON.stringify(l.slice(0, 80))}`);
    out.set(m[1]!, Number(m[2]));
  });
  return out;
}

/** The files of a namespace: `/proc/net/...` (the reader's) or `/proc/PID/net/...`. */
export function netPath(file: 'snmp' | 'netstat' | 'dev' | 'softnet_stat' | 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'unix' | 'sockstat' | 'snmp6', pid?: number): string {
  return pid === undefined ? `/proc/net/${file}` : `/proc/${pid}/net/${file}`;
}

export async function readSnmp(host: Host, pid?: number): Promise<SnmpCounters> {
  const p = netPath('snmp', pid);
  return parseSnmp(await host.readText(p), p);
}

export async function readNetstat(host: Host, pid?: number): Promise<SnmpCounters> {
  const p = netPath('netstat', pid);
  return parseSnmp(await host.readText(p), p);
}
