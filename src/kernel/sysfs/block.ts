/**
 * /sys/block/NAME/… — what a whole disk is (block/blk-sysfs.c, block/genhd.c). One parser per file:
 *
 * - queue/scheduler: the schedulers the queue can use, the active one in brackets
 *   (`none [mq-deadline] kyber`); `none` alone on devices without a choice; absent on devices without a
 *   request queue of their own (zram, some virtual devices).
 * - queue/rotational: `1` for spinning disks, `0` otherwise.
 * - device/model: the model string the driver reports (SCSI/ATA/NVMe/virtio), padded with spaces;
 *   absent for virtual devices.
 * - inflight: requests in flight now, `reads writes` (block/genhd.c, part_inflight_show(); 4.1+).
 */
import { HostError, type Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const SYS_BLOCK = '/sys/block';
export const blockPath = (name: string, file: string): string => `${SYS_BLOCK}/${name}/${file}`;

export interface Scheduler {
  /** The active scheduler (`none` when the file lists no bracketed one). */
  active: string;
  available: string[];
}

export function parseScheduler(text: string, file = blockPath('DEV', 'queue/scheduler')): Scheduler {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) throw new ParseError(file, lines.length === 0 ? 1 : 2, 'expected one line of scheduler names');
  const available: string[] = [];
  let active: string | undefined;
  for (const tok of lines[0]!.trim().split(/\s+/)) {
    const m = /^\[([\w-]+)\]$/.exec(tok);
    if (m) {
      if (active !== undefined) throw new ParseError(file, 1, 'two active schedulers');
      active = m[1]!;
      available.push(active);
    } else if (/^[\w-]+$/.test(tok)) available.push(tok);
    else throw new ParseError(file, 1, `bad scheduler name ${JSON.stringify(tok)}`);
  }
  return { active: active ?? (available.length === 1 ? available[0]! : 'none'), available };
}

export function parseRotational(text: string, file = blockPath('DEV', 'queue/rotational')): boolean {
  const v = text.trim();
  if (v !== '0' && v !== '1') throw new ParseError(file, 1, `expected 0 or 1, got ${JSON.stringify(v)}`);
  return v === '1';
}

export function parseModel(text: string): string | undefined {
  const v = text.trim();
  return v === '' ? undefined : v;
}

export interface Inflight {
  reads: number;
  writes: number;
}

export function parseInflight(text: string, file = blockPath('DEV', 'inflight')): Inflight {
  const f = text.trim().split(/\s+/);
  if (f.length !== 2) throw new ParseError(file, 1, `expected "reads writes", got ${JSON.stringify(text.trim())}`);
  return { reads: parseIntField(f[0], file, 1, 'reads'), writes: parseIntField(f[1], file, 1, 'writes') };
}

export interface BlockDevice {
  name: string;
  scheduler: Scheduler | undefined;
  rotational: boolean | undefined;
  model: string | undefined;
  inflight: Inflight | undefined;
}

async function optional<T>(host: Host, path: string, parse: (text: string, file: string) => T): Promise<T | undefined> {
  let text: string;
  try {
    text = await host.readText(path);
  } catch (err) {
    if (err instanceof HostError && (err.notFound || err.code === 'EINVAL' || err.code === 'EIO')) return undefined;
    throw err;
  }
  return parse(text, path);
}

/** The whole disks (no partitions): the entries of /sys/block. */
export async function listBlockDevices(host: Host): Promise<string[]> {
  return (await host.readDir(SYS_BLOCK)).sort();
}

export async function readBlockDevice(host: Host, name: string): Promise<BlockDevice> {
  return {
    name,
    scheduler: await optional(host, blockPath(name, 'queue/scheduler'), parseScheduler),
    rotational: await optional(host, blockPath(name, 'queue/rotational'), parseRotational),
    model: await optional(host, blockPath(name, 'device/model'), (t) => parseModel(t)),
    inflight: await optional(host, blockPath(name, 'inflight'), parseInflight),
  };
}
