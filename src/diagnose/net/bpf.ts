/**
 * The BPF side of `oscope net` (bpf/net.bpf.c): the TypeScript mirror of bpf/net.h and the tracer that
 * loads, configures and attaches it. tp_btf programs, raw_tp as the fallback; everything is fd-scoped,
 * so a `kill -9` leaves nothing attached. The tracer only counts (hash maps read at the end).
 */
import { type BpfObject, findBpfObject, openObject, readStack } from '../../kernel/bpf/index.js';
import { perCpu } from '../../kernel/bpf/map.js';
import { cString } from '../../kernel/bpf/selftest.js';
import { isNativeError, requireNative } from '../../kernel/native.js';
import { ipv6Text } from '../../kernel/procfs/net/tcp.js';
import type { Coverage } from '../../contract/common.js';

export const NET_OBJECT = 'net';

/** struct onet_flow (40 bytes). */
export const NET_FLOW_LAYOUT = { saddr: 0, daddr: 16, sport: 32, dport: 34, family: 36, proto: 37, l3: 38, size: 40 } as const;
/** struct onet_drop_key (24) / onet_drop_val (72). */
export const NET_DROP_KEY_LAYOUT = { location: 0, reason: 8, netns: 12, cgroupId: 16, size: 24 } as const;
export const NET_DROP_VAL_LAYOUT = { count: 0, flow: 8, stackId: 48, ifindex: 52, ifname: 56, size: 72 } as const;
/** struct onet_tcp_key (64) / onet_tcp_val (16). */
export const NET_TCP_KEY_LAYOUT = { flow: 0, netns: 40, kind: 44, reason: 48, cgroupId: 56, size: 64 } as const;
export const NET_TCP_VAL_LAYOUT = { count: 0, segs: 8, state: 16, caState: 20, size: 24 } as const;

export const NET_TCP_KINDS = ['retransmit', 'reset-sent', 'reset-received'] as const;

export interface RawFlow {
  family: 0 | 4 | 6;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** IPPROTO_* */
  proto: number;
  /** ETH_P_* (0: unset). */
  l3: number;
}

export function decodeFlow(b: Buffer, off = 0): RawFlow {
  const L = NET_FLOW_LAYOUT;
  const family = b.readUInt8(off + L.family);
  const addr = (o: number): string => {
    if (family === 4) return [...b.subarray(off + o, off + o + 4)].join('.');
    if (family === 6) return ipv6Text([...b.subarray(off + o, off + o + 16)]);
    return '';
  };
  return {
    family: family === 4 || family === 6 ? family : 0,
    src: addr(L.saddr),
    dst: addr(L.daddr),
    sport: b.readUInt16LE(off + L.sport),
    dport: b.readUInt16LE(off + L.dport),
    proto: b.readUInt8(off + L.proto),
    l3: b.readUInt16LE(off + L.l3),
  };
}

/** The protocol name of a flow: tcp, udp, icmp, icmpv6, ipv4/ipv6 (other IP protocols), arp, other. */
export function protoName(f: RawFlow): string {
  if (f.family === 0) return f.l3 === 0x0806 ? 'arp' : f.l3 === 0x0800 ? 'ipv4' : f.l3 === 0x86dd ? 'ipv6' : 'other';
  switch (f.proto) {
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 1:
      return 'icmp';
    case 58:
      return 'icmpv6';
    case 132:
      return 'sctp';
    default:
      return f.family === 4 ? 'ipv4' : 'ipv6';
  }
}

export interface RawDrop {
  location: bigint;
  reason: number;
  netns: number;
  cgroupId: bigint;
  count: number;
  flow: RawFlow;
  stackId: number;
  ifindex: number;
  ifname: string;
}

export function decodeDrop(key: Buffer, v: Buffer): RawDrop {
  const K = NET_DROP_KEY_LAYOUT;
  const V = NET_DROP_VAL_LAYOUT;
  if (key.length < K.size || v.length < V.size) throw new Error('net drop entry is too short');
  return {
    location: key.readBigUInt64LE(K.location),
    reason: key.readUInt32LE(K.reason),
    netns: key.readUInt32LE(K.netns),
    cgroupId: key.readBigUInt64LE(K.cgroupId),
    count: Number(v.readBigUInt64LE(V.count)),
    flow: decodeFlow(v, V.flow),
    stackId: v.readInt32LE(V.stackId),
    ifindex: v.readUInt32LE(V.ifindex),
    ifname: cString(v, V.ifname, 16),
  };
}

export interface RawTcpEvent {
  kind: (typeof NET_TCP_KINDS)[number];
  flow: RawFlow;
  netns: number;
  reason: number;
  cgroupId: bigint;
  count: number;
  /** Retransmits: segments (what Tcp RetransSegs counts); else 0. */
  segs: number;
  state: number;
  /** null: unknown (255). */
  caState: number | null;
}

