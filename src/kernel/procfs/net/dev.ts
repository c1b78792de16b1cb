/**
 * /proc/net/dev (net/core/net-procfs.c dev_seq_show()): per interface of the reader's namespace, two
 * header lines then "name: 16 counters" (8 receive, 8 transmit):
 *
 *   rx: bytes packets errs drop fifo frame compressed multicast
 *   tx: bytes packets errs drop fifo colls carrier compressed
 *
 * `drop` on receive counts packets the driver/stack dropped before the protocol (rx_dropped +
 * rx_missed_errors; e.g. no buffer, unknown protocol on some drivers); `fifo` overruns; `frame` framing/CRC.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';
import { netPath } from './snmp.js';

export interface NetDevStat {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  rxFifo: number;
  rxFrame: number;
  rxCompressed: number;
  rxMulticast: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
  txFifo: number;
  txColls: number;
  txCarrier: number;
  txCompressed: number;
}

const FIELDS = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'rxFifo', 'rxFrame', 'rxCompressed', 'rxMulticast', 'txBytes', 'txPackets', 'txErrors', 'txDropped', 'txFifo', 'txColls', 'txCarrier', 'txCompressed'] as const;

export function parseNetDev(text: string, file = '/proc/net/dev'): NetDevStat[] {
  const lines = text.split('\n');
  if (!/^Inter-\|/.test(lines[0] ?? '') || !/^ *face \|/.test(lines[1] ?? '')) throw new ParseError(file, 1, 'expected the two header lines "Inter-|" and " face |"');
  const out: NetDevStat[] = [];
  for (let i = 2; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(l);
    if (!m) throw new ParseError(file, i + 1, `expected "iface: counters", got ${JSON.stringify(l.slice(0, 80))}`);
    const vals = m[2]!.trim().split(/\s+/);
    if (vals.length !== 16) throw new ParseError(file, i + 1, `expected 16 counters for ${m[1]}, got ${vals.length}`);
    const row = { name: m[1]! } as NetDevStat;
    FIELDS.forEach((f, k) => {
      const t = vals[k]!;
      if (!/^\d+$/.test(t)) throw new ParseError(file, i + 1, `expected an integer for ${m[1]} ${f}, got ${JSON.stringify(t)}`);
      row[f] = Number(t);
    });
    out.push(row);
  }
  return out;
}

export async function readNetDev(host: Host, pid?: number): Promise<NetDevStat[]> {
  const p = netPath('dev', pid);
  return parseNetDev(await host.readText(p), p);
}
