/** `oscope memleak`: is the kernel leaking, which cache/caller, how fast, with which stacks. */
import type { Command } from 'commander';
import type { LeakTracer } from '../../diagnose/memleak/run.js';
import { runCheck, runMemleak } from '../../diagnose/memleak/run.js';
import { LEAK_TYPES, type LeakType } from '../../diagnose/memleak/sample.js';
import { MEMLEAK_DEFAULT_BUDGET_PER_S, MEMLEAK_MAX_TRACKED, createBpfTracer } from '../../diagnose/memleak/trace.js';
import { type MemHistoryPoint, agentSocketPath, connectLocalAgent } from '../../agent/local.js';
import { HostError } from '../../host/host.js';
import { memleakDocument, renderMemleakText } from '../../report/memleak.js';
import { styleFrom } from '../../report/text.js';
import { t } from '../../report/i18n/index.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface MemleakFlags {
  type: string;
  interval: string;
  cache?: string;
  minAge?: string;
  check?: boolean;
  sampleInterval?: string;
  trace: boolean;
  maxLive?: string;
  traceBudget?: string;
  threshold?: string[];
  config?: string;
}

function seconds(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UserError(`${flag} takes a number of seconds of at least ${min}, got "${v}"`, EXIT.usage);
  return n;
}

function count(v: string, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${flag} takes a whole number from ${min} to ${max}, got "${v}"`, EXIT.usage);
  return n;
}

/**
 * The agent's counter history for the -c trend, when an agent runs on this host; otherwise why not.
 * An agent that answers with an error leaves the check working alone (the reason goes to coverage).
 */
async function agentHistory(): Promise<{ history: MemHistoryPoint[] } | { unavailable: string }> {
  const agent = await connectLocalAgent();
  if (!agent) return { unavailable: `no oscope agent answers on ${agentSocketPath()}: the trend needs the agent's history` };
  try {
    return { history: await agent.history() };
  } catch (err) {
    return { unavailable: `the agent on ${agent.socket} did not give its history: ${(err as Error).message}` };
  }
}

/** A one-line countdown on stderr when it is a TTY; nothing otherwise. */
function countdown(c: CliContext, type: string): { tick: (el: number, total: number) => void; stop: () => void } {
  if (!c.tty || !process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined };
  let shown = false;
  return {
    tick: (el, total) => {
      shown = true;
      process.stderr.write(`\r\x1b[K  ${t(c.lang, 'memleak.countdown', { type, left: String(Math.max(0, Math.ceil(total - el))) })}`);
    },
    stop: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export const registerMemleak: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('memleak')
    .description('kernel memory leak detection: growth watch of slab caches, vmalloc callers or kernel pages, with BPF allocation tracing')
    .option('-t, --type <type>', 'what to watch: slab, page or vmalloc', 'slab')
    .option('-i, --interval <seconds>', 'how long to watch', '60')
    .option('--cache <name>', 'watch and trace this slab cache (or vmalloc caller) instead of picking the suspect')
    .option('--min-age <seconds>', 'report allocations still live after this long (default: a third of the watch, at most 30)')
    .option('-c, --check', 'instant check from counters only (no watch, no tracing)')
    .option('--sample-interval <seconds>', 'seconds between counter samples (default: watch/30, 0.5 to 5)')
    .option('--no-trace', 'counters only: do not trace allocations with BPF')
    .option('--max-live <n>', `live allocations the tracer can hold (default ${MEMLEAK_MAX_TRACKED}; 8 bytes of key and 24 of value each, plus hash overhead)`)
    .option('--trace-budget <per-second>', `allocations traced per second at most; above it the tracer samples adaptively (default ${MEMLEAK_DEFAULT_BUDGET_PER_S}; 0 = trace every one)`)
    .option('--threshold <key=value>', 'override a threshold (repeatable), e.g. memleak.minRateBytesPerS=65536', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: MemleakFlags) => {
      const c = ctx();
      const thresholds = thresholdsFrom(flags);
      if (!(LEAK_TYPES as readonly string[]).includes(flags.type)) throw new UserError(`-t takes slab, page or vmalloc, got "${flags.type}"`, EXIT.usage);
      const type = flags.type as LeakType;
      const budgetPerS = flags.traceBudget !== undefined ? count(flags.traceBudget, '--trace-budget', 0, 10_000_000) : MEMLEAK_DEFAULT_BUDGET_PER_S;
      const maxLive = flags.maxLive !== undefined ? count(flags.maxLive, '--max-live', 1024, 16_777_216) : MEMLEAK_MAX_TRACKED;
      const host = await c.host();
      const style = styleFrom(c.color);
      try {
        if (flags.check) {
          // The trend comes from a local agent's history; a captured bundle has no agent to ask.
          const h = host.live ? await agentHistory() : { unavailable: 'the trend needs the agent of the live host; a bundle has no history' };
          const a = 'history' in h ? await runCheck(host, thresholds, h.history) : await runCheck(host, thresholds, undefined, h.unavailable);
          const doc = memleakDocument(a, c.lang);
          c.out(c.json ? JSON.stringify(doc, null, 2) : renderMemleakText(doc, c.lang, style));
          return;
        }
        if (!host.live) throw new UserError('a growth watch needs a live host: use -c with --from', EXIT.usage);
        const durationS = seconds(flags.interval, '-i', 1);
        const minAgeS = flags.minAge !== undefined ? seconds(flags.minAge, '--min-age', 0) : Math.min(30, Math.max(1, Math.round(durationS / 3)));
        if (minAgeS >= durationS) throw new UserError(`--min-age (${minAgeS} s) must be shorter than the watch (-i ${durationS} s)`, EXIT.usage);
        const sampleIntervalS = flags.sampleInterval !== undefined ? seconds(flags.sampleInterval, '--sample-interval', 0.1) : Math.min(5, Math.max(0.5, durationS / 30));
        let tracer: LeakTracer | undefined;
        let noTracerReason: string | undefined;
        if (!flags.trace) noTracerReason = 'disabled with --no-trace';
        else {
          const r = createBpfTracer(host, {
            sampleEvery: thresholds['memleak.sampleEvery'],
            budgetPerS,
            maxLive,
          });
          if ('tracer' in r) tracer = r.tracer;
          else noTracerReason = r.unavailable;
        }
        const ac = new AbortController();
        const onSig = (): void => ac.abort();
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        const cd = countdown(c, type);
        let a;
        try {
          a = await runMemleak(host, {
            type,
            durationS,
            sampleIntervalS,
            minAgeS,
            thresholds,
            signal: ac.signal,
            onTick: cd.tick,
            ...(flags.cache !== undefined ? { cache: flags.cache } : {}),
            ...(tracer ? { tracer } : {}),
            ...(noTracerReason !== undefined ? { noTracerReason } : {}),
          });
        } finally {
          cd.stop();
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
        }
        const doc = memleakDocument(a, c.lang);
        c.out(c.json ? JSON.stringify(doc, null, 2) : renderMemleakText(doc, c.lang, style));
      } catch (err) {
        if (err instanceof HostError && err.denied) throw new UserError(`oscope memleak needs root to read ${err.path}: run it with sudo`, EXIT.permission);
        if (err instanceof HostError && err.notFound) throw new UserError(`${err.path} is missing: this kernel does not provide it`, EXIT.unsupported);
        if (err instanceof Error && /^no (slab cache|vmalloc caller|page counter) named/.test(err.message)) throw new UserError(err.message, EXIT.usage);
        throw err;
      }
    });
};
