/**
 * /proc/net/tcp and /proc/net/tcp6 (net/ipv4/tcp_ipv4.c get_tcp4_sock(), tcp6 likewise): one line per
 * TCP socket of the reader's namespace (listening, established, TIME_WAIT, request sockets).
 *
 *   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
 *   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12345 1 ...
 *
 * Addresses are the in-memory __be32 words printed as host-order hex (so 127.0.0.1 on little-endian is
 * 0100007F); ports are host order. st is the TCP state number. For a listener tx_queue is 0 and rx_queue
 * the accept queue length (sk_ack_backlog); for other sockets tx_queue = write_seq − snd_una (Send-Q,
 * bytes not acknowledged) and rx_queue = rcv_nxt − copied_seq (Recv-Q, bytes not read yet). inode 0:
 * the socket has no file (orphaned, TIME_WAIT, a request socket).
 */
import { endianness } from 'node:os';
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';
import { netPath } from './snmp.js';

export const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV', 'BOUND_INACTIVE'] as const;

export function tcpStateName(n: number): string {
  return TCP_STATES[n] || `STATE_${n}`;
}

export interface TcpSocketLine {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  state: string;
  /** Send-Q (bytes), or 0 for a listener. */
  txQueue: number;
  /** Recv-Q (bytes), or the accept queue length of a listener. */
  rxQueue: number;
  uid: number;
  inode: number;
}

/** One 32-bit word of the address as the kernel printed it (%08X of the __be32 in host order) → its 4 bytes in network order. */
function wordBytes(hex: string, little: boolean): number[] {
  const v = parseInt(hex, 16);
  const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return little ? b.reverse() : b;
}

/** "0100007F" → 127.0.0.1; 32 hex digits → IPv6 text (compressed, IPv4-mapped as ::ffff:a.b.c.d). */
export function decodeProcAddress(hex: string, little = endianness() === 'LE'): string {
  if (hex.length === 8) return wordBytes(hex, little).join('.');
  if (hex.length !== 32) throw new Error(`bad address ${hex}`);
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) bytes.push(...wordBytes(hex.slice(i * 8, i * 8 + 8), little));
  return ipv6Text(bytes);
}

/** RFC 5952 text of 16 bytes. */
export function ipv6Text(b: readonly number[]): string {
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${b.slice(12).join('.')}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hx = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hx(g);
  return `${hx(g.slice(0, best))}::${hx(g.slice(best + bestLen))}`;
}

export function parseProcNetTcp(text: string, file = '/proc/net/tcp', little = endianness() === 'LE'): TcpSocketLine[] {
  const lines = text.split('\n');
  if (!/^\s*sl\s+local_address/.test(lines[0] ?? '')) throw new ParseError(file, 1, 'expected the header "sl local_address ..."');
  const out: TcpSocketLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '') continue;
    const c = l.split(/\s+/);
    const m = c.length >= 10 ? [/^([0-9A-F]+):([0-9A-F]{4})$/.exec(c[1]!), /^([0-9A-F]+):([0-9A-F]{4})$/.exec(c[2]!), /^([0-9A-F]{8}):([0-9A-F]{8})$/.exec(c[4]!)] : [];
    if (m.length !== 3 || m.some((x) => !x) || !/^[0-9A-F]{2}$/.test(c[3]!) || !/^\d+$/.test(c[7]!) || !/^\d+$/.test(c[9]!) || ![8, 32].includes(m[0]![1]!.length)) {
      throw new ParseError(file, i + 1, `expected "sl: local rem st tx:rx tr:when retr uid timeout inode", got ${JSON.stringify(l.slice(0, 100))}`);
    }
    const [lo, re, q] = m as RegExpExecArray[];
    out.push({
      local: decodeProcAddress(lo![1]!, little),
      localPort: parseInt(lo![2]!, 16),
      remote: decodeProcAddress(re![1]!, little),
      remotePort: parseInt(re![2]!, 16),
      state: tcpStateName(parseInt(c[3]!, 16)),
      txQueue: parseInt(q![1]!, 16),
      rxQueue: parseInt(q![2]!, 16),
      uid: Number(c[7]),
      inode: Number(c[9]),
    });
  }
  return out;
}

/** tcp and tcp6 of a namespace; tcp6 is absent without IPv6 (then only tcp). */
export async function readProcNetTcp(host: Host, pid?: number): Promise<TcpSocketLine[]> {
  const p4 = netPath('tcp', pid);
  const out = parseProcNetTcp(await host.readText(p4), p4);
  const p6 = netPath('tcp6', pid);
  const t6 = await host.tryReadText(p6);
  if (t6 !== undefined) out.push(...parseProcNetTcp(t6, p6));
  return out;
}

/**
 * udp and udp6 of a namespace (net/ipv4/udp.c udp4_format_sock()): the same columns as tcp (plus ref,
 * pointer, drops), parsed by parseProcNetTcp. For UDP, tx_queue is sk_wmem_alloc and rx_queue is
 * sk_rmem_alloc: the bytes of buffer the socket holds (what `ss` shows as Send-Q/Recv-Q for UDP); st is
 * ESTABLISHED for a connected socket, CLOSE for an unconnected one.
 */
export async function readProcNetUdp(host: Host, pid?: number): Promise<TcpSocketLine[]> {
  const out: TcpSocketLine[] = [];
  for (const f of ['udp', 'udp6'] as const) {
    const p = netPath(f, pid);
    const t = await host.tryReadText(p);
    if (t !== undefined) out.push(...parseProcNetTcp(t, p));
  }
  return out;
}
