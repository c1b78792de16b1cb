/**
 * /proc/net/unix (net/unix/af_unix.c unix_seq_show()): one line per UNIX socket of the reader's namespace.
 *
 *   Num       RefCount Protocol Flags    Type St Inode Path
 *   00000000a8babb39: 00000002 00000000 00010000 0001 01 590608 /run/systemd/notify
 *
 * Num is the socket's address (hashed, %pK), RefCount/Protocol/Flags hex (Flags 00010000 = __SO_ACCEPTCON:
 * a listener), Type hex (1 SOCK_STREAM, 2 SOCK_DGRAM, 5 SOCK_SEQPACKET), St hex (SS_UNCONNECTED 1,
 * SS_CONNECTING 2, SS_CONNECTED 3, SS_DISCONNECTING 4), Inode decimal, Path optional (abstract names start
 * with @). The queue lengths are not in this file.
 */
import type { Host } from '../../../host/host.js';
import { ParseError } from '../../errors.js';
import { netPath } from './snmp.js';

export interface UnixSocketLine {
  refCount: number;
  /** __SO_ACCEPTCON set: a listening socket. */
  listening: boolean;
  type: 'stream' | 'dgram' | 'seqpacket' | `type_${number}`;
  /** socket.state: 1 unconnected, 2 connecting, 3 connected, 4 disconnecting. */
  state: number;
  inode: number;
  path: string;
}

const TYPES: Record<number, UnixSocketLine['type']> = { 1: 'stream', 2: 'dgram', 5: 'seqpacket' };

export function parseProcNetUnix(text: string, file = '/proc/net/unix'): UnixSocketLine[] {
  const lines = text.split('\n');
  if (!/^Num\s+RefCount\s+Protocol\s+Flags\s+Type\s+St\s+Inode/.test(lines[0] ?? '')) throw new ParseError(file, 1, 'expected the header "Num RefCount Protocol Flags Type St Inode Path"');
  const out: UnixSocketLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const m = /^\s*[0-9a-f]+:\s+([0-9A-F]+)\s+[0-9A-F]+\s+([0-9A-F]+)\s+([0-9A-F]+)\s+([0-9A-F]+)\s+(\d+)(?: (.*))?$/i.exec(l);
    if (!m) throw new ParseError(file, i + 1, `expected "Num: RefCount Protocol Flags Type St Inode [Path]", got ${JSON.stringify(l.slice(0, 100))}`);
    const type = parseInt(m[3]!, 16);
    out.push({
      refCount: parseInt(m[1]!, 16),
      listening: (parseInt(m[2]!, 16) & 0x10000) !== 0,
      type: TYPES[type] ?? `type_${type}`,
      state: parseInt(m[4]!, 16),
      inode: Number(m[5]),
      path: m[6] ?? '',
    });
  }
  return out;
}

export async function readProcNetUnix(host: Host, pid?: number): Promise<UnixSocketLine[]> {
  const p = netPath('unix', pid);
  return parseProcNetUnix(await host.readText(p), p);
}
