/**
 * /proc/net/softnet_stat (net/core/net-procfs.c softnet_seq_show()): one line per online CPU, columns in
 * hex. softnet_data is per CPU, not per namespace: every namespace shows the same lines.
 *
 *   0 processed      packets taken off the backlog/NAPI by net_rx_action
 *   1 dropped        packets dropped because the backlog (net.core.netdev_max_backlog) was full
 *   2 time_squeeze   net_rx_action stopped with work left (netdev_budget / netdev_budget_usecs spent)
 *   3-8              0 (were fastroute and cpu_collision)
 *   9 received_rps   RPS inter-processor interrupts received
 *   10 flow_limit    packets dropped by the flow limit (net.core.flow_limit_cpu_bitmap)
 *   11 backlog       input_qlen + process_qlen (5.10+)
 *   12 cpu           the CPU index (5.10+; before, the line number, which skips offline CPUs wrongly)
 *   13, 14           input_qlen, process_qlen (6.x)
 * Older kernels have 9 (≤ 2.6.x), 10 or 11 columns.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';
import { netPath } from './snmp.js';

export interface SoftnetStat {
  cpu: number;
  processed: number;
  dropped: number;
  timeSqueeze: number;
  receivedRps: number;
  flowLimit: number;
  /** undefined before 5.10. */
  backlog?: number;
}

export function parseSoftnetStat(text: string, file = '/proc/net/softnet_stat'): SoftnetStat[] {
  const out: SoftnetStat[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '') continue;
    const cols = l.split(/\s+/);
    if (cols.length < 9) throw new ParseError(file, i + 1, `expected at least 9 hex columns, got ${cols.length}`);
    const v = cols.map((c) => {
      if (!/^[0-9a-fA-F]{1,16}$/.test(c)) throw new ParseError(file, i + 1, `expected a hex number, got ${JSON.stringify(c)}`);
      return parseInt(c, 16);
    });
    out.push({
      cpu: v.length >= 13 ? v[12]! : out.length,
      processed: v[0]!,
      dropped: v[1]!,
      timeSqueeze: v[2]!,
      receivedRps: v[9] ?? 0,
      flowLimit: v[10] ?? 0,
      ...(v.length >= 12 ? { backlog: v[11]! } : {}),
    });
  }
  if (out.length === 0) throw new ParseError(file, 1, 'empty');
  return out;
}

export async function readSoftnetStat(host: Host, pid?: number): Promise<SoftnetStat[]> {
  const p = netPath('softnet_stat', pid);
  return parseSoftnetStat(await host.readText(p), p);
}
