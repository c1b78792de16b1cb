/** Options several commands share: thresholds and the progress display. */
import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { type Thresholds, resolveThresholds } from '../diagnose/thresholds.js';
import type { CliContext } from './context.js';
import { EXIT, UserError } from './errors.js';

export const DEFAULT_CONFIG = '/etc/oscope/config.json';

export function collectKeyValue(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --config FILE (else /etc/oscope/config.json when present) overlaid with --threshold k=v flags. */
export function thresholdsFrom(opts: { config?: string; threshold?: string[] }): Thresholds {
  const overrides: Record<string, unknown> = {};
  const file = opts.config ?? (existsReadable(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UserError(`cannot read config ${file}: ${(err as Error).message}`, EXIT.usage);
    }
    const th = (parsed as { thresholds?: unknown })?.thresholds;
    if (th !== undefined && (typeof th !== 'object' || th === null)) throw new UserError(`config ${file}: "thresholds" must be an object`, EXIT.usage);
    Object.assign(overrides, th ?? {});
  }
  for (const kv of opts.threshold ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UserError(`--threshold takes key=value, got "${kv}"`, EXIT.usage);
    overrides[kv.slice(0, i)] = kv.slice(i + 1);
  }
  try {
    return resolveThresholds(overrides);
  } catch (err) {
    throw new UserError((err as Error).message, EXIT.usage);
  }
}

function existsReadable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A progress bar on stderr when it is a TTY and the output is not JSON; a no-op otherwise. */
export function progressReporter(ctx: CliContext): { update: (step: string, done: number, total: number) => void; stop: () => void } {
  if (!ctx.tty || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({
    format: '  {step} [{bar}] {percentage}%',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    clearOnComplete: true,
    hideCursor: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update: (step, done, total) => {
      const t = total > 0 ? total : 1;
      if (!started) {
        bar.start(t, 0, { step });
        started = true;
      }
      bar.setTotal(t);
      bar.update(Math.min(done, t), { step });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
