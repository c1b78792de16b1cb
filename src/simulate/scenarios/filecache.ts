/**
 * filecache: a process in its own memory cgroup writes, then reads, a large log file and keeps it open,
 * so the cgroup holds that much page cache (what `oscope mem` and `oscope filecache` must attribute).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { cgroupCacheBytes, detectMemoryHierarchy, memoryCgroupProblem } from '../cgroup.js';

export const filecache: Scenario = {
  name: 'filecache',
  area: 'memory',
  description: 'a process in its own memory cgroup writes and reads a large log file and keeps it open',
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'size of the log file', default: 1024 ** 3 },
    { key: 'rate', flag: '--rate <bytes/s>', type: 'size', description: 'write rate in bytes per second (0 = as fast as possible)', default: 0 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: () => memoryCgroupProblem(detectMemoryHierarchy()),
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const h = detectMemoryHierarchy();
    if (!h) throw new SimulateError('no memory cgroup hierarchy', 'unsupported');
    const size = Math.floor(ctx.opts.size ?? 0);
    const cg = join(h.mount, ctx.name());
    ctx.track({ kind: 'cgroup', path: cg, bytes: size });
    mkdirSync(cg);
    const dir = join('/var/tmp', ctx.name());
    ctx.track({ kind: 'dir', path: dir });
    mkdirSync(dir, { mode: 0o700 });
    const file = join(dir, 'app.log');
    ctx.track({ kind: 'file', path: file, bytes: size });
    const w = ctx.worker('app.log writer and holder');
    w.onProgress = (n) => ctx.progress({ count: n, unit: 'bytes written', bytes: n });
    await w.must({ op: 'join', procs: join(cg, 'cgroup.procs') }, ctx.signal);
    await w.must({ op: 'write', path: file, bytes: size, rate: ctx.opts.rate ?? 0 }, ctx.signal);
    await w.must({ op: 'read', path: file }, ctx.signal);
    await w.must({ op: 'hold', path: file }, ctx.signal);
    await w.must({ op: 'park' }, ctx.signal);
    ctx.progress({ count: size, unit: 'bytes written', bytes: size });
    return {
      count: 1,
      unit: 'file',
      bytes: size,
      details: { cgroup: cg, cgroupVersion: h.version, file, pid: w.pid, cacheBytes: cgroupCacheBytes(h, cg) ?? -1 },
    };
  },
};
