/**
 * /proc/pressure/{cpu,memory,io,irq} — Pressure Stall Information (kernel/sched/psi.c, psi_show();
 * Documentation/accounting/psi.rst). Kernel 4.20+ with CONFIG_PSI (and not psi=0).
 *
 *   some avg10=0.67 avg60=5.94 avg300=4.11 total=20732022
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * - some: share of time at least one task was stalled on the resource; full: share of time all
 *   non-idle tasks were stalled at once.
 * - avg10/avg60/avg300: percentages (0–100) averaged over 10 s, 60 s, 300 s.
 * - total: cumulative stall time in MICROSECONDS (we also give it in ms).
 * The cpu file has only a "some" line before 5.13; since 5.13 it also has a "full" line (all zeros
 * at the system level). The irq file (6.1+, CONFIG_IRQ_TIME_ACCOUNTING) has only "full".
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const PSI_DIR = '/proc/pressure';
export type PsiResource = 'cpu' | 'memory' | 'io' | 'irq';
export const psiPath = (resource: PsiResource): string => `${PSI_DIR}/${resource}`;

export interface PsiLine {
  /** Percent of wall time, over 10/60/300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time, microseconds, as printed. */
  totalUs: number;
  /** The same in milliseconds. */
  totalMs: number;
}

export interface Psi {
  some?: PsiLine;
  full?: PsiLine;
}

export function parsePsi(text: string, file = `${PSI_DIR}/memory`): Psi {
  const out: Psi = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const ln = i + 1;
    const m = /^(some|full) avg10=(\d+\.\d+) avg60=(\d+\.\d+) avg300=(\d+\.\d+) total=(\d+)\s*$/.exec(line);
    if (!m) throw new ParseError(file, ln, `expected "some|full avg10=… avg60=… avg300=… total=…", got ${JSON.stringify(line)}`);
    const kind = m[1] as 'some' | 'full';
    if (out[kind]) throw new ParseError(file, ln, `duplicate "${kind}" line`);
    const totalUs = parseIntField(m[5], file, ln, 'total');
    out[kind] = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalUs, totalMs: totalUs / 1000 };
  }
  if (!out.some && !out.full) throw new ParseError(file, 1, 'no "some" or "full" line');
  return out;
}

/** Reads one resource; HostError ENOENT when PSI is not available (kernel < 4.20, psi=0, no irq file). */
export async function readPsi(host: Host, resource: PsiResource): Promise<Psi> {
  const path = psiPath(resource);
  return parsePsi(await host.readText(path), path);
}
