import type { Catalog } from '../index.js';

/** `oscope agent`：告警事件消息（每条一句话，带关键数字）。 */
export const agent: Pick<Catalog, 'text'> = {
  text: {
    'agent.alert.memory_usage': '内存使用率为 {usedPct}，总内存 {totalBytes}（阈值 {thresholdPct}）',
    'agent.alert.container_near_limit': '{who} 已用其 {limitBytes} 限额的 {usedPct}，其中 {filePct} 是页缓存',
    'agent.alert.shmem_growth': '共享内存在 {seconds} 秒内增长了 {grewBytes}，当前 {nowBytes}',
    'agent.alert.slab_growth': '不可回收 slab 在 {seconds} 秒内增长了 {grewBytes}，当前 {nowBytes}',
    'agent.alert.zombie_cgroups': '{count} 个僵尸内存 cgroup 占用 {zombieBytes}',
    'agent.alert.zombie_cgroups.noCount': '僵尸内存 cgroup 占用 {zombieBytes}',
    'agent.alert.memory_pressure': '最近 10 秒内有 {stallPct} 的时间任务因内存而停顿（阈值 {thresholdPct}）',
    'agent.alert.kernel_log': '内核日志：最近 {seconds} 秒内出现 {count} 次 {logKind}（{level}），最近一次：{title}',
    'agent.alert.kernel_log.noTitle': '内核日志：最近 {seconds} 秒内出现 {count} 次 {logKind}（{level}）',
    'agent.alert.runqueue_latency': '上一个采集周期的运行队列延迟 p99 为 {p99Ms}（最大 {maxMs}，共 {count} 次唤醒；阈值 {thresholdMs}）',
    'agent.alert.io_latency': '磁盘 {disk}：上一个采集周期内请求平均耗时 {awaitMs}（每秒 {iops} 个；阈值 {thresholdMs}）',
    'agent.alert.io_latency.stage': '磁盘 {disk}：上一个采集周期内请求平均耗时 {awaitMs}（每秒 {iops} 个；阈值 {thresholdMs}），主要耗在{stage}阶段（平均 {stageMs}）',
    'agent.alert.io_hang': '磁盘 {disk}：{inflight} 个请求在途，已 {seconds} 秒没有请求完成',
    'agent.alert.disk_saturated': '磁盘 {disk} 在上一个采集周期内有 {utilPct} 的时间处于繁忙（平均 {queueDepth} 个请求在途，每秒 {iops} 个；阈值 {thresholdPct}）',
    'agent.ioStage.queue': '块层排队',
    'agent.ioStage.sched': 'I/O 调度器',
    'agent.ioStage.device': '设备',
    'agent.ioStage.wake': '任务唤醒',
    'agent.alert.resolved': '已恢复：{rule}',
    'agent.alert.resolved.of': '已恢复：{rule}（{what}）',
    'agent.level.fatal': '致命',
    'agent.level.critical': '严重',
    'agent.level.error': '错误',
    'agent.level.warning': '警告',
    'agent.level.info': '提示',
  },
};
