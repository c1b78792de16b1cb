// SPDX-License-Identifier: GPL-2.0
/*
 * oscope net: every dropped skb with the kernel's reason and the function that dropped it, and TCP
 * retransmits and resets per flow. Tracepoints only (tp_btf, each with a raw_tp twin as the fallback),
 * so it runs where kprobes and fentry do not:
 *
 *   skb:kfree_skb          (skb, location, reason[, rx_sk])  drops, grouped in `drops` by location,
 *                          reason, namespace and the socket's cgroup; the first drop of a group keeps
 *                          its flow (from the IP/TCP/UDP headers), interface and kernel stack.
 *                          SKB_CONSUMED is not a drop (kernels ≥ 5.19 send it to consume_skb anyway).
 *   tcp:tcp_retransmit_skb (sk, skb)                          per flow, with the TCP and congestion state
 *   tcp:tcp_send_reset     (sk, skb[, reason])                per flow (from the socket, else from the
 *                                                             packet that caused it) and reset reason
 *   tcp:tcp_receive_reset  (sk)                               per flow
 *
 * Everything is counted in bounded hash maps that user space reads at the end; a full map counts in
 * `lost_events`. targ_port keeps only packets/flows with that port on either end; targ_netns only that
 * namespace.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "net.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u16 targ_port = 0;  /* 0: every port */
const volatile __u32 targ_netns = 0; /* 0: every namespace */
const volatile bool want_stacks = true;

__u64 lost_events = 0;

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define PROTO_TCP 6
#define PROTO_UDP 17

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct onet_drop_key);
  __type(value, struct onet_drop_val);
} drops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, struct onet_tcp_key);
  __type(value, struct onet_tcp_val);
} tcpev SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 1024);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* Kernels before 5.15 keep the cgroup pointer in a union with `val`. */
struct sock_cgroup_data___o {
  __u64 val;
} __attribute__((preserve_access_index));

static __always_inline __u64 sk_cgid(const struct sock *sk) {
  if (!sk) return 0;
  if (!bpf_core_field_exists(((struct sock_cgroup_data *)0)->cgroup)) return 0;
  struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
  if (!cg) return 0;
  return BPF_CORE_READ(cg, kn, id);
}

static __always_inline __u32 sk_netns(const struct sock *sk) {
  if (!sk) return 0;
  return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* The flow of a packet from its IP header; ports from TCP/UDP. Returns 0 when there is no IP header. */
static __always_inline int skb_flow(const struct sk_buff *skb, struct onet_flow *f) {
  unsigned char *head = BPF_CORE_READ(skb, head);
  __u16 nh = BPF_CORE_READ(skb, network_header);
  f->l3 = bpf_ntohs(BPF_CORE_READ(skb, protocol));
  if (!head || nh == (__u16)~0U) return 0;
  __u8 first = 0;
  if (bpf_probe_read_kernel(&first, 1, head + nh)) return 0;
  __u32 thoff = 0;
  if ((first >> 4) == 4 && (f->l3 == ETH_P_IP || f->l3 == 0)) {
    struct iphdr ip;
    if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh)) return 0;
    f->family = 4;
    f->proto = ip.protocol;
    __builtin_memcpy(f->saddr, &ip.saddr, 4);
    __builtin_memcpy(f->daddr, &ip.daddr, 4);
    thoff = nh + ip.ihl * 4;
  } else if ((first >> 4) == 6 && (f->l3 == ETH_P_IPV6 || f->l3 == 0)) {
    struct ipv6hdr ip6;
    if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh)) return 0;
    f->family = 6;
    f->proto = ip6.nexthdr;
    __builtin_memcpy(f->saddr, &ip6.saddr, 16);
    __builtin_memcpy(f->daddr, &ip6.daddr, 16);
    thoff = nh + sizeof(ip6);
  } else {
    return 0;
  }
  if (f->proto == PROTO_TCP || f->proto == PROTO_UDP) {
    __be16 ports[2] = {};
    if (!bpf_probe_read_kernel(ports, sizeof(ports), head + thoff)) {
      f->sport = bpf_ntohs(ports[0]);
      f->dport = bpf_ntohs(ports[1]);
    }
  }
  return 1;
}

