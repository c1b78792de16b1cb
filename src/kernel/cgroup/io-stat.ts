/**
 * Per-cgroup block I/O counters, as the kernel keeps them (bytes per device, since the cgroup was made).
 *
 * cgroup v2 `io.stat` (nested keyed; hierarchical: a cgroup's line includes its descendants):
 *
 *   8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
 *   254:0 rbytes=90112 wbytes=0 rios=22 wios=0 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=...
 *
 * Keys besides rbytes/wbytes/rios/wios/dbytes/dios (io.cost's `cost.*`, io.latency's `use_delay`,
 * `delay`, …) are kept as numbers when they are numbers. A device line without keys (a device that did
 * nothing) is valid.
 *
 * cgroup v1 `blkio.throttle.io_service_bytes_recursive` (and `blkio.throttle.io_service_bytes`,
 * CFQ/BFQ's `blkio.io_service_bytes`, the `…_serviced` twins counting requests) — one line per device
 * and operation, then a grand total:
 *
 *   254:0 Read 8388608
 *   254:0 Write 8388608
 *   254:0 Sync 16777216
 *   254:0 Async 0
 *   254:0 Discard 0
 *   254:0 Total 16777216
 *   Total 16777216
 *
 * The `…_serviced` twin of the bytes file read (same layout, in requests) gives the v1 request counts.
 *
 * Note: on recent kernels (seen on 6.18) the v1 throttle counters only move in cgroups that have a
 * throttle limit set (blk-throttle leaves groups without limits alone); elsewhere they stay "Total 0".
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export interface CgroupIoDevice {
  /** "major:minor". */
  device: string;
  /** Bytes read (v2 rbytes, v1 Read). */
  readBytes: number;
  /** Bytes written (v2 wbytes, v1 Write). */
  writeBytes: number;
  /** Bytes discarded (v2 dbytes, v1 Discard); 0 when the kernel does not say. */
  discardBytes: number;
  /** Requests, when the kernel says (v2 rios/wios; v1 from the `…_serviced` twin, see readCgroupIo). */
  readIos?: number;
  writeIos?: number;
  /** Every numeric key as the kernel names it (v2: rbytes, wios, cost.usage, …; v1: Read, Write, Sync, …). */
  fields: Map<string, number>;
}

const DEVICE = /^\d+:\d+$/;

function num(s: string, file: string, line: number, what: string): number {
  if (!/^\d+$/.test(s)) throw new ParseError(file, line, `${what}: "${s}" is not a whole number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ParseError(file, line, `${what}: ${s} is too large`);
  return n;
}

/** cgroup v2 io.stat. */
export function parseIoStat(text: string, file = 'io.stat'): CgroupIoDevice[] {
  const out: CgroupIoDevice[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [dev, ...kvs] = line.split(/\s+/);
    if (!DEVICE.test(dev!)) throw new ParseError(file, i + 1, `"${dev}" is not a major:minor device`);
    const fields = new Map<string, number>();
    for (const kv of kvs) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new ParseError(file, i + 1, `"${kv}" is not key=value`);
      const k = kv.slice(0, eq);
      const v = kv.slice(eq + 1);
      if (['rbytes', 'wbytes', 'rios', 'wios', 'dbytes', 'dios'].includes(k)) fields.set(k, num(v, file, i + 1, k));
      else if (/^-?\d+(\.\d+)?$/.test(v)) fields.set(k, Number(v));
      // other values (none known today) are left out
    }
    const rios = fields.get('rios');
    const wios = fields.get('wios');
    out.push({
      device: dev!,
      readBytes: fields.get('rbytes') ?? 0,
      writeBytes: fields.get('wbytes') ?? 0,
      discardBytes: fields.get('dbytes') ?? 0,
      ...(rios !== undefined ? { readIos: rios } : {}),
      ...(wios !== undefined ? { writeIos: wios } : {}),
      fields,
    });
  }
  return out;
}

const V1_OPS = new Set(['Read', 'Write', 'Sync', 'Async', 'Discard', 'Total']);

/** cgroup v1 blkio.*io_service_bytes* (the grand total line is checked against the device lines). */
export function parseBlkioServiceBytes(text: string, file = 'blkio.throttle.io_service_bytes_recursive'): CgroupIoDevice[] {
  const by = new Map<string, CgroupIoDevice>();
  let grand: { value: number; line: number } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length === 2 && parts[0] === 'Total') {
      grand = { value: num(parts[1]!, file, i + 1, 'Total'), line: i + 1 };
      continue;
    }
    if (parts.length !== 3) throw new ParseError(file, i + 1, `expected "major:minor Op bytes", got "${line}"`);
    const [dev, op, v] = parts as [string, string, string];
    if (!DEVICE.test(dev)) throw new ParseError(file, i + 1, `"${dev}" is not a major:minor device`);
    if (!V1_OPS.has(op)) throw new ParseError(file, i + 1, `unknown operation "${op}"`);
    let d = by.get(dev);
    if (!d) by.set(dev, (d = { device: dev, readBytes: 0, writeBytes: 0, discardBytes: 0, fields: new Map() }));
    const n = num(v, file, i + 1, op);
    d.fields.set(op, n);
    if (op === 'Read') d.readBytes = n;
    else if (op === 'Write') d.writeBytes = n;
    else if (op === 'Discard') d.discardBytes = n;
  }
  if (grand) {
    const sum = [...by.values()].reduce((a, d) => a + (d.fields.get('Total') ?? 0), 0);
    if (by.size > 0 && sum !== grand.value) throw new ParseError(file, grand.line, `Total ${grand.value} is not the sum of the devices' totals (${sum})`);
  }
  return [...by.values()];
}

