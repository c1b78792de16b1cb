/** `oscope mem`: the memory panorama. */
import type { Command } from 'commander';
import { MEM_FLAGS, type MemParams, MemParamsSchema } from '../../diagnose/memory/params.js';
import { runMemPanorama } from '../../diagnose/memory/panorama.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { memDocument, renderMemText } from '../../report/mem.js';
import { styleFrom } from '../../report/text.js';
import type { CliContext } from '../context.js';
import { collectKeyValue, progressReporter, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams, num } from './params.js';

export interface MemFlags {
  top: string;
  kpage: boolean;
  threshold?: string[];
  config?: string;
}

/** The flags as the diagnosis's parameters (src/diagnose/memory/params.ts), validated by its schema. */
export function memParams(flags: MemFlags): MemParams {
  return cliParams(MemParamsSchema, { top: num(flags.top), kpage: flags.kpage, thresholds: thresholdsFrom(flags) }, MEM_FLAGS, { top: flags.top });
}

export const registerMem: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('mem')
    .description('memory panorama: where every byte of RAM is, with conclusions and suggestions')
    .option('--top <n>', 'rows in the process and cgroup tables', '30')
    .option('--no-kpage', 'skip the /proc/kpageflags cross-check (faster)')
    .option('--threshold <key=value>', 'override a threshold (repeatable), e.g. mem.availableLowPct=15', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: MemFlags) => {
      const c = ctx();
      const p = memParams(flags);
      const thresholds = resolveThresholds(p.thresholds);
      const top = p.top;
      const host = await c.host();
      if (host.live && host.info().uid !== 0) {
        c.err('oscope: not root: slab, vmalloc, kpageflags and other processes\' files are hidden; the report says what it could not see (run with sudo for all of it)');
      }
      const progress = progressReporter(c);
      let result;
      try {
        result = await runMemPanorama(host, { thresholds, kpage: p.kpage, top, onProgress: progress.update });
      } finally {
        progress.stop();
      }
      const doc = memDocument(result.analysis, host.info(), host.kind, result.availableBytes, c.lang);
      if (c.json) c.out(JSON.stringify(doc, null, 2));
      else c.out(renderMemText(doc, c.lang, styleFrom(c.color), { top }));
    });
};
