/** `oscope memleak`: is the kernel leaking, which cache/caller, how fast, with which stacks. */
import type { Command } from 'commander';
import type { LeakTracer } from '../../diagnose/memleak/run.js';
import { runCheck, runMemleak } from '../../diagnose/memleak/run.js';
import { MEMLEAK_DEFAULT_BUDGET_PER_S, MEMLEAK_FLAGS, MEMLEAK_MAX_TRACKED, type MemleakParams, MemleakParamsSchema, memleakSettings } from '../../diagnose/memleak/params.js';
import { createBpfTracer } from '../../diagnose/memleak/trace.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { type MemHistoryPoint, agentSocketPath, connectLocalAgent } from '../../agent/local.js';
import { HostError } from '../../host/host.js';
import { memleakDocument, renderMemleakText } from '../../report/memleak.js';
import { styleFrom } from '../../report/text.js';
import { t } from '../../report/i18n/index.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams, num } from './params.js';

export interface MemleakFlags {
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

/** The flags as the diagnosis's parameters (src/diagnose/memleak/params.ts), validated by its schema. */
export function memleakParams(flags: MemleakFlags): MemleakParams {
  const input: Record<string, unknown> = {
    check: flags.check ?? false,
    type: flags.type,
    durationS: num(flags.interval),
    thresholds: thresholdsFrom(flags),
  };
  // --no-trace only says no (absent: trace, the schema's default).
  if (flags.trace === false) input.trace = false;
  if (flags.cache !== undefined) input.cache = flags.cache;
  if (flags.minAge !== undefined) input.minAgeS = num(flags.minAge);
  if (flags.sampleInterval !== undefined) input.sampleIntervalS = num(flags.sampleInterval);
  if (flags.maxLive !== undefined) input.maxLive = num(flags.maxLive);
  if (flags.traceBudget !== undefined) input.traceBudgetPerS = num(flags.traceBudget);
  return cliParams(MemleakParamsSchema, input, MEMLEAK_FLAGS, {
    type: flags.type,
    durationS: flags.interval,
    minAgeS: flags.minAge,
    sampleIntervalS: flags.sampleInterval,
    maxLive: flags.maxLive,
    traceBudgetPerS: flags.traceBudget,
    cache: flags.cache,
  });
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
      const p = memleakParams(flags);
      const thresholds = resolveThresholds(p.thresholds);
      const type = p.type;
      const settings = memleakSettings(p);
      const host = await c.host();
      const style = styleFrom(c.color);
      try {
        if (p.check) {
          // The trend comes from a local agent's history; a captured bundle has no agent to ask.
          const h = host.live ? await agentHistory() : { unavailable: 'the trend needs the agent of the live host; a bundle has no history' };
          const a = 'history' in h ? await runCheck(host, thresholds, h.history) : await runCheck(host, thresholds, undefined, h.unavailable);
          const doc = memleakDocument(a, c.lang);
          c.out(c.json ? JSON.stringify(doc, null, 2) : renderMemleakText(doc, c.lang, style));
          return;
        }
        if (!host.live) throw new UserError('a growth watch needs a live host: use -c with --from', EXIT.usage);
        const durationS = p.durationS;
        const { minAgeS, sampleIntervalS, budgetPerS, maxLive } = { ...settings, budgetPerS: settings.traceBudgetPerS };
        let tracer: LeakTracer | undefined;
        let noTracerReason: string | undefined;
        if (!settings.trace) noTracerReason = 'disabled with --no-trace';
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
            ...(p.cache !== undefined ? { cache: p.cache } : {}),
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
