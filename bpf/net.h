/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net: the layout shared by bpf/net.bpf.c and its TypeScript decoder (src/diagnose/net/bpf.ts,
 * NET_*_LAYOUT). Keep both in step; the asserts pin the sizes.
 */
#ifndef OSCOPE_NET_H
#define OSCOPE_NET_H

#define NET_IFNAMSIZ 16

/* A flow: addresses in network order (IPv4 in the first 4 bytes), ports in host order. */
struct onet_flow {
  __u8 saddr[16];
  __u8 daddr[16];
  __u16 sport;
  __u16 dport;
  __u8 family; /* 4, 6, or 0: no IP header read */
  __u8 proto;  /* IPPROTO_* of the packet (0: unknown) */
  __u16 l3;    /* skb->protocol in host order (ETH_P_*), 0 when unset */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct onet_flow) == 40, "onet_flow layout changed: update NET_FLOW_LAYOUT");
#endif

/* Drops are grouped in BPF by (location, reason, namespace, socket cgroup). */
struct onet_drop_key {
  __u64 location;  /* the kernel address that freed the skb */
  __u32 reason;    /* enum skb_drop_reason (with the subsystem in the upper 16 bits) */
  __u32 netns;     /* inode of the namespace of the device, else of the socket; 0: unknown */
  __u64 cgroup_id; /* the socket's cgroup v2 id; 0: no socket */
};

struct onet_drop_val {
  __u64 count;
  struct onet_flow flow; /* of the first drop of the group */
  __s32 stack_id;        /* kernel stack of the first drop; < 0: none */
  __u32 ifindex;
  char ifname[NET_IFNAMSIZ];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct onet_drop_key) == 24, "onet_drop_key layout changed");
_Static_assert(sizeof(struct onet_drop_val) == 72, "onet_drop_val layout changed");
#endif

enum onet_tcp_kind {
  NET_TCP_RETRANS = 0,
  NET_TCP_RST_SENT = 1,
  NET_TCP_RST_RECV = 2,
};

/* TCP events grouped per flow (src = local end), kind and reason. */
struct onet_tcp_key {
  struct onet_flow flow;
  __u32 netns;
  __u32 kind;
  __u32 reason; /* sent resets: enum sk_rst_reason; else 0 */
  __u32 pad;
  __u64 cgroup_id;
};

struct onet_tcp_val {
  __u64 count;
  __u64 segs;     /* retransmits: segments (tcp_skb_pcount), what Tcp RetransSegs counts */
  __u32 state;    /* TCP state number at the last event */
  __u32 ca_state; /* icsk_ca_state at the last event; 255: unknown */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct onet_tcp_key) == 64, "onet_tcp_key layout changed");
_Static_assert(sizeof(struct onet_tcp_val) == 24, "onet_tcp_val layout changed");
#endif

/* ---- latency by stage ---- */

enum onet_stage_id {
  NET_ST_QDISC = 0,   /* net_dev_queue → net_dev_start_xmit */
  NET_ST_DRIVER = 1,  /* net_dev_start_xmit → net_dev_xmit */
  NET_ST_SOFTIRQ = 2, /* netif_rx / napi_gro_receive_entry / netif_receive_skb_entry → netif_receive_skb */
  NET_ST_SOCKET = 3,  /* netif_receive_skb → tcp_probe (the TCP socket took it) */
  NET_ST_APP = 4,     /* the socket took it (or netif_receive_skb) → skb_copy_datagram_iovec (the read) */
  NET_ST_COUNT = 5,
};

/*
 * Log-linear µs buckets: v < 8 → v; else with o = floor(log2 v): (o - 2) * 8 + ((v >> (o - 3)) & 7),
 * 8 sub-buckets per power of two (≤ 12.5 % wide), so percentiles are finer than the log2 histogram the
 * document shows (which user space folds from these).
 */
#define NET_FINE_BUCKETS 256

struct onet_stage {
  __u64 count;
  __u64 sum_ns;
  __u64 max_ns;
  __u64 fine[NET_FINE_BUCKETS];
};

struct onet_lflow_key {
  struct onet_flow flow;
  __u32 stage;
  __u32 netns;
};

struct onet_lflow_val {
  __u64 count;
  __u64 max_ns;
  __u64 sum_ns;
};

/* softirq stage per CPU (the CPU that processed the packet). */
struct onet_cpu_val {
  __u64 count;
  __u64 sum_ns;
  __u64 max_ns;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct onet_stage) == (NET_FINE_BUCKETS + 3) * 8, "onet_stage layout changed");
_Static_assert(sizeof(struct onet_lflow_key) == 48, "onet_lflow_key layout changed");
_Static_assert(sizeof(struct onet_lflow_val) == 24, "onet_lflow_val layout changed");
#endif

#endif