/* The flow of a socket, local end first. */
static __always_inline void sk_flow(const struct sock *sk, struct onet_flow *f) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  f->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
  f->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  f->proto = PROTO_TCP;
  if (family == AF_INET) {
    f->family = 4;
    f->l3 = ETH_P_IP;
    __be32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __be32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(f->saddr, &s, 4);
    __builtin_memcpy(f->daddr, &d, 4);
  } else if (family == AF_INET6) {
    f->family = 6;
    f->l3 = ETH_P_IPV6;
    BPF_CORE_READ_INTO(f->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
    BPF_CORE_READ_INTO(f->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
  }
}

static __always_inline bool port_ok(const struct onet_flow *f) {
  return !targ_port || f->sport == targ_port || f->dport == targ_port;
}

static __always_inline int on_kfree_skb(void *ctx, struct sk_buff *skb, void *location, __u32 reason, struct sock *rx_sk) {
  if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) && reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
    return 0;
  struct onet_drop_key k = {};
  k.location = (__u64)location;
  k.reason = reason;
  struct net_device *dev = BPF_CORE_READ(skb, dev);
  struct sock *sk = BPF_CORE_READ(skb, sk);
  if (!sk) sk = rx_sk;
  if (dev) k.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
  if (!k.netns) k.netns = sk_netns(sk);
  if (targ_netns && k.netns != targ_netns) return 0;
  k.cgroup_id = sk_cgid(sk);
  struct onet_flow f = {};
  skb_flow(skb, &f);
  if (!port_ok(&f)) return 0;
  struct onet_drop_val *v = bpf_map_lookup_elem(&drops, &k);
  if (v) {
    __sync_fetch_and_add(&v->count, 1);
    return 0;
  }
  struct onet_drop_val n = {};
  n.count = 1;
  n.flow = f;
  n.stack_id = want_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
  if (dev) {
    n.ifindex = BPF_CORE_READ(dev, ifindex);
    BPF_CORE_READ_STR_INTO(&n.ifname, dev, name);
  }
  if (bpf_map_update_elem(&drops, &k, &n, BPF_NOEXIST)) {
    v = bpf_map_lookup_elem(&drops, &k);
    if (v) __sync_fetch_and_add(&v->count, 1);
    else __sync_fetch_and_add(&lost_events, 1);
  }
  return 0;
}

/* The segments of a TCP skb: TCP_SKB_CB(skb)->tcp_gso_segs (at least 1). */
static __always_inline __u32 tcp_pcount(const struct sk_buff *skb) {
  if (!skb) return 1;
  struct tcp_skb_cb *cb = (struct tcp_skb_cb *)&skb->cb[0];
  __u16 segs = BPF_CORE_READ(cb, tcp_gso_segs);
  return segs ? segs : 1;
}

static __always_inline void tcp_count(const struct sock *sk, const struct sk_buff *skb, __u32 kind, __u32 reason) {
  struct onet_tcp_key k = {};
  k.kind = kind;
  k.reason = reason;
  __u32 state = 0;
  __u32 ca = 255;
  if (sk) {
    sk_flow(sk, &k.flow);
    k.netns = sk_netns(sk);
    k.cgroup_id = sk_cgid(sk);
    state = BPF_CORE_READ(sk, __sk_common.skc_state);
    /* Full sockets only: request and TIME_WAIT minisocks have no inet_connection_sock. */
    if (state != 12 /* NEW_SYN_RECV */ && state != 6 /* TIME_WAIT */)
      ca = BPF_CORE_READ_BITFIELD_PROBED((struct inet_connection_sock *)sk, icsk_ca_state);
  } else if (skb) {
    /* A reset answering a packet no socket took: the packet's destination is the local end. */
    struct onet_flow p = {};
    skb_flow(skb, &p);
    __builtin_memcpy(k.flow.saddr, p.daddr, 16);
    __builtin_memcpy(k.flow.daddr, p.saddr, 16);
    k.flow.sport = p.dport;
    k.flow.dport = p.sport;
    k.flow.family = p.family;
    k.flow.proto = p.proto;
    k.flow.l3 = p.l3;
    struct net_device *dev = BPF_CORE_READ(skb, dev);
    if (dev) k.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
  }
  if (!port_ok(&k.flow)) return;
  if (targ_netns && k.netns != targ_netns) return;
  struct onet_tcp_val *v = bpf_map_lookup_elem(&tcpev, &k);
  if (!v) {
    struct onet_tcp_val z = {};
    if (bpf_map_update_elem(&tcpev, &k, &z, BPF_NOEXIST) && !bpf_map_lookup_elem(&tcpev, &k)) {
      __sync_fetch_and_add(&lost_events, 1);
      return;
    }
    v = bpf_map_lookup_elem(&tcpev, &k);
    if (!v) return;
  }
  __sync_fetch_and_add(&v->count, 1);
  if (kind == NET_TCP_RETRANS) __sync_fetch_and_add(&v->segs, tcp_pcount(skb));
  v->state = state;
  v->ca_state = ca;
}

