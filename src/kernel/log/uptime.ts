/**
 * /proc/uptime — seconds since boot (CLOCK_BOOTTIME) and the summed idle time of all CPUs:
 *
 *   3017.74 4674.93
 *
 * Used to turn the kernel log's seconds-since-boot into wall-clock times: boot = capture time − uptime.
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const UPTIME_PATH = '/proc/uptime';

export interface Uptime {
  uptimeS: number;
  idleS: number;
}

export function parseUptime(text: string, file = UPTIME_PATH): Uptime {
  const lines = text.split('\n');
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec((lines[0] ?? '').trim());
  if (!m) throw new ParseError(file, 1, `expected "UPTIME IDLE", got ${JSON.stringify(lines[0] ?? '')}`);
  if (lines.slice(1).some((l) => l.trim() !== '')) throw new ParseError(file, 2, 'expected a single line');
  return { uptimeS: Number(m[1]), idleS: Number(m[2]) };
}

export async function readUptime(host: Host): Promise<Uptime> {
  return parseUptime(await host.readText(UPTIME_PATH));
}

/** Boot time in ms since the epoch, from the host's capture time and its uptime. */
export async function bootWallMs(host: Host): Promise<number | undefined> {
  try {
    const up = await readUptime(host);
    return Date.parse(host.info().capturedAt) - up.uptimeS * 1000;
  } catch {
    return undefined;
  }
}