export function decodeTcpEvent(key: Buffer, v: Buffer): RawTcpEvent | undefined {
  const K = NET_TCP_KEY_LAYOUT;
  const V = NET_TCP_VAL_LAYOUT;
  if (key.length < K.size || v.length < V.size) throw new Error('net tcp entry is too short');
  const kind = NET_TCP_KINDS[key.readUInt32LE(K.kind)];
  if (!kind) return undefined;
  const ca = v.readUInt32LE(V.caState);
  return {
    kind,
    flow: decodeFlow(key, K.flow),
    netns: key.readUInt32LE(K.netns),
    reason: key.readUInt32LE(K.reason),
    cgroupId: key.readBigUInt64LE(K.cgroupId),
    count: Number(v.readBigUInt64LE(V.count)),
    segs: Number(v.readBigUInt64LE(V.segs)),
    state: v.readUInt32LE(V.state),
    caState: ca === 255 ? null : ca,
  };
}

/** Latency stages, in the order of enum onet_stage_id. */
export const NET_STAGES = ['qdisc', 'driver', 'softirq', 'socket', 'app'] as const;
export type NetStageName = (typeof NET_STAGES)[number];
export const NET_FINE_BUCKETS = 256;
/** struct onet_stage: count, sum_ns, max_ns, fine[256]. */
export const NET_STAGE_SIZE = (NET_FINE_BUCKETS + 3) * 8;
/** struct onet_lflow_key (48) / onet_lflow_val (24). */
export const NET_LFLOW_KEY_LAYOUT = { flow: 0, stage: 40, netns: 44, size: 48 } as const;
export const NET_LFLOW_VAL_LAYOUT = { count: 0, maxNs: 8, sumNs: 16, size: 24 } as const;

/** The lower bound (µs) of a fine bucket (bpf/net.h): v < 8 → v; else (o-2)*8 + ((v >> (o-3)) & 7). */
export function fineBucketLowUs(i: number): number {
  if (i < 8) return i;
  const o = Math.floor(i / 8) + 2;
  return (8 + (i % 8)) * 2 ** (o - 3);
}
/** The bucket of a value in µs (the BPF rule, for tests). */
export function fineBucketOf(us: number): number {
  if (us < 8) return Math.floor(us);
  const o = Math.floor(Math.log2(us));
  return Math.min(NET_FINE_BUCKETS - 1, (o - 2) * 8 + (Math.floor(us / 2 ** (o - 3)) & 7));
}

export interface RawStage {
  count: number;
  sumNs: number;
  maxNs: number;
  fine: number[];
}

/** A stage summed over the per-CPU slots of the `stages` value (count, sum and buckets added, max the largest). */
export function sumStages(perCpuValue: Buffer): RawStage {
  const out: RawStage = { count: 0, sumNs: 0, maxNs: 0, fine: new Array<number>(NET_FINE_BUCKETS).fill(0) };
  for (const slot of perCpu(perCpuValue, NET_STAGE_SIZE)) {
    const s = decodeStage(slot);
    out.count += s.count;
    out.sumNs += s.sumNs;
    out.maxNs = Math.max(out.maxNs, s.maxNs);
    s.fine.forEach((n, i) => (out.fine[i]! += n));
  }
  return out;
}

export function decodeStage(v: Buffer): RawStage {
  if (v.length < NET_STAGE_SIZE) throw new Error('net stage entry is too short');
  const fine: number[] = [];
  for (let i = 0; i < NET_FINE_BUCKETS; i++) fine.push(Number(v.readBigUInt64LE(24 + i * 8)));
  return { count: Number(v.readBigUInt64LE(0)), sumNs: Number(v.readBigUInt64LE(8)), maxNs: Number(v.readBigUInt64LE(16)), fine };
}

export interface RawLatencyFlow {
  flow: RawFlow;
  stage: NetStageName;
  netns: number;
  count: number;
  maxNs: number;
  sumNs: number;
}

/** One `lflows` entry; its value is per CPU (one 24-byte slot per possible CPU, or just one), summed here. */
export function decodeLatencyFlow(key: Buffer, v: Buffer): RawLatencyFlow | undefined {
  const K = NET_LFLOW_KEY_LAYOUT;
  const V = NET_LFLOW_VAL_LAYOUT;
  if (key.length < K.size || v.length < V.size) throw new Error('net latency flow entry is too short');
  const stage = NET_STAGES[key.readUInt32LE(K.stage)];
  if (!stage) return undefined;
  let count = 0;
  let maxNs = 0;
  let sumNs = 0;
  for (const slot of perCpu(v, V.size)) {
    count += Number(slot.readBigUInt64LE(V.count));
    maxNs = Math.max(maxNs, Number(slot.readBigUInt64LE(V.maxNs)));
    sumNs += Number(slot.readBigUInt64LE(V.sumNs));
  }
  return { flow: decodeFlow(key, K.flow), stage, netns: key.readUInt32LE(K.netns), count, maxNs, sumNs };
}