/* ---- tp_btf (preferred) ---- */

SEC("tp_btf/kfree_skb")
int BPF_PROG(oscope_net_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk) {
  return on_kfree_skb(ctx, skb, location, (__u32)reason, rx_sk);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(oscope_net_retrans, const struct sock *sk, const struct sk_buff *skb, int err) {
  /* Kernels with `err` (6.14+) trace failed attempts too; only a sent retransmit counts. */
  if (err) return 0;
  tcp_count(sk, skb, NET_TCP_RETRANS, 0);
  return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(oscope_net_rst_tx, const struct sock *sk, const struct sk_buff *skb, int reason) {
  tcp_count(sk, skb, NET_TCP_RST_SENT, (__u32)reason);
  return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(oscope_net_rst_rx, struct sock *sk) {
  tcp_count(sk, NULL, NET_TCP_RST_RECV, 0);
  return 0;
}

/* ---- raw_tp (fallback) ---- */

/* raw_tp reads only the arguments every kernel with a drop reason (5.17+) has: no rx_sk, no reset reason. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(oscope_net_drop_r, struct sk_buff *skb, void *location, int reason) {
  return on_kfree_skb(ctx, skb, location, (__u32)reason, NULL);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(oscope_net_retrans_r, const struct sock *sk, const struct sk_buff *skb) {
  tcp_count(sk, skb, NET_TCP_RETRANS, 0);
  return 0;
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(oscope_net_rst_tx_r, const struct sock *sk, const struct sk_buff *skb) {
  tcp_count(sk, skb, NET_TCP_RST_SENT, 0);
  return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(oscope_net_rst_rx_r, struct sock *sk) {
  tcp_count(sk, NULL, NET_TCP_RST_RECV, 0);
  return 0;
}

/* ---- latency by stage ----
 *
 * One LRU map keyed by the skb pointer follows a packet from the event that starts a path (net_dev_queue
 * on send; netif_rx / napi_gro_receive_entry / netif_receive_skb_entry on receive, or netif_receive_skb
 * for packets that enter there) to the next event; every pair is one stage sample. A start event always
 * overwrites, so a reused skb pointer never extends a stale entry. On veth the same skb goes from one
 * end's driver into the peer's receive path, which is a new start.
 */

enum { SK_QUEUED = 1, SK_XMIT = 2, SK_RX_IN = 3, SK_PROTO = 4, SK_SOCK = 5 };

struct onet_skb_state {
  __u64 ts;
  struct onet_flow flow;
  __u32 state;
  __u32 netns;
};

/*
 * The cost is per packet, so the maps are the cheap kinds (bench/net.ts measures it with
 * kernel.bpf_stats_enabled): the skb LRU keeps one LRU list per CPU (no shared list lock), and the stage
 * and per-flow sums are per-CPU values added without atomics (user space sums the CPUs), so the two CPUs
 * of a veth transfer do not bounce one cache line per packet.
 */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
  __type(key, __u64);
  __type(value, struct onet_skb_state);
} skbs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NET_ST_COUNT);
  __type(key, __u32);
  __type(value, struct onet_stage);
} stages SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct onet_lflow_key);
  __type(value, struct onet_lflow_val);
} lflows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 512);
  __type(key, __u32);
  __type(value, struct onet_cpu_val);
} softirq_cpu SEC(".maps");

/* floor(log2(v)) without loops (libbpf-tools bits.bpf.h). */
static __always_inline __u32 log2_u32(__u32 v) {
  __u32 r, shift;
  r = (v > 0xFFFF) << 4;
  v >>= r;
  shift = (v > 0xFF) << 3;
  v >>= shift;
  r |= shift;
  shift = (v > 0xF) << 2;
  v >>= shift;
  r |= shift;
  shift = (v > 0x3) << 1;
  v >>= shift;
  r |= shift;
  r |= (v >> 1);
  return r;
}

static __always_inline __u32 fine_bucket(__u64 ns) {
  __u64 us = ns / 1000;
  if (us < 8) return (__u32)us;
  if (us > 0x7fffffff) return NET_FINE_BUCKETS - 1;
  __u32 o = log2_u32((__u32)us);
  if (o < 3) o = 3;
  if (o > 30) o = 30;
  __u32 idx = (o - 2) * 8 + (__u32)((us >> (o - 3)) & 7);
  return idx < NET_FINE_BUCKETS ? idx : NET_FINE_BUCKETS - 1;
}

