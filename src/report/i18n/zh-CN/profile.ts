import type { Catalog } from '../index.js';

/** `oscope profile` 与 `oscope profile diff` 的消息。占位符来自 src/diagnose/profile/analyze.ts 与 diff.ts。 */
export const profile: Catalog = {
  findings: {
    'profile.function.hot': {
      title: '{function} 占用了 {selfPct} 的 CPU 采样',
      conclusion: '{function}（{module}）出现在全部采样的 {selfPct} 中（自身；含其调用的函数为 {totalPct}；阈值 {thresholdPct}），主要在 {comm} [{pid}] 中：CPU 时间花在这里。',
      suggestions: [
        '在火焰图中查看谁调用了 {function}（`oscope profile --pid {pid} --format svg -o profile.svg`），判断这些工作是否必要：热循环、重试风暴、自旋等锁、低效算法。',
        '与正常时段的剖析对比（`oscope profile diff good.json now.json`），看哪里变热了。',
      ],
    },
    'profile.kernel.high': {
      title: '内核占用了 {kernelPct} 的 CPU 采样',
      conclusion: '{kernelPct} 的采样位于内核（阈值 {thresholdPct}）；最热的内核函数是 {function}，占 {functionPct}：系统态时间来自工作负载引发的系统调用、缺页、中断或锁竞争。',
      suggestions: [
        '在火焰图中沿内核栈帧向下找到进入内核的用户态栈帧：频繁的小系统调用、新内存上的缺页或锁竞争是常见原因。',
        '运行 `oscope load` 查看 sys/irq/softirq 的划分；若内核时间伴随调度延迟，运行 `oscope runlatency`。',
      ],
    },
    'profile.offcpu.blocked': {
      title: '任务阻塞最多的位置是 {function}：{blockedMs}（{sharePct}）',
      conclusion: '阻塞最久的调用栈在 {function} 中等待了 {blockedMs}，占全部 {totalMs} 离 CPU 时间的 {sharePct}，由 {caller} 进入：任务在这里等待而不是运行。',
      suggestions: [
        '查看完整调用栈（`--format svg` 或文本输出）了解任务在等什么：I/O（io_schedule）、锁（futex、mutex）、网络（poll、epoll_wait、sk_wait）或定时器（nanosleep，本就空闲）。',
        'I/O 等待请运行 `oscope io`；运行队列延迟（可运行但未运行的时间不计入离 CPU 时间）请运行 `oscope runlatency`。',
      ],
    },
    'profile.symbols.missing': {
      title: '{unknownPct} 的采样含有无法命名的栈帧',
      conclusion: '{unknownPct} 的采样至少有一个 oscope 无法命名的栈帧（阈值 {thresholdPct}）；最常见的原因是 {reason}。',
      suggestions: [
        '`[unknown: no frame pointers]`：用 `-fno-omit-frame-pointer` 重新编译程序（或使用保留帧指针构建的发行版）；Node 请加 `--perf-basic-prof` 运行，Java 请加 perf-map agent。',
        '`[unknown: stripped]`：安装调试符号包（`apt install <package>-dbgsym`、`debuginfo-install <package>`），它会把文件放到 /usr/lib/debug，oscope 会读取。',
      ],
    },
    'profile.samples.few': {
      title: '只有 {samples} 个采样：不足以下结论',
      conclusion: '在 {intervalS} 秒内只有 {samples} 个采样（少于 {minSamples}）：范围内的工作负载大多空闲，或采样时间太短。',
      suggestions: ['延长采样时间（`-i 30`）、提高频率（`--hz 99`），或确认范围（--pid、--cgroup、--container）是繁忙的那个。'],
    },
    'profile.diff.hotter': {
      title: '{function} 变热了：{beforePct} → {afterPct}',
      conclusion: '{function}（{module}）的自身采样占比从 {beforePct} 升到 {afterPct}，增加了 {deltaPoints} 个百分点（阈值 {thresholdPoints} 个百分点）。',
      suggestions: ['在后一次剖析的火焰图中查看 {function} 的调用者：那里的变化（发布、配置、输入）就是它变热的原因。'],
    },
  },
  text: {
    'profile.title': 'CPU 剖析：{intervalS} 秒内 {samples} 个采样，频率 {hz} Hz（{event}）',
    'profile.title.offcpu': '离 CPU 剖析：{intervalS} 秒内阻塞 {samples}（sched_switch）',
    'profile.section.functions': '最热函数（自身）',
    'profile.section.processes': '进程',
    'profile.section.stacks': '最热调用栈（最内层在前）',
    'profile.formats': '火焰图：--format svg -o profile.svg；供其他工具使用：--format folded|pprof|speedscope。',
    'profile.watching': '正在剖析 {intervalS} 秒…（Ctrl-C 提前结束并报告已收集的数据）',
    'profile.diff.title': '剖析对比：{beforeSamples} 个采样（{beforeS} 秒）→ {afterSamples} 个采样（{afterS} 秒），占比为各自的百分比',
    'profile.diff.section.hotter': '变热',
    'profile.diff.section.cooler': '变冷',
    'profile.written': '已写入 {path}（{format}）。',
  },
};
