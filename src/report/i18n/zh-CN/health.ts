import type { Catalog } from '../index.js';

/** `oscope health`：是什么拉低了分项得分（每条一句话，带关键数字）。 */
export const health: Pick<Catalog, 'text'> = {
  text: {
    'health.heading': '{hostname}（内核 {kernel}）的健康度：{score}/100，{level}',
    'health.subscores': '错误 {errors} · 延迟 {latency} · 负载 {load} · 饱和度 {saturation}',
    'health.reasons': '扣分原因：',
    'health.noReasons': '没有任何信号扣分。',
    'health.missing': '本机未能测量：{signals}',
    'health.containers': '容器与 cgroup（最差的在前）：',
    'health.run': '运行：oscope {diagnosis}',
    'health.source.agent': '来自正在运行的 agent',
    'health.source.one-shot': '一次性采集（没有运行中的 agent）',
    'health.level.healthy': '健康',
    'health.level.at-risk': '有风险',
    'health.level.warning': '警告',
    'health.level.error': '错误',
    'health.alert.drop': '{node} 的健康度从 {from} 降到 {to}（{level}）：{reason}',
    'health.alert.recovered': '{node} 的健康度恢复到 {to}（{level}）',
    'health.signal.log': '最近 {hours} 小时内核日志中有 {count} 条 {kinds} 报告，最近一条：{title}',
    'health.signal.runqueue-p99': '运行队列延迟 p99 为 {value} ms（{warn} ms 告警，{crit} ms 严重）',
    'health.signal.psi-io-full': '最近 10 秒内所有非空闲任务因 I/O 停顿的时间占 {value}%（{warn}% 告警）',
    'health.signal.load-per-cpu': '5 分钟负载 {load5}，{cpus} 个 CPU，每 CPU {value}（{warn} 告警）',
    'health.signal.psi-cpu-some': '最近 10 秒内任务等待 CPU 的时间占 {value}%（{warn}% 告警）',
    'health.signal.mem-used': '内存使用率 {value}%（可用 {availableBytes}，共 {totalBytes}；{warn}% 告警）',
    'health.signal.psi-mem-some': '最近 10 秒内任务因内存停顿的时间占 {value}%（{warn}% 告警）',
    'health.signal.disk-used': '{mount} 已用 {value}%（{what}；{warn}% 告警）',
    'health.signal.fd-used': '已打开 {allocated} 个文件句柄，上限 {max}（{value}%；{warn}% 告警）',
    'health.signal.pids-used': '{threads} 个线程，上限 {limit}（{value}%；{warn}% 告警）',
    'health.signal.cgroup-mem-used': '内存使用达到其 {limitBytes} 限额的 {value}%（{warn}% 告警）',
  },
};
