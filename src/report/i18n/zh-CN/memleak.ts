import type { Catalog } from '../index.js';

/** `oscope memleak` 的消息（键与占位符与 en/memleak.ts 一致）。 */
export const memleak: Catalog = {
  findings: {
    'mem.kernel.leak': {
      title: '内核内存泄漏：{name}（{kind}）',
      conclusion:
        '{name} 在 {durationS} 秒内持续增长了 {growthBytes}（{rateBytes}/秒）；仍有 {count} 个分配（{outstandingBytes}）存活超过 {minAgeS} 秒，主要来自 {symbol}。按此速度，可用内存约可维持 {hoursLeft} 小时。',
      suggestions: [
        '查看下方调用栈：只分配不释放的调用者就是泄漏点；找出驱动它的进程或驱动（不断创建的 socket、fd、BPF 对象或设备）。',
        '若对象仍被引用，停止或重启该进程、卸载该模块即可归还内存；真正的内核缺陷需要修复后的内核：在 stable 变更日志中搜索该函数名。',
        '用更长的窗口观察：`oscope memleak -t {type} -i 300`。',
      ],
    },
    'memleak.verdict.leaking': {
      title: '内核内存泄漏：{kind}（置信度 {confidence}）',
      conclusion: '{name} 在 {durationS} 秒内持续增长（{rateBytes}/秒）。',
      suggestions: ['找出不断创建这些对象的来源（打开 socket、fd、BPF 对象或设备的进程、驱动或模块）：若对象仍被引用，停止它即可归还内存。'],
    },
    'memleak.verdict.clean': {
      title: '未确认内核内存泄漏（置信度 {confidence}）',
      conclusion: '未发现泄漏（{type}，{durationS} 秒）。',
      suggestions: [],
    },
  },
  text: {
    'memleak.title': '内核内存泄漏检查（{type}，{durationS} 秒）',
    'memleak.title.check': '内核内存即时检查（仅计数器）',
    'memleak.verdict': '结论',
    'memleak.verdict.leaking': '正在泄漏（{kind}，置信度 {confidence}）',
    'memleak.verdict.suspect': '未确认（{kind} 计数偏高，置信度 {confidence}）',
    'memleak.verdict.ok': '未发现泄漏（置信度 {confidence}）',
    'memleak.section.growth': '增长（持续增长的在前）',
    'memleak.section.callsites': '按调用点汇总的未释放分配',
    'memleak.countdown': '正在观察 {type}：剩余 {left} 秒',
    'memleak.reason.no-growth': '{durationS} 秒内没有任何 {type} 缓存、调用者或计数器持续增长（最快的是 {name}，{rateBytes}/秒）。',
    'memleak.reason.named-flat': '{name} 在 {durationS} 秒内没有持续增长（{rateBytes}/秒）。',
    'memleak.reason.growth': '{name} 在 {durationS} 秒内持续增长了 {growthBytes}（{rateBytes}/秒，拟合度 {fitPct}，{monotonicPct} 的变化为上升）；无法用分配追踪加以确认。',
    'memleak.reason.growth-untraced': '{name} 在 {durationS} 秒内持续增长了 {growthBytes}（{rateBytes}/秒），但追踪未发现存活超过 {minAgeS} 秒的分配：可能是之后会收缩的缓存，或分配不在追踪范围内。',
    'memleak.reason.confirmed': '{name} 在 {durationS} 秒内持续增长了 {growthBytes}（{rateBytes}/秒），且有 {outstandingBytes} 在 {minAgeS} 秒前分配、至今未释放，主要来自 {symbol}。',
    'memleak.reason.check-ok': '不可回收 slab、vmalloc 与未计入的内核内存均低于阈值。',
    'memleak.reason.check-high': '{type} 内存为 {counterBytes}（占内存 {counterPct}）：用 `oscope memleak -t {type}` 观察其增长，以区分泄漏与稳定的大用户。',
    'memleak.suggest.growth': '{name} 在 {durationS} 秒内增长了 {growthBytes}（{rateBytes}/秒）；分配追踪（BPF）可给出调用栈。',
    'memleak.suggest.trend': '按已记录的历史，它以 {rateBytes}/秒 增长。',
    'memleak.suggest.verdict.slab': '带分配调用栈观察 {cache}：`oscope memleak -t slab --cache {cache} -i 300`；`grep {cache} /proc/slabinfo` 显示其对象。',
    'memleak.suggest.verdict.vmalloc': '带分配调用栈观察该调用者：`oscope memleak -t vmalloc --cache "{cache}" -i 300`；`grep {cache} /proc/vmallocinfo` 列出其区域。',
    'memleak.suggest.verdict.page': '带分配调用栈观察页计数器：`oscope memleak -t page -i 300`；`oscope mem` 显示没有计数器能解释的内存有多少。',
    'memleak.suggest.verdict.longer': '缓慢的泄漏需要更长的窗口：`oscope memleak -t {type} -i {longerS}`。',
    'memleak.suggest.verdict.check': '即时检查只读取计数器：用 `oscope memleak -t slab -i 300`（或 `-t page`、`-t vmalloc`）观察其增长。',
    'memleak.suggest.verdict.check-high': '单次读数无法区分泄漏与占用大但稳定的使用者：用 `oscope memleak -t {kind} -i 300` 观察其增长。',
  },
};
