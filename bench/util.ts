/**
 * What the benches share: finding a peer tool, medians and ratios, waiting for a child, and for a
 * tracer process to have attached its BPF programs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';

export const which = (c: string): string | undefined => ['/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/', '/usr/local/bin/'].map((d) => d + c).find((p) => existsSync(p));
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const done = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
export const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(3)}x` : 'n/a');

/** Waits until the process holds a BPF link (its tracer is attached). */
export async function attached(pid: number, timeoutMs = 30_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return false;
    }
    if (fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:bpf_link';
      } catch {
        return false;
      }
    })) return true;
    await sleep(100);
  }
  return false;
}

/** A child whose stdout and stderr are gathered as it runs. */
export function collect(cmd: string, args: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { child, out: () => text, err: () => err };
}