export interface RawLatency {
  stages: Record<NetStageName, RawStage>;
  flows: RawLatencyFlow[];
  /** softirq stage per CPU that processed the packet. */
  softirqCpus: { cpu: number; count: number; sumNs: number; maxNs: number }[];
}

/** Latency programs: name (tp_btf) → tracepoint; the raw_tp twin is `${name}_r`. */
export const NET_LATENCY_TRACEPOINTS: Record<string, string> = {
  oscope_net_l_queue: 'net_dev_queue',
  oscope_net_l_start: 'net_dev_start_xmit',
  oscope_net_l_xmit: 'net_dev_xmit',
  oscope_net_l_rx: 'netif_rx',
  oscope_net_l_gro: 'napi_gro_receive_entry',
  oscope_net_l_rxe: 'netif_receive_skb_entry',
  oscope_net_l_rcv: 'netif_receive_skb',
  oscope_net_l_sock: 'tcp_probe',
  oscope_net_l_read: 'skb_copy_datagram_iovec',
};

/** enum tcp_ca_state (include/net/tcp.h ... uapi/linux/tcp.h). */
export const TCP_CA_STATES = ['Open', 'Disorder', 'CWR', 'Recovery', 'Loss'] as const;

/** Tracepoint programs: name (tp_btf) → tracepoint; the raw_tp twin is `${name}_r`. */
export const NET_TRACEPOINTS: Record<string, string> = {
  oscope_net_drop: 'kfree_skb',
  oscope_net_retrans: 'tcp_retransmit_skb',
  oscope_net_rst_tx: 'tcp_send_reset',
  oscope_net_rst_rx: 'tcp_receive_reset',
};

export interface NetTracerOptions {
  /** Only packets/flows with this port on either end. */
  port?: number;
  /** Only this namespace (inode). */
  netns?: number;
  /** Attach the latency-by-stage programs (default true). */
  latency?: boolean;
}

export interface NetTracer {
  readonly method: Record<string, string>;
  readonly coverage: Coverage[];
  drops(): RawDrop[];
  tcp(): RawTcpEvent[];
  stack(id: number): bigint[];
  lostEvents(): number;
  /** Latency by stage; undefined when its programs did not attach. */
  latency(): RawLatency | undefined;
  close(): void;
}

