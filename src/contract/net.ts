/**
 * `oscope.net/v1`: is the network dropping or delaying my traffic, where, and why. Counters over the
 * interval per network namespace (/proc/net/snmp, netstat, dev; softnet_stat per CPU), every dropped skb
 * grouped by the kernel's drop reason and the function that dropped it, TCP retransmits and resets per
 * flow, latency by stage, and socket queues/memory per process and container. The diagnosis is
 * src/diagnose/net/; sections it could not fill are present and empty, and `coverage` says why.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, MethodSchema, bytes, ms } from './common.js';

export const NET_SCHEMA = 'oscope.net/v1';

const count = z.number().int().nonnegative();

/** One network namespace: its inode (/proc/PID/ns/net → net:[INODE]) and who holds it. */
export const NetNamespaceRefSchema = z
  .object({
    inode: count,
    /** `host` for the namespace of PID 1, else the container/pod label, else the first holder `comm[pid]`. */
    name: z.string(),
    host: z.boolean(),
    /** Processes whose /proc/PID/ns/net is this namespace (how many), and one of them (whose /proc/PID/net was read). */
    processes: count,
    pid: count,
    container: ContainerRefSchema.optional(),
  })
  .strict();
export type NetNamespaceRef = z.infer<typeof NetNamespaceRefSchema>;

/** /proc/net/dev deltas of one interface over the interval. */
export const NetInterfaceSchema = z
  .object({
    name: z.string(),
    rxBytes: bytes,
    rxPackets: count,
    rxErrors: count,
    rxDropped: count,
    rxFifo: count,
    rxFrame: count,
    txBytes: bytes,
    txPackets: count,
    txErrors: count,
    txDropped: count,
    txFifo: count,
    txCarrier: count,
    txColls: count,
  })
  .strict();
export type NetInterface = z.infer<typeof NetInterfaceSchema>;

export const NetNamespaceCountersSchema = z
  .object({
    netns: NetNamespaceRefSchema,
    /** /proc/net/snmp deltas, `Proto.Field` (Tcp.RetransSegs, Ip.InDiscards, Udp.RcvbufErrors, …); gauges (Tcp.CurrEstab) as read at the end. */
    snmp: z.record(z.number()),
    /** /proc/net/netstat TcpExt deltas (ListenOverflows, ListenDrops, TCPBacklogDrop, TCPRcvQDrop, PruneCalled, TCPTimeouts, …). */
    tcpExt: z.record(z.number()),
    /** The rest of /proc/net/netstat (IpExt, MPTcpExt, …) as `Proto.Field` deltas. */
    netstat: z.record(z.number()),
    interfaces: z.array(NetInterfaceSchema),
  })
  .strict();
export type NetNamespaceCounters = z.infer<typeof NetNamespaceCountersSchema>;

/** /proc/net/softnet_stat deltas of one CPU (softnet_data is per CPU, not per namespace). */
export const NetSoftnetSchema = z
  .object({
    cpu: count,
    processed: count,
    /** Packets dropped because the backlog queue (netdev_max_backlog) was full. */
    dropped: count,
    /** net_rx_action ran out of budget or time (netdev_budget, netdev_budget_usecs) with work left. */
    timeSqueeze: count,
    /** Packets on the backlog queue at the end (input + process queue length; kernels ≥ 5.10), else null. */
    backlog: count.nullable(),
    receivedRps: count,
    flowLimit: count,
  })
  .strict();
export type NetSoftnet = z.infer<typeof NetSoftnetSchema>;

/** Drops of one reason at one location (in one namespace and container), with a sample flow and stack. */
export const NetDropSchema = z
  .object({
    /** The kernel's drop reason without the SKB_DROP_REASON_ prefix (NETFILTER_DROP, TCP_LISTEN_OVERFLOW, …), named from the running kernel's BTF. */
    reason: z.string(),
    /** The kernel function that freed the skb (symbol+offset). */
    location: z.string(),
    count,
    /** tcp, udp, icmp, icmpv6, ipv4 (other IP protocol), ipv6, arp, other: of the sample packet. */
    proto: z.string(),
    /** Sample flow ("" when the packet had no IP header the tracer could read). */
    src: z.string(),
    dst: z.string(),
    sport: count,
    dport: count,
    /** The interface of the sample packet ("" when it had none). */
    iface: z.string(),
    netns: count,
    container: ContainerRefSchema.optional(),
    /** The kernel stack of the first drop of the group, innermost first. */
    stack: z.array(z.string()).optional(),
  })
  .strict();
export type NetDrop = z.infer<typeof NetDropSchema>;

const flow = {
  /** IPv4 or IPv6 text; src is the local end for sockets. */
  src: z.string(),
  dst: z.string(),
  sport: count,
  dport: count,
  netns: count,
  container: ContainerRefSchema.optional(),
};

export const NetRetransmitSchema = z
  .object({
    ...flow,
    /** Retransmitted segments (tcp_skb_pcount of each retransmitted skb: what Tcp RetransSegs counts). */
    count,
    /** TCP state (ESTABLISHED, SYN_SENT, …) at the last retransmit. */
    state: z.string(),
    /** Congestion state (Open, Disorder, CWR, Recovery, Loss) at the last retransmit; null when unreadable. */
    caState: z.string().nullable(),
  })
  .strict();
