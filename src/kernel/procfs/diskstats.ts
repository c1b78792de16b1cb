/**
 * /proc/diskstats — I/O statistics per block device and partition (block/genhd.c, diskstats_show();
 * Documentation/admin-guide/iostats.rst). One line per device:
 *
 *   major minor name  reads reads_merged sectors_read read_ticks  writes writes_merged sectors_written
 *   write_ticks  in_flight io_ticks time_in_queue  [discards discards_merged sectors_discarded
 *   discard_ticks]  [flushes flush_ticks]
 *
 * - 14 fields (3 + 11) before 4.18; 4.18 added the four discard fields (18); 5.5 the two flush fields (20).
 *   Fields a kernel does not have are `undefined`, never 0.
 * - Sectors are 512-byte units whatever the device's sector size. *_ticks and io_ticks are milliseconds;
 *   time_in_queue is the weighted time (ms × requests in flight), so Δtime_in_queue / Δt is the mean queue depth.
 * - Counters are unsigned long and wrap on 32-bit kernels; rates are computed from differences.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const DISKSTATS_PATH = '/proc/diskstats';

export interface DiskStat {
  major: number;
  minor: number;
  name: string;
  reads: number;
  readsMerged: number;
  sectorsRead: number;
  readTicksMs: number;
  writes: number;
  writesMerged: number;
  sectorsWritten: number;
  writeTicksMs: number;
  inFlight: number;
  ioTicksMs: number;
  timeInQueueMs: number;
  /** 4.18+. */
  discards?: number;
  discardsMerged?: number;
  sectorsDiscarded?: number;
  discardTicksMs?: number;
  /** 5.5+. */
  flushes?: number;
  flushTicksMs?: number;
}

export function parseDiskstats(text: string, file = DISKSTATS_PATH): DiskStat[] {
  const out: DiskStat[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const ln = i + 1;
    const f = line.split(/\s+/);
    if (f.length !== 14 && f.length !== 18 && f.length !== 20) {
      throw new ParseError(file, ln, `expected 14, 18 or 20 fields, got ${f.length}: ${JSON.stringify(line)}`);
    }
    const name = f[2]!;
    if (!/^[\w.:!+-]+$/.test(name)) throw new ParseError(file, ln, `bad device name ${JSON.stringify(name)}`);
    const n = (k: number, what: string): number => parseIntField(f[k], file, ln, what);
    const d: DiskStat = {
      major: n(0, 'major'),
      minor: n(1, 'minor'),
      name,
      reads: n(3, 'reads'),
      readsMerged: n(4, 'reads_merged'),
      sectorsRead: n(5, 'sectors_read'),
      readTicksMs: n(6, 'read_ticks'),
      writes: n(7, 'writes'),
      writesMerged: n(8, 'writes_merged'),
      sectorsWritten: n(9, 'sectors_written'),
      writeTicksMs: n(10, 'write_ticks'),
      inFlight: n(11, 'in_flight'),
      ioTicksMs: n(12, 'io_ticks'),
      timeInQueueMs: n(13, 'time_in_queue'),
    };
    for (const [k, v] of Object.entries(d)) {
      if (typeof v === 'number' && v < 0) throw new ParseError(file, ln, `${k} is negative`);
    }
    if (f.length >= 18) {
      d.discards = n(14, 'discards');
      d.discardsMerged = n(15, 'discards_merged');
      d.sectorsDiscarded = n(16, 'sectors_discarded');
      d.discardTicksMs = n(17, 'discard_ticks');
    }
    if (f.length === 20) {
      d.flushes = n(18, 'flushes');
      d.flushTicksMs = n(19, 'flush_ticks');
    }
    if ([d.discards, d.discardsMerged, d.sectorsDiscarded, d.discardTicksMs, d.flushes, d.flushTicksMs].some((v) => v !== undefined && v < 0)) {
      throw new ParseError(file, ln, 'a counter is negative');
    }
    out.push(d);
  }
  return out;
}

export async function readDiskstats(host: Host): Promise<DiskStat[]> {
  return parseDiskstats(await host.readText(DISKSTATS_PATH), DISKSTATS_PATH);
}
