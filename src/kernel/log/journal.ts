/**
 * The systemd journal's kernel messages: `journalctl -k -o json` prints one JSON object per line with
 * MESSAGE (a string, or an array of bytes when it is not valid UTF-8), PRIORITY, __REALTIME_TIMESTAMP
 * (µs since the epoch) and _SOURCE_MONOTONIC_TIMESTAMP (µs since boot).
 */
import { spawn } from 'node:child_process';
import { ParseError } from '../errors.js';
import type { LogLine } from './line.js';

export interface JournalOptions {
  /** Only entries at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** All boots (default: all the journal keeps, limited by sinceMs). */
  journalctl?: string;
  timeoutMs?: number;
}

function messageText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((b) => typeof b === 'number')) return Buffer.from(v as number[]).toString('utf8');
  return undefined;
}

/** Parses `journalctl -o json` output. */
export function parseJournalJson(text: string, file = 'journalctl -k -o json'): LogLine[] {
  const out: LogLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new ParseError(file, i + 1, 'not a JSON object');
    }
    if (typeof obj !== 'object' || obj === null) throw new ParseError(file, i + 1, 'not a JSON object');
    const e = obj as Record<string, unknown>;
    const msg = messageText(e.MESSAGE);
    if (msg === undefined) continue;
    const rt = Number(e.__REALTIME_TIMESTAMP);
    const mono = Number(e._SOURCE_MONOTONIC_TIMESTAMP);
    const prio = Number(e.PRIORITY);
    for (const t of msg.split('\n')) {
      out.push({
        text: t,
        ctx: 'console',
        wallMs: Number.isFinite(rt) ? rt / 1000 : undefined,
        monoS: Number.isFinite(mono) ? mono / 1e6 : undefined,
        prio: Number.isInteger(prio) ? prio : undefined,
      });
    }
  }
  return out;
}

/**
 * Runs journalctl for kernel messages. Resolves undefined when journalctl is missing, fails, or the
 * journal holds no kernel messages (containers, minimal systems).
 */
export function readJournalKernel(opts: JournalOptions = {}): Promise<LogLine[] | undefined> {
  const args = ['-k', '-o', 'json', '--no-pager', '-q'];
  if (opts.sinceMs !== undefined) args.push(`--since=@${Math.floor(opts.sinceMs / 1000)}`);
  return new Promise((resolve) => {
    let out = '';
    let done = false;
    const finish = (v: LogLine[] | undefined): void => {
      if (!done) {
        done = true;
        resolve(v);
      }
    };
    let child;
    try {
      child = spawn(opts.journalctl ?? 'journalctl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      finish(undefined);
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(undefined);
    }, opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', () => {
      clearTimeout(timer);
      finish(undefined);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return finish(undefined);
      try {
        const lines = parseJournalJson(out);
        finish(lines.length > 0 ? lines : undefined);
      } catch {
        finish(undefined);
      }
    });
  });
}

/** Runs journalctl with these arguments; its stdout, or undefined when it is missing, fails or times out. */
export function runJournalctl(args: string[], opts: { journalctl?: string; timeoutMs?: number } = {}): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    let done = false;
    const finish = (v: string | undefined): void => {
      if (!done) {
        done = true;
        resolve(v);
      }
    };
    let child;
    try {
      child = spawn(opts.journalctl ?? 'journalctl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      finish(undefined);
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(undefined);
    }, opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', () => {
      clearTimeout(timer);
      finish(undefined);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      finish(code === 0 ? out : undefined);
    });
  });
}

/** One boot of `journalctl --list-boots -o json`: index (0 = this boot, -1 the one before), id, first and last entry (ms). */
export interface JournalBoot {
  index: number;
  bootId: string;
  firstMs: number | null;
  lastMs: number | null;
}

/** Parses `journalctl --list-boots -o json` (a JSON array; first_entry/last_entry in µs since the epoch). */
export function parseListBoots(text: string, file = 'journalctl --list-boots -o json'): JournalBoot[] {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch {
    throw new ParseError(file, 1, 'not a JSON array');
  }
  if (!Array.isArray(v)) throw new ParseError(file, 1, 'not a JSON array');
  const out: JournalBoot[] = [];
  v.forEach((b: unknown, i) => {
    if (typeof b !== 'object' || b === null) throw new ParseError(file, i + 1, 'a boot is not an object');
    const o = b as Record<string, unknown>;
    const us = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x / 1000 : null);
    if (typeof o.boot_id !== 'string' || typeof o.index !== 'number') throw new ParseError(file, i + 1, 'a boot has no index or boot_id');
    out.push({ index: o.index, bootId: o.boot_id, firstMs: us(o.first_entry), lastMs: us(o.last_entry) });
  });
  return out;
}
