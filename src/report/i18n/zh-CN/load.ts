import type { Catalog } from '../index.js';

/** `oscope load` 的消息，键和占位符与 ../en/load.ts 完全一致。 */
export const load: Catalog = {
  findings: {
    'load.runnable.high': {
      title: '{cpus} 个 CPU 上有 {meanRunnable} 个线程在争用 CPU',
      conclusion:
        '采样期间平均有 {meanRunnable} 个线程处于可运行状态（每个 CPU {perCpu} 个，阈值 {thresholdPerCpu}；load1 为 {load1}）：CPU 超额订阅，线程在排队等待 CPU。最大的贡献者是 {top}（{topRunnablePct} 的采样中可运行，占需求的 {sharePct}，位于 {cgroup}）；CPU 时间中用户态 {userPct}，内核态 {sysPct}。',
      suggestions: [
        '查看 {top} 在做什么：`top -H -p {pid}` 查看其繁忙线程，`oscope profile --pid {pid}` 查看 CPU 花在哪里。',
        '如果需求合理，请增加 CPU 或分散负载；否则用其 cgroup 的 CPU 配额限制它（cgroup v2 cpu.max，v1 cpu.cfs_quota_us）或降低其优先级（`renice +10 -p {pid}`）。',
        '排队线程等待 CPU 的时长：`oscope runlatency`。',
      ],
    },
    'load.uninterruptible.high': {
      title: '{dTasks} 个线程处于 D 状态，其中 {tasks} 个阻塞在 {waitIn}',
      conclusion:
        '平均有 {meanUninterruptible} 个线程处于不可中断睡眠（阈值 {threshold}）：它们计入负载但不占用 CPU。最大的一组共 {tasks} 个线程（{comms}；pid {pids}）阻塞在 {waitIn}，最长已 {maxWaitMs}；共有 {groups} 种不同的栈；锁的持有者：{owner}；iowait 占 CPU 时间 {iowaitPct}。',
      suggestions: [
        '栈说明了它们在等什么：块设备 I/O（io_schedule、blk_*：运行 `oscope io`）、网络文件系统（nfs_*、fuse_*：检查服务端和 `mount` 选项），或其他任务持有的锁。',
        'D 状态的线程在等待期间无法被杀死（可杀的只响应 SIGKILL）：要解决它们等待的东西。对其中一个（pid {pids}）执行 `cat /proc/<pid>/stack` 可实时查看；`echo w > /proc/sysrq-trigger` 会把所有阻塞任务记到内核日志。',
      ],
    },
    'load.fork-storm': {
      title: '每秒 {perS} 个新进程',
      conclusion:
        '内核每秒创建 {perS} 个进程和线程（阈值 {thresholdPerS}），每秒 exec {execPerS} 次；fork 最多的父进程是 {parent}（每秒 fork {parentPerS} 次，其子进程每秒 exec {parentExecPerS} 次，位于 {cgroup}）；内核态时间 {sysPct}。',
      suggestions: [
        '查看 {parent} 启动了什么：`ps --ppid {pid} -o pid,etime,args`，或用 `execsnoop` 查看命令；常见原因是每处理一项就启动一个进程的脚本、反复崩溃重启的子进程，或执行过于频繁的健康检查。',
        '修复期间先加以限制：为其 cgroup 设置 pids 限制（pids.max），或为反复崩溃的服务设置更长的重启间隔（systemd RestartSec）。',
      ],
    },
    'load.cpu.throttled': {
      title: '{who} 在 {throttledPct} 的周期中被 CPU 限流',
      conclusion:
        'cgroup {cgroup} 在 {periods} 个周期中有 {throttledPeriods} 个触及 CPU 配额（{quota} 个 CPU）（{throttledPct}，阈值 {thresholdPct}），其任务累计被推迟 {throttledMs}，期间使用了 {usage} 个 CPU：即使有空闲 CPU，其线程也要等到下一个周期。',
      suggestions: [
        '提高配额（{cgroup} 中的 {file}；Kubernetes 中为容器的 CPU limit），或去掉配额改用 CPU 权重（shares）。',
        '如果负载是突发的，更长的周期或 cpu.cfs_burst_us / cpu.max.burst 可以借用未用完的配额；线程数多于配额 CPU 数的进程会在每个周期早早被限流（减少工作线程会有帮助）。',
      ],
    },
    'load.cpu.imbalance': {
      title: 'CPU {busyCpu} 过载，而 CPU {idleCpu} 空闲 {idlePct}',
      conclusion:
        'CPU {busyCpu} 上平均有 {meanRunnable} 个可运行线程（阈值 {thresholdRunnable}），而 CPU {idleCpu} 有 {idlePct} 的时间空闲（阈值 {thresholdIdlePct}）：调度器无法分散这些工作。CPU {busyCpu} 上有 {pinned} 个线程只能在部分 CPU 上运行（例如 {pinnedTask}，允许 {allowedCpus} 个 CPU）。',
      suggestions: [
        '检查被绑定线程的亲和性：`taskset -pc {pid}`、其 cgroup 的 cpuset（cpuset.cpus），或内核命令行中的 isolcpus/nohz_full。',
        '放宽亲和性（`taskset -pc 0-N {pid}`）或把工作移到空闲的 CPU；irqbalance 和 RPS 设置也可能把工作堆到一个 CPU 上。',
      ],
    },
    'load.sys.high': {
      title: '内核占用了 {sysPct} 的 CPU 时间',
      conclusion:
        '内核态时间占全部 CPU 时间的 {sysPct}（阈值 {thresholdPct}），用户态 {userPct}，硬中断 {irqPct}，软中断 {softirqPct}；每秒 {forksPerS} 个新进程；最繁忙的任务是 {top}。',
      suggestions: [
        '找出内核把时间花在哪里：`oscope profile`（内核栈）或 `perf top -g`。',
        '常见原因：大量小系统调用（strace -c -p {pid}）、fork 和 exec（见 forks）、缺页和内存回收（`oscope mem`）、内核中的锁竞争。',
      ],
    },
  },
  text: {
    'load.uninterruptible.owner': '它们在等待 {owner} 持有的锁：查看它在做什么（`cat /proc/{pid}/stack`、`cat /proc/{pid}/wchan`）。',
    'load.title': '{intervalS} 秒内的负载（{samples} 次采样）',
    'load.loadavg': '{cpus} 个 CPU 上的平均负载 {load1} {load5} {load15}（{trend}）；平均 {meanRunnable} 个可运行线程、{meanUninterruptible} 个 D 状态线程',
    'load.cpu': 'CPU：用户态 {userPct}，内核态 {sysPct}，硬中断 {irqPct}，软中断 {softirqPct}，iowait {iowaitPct}，steal {stealPct}，空闲 {idlePct}',
    'load.section.tasks': '可运行或阻塞的任务（占采样的比例）',
    'load.section.dstacks': 'D 状态线程，按内核栈分组',
    'load.section.forks': 'fork：每秒 {perS}，exec：每秒 {execPerS}',
    'load.section.throttled': '被 CPU 限流的 cgroup',
    'load.section.cpus': '每个 CPU 的运行队列',
    'load.watching': '正在采样 {intervalS} 秒的负载：按 Ctrl-C 提前结束',
  },
};
