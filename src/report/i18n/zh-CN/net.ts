import type { Catalog } from '../index.js';

/** `oscope net` 的消息，键和占位符与 ../en/net.ts 完全一致。 */
export const net: Catalog = {
  findings: {
    'net.drop.high': {
      title: '丢弃了 {drops} 个数据包，主要是 {location} 中的 {reason}',
      conclusion:
        '内核在采样期间丢弃了 {drops} 个数据包（{perS}/s；阈值 {thresholdPerS}/s）；其中 {reasonCount} 个（{sharePct}）的原因是 {reason}，位置在 {location}，例如 {where} 中 {iface} 上的 {flow}。',
      suggestions: [
        '原因说明了问题所在：NETFILTER_DROP 是防火墙规则（`nft list ruleset`、`iptables-save -c` 可看到规则计数），TCP_LISTEN_OVERFLOW / SOCKET_BACKLOG 是应用 accept 或读取太慢，NO_SOCKET 是端口 {port} 上没有监听者，QDISC_DROP 是 qdisc 已满（`tc -s qdisc`），CPU_BACKLOG 对应 net.core.netdev_max_backlog。',
        '示例调用栈（--json 中的 drops[]）显示了丢包路径；`perf trace -e skb:kfree_skb` 或 `dropwatch` 可实时跟踪。',
      ],
    },
    'net.retrans.high': {
      title: '{where} 中 TCP 重传了 {retransPct} 的报文段',
      conclusion:
        '{where} 发送的 {segments} 个 TCP 报文段中有 {retransmits} 个是重传（{retransPct}；阈值 {thresholdPct}），其中 {timeouts} 次发生在重传超时之后；重传最多的连接是 {flow}（{flowCount} 次，拥塞状态 {caState}）。',
      suggestions: [
        '重传意味着到 {peer} 的路径上有丢包或延迟：先看本机的丢包（drops[]、网卡错误、softnet 丢包），再看路径（`mtr {peer}`）。',
        '超时重传多（而非快速重传）说明整个窗口丢失或对端停顿：检查对端的负载和接收队列。',
      ],
    },
    'net.listen.overflow': {
      title: '{where} 中端口 {port} 的监听队列溢出',
      conclusion:
        '采样期间 {where} 中有 {overflows} 个连接因监听队列溢出被丢弃（共丢弃 {listenDrops} 个 SYN；阈值 {threshold}）；{comm} [{pid}] 在端口 {port} 上的监听套接字有 {acceptQueue} 个连接等待 accept。',
      suggestions: [
        '应用 accept() 不够快：增加负责 accept 的线程，或使 accept 非阻塞并及时处理。',
        '增大应用传给 listen() 的 backlog 和上限 net.core.somaxconn（`sysctl -w net.core.somaxconn=4096`），SYN 队列则调整 net.ipv4.tcp_max_syn_backlog。',
      ],
    },
    'net.latency.app': {
      title: '{comm} [{pid}] 读取套接字太慢：{recvQBytes} 待读',
      conclusion:
        '{comm} [{pid}] 的一个套接字（本地端口 {port}，位于 {where}）有 {recvQBytes} 已收到但未读取（阈值 {thresholdBytes}；其所有套接字共 {totalRecvQBytes}）：数据已到达，是应用读得晚；共统计到 {pruned} 次接收队列裁剪/丢弃。',
      suggestions: [
        '延迟在应用而不在网络：查看它在做什么而没有读取（`oscope runlatency --pid {pid}`、性能分析器、线程池）。',
        '接收队列满会缩小对端可发送的窗口（零窗口），并导致内核裁剪或丢包：`ss -tmi` 可查看每个套接字的 rcv_space 和丢包。',
      ],
    },
    'net.latency.softirq': {
      title: 'CPU {cpu} 上的接收处理跟不上',
      conclusion:
        '采样期间接收 backlog 溢出 {dropped} 次（CPU {cpu} 上 {cpuDropped} 次），net_rx_action 预算耗尽 {squeezes} 次（CPU {cpu} 上 {cpuSqueezes} 次）：接收数据包的软中断处理被延迟。',
      suggestions: [
        '把接收工作分散到更多 CPU：更多网卡队列并把中断分到不同 CPU（`ethtool -L`、irqbalance），或使用 RPS（`/sys/class/net/IFACE/queues/rx-*/rps_cpus`）。',
        '丢包时增大 net.core.netdev_max_backlog，预算耗尽时增大 net.core.netdev_budget / netdev_budget_usecs；`oscope runlatency` 可查看 CPU {cpu} 上还运行着什么。',
      ],
    },
    'net.latency.qdisc': {
      title: '数据包在 {where} 的 qdisc 中等待 {p99Ms}',
      conclusion: '在 {where} 中发送的数据包在驱动取走之前，在 qdisc 中等待的中位数为 {p50Ms}，p99 为 {p99Ms}（最大 {maxMs}；{packets} 个包；阈值 {thresholdMs}）；最慢的流：{flow}。',
      suggestions: [
        '有整形 qdisc（tbf、htb、cgroup 或容器限速）在扣留数据包：在 {where} 中 `tc -s qdisc show` 可查看其速率、积压和丢包。',
        '如果这些流量不应被整形，请删除或提高限制；针对缓冲膨胀请使用 fq_codel 或 fq。',
      ],
    },
    'net.socket.memory-high': {
      title: 'TCP 内存已达压力阈值的 {pressurePct}',
      conclusion:
        'TCP 套接字缓冲区占用 {tcpMemBytes}（{pages} 页），为 net.ipv4.tcp_mem 压力阈值（{pressurePages} 页；从 {thresholdPct} 起报告）的 {pressurePct}：超过它后内核会收缩所有套接字的缓冲区并丢包；{comm} [{pid}] 排队的数据最多（{recvQBytes} 未读，端口 {port}）。',
      suggestions: [
        '找出队列已满的套接字（sockets.byProcess、`ss -tmp`）：通常是停止读取的应用，或大量连到慢速对端的连接。',
        '如果负载正常，按主机能分给网络的内存同步提高 net.ipv4.tcp_mem（单位为页）。',
      ],
    },
    'net.socket.leak': {
      title: '{where} 中有 {sockets} 个套接字疑似泄漏',
      conclusion: '{where} 有 {sockets} 个 TCP 套接字（阈值 {threshold}）属于 {kind}：大多处于 {state} 状态；持有它们的进程（如有）为 {comm} [{pid}]。',
      suggestions: [
        '没有文件描述符持有的套接字已被应用关闭但 TCP 尚未结束（FIN_WAIT、LAST_ACK、孤儿套接字）：检查 net.ipv4.tcp_fin_timeout、tcp_max_orphans 以及从不应答的对端。',
        '持有大量套接字的进程通常是忘了关闭它们：定期执行 `ls -l /proc/{pid}/fd | grep -c socket` 可看到增长。',
      ],
    },
  },
  text: {
    'net.title': '{intervalS} 秒内的网络情况',
    'net.section.namespaces': '网络命名空间（采样期间的计数）',
    'net.section.interfaces': '网络接口',
    'net.section.softnet': '每 CPU 的 softnet',
    'net.section.drops': '按原因和位置统计的丢包',
    'net.section.retrans': '按连接统计的 TCP 重传',
    'net.section.resets': 'TCP 复位（RST）',
    'net.section.latency': '分阶段延迟',
    'net.section.sockets': '按进程统计的套接字（TCP、UDP、UNIX）',
    'net.section.containers': '按容器统计的 TCP 套接字',
    'net.section.unowned': '没有进程持有的 TCP 套接字',
    'net.tcpmem': 'TCP 内存：{tcpMemBytes}（tcp_mem 压力阈值的 {pressurePct}），孤儿套接字 {orphans} / {maxOrphans}',
    'net.lost': '丢失了 {count} 个事件（BPF map 已满）。',
    'net.watching': '正在测量 {intervalS} 秒的网络情况：按 Ctrl-C 提前结束',
  },
};
