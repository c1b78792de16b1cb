/**
 * shm-leak: many small files under one /dev/shm directory, the pattern of an application that leaks
 * shared-memory files (shmem pages that no process maps, so no RSS shows them).
 */
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';

const SHM = '/dev/shm';

export const shmLeak: Scenario = {
  name: 'shm-leak',
  area: 'memory',
  description: 'many small files under /dev/shm/oscope-sim-<id>/, held until the end (shmem that no process shows)',
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'total bytes to put in /dev/shm', default: 256 * 1024 ** 2 },
    { key: 'fileSize', flag: '--file-size <size>', type: 'size', description: 'size of each file', default: 16 * 1024 },
    { key: 'rate', flag: '--rate <files/s>', type: 'count', description: 'files created per second (0 = as fast as possible)', default: 0 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: (o) => {
    try {
      const st = statfsSync(SHM);
      const free = st.bavail * st.bsize;
      if ((o.size ?? 0) > free) return `${SHM} has only ${free} bytes free, less than --size`;
    } catch {
      return `${SHM} does not exist on this host`;
    }
    if ((o.fileSize ?? 0) < 1) return '--file-size must be at least 1 byte';
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const size = ctx.opts.size ?? 0;
    const fileSize = Math.max(1, ctx.opts.fileSize ?? 16384);
    const rate = ctx.opts.rate ?? 0;
    const dir = join(SHM, ctx.name());
    const rec = ctx.track({ kind: 'dir', path: dir, bytes: 0, files: 0 });
    mkdirSync(dir, { mode: 0o700 });
    const n = Math.ceil(size / fileSize);
    const buf = Buffer.alloc(fileSize, 0x5a);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const len = Math.min(fileSize, size - bytes);
      try {
        writeFileSync(join(dir, `${ctx.name('shm')}-${i}`), len === fileSize ? buf : buf.subarray(0, len));
      } catch (err) {
        throw new SimulateError(`cannot write in ${dir}: ${(err as Error).message}`);
      }
      bytes += len;
      if (rate > 0 || (i & 255) === 255 || i === n - 1) {
        rec.bytes = bytes;
        rec.files = i + 1;
        ctx.progress({ count: i + 1, unit: 'files', bytes });
        if (rate > 0) await ctx.pace(i + 1, rate);
        else await yieldToLoop();
        if (ctx.signal.aborted) throw new SimulateError('interrupted', 'interrupted');
      }
    }
    rec.bytes = bytes;
    rec.files = n;
    ctx.save();
    return { count: n, unit: 'files', bytes, details: { dir, fileSizeBytes: fileSize } };
  },
};