static __always_inline void stage_record(__u32 stage, struct onet_skb_state *s, __u64 now) {
  __u64 d = now - s->ts;
  if ((__s64)d < 0) return;
  __u32 k = stage;
  /* This CPU's slot: a program runs to the end on one CPU, so plain adds are exact. */
  struct onet_stage *st = bpf_map_lookup_elem(&stages, &k);
  if (!st) return;
  st->count++;
  st->sum_ns += d;
  if (d > st->max_ns) st->max_ns = d;
  __u32 b = fine_bucket(d) & (NET_FINE_BUCKETS - 1); /* 256: the mask is the bound the verifier sees */
  st->fine[b]++;
  struct onet_lflow_key fk = {};
  fk.flow = s->flow;
  fk.stage = stage;
  fk.netns = s->netns;
  struct onet_lflow_val *fv = bpf_map_lookup_elem(&lflows, &fk);
  if (!fv) {
    struct onet_lflow_val z = {};
    bpf_map_update_elem(&lflows, &fk, &z, BPF_NOEXIST);
    fv = bpf_map_lookup_elem(&lflows, &fk);
  }
  if (fv) {
    fv->count++;
    fv->sum_ns += d;
    if (d > fv->max_ns) fv->max_ns = d;
  }
  if (stage == NET_ST_SOFTIRQ) {
    __u32 cpu = bpf_get_smp_processor_id();
    struct onet_cpu_val *cv = bpf_map_lookup_elem(&softirq_cpu, &cpu);
    if (cv) {
      __sync_fetch_and_add(&cv->count, 1);
      __sync_fetch_and_add(&cv->sum_ns, d);
      if (d > cv->max_ns) cv->max_ns = d;
    }
  }
}

/* The flow of a received packet whose data points at its IP header (after eth_type_trans). */
static __always_inline void skb_flow_rx(const struct sk_buff *skb, struct onet_flow *f) {
  if (skb_flow(skb, f)) return;
  unsigned char *head = BPF_CORE_READ(skb, head);
  unsigned char *data = BPF_CORE_READ(skb, data);
  if (!head || !data || data < head) return;
  __u8 first = 0;
  if (bpf_probe_read_kernel(&first, 1, data)) return;
  __u32 thoff = 0;
  if ((first >> 4) == 4) {
    struct iphdr ip;
    if (bpf_probe_read_kernel(&ip, sizeof(ip), data)) return;
    f->family = 4;
    f->proto = ip.protocol;
    __builtin_memcpy(f->saddr, &ip.saddr, 4);
    __builtin_memcpy(f->daddr, &ip.daddr, 4);
    thoff = ip.ihl * 4;
  } else if ((first >> 4) == 6) {
    struct ipv6hdr ip6;
    if (bpf_probe_read_kernel(&ip6, sizeof(ip6), data)) return;
    f->family = 6;
    f->proto = ip6.nexthdr;
    __builtin_memcpy(f->saddr, &ip6.saddr, 16);
    __builtin_memcpy(f->daddr, &ip6.daddr, 16);
    thoff = sizeof(ip6);
  } else {
    return;
  }
  if (f->proto == PROTO_TCP || f->proto == PROTO_UDP) {
    __be16 ports[2] = {};
    if (!bpf_probe_read_kernel(ports, sizeof(ports), data + thoff)) {
      f->sport = bpf_ntohs(ports[0]);
      f->dport = bpf_ntohs(ports[1]);
    }
  }
}

static __always_inline int lat_start(const struct sk_buff *skb, __u32 state, bool rx) {
  if (!skb) return 0;
  struct onet_skb_state s = {};
  s.ts = bpf_ktime_get_ns();
  s.state = state;
  if (rx) skb_flow_rx(skb, &s.flow);
  else skb_flow(skb, &s.flow);
  if (!port_ok(&s.flow)) {
    __u64 key = (__u64)skb;
    bpf_map_delete_elem(&skbs, &key);
    return 0;
  }
  struct net_device *dev = BPF_CORE_READ(skb, dev);
  if (dev) s.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
  if (targ_netns && s.netns != targ_netns) return 0;
  __u64 key = (__u64)skb;
  bpf_map_update_elem(&skbs, &key, &s, BPF_ANY);
  return 0;
}