/** Which file a cgroup's I/O bytes were read from. */
export type CgroupIoSource = 'io.stat' | 'blkio.throttle.io_service_bytes_recursive' | 'blkio.throttle.io_service_bytes' | 'blkio.io_service_bytes_recursive' | 'blkio.io_service_bytes';

/** The files tried, in order, per hierarchy version (recursive counters first: every row includes descendants). */
export const CGROUP_IO_FILES: Record<1 | 2, CgroupIoSource[]> = {
  2: ['io.stat'],
  1: ['blkio.throttle.io_service_bytes_recursive', 'blkio.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes', 'blkio.io_service_bytes'],
};

export interface CgroupIo {
  source: CgroupIoSource;
  devices: CgroupIoDevice[];
}

/**
 * The I/O counters of the cgroup directory `dir` (absolute, under its mount), from the first file of
 * CGROUP_IO_FILES that exists; undefined when none does (v2 without the io controller enabled there).
 */
export async function readCgroupIo(host: Host, dir: string, version: 1 | 2): Promise<CgroupIo | undefined> {
  for (const source of CGROUP_IO_FILES[version]) {
    const file = `${dir}/${source}`;
    const text = await host.tryReadText(file);
    if (text === undefined) continue;
    if (source === 'io.stat') return { source, devices: parseIoStat(text, file) };
    const devices = parseBlkioServiceBytes(text, file);
    const servicedFile = `${dir}/${source.replace('io_service_bytes', 'io_serviced')}`;
    const servicedText = await host.tryReadText(servicedFile);
    if (servicedText !== undefined) withServiced(devices, parseBlkioServiceBytes(servicedText, servicedFile));
    return { source, devices };
  }
  return undefined;
}

/** v1: the request counts of a `…_serviced` file (parsed like the bytes one) onto the bytes rows. Pure. */
export function withServiced(devices: CgroupIoDevice[], serviced: readonly CgroupIoDevice[]): CgroupIoDevice[] {
  const by = new Map(serviced.map((d) => [d.device, d]));
  for (const d of devices) {
    const s = by.get(d.device);
    if (!s) continue;
    d.readIos = s.readBytes;
    d.writeIos = s.writeBytes;
  }
  return devices;
}

/** Totals over the disks of one cgroup (requests 0 when the kernel did not say). Pure. */
export function cgroupIoTotals(rows: readonly CgroupIoDevice[]): { readBytes: number; writeBytes: number; readIos: number; writeIos: number } {
  return rows.reduce((a, r) => ({ readBytes: a.readBytes + r.readBytes, writeBytes: a.writeBytes + r.writeBytes, readIos: a.readIos + (r.readIos ?? 0), writeIos: a.writeIos + (r.writeIos ?? 0) }), {
    readBytes: 0,
    writeBytes: 0,
    readIos: 0,
    writeIos: 0,
  });
}
