/**
 * Bytes and requests a cgroup did per disk, from either cgroup version
 * (Documentation/admin-guide/cgroup-v2.rst "IO Interface Files", cgroup-v1/blkio-controller.rst):
 *
 * - v2 `io.stat`, one line per device: `MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N`
 *   (keys the kernel does not have are absent; unknown keys such as `cost.*` are ignored). Counts the
 *   cgroup and its descendants.
 * - v1 `blkio.throttle.io_service_bytes_recursive` (and `…io_serviced_recursive` for requests):
 *   `MAJ:MIN Read N`, `MAJ:MIN Write N`, `MAJ:MIN Sync|Async|Discard|Total N`, and a last `Total N` line.
 *   The blk-throttle files are the ones blk-mq kernels keep (the CFQ `blkio.io_service_bytes` are gone
 *   since 5.0); the `_recursive` ones include descendants, like v2. Root cgroups may show only `Total 0`.
 *
 * Counters are cumulative since the cgroup was created; rates come from differences.
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export interface CgroupDiskIo {
  /** `major:minor`. */
  majMin: string;
  readBytes: number;
  writeBytes: number;
  /** Requests, when the file says (v2 rios/wios; v1 from io_serviced). */
  readIos?: number;
  writeIos?: number;
  /** v2 dbytes (4.x+ with discard accounting). */
  discardBytes?: number;
}

const MAJMIN = /^\d+:\d+$/;

function num(v: string, file: string, line: number, what: string): number {
  if (!/^\d+$/.test(v)) throw new ParseError(file, line, `${what} is not a non-negative integer: ${JSON.stringify(v)}`);
  return Number(v);
}

/** v2 io.stat. Pure. */
export function parseIoStat(text: string, file = 'io.stat'): CgroupDiskIo[] {
  const out: CgroupDiskIo[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const [dev, ...kvs] = line.split(/\s+/);
    if (!MAJMIN.test(dev!)) throw new ParseError(file, i + 1, `expected MAJ:MIN first, got ${JSON.stringify(dev)}`);
    const e: CgroupDiskIo = { majMin: dev!, readBytes: 0, writeBytes: 0 };
    for (const kv of kvs) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new ParseError(file, i + 1, `expected key=value, got ${JSON.stringify(kv)}`);
      const k = kv.slice(0, eq);
      const v = kv.slice(eq + 1);
      if (k === 'rbytes') e.readBytes = num(v, file, i + 1, k);
      else if (k === 'wbytes') e.writeBytes = num(v, file, i + 1, k);
      else if (k === 'rios') e.readIos = num(v, file, i + 1, k);
      else if (k === 'wios') e.writeIos = num(v, file, i + 1, k);
      else if (k === 'dbytes') e.discardBytes = num(v, file, i + 1, k);
    }
    out.push(e);
  });
  return out;
}

/** v1 blkio.throttle.io_service_bytes[_recursive] (or io_serviced: the same layout, in requests). Pure. */
export function parseBlkioRwstat(text: string, file = 'blkio.throttle.io_service_bytes_recursive'): Map<string, { read: number; write: number }> {
  const out = new Map<string, { read: number; write: number }>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const f = line.split(/\s+/);
    if (f[0] === 'Total' && f.length === 2) {
      num(f[1]!, file, i + 1, 'Total');
      return;
    }
    if (f.length !== 3 || !MAJMIN.test(f[0]!)) throw new ParseError(file, i + 1, `expected "MAJ:MIN Op N", got ${JSON.stringify(line)}`);
    const n = num(f[2]!, file, i + 1, f[1]!);
    const e = out.get(f[0]!) ?? { read: 0, write: 0 };
    if (f[1] === 'Read') e.read = n;
    else if (f[1] === 'Write') e.write = n;
    out.set(f[0]!, e);
  });
  return out;
}

/** v1: bytes from io_service_bytes_recursive and requests from io_serviced_recursive (when readable). Pure. */
export function blkioV1(bytesText: string, servicedText: string | undefined, dir = '.'): CgroupDiskIo[] {
  const bytes = parseBlkioRwstat(bytesText, `${dir}/blkio.throttle.io_service_bytes_recursive`);
  const ios = servicedText !== undefined ? parseBlkioRwstat(servicedText, `${dir}/blkio.throttle.io_serviced_recursive`) : undefined;
  return [...bytes].map(([majMin, b]) => {
    const r = ios?.get(majMin);
    return { majMin, readBytes: b.read, writeBytes: b.write, ...(r ? { readIos: r.read, writeIos: r.write } : {}) };
  });
}

/** Reads one cgroup directory's counters (`version`: its hierarchy's). Throws HostError when the file is missing. */
export async function readCgroupIo(host: Host, dir: string, version: 1 | 2): Promise<CgroupDiskIo[]> {
  if (version === 2) return parseIoStat(await host.readText(`${dir}/io.stat`), `${dir}/io.stat`);
  const bytes = await host.readText(`${dir}/blkio.throttle.io_service_bytes_recursive`);
  return blkioV1(bytes, await host.tryReadText(`${dir}/blkio.throttle.io_serviced_recursive`), dir);
}

/** Totals over the disks of one cgroup. */
export function cgroupIoTotals(rows: readonly CgroupDiskIo[]): { readBytes: number; writeBytes: number; readIos: number; writeIos: number } {
  return rows.reduce((a, r) => ({ readBytes: a.readBytes + r.readBytes, writeBytes: a.writeBytes + r.writeBytes, readIos: a.readIos + (r.readIos ?? 0), writeIos: a.writeIos + (r.writeIos ?? 0) }), {
    readBytes: 0,
    writeBytes: 0,
    readIos: 0,
    writeIos: 0,
  });
}
