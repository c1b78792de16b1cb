import type { Catalog } from '../index.js';

/** `oscope io` 的消息，键和占位符与 ../en/io.ts 完全一致。 */
export const io: Catalog = {
  findings: {
    'io.latency.device': {
      title: '{disk} 的 I/O 慢在设备上：每个请求 {meanMs}',
      conclusion:
        '{disk} 上的 {requests} 个请求平均耗时 {meanMs}（阈值 {thresholdMs}）；其中 {sharePct} 花在设备上（均值 {deviceMs}，p50 约 {deviceP50Ms}，p99 约 {deviceP99Ms}），而不是操作系统队列（{queueMs}）或 I/O 调度器（{schedMs}）：延迟在设备本身，在虚拟机上则在宿主机的存储。',
      suggestions: [
        '操作系统很快就把请求交给了设备，问题在更下层：检查设备健康状况（`smartctl -a /dev/{disk}`、`nvme smart-log`）和固件；在虚拟机上检查宿主机的存储后端以及云盘的 IOPS/带宽限制。',
        '与设备的标称延迟对比；如果设备已饱和（见 %util 和队列深度），请分散负载（最慢的请求由 {comm} [{pid}] 发出）或迁移到更快的存储。',
      ],
    },
    'io.latency.queue': {
      title: '{disk} 的 I/O 在操作系统中排队：每个请求 {meanMs}',
      conclusion:
        '{disk} 上的 {requests} 个请求平均耗时 {meanMs}（阈值 {thresholdMs}）；其中 {sharePct} 花在驱动拿到请求之前（排队 {queueMs}，p50 约 {queueP50Ms}；I/O 调度器 {schedMs}），而设备本身只用了 {deviceMs}：请求在操作系统的队列/调度器中等待。',
      suggestions: [
        '请求在等待 tag 或在调度器中排队：检查队列深度（`cat /sys/block/{disk}/queue/nr_requests`）和调度器（`cat /sys/block/{disk}/queue/scheduler`；快速设备适合 `none` 或 `mq-deadline`）。',
        'cgroup 的 I/O 限制（blkio.throttle.*、io.max）或 io.latency/io.cost 控制也会在驱动之前拦住请求：检查 {comm} [{pid}] 所在 cgroup 的限制。',
      ],
    },
    'io.latency.wake': {
      title: '等待 {disk} I/O 的任务被唤醒得晚：{wakeMs}',
      conclusion:
        '等待 {disk} I/O 的任务有 {wakeups} 次在请求完成后平均 {wakeMs} 才重新运行（p99 约 {wakeP99Ms}；阈值 {thresholdMs}），而设备只用了 {deviceMs}：任务被唤醒得晚，瓶颈在 CPU 而不是磁盘。',
      suggestions: [
        'CPU 繁忙或等待的任务优先级低：运行 `oscope runlatency` 查看是什么让它在运行队列中等待。',
        '让中断处理和完成处理靠近该任务（irqbalance、/sys/block/{disk}/queue/rq_affinity = 2），或为该任务分配独占 CPU。',
      ],
    },
    'io.traffic.dominant': {
      title: '{who} 占了 {sharePct} 的 I/O',
      conclusion:
        '在该时间段读写的 {totalBytes}（{totalBytesPerS}/s）中，{who}（{kind}，cgroup {cgroup}）占了 {sharePct}（阈值 {thresholdPct}）：读 {readBytes}，写 {writeBytes}（回写计入弄脏页面的任务）。',
      suggestions: [
        '如果这不符合预期，查看它在做什么：`cat /proc/{pid}/io`、`ls -l /proc/{pid}/fd`、`pidstat -d 1`。',
        '为保护其他任务，用 cgroup I/O 限制约束它（cgroup v2 io.max，v1 在其 cgroup {cgroup} 上设置 blkio.throttle.read_bps_device/write_bps_device），或降低其 I/O 优先级（`ionice -c3 -p {pid}`）。',
      ],
    },
    'io.hang': {
      title: '{disk} 的 I/O 已卡住 {ageS} 秒',
      conclusion:
        '{disk} 上有 {requests} 个请求已在途至少 {ageS} 秒（阈值 {thresholdS} 秒；最早的一个在扇区 {sector}，由 {comm} [{pid}] 发出）；有 {dTasks} 个任务处于 D 状态等待 I/O，位置靠近 {frame}。',
      suggestions: [
        '检查设备及其驱动：`dmesg | tail -50` 查看超时和复位；在虚拟机上检查宿主机的存储（卡住的 NFS/iSCSI/云盘表现相同）。',
        '在 I/O 完成之前，D 状态的任务无法被杀死；它们的调用栈（见下）显示了等待的位置。如果设备已经不在，只有在弄清是什么占用它之后，才将其移除（SCSI 设备：`echo 1 > /sys/block/{disk}/device/delete`）。',
      ],
    },
    'io.util.saturated': {
      title: '{disk} 有 {utilPct} 的时间在忙',
      conclusion:
        '{disk}（{rotational}）在该时间段的 {utilPct} 内有在途请求（阈值 {thresholdPct}），每秒 {iops} 个请求，读 {readBytesPerS}/s，写 {writeBytesPerS}/s，平均队列深度 {queueDepth}，await {awaitMs}。',
      suggestions: [
        '对机械盘来说这表示已饱和；SSD/NVMe 和虚拟磁盘能同时处理许多请求，仅凭 %util 不能说明饱和：还要看 await 和设备阶段的延迟。',
        '找出是谁在做 I/O（见流量表），在时间或磁盘上分散负载，或迁移到更快的存储。',
      ],
    },
    'io.iowait.high': {
      title: '任务花了大量时间等待 I/O',
      conclusion:
        '{comm} [{pid}] 在该时间段有 {iowaitPct} 的时间处于 iowait 睡眠（{iowaitMs}），位置靠近 {frame}；PSI io：最近 10 秒 some {psiSomePct}，full {psiFullPct}（阈值 {thresholdPct}）。',
      suggestions: [
        '调用栈显示了它在等什么：需要的读取（页缓存太小：见 `oscope mem`）、sync/fsync，或跨 I/O 持有的锁。',
        '如果磁盘慢，见延迟相关的结论；如果磁盘忙，流量表列出了是谁让它忙。',
      ],
    },
  },
  text: {
    'io.title': '{intervalS} 秒内的 I/O',
    'io.section.disks': '磁盘（该时间段内的 iostat -x）',
    'io.section.latency': '按阶段划分的请求延迟',
    'io.section.slow': '慢请求',
    'io.section.processes': '按进程的流量',
    'io.section.cgroups': '按 cgroup 的流量（含其子 cgroup）',
    'io.section.files': '按文件的流量',
    'io.files.note': 'READ：从磁盘读入其页缓存的字节数；WRITE：其页缓存被弄脏的字节数（稍后回写），由 WRITERS 弄脏。/dev/NAME 一行是磁盘自身的缓存：文件系统元数据和日志，由修改它们的任务弄脏（常见为 kworker 或 jbd2）。',
    'io.section.hangs': '卡住的请求',
    'io.section.dtasks': 'D 状态的任务（按调用栈分组）',
    'io.section.iowait': '按任务的 I/O 等待',
    'io.verdict.device': '结论：{disk} 的延迟在设备（或宿主机的存储）上',
    'io.verdict.queue': '结论：{disk} 的请求在操作系统队列中等待',
    'io.verdict.sched': '结论：{disk} 的请求在 I/O 调度器中等待',
    'io.verdict.wake': '结论：等待 {disk} 的任务被唤醒得晚',
    'io.psi': 'PSI io：some {someAvg10} %，full {fullAvg10} %（avg10）；该时间段内停顿 {someMs}（some）',
    'io.lost': '有 {count} 个慢请求事件丢失（环形缓冲区已满）。',
    'io.none': '（无）',
    'io.watching': '正在测量 {intervalS} 秒的 I/O：按 Ctrl-C 提前结束',
  },
};
