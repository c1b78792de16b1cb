/**
 * dentry-bloat: negative dentries, the dcache entries the kernel keeps for names that do not exist
 * (stat() of missing files), which grow without bound on hosts that probe many missing paths.
 *
 * A python3 helper stats `--count` nonexistent names under /var/tmp/oscope-sim-<id>/ in a tight loop.
 * Cleanup removes the directory, which drops its negative dentries.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario, ScenarioContext, ScenarioResult } from '../framework.js';

/** Size of one dentry: /proc/slabinfo's dentry objsize when readable, else the x86-64 value. */
export function dentryBytes(): number {
  try {
    const line = readFileSync('/proc/slabinfo', 'utf8').split('\n').find((l) => l.startsWith('dentry '));
    const objsize = Number(line?.trim().split(/\s+/)[3]);
    if (Number.isInteger(objsize) && objsize > 0) return objsize;
  } catch {
    /* fall back */
  }
  return 192;
}

export const dentryBloat: Scenario = {
  name: 'dentry-bloat',
  area: 'memory',
  description: 'negative dentries from stat() of nonexistent names under /var/tmp/oscope-sim-<id>/',
  sizeFlag: '--count',
  options: [
    { key: 'count', flag: '--count <n>', type: 'count', description: 'nonexistent names to look up', default: 1_000_000 },
    { key: 'rate', flag: '--rate <lookups/s>', type: 'count', description: 'lookups per second (0 = as fast as possible)', default: 0 },
  ],
  memoryBytes: (o) => (o.count ?? 0) * dentryBytes(),
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const count = Math.floor(ctx.opts.count ?? 0);
    const each = dentryBytes();
    const dir = join('/var/tmp', ctx.name());
    ctx.track({ kind: 'dir', path: dir });
    mkdirSync(dir, { mode: 0o700 });
    const w = ctx.worker('negative-dentry maker');
    w.onProgress = (n) => ctx.progress({ count: n, unit: 'lookups', bytes: n * each });
    await w.must({ op: 'stat', dir, count, rate: ctx.opts.rate ?? 0 }, ctx.signal);
    await w.must({ op: 'exit' }, ctx.signal);
    await w.waitExit();
    return { count, unit: 'negative dentries', bytes: count * each, details: { dir, dentryBytes: each } };
  },
};