function errText(err: unknown): string {
  if (isNativeError(err)) return `${err.code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function loadWith(path: string, flavour: 'tp_btf' | 'raw_tp', o: NetTracerOptions): BpfObject {
  const obj = openObject(path);
  try {
    for (const name of [...Object.keys(NET_TRACEPOINTS), ...(o.latency === false ? [] : Object.keys(NET_LATENCY_TRACEPOINTS))]) {
      obj.setAutoload(name, flavour === 'tp_btf');
      obj.setAutoload(`${name}_r`, flavour === 'raw_tp');
    }
    obj.setRodata('targ_port', o.port ?? 0).setRodata('targ_netns', o.netns ?? 0).setRodata('want_stacks', true);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

/** Loads and attaches the tracer, or says in one sentence why it cannot run here. */
export function startNetTracer(o: NetTracerOptions): { tracer: NetTracer } | { unavailable: string } {
  const found = findBpfObject(NET_OBJECT);
  if ('missing' in found) return { unavailable: found.missing };
  try {
    requireNative();
  } catch (err) {
    return { unavailable: errText(err) };
  }
  let obj: BpfObject | undefined;
  let flavour: 'tp_btf' | 'raw_tp' = 'tp_btf';
  let first: unknown;
  for (const f of ['tp_btf', 'raw_tp'] as const) {
    try {
      obj = loadWith(found.path, f, o);
      flavour = f;
      break;
    } catch (err) {
      first ??= err;
    }
  }
  if (!obj) return { unavailable: `the net BPF programs did not load (${errText(first)})` };
  const loaded = obj;
  const failed: string[] = [];
  for (const [name, tp] of Object.entries(NET_TRACEPOINTS)) {
    try {
      if (flavour === 'tp_btf') loaded.program(name).attachTrace();
      else loaded.program(`${name}_r`).attachRawTracepoint(tp);
    } catch (err) {
      failed.push(`${tp}: ${errText(err)}`);
    }
  }
  if (failed.length === Object.keys(NET_TRACEPOINTS).length) {
    loaded.close();
    return { unavailable: `the net BPF programs did not attach (${failed.join('; ')})` };
  }
  const latFailed: string[] = [];
  if (o.latency !== false) {
    for (const [name, tp] of Object.entries(NET_LATENCY_TRACEPOINTS)) {
      try {
        if (flavour === 'tp_btf') loaded.program(name).attachTrace();
        else loaded.program(`${name}_r`).attachRawTracepoint(tp);
      } catch (err) {
        latFailed.push(`${tp}: ${errText(err)}`);
      }
    }
  }
  const latencyOn = o.latency !== false && latFailed.length < Object.keys(NET_LATENCY_TRACEPOINTS).length;
  const coverage: Coverage[] = [];
  if (o.latency !== false && latFailed.length) coverage.push({ section: 'latency', status: latencyOn ? 'partial' : 'unavailable', reason: `tracepoints not attached: ${latFailed.join('; ')}` });
  for (const f of failed) coverage.push({ section: f.startsWith('kfree_skb') ? 'drops' : 'tcp', status: 'unavailable', reason: f });
  const method: Record<string, string> = {
    drops: `${flavour} skb:kfree_skb: every freed-but-dropped skb counted in BPF by (location, reason, namespace, socket cgroup); the reason named from the running kernel's BTF enum skb_drop_reason, the location and a sample stack symbolised with /proc/kallsyms, the sample flow from the IP/TCP/UDP headers`,
    tcp: `${flavour} tcp:tcp_retransmit_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset counted per flow in BPF, with the TCP state and icsk_ca_state of the socket at the last event; reset reasons from the BTF enum sk_rst_reason`,
  };
  if (latencyOn)
    method.latency = `${flavour} tracepoints, one LRU map keyed by the skb pointer: tx qdisc = net:net_dev_queue → net:net_dev_start_xmit, tx driver = net_dev_start_xmit → net:net_dev_xmit (or the peer's netif_rx on veth); rx softirq = net:netif_rx / napi_gro_receive_entry / netif_receive_skb_entry → net:netif_receive_skb (the backlog/NAPI wait), rx socket = netif_receive_skb → tcp:tcp_probe (TCP only: the established socket took the segment), rx app = the socket took it (UDP: netif_receive_skb) → skb:skb_copy_datagram_iovec (the read); log-linear µs buckets in BPF (8 per power of two) for p50/p99, folded to log2 for the histogram`;
  let closed = false;
  const tracer: NetTracer = {
    method,
    coverage,
    drops: () => (closed ? [] : loaded.map('drops').dump().entries.map((e) => decodeDrop(e.key, e.value))),
    tcp: () => (closed ? [] : loaded.map('tcpev').dump().entries.flatMap((e) => decodeTcpEvent(e.key, e.value) ?? [])),
    stack: (id) => (closed ? [] : readStack(loaded.map('stacks'), id)),
    lostEvents: () => {
      const off = loaded.globals().find((g) => g.name === 'lost_events')?.offset;
      if (closed || off === undefined) return 0;
      const v = loaded.map('.bss').lookup(Buffer.alloc(4));
      return v && v.length >= off + 8 ? Number(v.readBigUInt64LE(off)) : 0;
    },
    latency: () => {
      if (closed || !latencyOn) return undefined;
      const stages = {} as Record<NetStageName, RawStage>;
      const sm = loaded.map('stages');
      NET_STAGES.forEach((name, i) => {
        const k = Buffer.alloc(4);
        k.writeUInt32LE(i);
        const v = sm.lookup(k);
        stages[name] = v ? sumStages(v) : { count: 0, sumNs: 0, maxNs: 0, fine: new Array<number>(NET_FINE_BUCKETS).fill(0) };
      });
      const flows = loaded.map('lflows').dump().entries.flatMap((e) => decodeLatencyFlow(e.key, e.value) ?? []);
      const softirqCpus: RawLatency['softirqCpus'] = [];
      const cm = loaded.map('softirq_cpu');
      for (let cpu = 0; cpu < 512; cpu++) {
        const k = Buffer.alloc(4);
        k.writeUInt32LE(cpu);
        const v = cm.lookup(k);
        if (!v || v.length < 24) break;
        const count = Number(v.readBigUInt64LE(0));
        if (count > 0) softirqCpus.push({ cpu, count, sumNs: Number(v.readBigUInt64LE(8)), maxNs: Number(v.readBigUInt64LE(16)) });
      }
      return { stages, flows, softirqCpus };
    },
    close: () => {
      if (closed) return;
      closed = true;
      loaded.close();
    },
  };
  return { tracer };
}