/* Advances a packet: when it is in state `from`, records `stage` and moves it to `to` (0: forget it). */
static __always_inline int lat_step(const struct sk_buff *skb, __u32 from, __u32 from2, __u32 stage, __u32 to) {
  __u64 key = (__u64)skb;
  struct onet_skb_state *s = bpf_map_lookup_elem(&skbs, &key);
  if (!s) return 0;
  if (s->state != from && s->state != from2) return 0;
  __u64 now = bpf_ktime_get_ns();
  stage_record(stage, s, now);
  if (!to) {
    bpf_map_delete_elem(&skbs, &key);
    return 0;
  }
  s->ts = now;
  s->state = to;
  return 0;
}

/* A receive start; a packet a veth/loopback driver hands straight to its peer ends its driver stage here. */
static __always_inline int lat_rx_in(const struct sk_buff *skb) {
  __u64 key = (__u64)skb;
  struct onet_skb_state *s = bpf_map_lookup_elem(&skbs, &key);
  if (s && s->state == SK_XMIT) {
    __u64 now = bpf_ktime_get_ns();
    stage_record(NET_ST_DRIVER, s, now);
    /* The same packet (and flow, already port-checked) enters the peer: restart it in place, in the
     * peer's namespace, instead of parsing its headers and inserting it again. */
    struct net_device *dev = BPF_CORE_READ(skb, dev);
    __u32 netns = dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
    if (targ_netns && netns != targ_netns) {
      bpf_map_delete_elem(&skbs, &key);
      return 0;
    }
    s->ts = now;
    s->state = SK_RX_IN;
    s->netns = netns;
    return 0;
  }
  return lat_start(skb, SK_RX_IN, true);
}

static __always_inline int lat_rcv(const struct sk_buff *skb) {
  __u64 key = (__u64)skb;
  struct onet_skb_state *s = bpf_map_lookup_elem(&skbs, &key);
  if (s && s->state == SK_RX_IN) return lat_step(skb, SK_RX_IN, SK_RX_IN, NET_ST_SOFTIRQ, SK_PROTO);
  return lat_start(skb, SK_PROTO, true);
}

#define LAT_PROGS(SUF, TP)                                                                       \
  SEC(TP "/net_dev_queue")                                                                        \
  int BPF_PROG(oscope_net_l_queue##SUF, struct sk_buff *skb) { return lat_start(skb, SK_QUEUED, false); } \
  SEC(TP "/net_dev_start_xmit")                                                                   \
  int BPF_PROG(oscope_net_l_start##SUF, struct sk_buff *skb) {                                    \
    return lat_step(skb, SK_QUEUED, SK_QUEUED, NET_ST_QDISC, SK_XMIT);                            \
  }                                                                                               \
  SEC(TP "/net_dev_xmit")                                                                         \
  int BPF_PROG(oscope_net_l_xmit##SUF, struct sk_buff *skb) {                                     \
    return lat_step(skb, SK_XMIT, SK_XMIT, NET_ST_DRIVER, 0);                                     \
  }                                                                                               \
  SEC(TP "/netif_rx")                                                                             \
  int BPF_PROG(oscope_net_l_rx##SUF, struct sk_buff *skb) { return lat_rx_in(skb); } \
  SEC(TP "/napi_gro_receive_entry")                                                               \
  int BPF_PROG(oscope_net_l_gro##SUF, struct sk_buff *skb) { return lat_start(skb, SK_RX_IN, true); } \
  SEC(TP "/netif_receive_skb_entry")                                                              \
  int BPF_PROG(oscope_net_l_rxe##SUF, struct sk_buff *skb) { return lat_start(skb, SK_RX_IN, true); } \
  SEC(TP "/netif_receive_skb")                                                                    \
  int BPF_PROG(oscope_net_l_rcv##SUF, struct sk_buff *skb) { return lat_rcv(skb); }               \
  SEC(TP "/tcp_probe")                                                                            \
  int BPF_PROG(oscope_net_l_sock##SUF, struct sock *sk, struct sk_buff *skb) {                    \
    return lat_step(skb, SK_PROTO, SK_PROTO, NET_ST_SOCKET, SK_SOCK);                             \
  }                                                                                               \
  SEC(TP "/skb_copy_datagram_iovec")                                                              \
  int BPF_PROG(oscope_net_l_read##SUF, struct sk_buff *skb) {                                     \
    return lat_step(skb, SK_SOCK, SK_PROTO, NET_ST_APP, 0);                                       \
  }

LAT_PROGS(, "tp_btf")
LAT_PROGS(_r, "raw_tp")
