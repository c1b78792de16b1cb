/**
 * sysv-orphan: SysV shared memory segments created, filled, detached and left with nattch 0, the way a
 * crashed database or IPC user leaves them. Their pages are shmem that no process maps.
 *
 * Keys are in 0x05c10000–0x05c1ffff (recognisable in `ipcs -m`); the segments are created by a python3
 * helper through ctypes (shmget, shmat, memset so every page is charged, shmdt).
 */
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Resource } from '../state.js';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';

export const SYSV_KEY_BASE = 0x05c10000;
const EEXIST = 17;
const PAGE = 4096;

export const sysvOrphan: Scenario = {
  name: 'sysv-orphan',
  area: 'memory',
  description: 'SysV shm segments filled and left with nattch 0 (orphans: shmem no process maps)',
  sizeFlag: '--size',
  options: [
    { key: 'size', flag: '--size <size>', type: 'size', description: 'total bytes in all segments', default: 256 * 1024 ** 2 },
    { key: 'segments', flag: '--segments <n>', type: 'count', description: 'number of segments', default: 4 },
    { key: 'rate', flag: '--rate <segments/s>', type: 'count', description: 'segments created per second (0 = as fast as possible)', default: 0 },
  ],
  memoryBytes: (o) => o.size ?? 0,
  check: (o) => {
    if (!existsSync('/proc/sysvipc/shm')) return 'this kernel has no SysV IPC (/proc/sysvipc/shm is missing)';
    if ((o.segments ?? 0) < 1) return '--segments must be at least 1';
    if (!['/usr/bin/ipcrm', '/bin/ipcrm', '/usr/local/bin/ipcrm'].some((p) => existsSync(p))) {
      return 'ipcrm (util-linux) is needed to remove the segments and is not installed';
    }
    return undefined;
  },
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const n = Math.floor(ctx.opts.segments ?? 4);
    const per = Math.max(PAGE, Math.ceil((ctx.opts.size ?? 0) / n / PAGE) * PAGE);
    const rate = ctx.opts.rate ?? 0;
    const w = ctx.worker('shm creator');
    let next = randomInt(0, 0x10000);
    const ids: number[] = [];
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const rec = ctx.track<Extract<Resource, { kind: 'sysv-shm' }>>({ kind: 'sysv-shm', key: SYSV_KEY_BASE + (next & 0xffff), creatorPid: w.pid, bytes: per });
      let id: number | undefined;
      for (let tries = 0; ; tries++) {
        const r = await w.request({ op: 'shm', key: rec.key, bytes: per }, ctx.signal);
        if (r.ok === true && r.id !== undefined) {
          id = rec.id = r.id;
          break;
        }
        if (r.id !== undefined) rec.id = r.id;
        if (r.errno === EEXIST && tries < 256) {
          next++;
          rec.key = SYSV_KEY_BASE + (next & 0xffff);
          ctx.save();
          continue;
        }
        ctx.save();
        throw new SimulateError(`shmget of ${per} bytes failed: ${r.error ?? 'unknown error'} (see /proc/sys/kernel/shmmax and shmall)`);
      }
      next++;
      ctx.save();
      ids.push(id);
      keys.push(`0x${rec.key.toString(16).padStart(8, '0')}`);
      ctx.progress({ count: i + 1, unit: 'segments', bytes: per * (i + 1) });
      await ctx.pace(i + 1, rate);
    }
    await w.must({ op: 'exit' }, ctx.signal);
    await w.waitExit();
    return { count: n, unit: 'segments', bytes: per * n, details: { segmentBytes: per, ids: ids.join(','), keys: keys.join(',') } };
  },
};
