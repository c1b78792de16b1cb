import type { Catalog } from '../index.js';

/** `oscope agent`: alert event messages (one sentence each, with the numbers that matter). */
export const agent: Pick<Catalog, 'text'> = {
  text: {
    'agent.alert.memory_usage': 'memory in use is {usedPct} of {totalBytes} (threshold {thresholdPct})',
    'agent.alert.container_near_limit': '{who} uses {usedPct} of its {limitBytes} limit, {filePct} of it page cache',
    'agent.alert.shmem_growth': 'shared memory grew by {grewBytes} in {seconds} s, to {nowBytes}',
    'agent.alert.slab_growth': 'unreclaimable slab grew by {grewBytes} in {seconds} s, to {nowBytes}',
    'agent.alert.zombie_cgroups': '{count} zombie memory cgroups hold {zombieBytes}',
    'agent.alert.zombie_cgroups.noCount': 'zombie memory cgroups hold {zombieBytes}',
    'agent.alert.memory_pressure': 'tasks stalled on memory {stallPct} of the last 10 s (threshold {thresholdPct})',
    'agent.alert.kernel_log': 'kernel log: {count} × {logKind} ({level}) in the last {seconds} s, latest: {title}',
    'agent.alert.kernel_log.noTitle': 'kernel log: {count} × {logKind} ({level}) in the last {seconds} s',
    'agent.alert.runqueue_latency': 'run-queue latency p99 is {p99Ms} over the last interval (max {maxMs}, {count} wakeups; threshold {thresholdMs})',
    'agent.alert.io_latency': 'disk {disk}: requests take {awaitMs} on average over the last interval ({iops} per second; threshold {thresholdMs})',
    'agent.alert.io_latency.stage': 'disk {disk}: requests take {awaitMs} on average over the last interval ({iops} per second; threshold {thresholdMs}), most of it in the {stage} stage ({stageMs} mean)',
    'agent.alert.io_hang': 'disk {disk}: {inflight} requests in flight and none completed for {seconds} s',
    'agent.alert.disk_saturated': 'disk {disk} was busy {utilPct} of the last interval ({queueDepth} requests in flight on average, {iops} per second; threshold {thresholdPct})',
    'agent.ioStage.queue': 'block-layer queue',
    'agent.ioStage.sched': 'I/O scheduler',
    'agent.ioStage.device': 'device',
    'agent.ioStage.wake': 'task wake-up',
    'agent.alert.resolved': 'resolved: {rule}',
    'agent.alert.resolved.of': 'resolved: {rule} ({what})',
    'agent.level.fatal': 'fatal',
    'agent.level.critical': 'critical',
    'agent.level.error': 'error',
    'agent.level.warning': 'warning',
    'agent.level.info': 'info',
  },
};
