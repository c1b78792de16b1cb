/**
 * memcg-zombie: memory cgroups that were removed but still live in the kernel ("zombie" or dying
 * cgroups), because page cache charged to them outlives them.
 *
 * One python3 helper joins each new cgroup in turn and writes a file there (so that file's page cache is
 * charged to it), then moves on to the next cgroup; each cgroup is removed once the helper has left it,
 * and the last one once the helper exited. The helper never moves back into our own cgroup. The files
 * live on disk (/var/tmp), so their pages are page cache, not shmem. Cleanup deletes the files: that
 * frees the pages, and the kernel then frees the dying cgroups by itself.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { detectMemoryHierarchy, memoryCgroupProblem } from '../cgroup.js';
import { removeResource } from '../state.js';

const PAGE = 4096;

export const memcgZombie: Scenario = {
  name: 'memcg-zombie',
  area: 'memory',
  description: 'memory cgroups that cache file pages and are then removed: they stay alive in the kernel as zombies',
  sizeFlag: '--size',
  options: [
    { key: 'count', flag: '--count <n>', type: 'count', description: 'number of cgroups', default: 50 },
    { key: 'size', flag: '--size <size>', type: 'size', description: 'page cache charged to them in total', default: 256 * 1024 ** 2 },
    { key: 'rate', flag: '--rate <cgroups/s>', type: 'count', description: 'cgroups created per second (0 = as fast as possible)', default: 0 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: (o) => {
    if ((o.count ?? 0) < 1) return '--count must be at least 1';
    return memoryCgroupProblem(detectMemoryHierarchy());
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const h = detectMemoryHierarchy();
    if (!h) throw new SimulateError('no memory cgroup hierarchy', 'unsupported');
    const n = Math.floor(ctx.opts.count ?? 50);
    const per = Math.max(PAGE, Math.floor((ctx.opts.size ?? 0) / n / PAGE) * PAGE);
    const rate = ctx.opts.rate ?? 0;
    const dir = join('/var/tmp', ctx.name());
    const dirRec = ctx.track({ kind: 'dir', path: dir, bytes: 0, files: 0 });
    mkdirSync(dir, { mode: 0o700 });
    const w = ctx.worker('page-cache writer');
    let prev: string | undefined;
    const cgroups: string[] = [];
    for (let i = 0; i < n; i++) {
      const cg = join(h.mount, ctx.name(i));
      const rec = ctx.track({ kind: 'cgroup', path: cg, bytes: per });
      mkdirSync(cg);
      cgroups.push(cg);
      await w.must({ op: 'join', procs: join(cg, 'cgroup.procs') }, ctx.signal);
      await w.must({ op: 'write', path: join(dir, `${ctx.name(i)}.dat`), bytes: per }, ctx.signal);
      dirRec.bytes = per * (i + 1);
      dirRec.files = i + 1;
      ctx.save();
      // The helper has left the previous cgroup: remove it now (it turns into a zombie).
      if (prev) rmdirSync(prev);
      prev = rec.path;
      ctx.progress({ count: i + 1, unit: 'cgroups', bytes: per * (i + 1) });
      await ctx.pace(i + 1, rate);
    }
    await w.must({ op: 'exit' }, ctx.signal);
    await w.waitExit();
    if (prev) await removeResource({ kind: 'cgroup', path: prev });
    return {
      count: n,
      unit: 'cgroups',
      bytes: per * n,
      details: { hierarchy: h.mount, cgroupVersion: h.version, dir, perCgroupBytes: per, firstCgroup: cgroups[0] ?? '' },
    };
  },
};
