import type { Catalog } from '../index.js';

/**
 * Messages of `oscope net`. Placeholders come from src/diagnose/net/analyze.ts (params of each finding).
 */
export const net: Catalog = {
  findings: {
    'net.drop.high': {
      title: '{drops} packets dropped, mostly {reason} in {location}',
      conclusion:
        'The kernel dropped {drops} packets over the interval ({perS}/s; threshold {thresholdPerS}/s); {reasonCount} of them ({sharePct}) for reason {reason} in {location}, for example {flow} on {iface} in {where}.',
      suggestions: [
        'The reason names the cause: NETFILTER_DROP is a firewall rule (`nft list ruleset`, `iptables-save -c` show its counter), TCP_LISTEN_OVERFLOW / SOCKET_BACKLOG an application that accepts or reads too slowly, NO_SOCKET nothing listening on port {port}, QDISC_DROP a full qdisc (`tc -s qdisc`), CPU_BACKLOG net.core.netdev_max_backlog.',
        'The sample stack (drops[] in --json) shows the path that dropped it; `perf trace -e skb:kfree_skb` or `dropwatch` follow it live.',
      ],
    },
    'net.retrans.high': {
      title: 'TCP in {where} retransmits {retransPct} of its segments',
      conclusion:
        '{retransmits} of {segments} TCP segments sent in {where} were retransmissions ({retransPct}; threshold {thresholdPct}), {timeouts} after a retransmission timeout; the most retransmitted flow is {flow} ({flowCount} times, congestion state {caState}).',
      suggestions: [
        'Retransmits mean lost or late packets on the path to {peer}: look for drops on this host first (drops[], interface errors, softnet drops), then on the path (`mtr {peer}`).',
        'Many timeouts (not fast retransmits) mean whole windows are lost or the peer stalls: check the peer\'s load and its receive queue.',
      ],
    },
    'net.listen.overflow': {
      title: 'The listen queue on port {port} in {where} overflows',
      conclusion:
        '{overflows} connections overflowed a listen queue in {where} over the interval ({listenDrops} SYNs dropped in all; threshold {threshold}); the listener on port {port} of {comm} [{pid}] has {acceptQueue} connections waiting to be accepted.',
      suggestions: [
        'The application does not accept() fast enough: give it more accepting threads or make accept non-blocking and prompt.',
        'Raise the backlog the application passes to listen() and the cap net.core.somaxconn (`sysctl -w net.core.somaxconn=4096`), and net.ipv4.tcp_max_syn_backlog for SYN queues.',
      ],
    },
    'net.latency.app': {
      title: '{comm} [{pid}] reads its socket late: {recvQBytes} waiting',
      conclusion:
        'A socket of {comm} [{pid}] (local port {port}, in {where}) has {recvQBytes} received but not read (threshold {thresholdBytes}; {totalRecvQBytes} over all its sockets): the data arrived, the application reads it late; {pruned} receive queue prunes/drops were counted.',
      suggestions: [
        'The delay is in the application, not the network: see what it does instead of reading (`oscope runlatency --pid {pid}`, a profiler, its thread pools).',
        'A full receive queue shrinks the window the peer may send (zero-window) and makes the kernel prune or drop: `ss -tmi` shows rcv_space and drops per socket.',
      ],
    },
    'net.latency.softirq': {
      title: 'Receive processing falls behind on CPU {cpu}',
      conclusion:
        'The receive backlog overflowed {dropped} times ({cpuDropped} on CPU {cpu}) and net_rx_action ran out of budget {squeezes} times ({cpuSqueezes} on CPU {cpu}) over the interval: softirq processing of received packets is delayed.',
      suggestions: [
        'Spread receive work over more CPUs: more NIC queues and their IRQs on different CPUs (`ethtool -L`, irqbalance), or RPS (`/sys/class/net/IFACE/queues/rx-*/rps_cpus`).',
        'Raise net.core.netdev_max_backlog for drops and net.core.netdev_budget / netdev_budget_usecs for squeezes; `oscope runlatency` shows what else runs on CPU {cpu}.',
      ],
    },
    'net.latency.qdisc': {
      title: 'Packets wait {p99Ms} in a qdisc in {where}',
      conclusion: 'Packets sent in {where} waited in a qdisc {p50Ms} at the median and {p99Ms} at p99 (max {maxMs}; {packets} packets; threshold {thresholdMs}) before the driver took them; the slowest flow: {flow}.',
      suggestions: [
        'A shaping qdisc (tbf, htb, a cgroup or container limit) holds packets: `tc -s qdisc show` in {where} shows its rate, backlog and drops.',
        'If nothing should shape this traffic, remove or raise the limit; for bufferbloat use fq_codel or fq.',
      ],
    },
    'net.socket.memory-high': {
      title: 'TCP memory is at {pressurePct} of the pressure threshold',
      conclusion:
        'TCP socket buffers hold {tcpMemBytes} ({pages} pages), {pressurePct} of net.ipv4.tcp_mem\'s pressure threshold ({pressurePages} pages; finding from {thresholdPct}): above it the kernel shrinks every socket\'s buffers and drops; {comm} [{pid}] holds the most queued data ({recvQBytes} unread, port {port}).',
      suggestions: [
        'Find the sockets with full queues (sockets.byProcess, `ss -tmp`): usually an application that stopped reading, or many connections to a slow peer.',
        'If the load is legitimate, raise net.ipv4.tcp_mem (in pages) in step with the memory the host can give to the network.',
      ],
    },
    'net.socket.leak': {
      title: '{sockets} sockets in {where} look leaked',
      conclusion:
        '{where} has {sockets} TCP sockets (threshold {threshold}) that are {kind}: mostly in state {state}; process {comm} [{pid}] where one holds them.',
      suggestions: [
        'Sockets no file descriptor holds are closed by their application but not finished by TCP (FIN_WAIT, LAST_ACK, orphans): check net.ipv4.tcp_fin_timeout, tcp_max_orphans and the peers that never answer.',
        'A process holding very many sockets usually forgets to close them: `ls -l /proc/{pid}/fd | grep -c socket` over time shows the growth.',
      ],
    },
  },
  text: {
    'net.title': 'Network over {intervalS} s',
    'net.section.namespaces': 'Network namespaces (counters over the interval)',
    'net.section.interfaces': 'Interfaces',
    'net.section.softnet': 'softnet per CPU',
    'net.section.drops': 'Dropped packets by reason and location',
    'net.section.retrans': 'TCP retransmits by flow',
    'net.section.resets': 'TCP resets',
    'net.section.latency': 'Latency by stage',
    'net.section.sockets': 'Sockets by process (TCP, UDP, UNIX)',
    'net.section.containers': 'TCP sockets by container',
    'net.section.unowned': 'TCP sockets no process holds',
    'net.tcpmem': 'TCP memory: {tcpMemBytes} ({pressurePct} of the tcp_mem pressure threshold), orphans {orphans} of {maxOrphans}',
    'net.lost': '{count} events were lost (BPF maps full).',
    'net.watching': 'measuring the network for {intervalS} s: Ctrl-C to stop early',
  },
};
