/**
 * /proc/net/sockstat and /proc/net/sockstat6 — socket counts and socket-buffer memory
 * (net/ipv4/proc.c sockstat_seq_show(), net/ipv6/proc.c sockstat6_seq_show()).
 *
 *   sockets: used 9                                   (sockets in use, this network namespace)
 *   TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 254        (inuse: sockets in use; orphan: not attached to a
 *                                                      process; tw: TIME_WAIT; alloc: allocated incl.
 *                                                      closing; mem: PAGES of TCP buffer memory,
 *                                                      tcp_memory_allocated, host-wide, compared with
 *                                                      net.ipv4.tcp_mem)
 *   UDP: inuse 0 mem 0                                (mem: PAGES, udp_memory_allocated, host-wide)
 *   UDPLITE: inuse 0
 *   RAW: inuse 0
 *   FRAG: inuse 0 memory 0                            (IP reassembly queues; memory in BYTES)
 * sockstat6 has TCP6/UDP6/UDPLITE6/RAW6 inuse and FRAG6 inuse/memory(bytes).
 *
 * The counts are per network namespace of the reader (inuse/orphan/tw/alloc), while TCP/UDP `mem`
 * are global. The parser keeps every "PROTO: key value ..." pair raw, and gives `socketBufferBytes`
 * = (TCP mem + UDP mem) × page size, the kernel memory held by socket buffers.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';
import { pageSize } from './vmstat.js';

export const SOCKSTAT_PATH = '/proc/net/sockstat';
export const SOCKSTAT6_PATH = '/proc/net/sockstat6';

export interface Sockstat {
  /** protocol ("sockets", "TCP", "UDP", "FRAG6", ...) → key ("used", "inuse", "mem", ...) → value. */
  protocols: Map<string, Map<string, number>>;
  /** A value, or undefined when absent. */
  get(protocol: string, key: string): number | undefined;
}

export function parseSockstat(text: string, file = SOCKSTAT_PATH): Sockstat {
  const protocols = new Map<string, Map<string, number>>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const m = /^([A-Za-z0-9]+): (.+)$/.exec(line);
    if (!m) throw new ParseError(file, ln, `expected "PROTO: key value ...", got ${JSON.stringify(line)}`);
    const toks = m[2]!.trim().split(/\s+/);
    if (toks.length % 2 !== 0) throw new ParseError(file, ln, 'expected key value pairs');
    const kv = new Map<string, number>();
    for (let k = 0; k < toks.length; k += 2) {
      const key = toks[k]!;
      if (!/^[a-z_]+$/.test(key)) throw new ParseError(file, ln, `bad key ${JSON.stringify(key)}`);
      const v = parseIntField(toks[k + 1], file, ln, `${m[1]} ${key}`);
      kv.set(key, v);
    }
    if (protocols.has(m[1]!)) throw new ParseError(file, ln, `duplicate protocol ${m[1]}`);
    protocols.set(m[1]!, kv);
  }
  if (protocols.size === 0) throw new ParseError(file, 1, 'empty');
  return { protocols, get: (p, k) => protocols.get(p)?.get(k) };
}

/** (TCP mem + UDP mem) × page size in bytes; undefined when neither is present (e.g. sockstat6). */
export function socketBufferBytes(s: Sockstat, pageSizeBytes: number): number | undefined {
  const tcp = s.get('TCP', 'mem');
  const udp = s.get('UDP', 'mem');
  if (tcp === undefined && udp === undefined) return undefined;
  return ((tcp ?? 0) + (udp ?? 0)) * pageSizeBytes;
}

export async function readSockstat(host: Host): Promise<Sockstat> {
  return parseSockstat(await host.readText(SOCKSTAT_PATH));
}

/** sockstat6; throws HostError ENOENT when IPv6 is disabled. */
export async function readSockstat6(host: Host): Promise<Sockstat> {
  return parseSockstat(await host.readText(SOCKSTAT6_PATH), SOCKSTAT6_PATH);
}

/** Convenience: TCP+UDP buffer memory in bytes with the host's page size. */
export async function readSocketBufferBytes(host: Host): Promise<number | undefined> {
  const [s, ps] = await Promise.all([readSockstat(host), pageSize(host)]);
  return socketBufferBytes(s, ps);
}
