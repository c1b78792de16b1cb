/** Every scenario, registered with the framework in the order `oscope simulate list` shows them. */
import { registerScenario } from '../framework.js';
import { dentryBloat } from './dentry-bloat.js';
import { filecache } from './filecache.js';
import { memcgZombie } from './memcg-zombie.js';
import { pageLeak } from './page-leak.js';
import { shmLeak } from './shm-leak.js';
import { slabLeak } from './slab-leak.js';
import { sysvOrphan } from './sysv-orphan.js';
import { vmallocLeak } from './vmalloc-leak.js';
import { runqHog } from './runq-hog.js';
import { softirqStorm } from './softirq-storm.js';
import { kernelBusy } from './kernel-busy.js';
import { irqOff } from './irq-off.js';
import { ioBurst, ioHang, ioSlow } from './io.js';
import { cpuThrottle, forkStorm, loadDState } from './load.js';
import { cpuHog } from './cpu-hog.js';
import { netDrop, netListenOverflow, netSlowReader, netDelay } from './net.js';

export const SCENARIOS = [shmLeak, sysvOrphan, memcgZombie, dentryBloat, filecache, slabLeak, pageLeak, vmallocLeak, runqHog, softirqStorm, kernelBusy, irqOff, ioSlow, ioHang, ioBurst, loadDState, forkStorm, cpuThrottle, cpuHog, netDrop, netListenOverflow, netSlowReader, netDelay];
for (const s of SCENARIOS) registerScenario(s);