export type NetRetransmit = z.infer<typeof NetRetransmitSchema>;

export const NetResetSchema = z
  .object({
    ...flow,
    direction: z.enum(['sent', 'received']),
    /** For sent resets, the kernel's reset reason (enum sk_rst_reason, from BTF) where it gives one; "" otherwise. */
    reason: z.string(),
    state: z.string(),
    count,
  })
  .strict();
export type NetReset = z.infer<typeof NetResetSchema>;

export const NetStageSchema = z
  .object({ count, p50Ms: ms, p99Ms: ms, maxMs: ms, meanMs: ms, histogram: z.array(count) })
  .strict()
  .describe('one stage: histogram[i] counts packets in [2^i, 2^(i+1)) µs (slot 0 also < 1 µs); p50/p99 interpolated in BPF buckets 8 per power of two (≤ 12.5 % wide)');
export type NetStage = z.infer<typeof NetStageSchema>;

export const NetSlowFlowSchema = z.object({ ...flow, stage: z.string(), maxMs: ms, count }).strict();
export type NetSlowFlow = z.infer<typeof NetSlowFlowSchema>;

export const NetLatencySchema = z
  .object({
    tx: z.object({ qdisc: NetStageSchema, driver: NetStageSchema }).strict(),
    rx: z.object({ softirq: NetStageSchema, socket: NetStageSchema, app: NetStageSchema }).strict(),
    slowest: z.array(NetSlowFlowSchema),
    /** The stage that holds the most time, or null without measurements. */
    verdict: z.string().nullable(),
  })
  .strict();

export const NetTcpMemSchema = z
  .object({
    /** TCP buffer pages in use host-wide (/proc/net/sockstat TCP mem) and in bytes. */
    pages: count,
    bytes,
    /** net.ipv4.tcp_mem: min, pressure, max (pages). */
    minPages: count,
    pressurePages: count,
    maxPages: count,
    /** pages as a share of the pressure threshold (%). */
    pressurePct: z.number().nonnegative(),
    /** The kernel is in (or above) TCP memory pressure: pages ≥ pressure. */
    underPressure: z.boolean(),
    /** Orphaned TCP sockets (no process) and the limit net.ipv4.tcp_max_orphans. */
    orphans: count,
    maxOrphans: count,
  })
  .strict();

export const NetSocketOwnerSchema = z
  .object({
    /** TCP sockets (listeners included; TIME_WAIT and request sockets have no owner). */
    sockets: count,
    /** Sum of Recv-Q (bytes received, not read yet) and Send-Q (bytes not acknowledged yet) of its TCP sockets. */
    recvQBytes: bytes,
    sendQBytes: bytes,
    /** The largest Recv-Q of one socket, and that socket's local port. */
    maxRecvQBytes: bytes,
    maxRecvQPort: count,
    listeners: count,
    /** UDP sockets (udp, udp6) and the buffer bytes they hold (sk_rmem_alloc, sk_wmem_alloc: ss's Recv-Q/Send-Q for UDP). */
    udpSockets: count,
    udpRecvBytes: bytes,
    udpSendBytes: bytes,
    /** UNIX sockets (stream, datagram, seqpacket; listeners included). */
    unixSockets: count,
  })
  .strict();

export const NetProcessSocketsSchema = NetSocketOwnerSchema.extend({ pid: count, comm: z.string(), netns: count, container: ContainerRefSchema.optional() }).strict();
export type NetProcessSockets = z.infer<typeof NetProcessSocketsSchema>;
export const NetContainerSocketsSchema = NetSocketOwnerSchema.extend({ container: ContainerRefSchema, processes: count }).strict();
export type NetContainerSockets = z.infer<typeof NetContainerSocketsSchema>;

/** Sockets that no file descriptor holds (inode 0 or an inode no /proc/PID/fd names), per namespace, TIME_WAIT excluded. */
export const NetUnownedSchema = z
  .object({ netns: count, sockets: count, recvQBytes: bytes, sendQBytes: bytes, byState: z.record(count) })
  .strict();

export const NetDocumentSchema = z
  .object({
    schema: z.literal(NET_SCHEMA),
    intervalS: z.number().positive(),
    /** The thresholds in effect (the net.* keys). */
    thresholds: z.record(z.number()),
    counters: z.object({ namespaces: z.array(NetNamespaceCountersSchema), softnet: z.array(NetSoftnetSchema) }).strict(),
    drops: z.array(NetDropSchema),
    tcp: z.object({ retransmits: z.array(NetRetransmitSchema), resets: z.array(NetResetSchema) }).strict(),
    latency: NetLatencySchema,
    sockets: z
      .object({
        tcpMemPressure: NetTcpMemSchema.nullable(),
        byProcess: z.array(NetProcessSocketsSchema),
        byContainer: z.array(NetContainerSocketsSchema),
        unowned: z.array(NetUnownedSchema),
      })
      .strict(),
    /** Events the tracer could not report (full maps, ring buffer). */
    lostEvents: count,
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type NetDocument = z.infer<typeof NetDocumentSchema>;
