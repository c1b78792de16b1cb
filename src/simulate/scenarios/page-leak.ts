/**
 * page-leak: kernel pages pinned through a user-triggerable path that no meminfo counter shows: pipe
 * buffers. A python3 holder creates pipes (each resized to 64 pages with F_SETPIPE_SZ), writes full
 * 4 KiB pages into them at the chosen rate and never reads them; every page is an alloc_page() from
 * pipe_write() that stays allocated while the pipe lives. Killing the holder frees everything.
 */
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../framework.js';
import { runHolder } from './slab-leak.js';

const PAGE = 4096;
export const PAGES_PER_PIPE = 64;

export const pageLeak: Scenario = {
  name: 'page-leak',
  area: 'memory',
  description: 'kernel pages pinned in pipe buffers (written, never read) at a rate, held by a python3 process until cleanup',
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'bytes of pages to pin in all', default: 64 * 1024 ** 2 },
    { key: 'rate', flag: '--rate <size/s>', type: 'size', description: 'bytes pinned per second (0 = as fast as possible)', default: 1024 ** 2 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const pages = Math.max(1, Math.floor((ctx.opts.size ?? 0) / PAGE));
    const rate = (ctx.opts.rate ?? 0) / PAGE;
    await runHolder(ctx, 'pipe page holder', { kind: 'pipe', count: pages, rate, perPipe: PAGES_PER_PIPE }, 'pages', PAGE);
    return {
      count: pages,
      unit: 'pages',
      bytes: pages * PAGE,
      details: { path: 'pipe_write', pipes: Math.ceil(pages / PAGES_PER_PIPE), rateBytesPerS: ctx.opts.rate ?? 0 },
    };
  },
};
