import type { Catalog } from '../index.js';

/** `oscope runlatency` 的消息，键和占位符与 ../en/latency.ts 完全一致。 */
export const latency: Catalog = {
  findings: {
    // Always present (src/diagnose/latency/analyze.ts summaryFinding).
    'lat.summary': {
      title: '{durationS} 秒内 {cpus} 个 CPU 的延迟概况',
      conclusion:
        '在 {durationS} 秒内、{cpus} 个 CPU 上，有 {wakeups} 次唤醒等待 CPU：运行队列 p99 {p99Ms}（最差为 CPU {worstCpu}），最长 {maxMs}；{events} 个事件超过阈值。',
      suggestions: [
        '细看或延长观察：`oscope runlatency -i 60 --cpu {worstCpu}`，或降低阈值（`--threshold runqueue=10ms`）以列出默认阈值以下的事件。',
      ],
    },
    'lat.runqueue.high': {
      title: '任务在运行队列中等待了 {maxMs}',
      conclusion:
        '{count} 次唤醒等待运行超过 {thresholdMs}（最长 {maxMs}，CPU {cpus}）；受影响最重的是 {victim} [{victimPid}]，期间占用 CPU 的是 {culprit} [{culpritPid}]。',
      suggestions: [
        '检查 {culprit} [{culpritPid}] 在做什么：同一 CPU 上的实时（SCHED_FIFO/RR）忙循环或 CPU 密集任务会饿死其他任务；`chrt -p {culpritPid}` 和 `taskset -p {culpritPid}` 可查看其调度策略和 CPU。',
        '为延迟敏感的任务分配独占 CPU（cpuset、`taskset`），或降低肇事者的优先级（`renice`、`chrt -o -p 0 {culpritPid}`），或用 cgroup cpu.max 限制它。',
      ],
    },
    'lat.irqoff': {
      title: '中断被关闭了 {maxMs}',
      conclusion:
        '某个 CPU 关闭硬中断长达 {maxMs}（{count} 次超过 {thresholdMs}，CPU {cpus}），发生在 {culprit} [{culpritPid}] 中，位置靠近 {frame}；期间该 CPU 上任何任务都无法运行或被中断。',
      suggestions: [
        '查看调用栈（靠近 {frame}）：使用硬件 NMI 看门狗时，它取自关中断区间内部；使用 cpu-clock 采样时，它取自中断重新打开处（区间的结尾）；两种情况下，关闭中断的代码都在栈上。在内核变更日志中搜索针对它的修复。',
        '在虚拟机上，vCPU 被宿主机抢占看起来一样：已排除有 steal 时间的间隙；若事件仍在，检查宿主机的 CPU 超卖。',
      ],
    },
    'lat.softirq.slow': {
      title: '软中断被延迟或运行了 {maxMs}',
      conclusion: '{count} 次软中断等待或运行超过 {thresholdMs}（最长 {maxMs}，CPU {cpus}）；受影响最大：{victim}，主要原因：{culprit}。',
      suggestions: [
        '网络软中断（NET_RX/NET_TX）负载过重时，应分散中断（RPS/RFS、irqbalance、更多队列）或调小 net.core.netdev_budget_usecs。',
        '软中断在繁忙任务下被延迟，说明下半部被关闭或 ksoftirqd 无法运行：检查肇事者的优先级和所在 CPU。',
      ],
    },
    'lat.hardirq.slow': {
      title: '中断处理函数运行了 {maxMs}',
      conclusion: '{count} 次硬中断处理超过 {thresholdMs}（最长 {maxMs}，CPU {cpus}），主要是 {culprit}，打断了 {victim}。',
      suggestions: ['处理函数过慢是驱动问题：升级 {culprit} 对应设备的驱动或固件，或把它的 IRQ 移到其他 CPU（/proc/irq/N/smp_affinity）。'],
    },
    'lat.nosched': {
      title: '{culprit} 在内核中运行了 {maxMs} 没有调度',
      conclusion:
        '{culprit} [{culpritPid}] 在内核态连续运行长达 {maxMs} 没有调度（{count} 次超过 {thresholdMs}，CPU {cpus}），期间有其他任务在等待，位置靠近 {frame}。',
      suggestions: [
        '调用栈指出了过长的内核路径（靠近 {frame}）：一个没有 cond_resched() 的循环；找出该进程让内核做的事（巨大的 munmap、关闭大量文件、读取大的 /proc 文件）并拆分工作。',
        '在 PREEMPT_DYNAMIC 内核上，以 preempt=voluntary 或 preempt=full 启动可以让等待的任务更快运行。',
      ],
    },
  },
  text: {
    'lat.title': '调度与中断延迟（{durationS} 秒，{cpus} 个 CPU）',
    'lat.thresholds': '阈值',
    'lat.section.summary': '按类型汇总',
    'lat.section.events': '最严重的事件',
    'lat.section.hist': '运行队列延迟（唤醒到运行），按 CPU 和 cgroup',
    'lat.steal': '{count} 个 cpu-clock 间隙是宿主机 steal 时间（vCPU 未运行），不是关中断。',
    'lat.timerGaps': '{count} 个迟到的 cpu-clock 采样落在空闲或用户态，或间隙内处理过中断（中断是打开的：定时器被推迟或 vCPU 未被宿主机运行），不是关中断。',
    'lat.lost': '{count} 个事件丢失（环形缓冲区已满）。',
    'lat.watching': '正在跟踪延迟 {durationS} 秒：按 Ctrl-C 提前结束',
    'lat.monitor.started': 'runlatency 监控已在独立的后台进程中启动（pid {pid}）；状态文件 {file}',
    'lat.monitor.stopped': 'runlatency 监控已停止（后台进程 pid {pid}）；没有残留的挂载点',
    'lat.monitor.startedAgent': 'runlatency 监控已在运行中的 agent 内启动（pid {pid}，{socket}）',
    'lat.monitor.stoppedAgent': 'agent 内的 runlatency 监控已停止（pid {pid}）；没有残留的挂载点',
    'lat.monitor.none': '没有正在运行的 runlatency 监控',
    'lat.monitor.written': '已写入 {json} 和 {text}',
    'lat.monitor.from.agent': '来自 agent 内的 runlatency 监控（pid {pid}）',
    'lat.monitor.from.process': '来自后台进程中的 runlatency 监控（pid {pid}）',
  },
};
