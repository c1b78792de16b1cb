/**
 * `oscope net`, the analysis: pure functions from a NetCapture (collect.ts) to the document's sections
 * and its RawFindings. No I/O.
 */
import type { ContainerRef, RawFinding } from '../../contract/common.js';
import type {
  NetContainerSockets,
  NetDrop,
  NetInterface,
  NetNamespaceCounters,
  NetProcessSockets,
  NetReset,
  NetRetransmit,
  NetSoftnet,
  NetSlowFlow,
  NetStage,
} from '../../contract/net.js';
import { containerLabel } from '../../contract/label.js';
import type { NetDevStat } from '../../kernel/procfs/net/dev.js';
import type { SnmpCounters } from '../../kernel/procfs/net/snmp.js';
import type { SoftnetStat } from '../../kernel/procfs/net/softnet.js';
import { tcpStateName } from '../../kernel/procfs/net/tcp.js';
import type { Thresholds } from '../thresholds.js';
import { NET_FINE_BUCKETS, NET_STAGES, type NetStageName, type RawLatency, type RawStage, TCP_CA_STATES, fineBucketLowUs, protoName } from './bpf.js';
import type { CapturedNamespace, NetCapture, NetProcess } from './collect.js';

const r2 = (n: number): number => Math.round(n * 100) / 100;
/** Counters wrap or reset (an interface re-created): a negative Δ counts as 0. */
const delta = (a: number | undefined, b: number | undefined): number => Math.max(0, (b ?? 0) - (a ?? 0));

export function netThresholds(t: Thresholds): Record<string, number> {
  return Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('net.')));
}

/** snmp fields that are gauges or settings, not counters: reported as read at the end. */
const SNMP_GAUGES = new Set(['Ip.Forwarding', 'Ip.DefaultTTL', 'Tcp.RtoAlgorithm', 'Tcp.RtoMin', 'Tcp.RtoMax', 'Tcp.MaxConn', 'Tcp.CurrEstab']);

export function snmpDelta(before: SnmpCounters, after: SnmpCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) out[k] = SNMP_GAUGES.has(k) ? v : delta(before.get(k), v);
  return out;
}

export function netstatDelta(before: SnmpCounters, after: SnmpCounters): { tcpExt: Record<string, number>; rest: Record<string, number> } {
  const tcpExt: Record<string, number> = {};
  const rest: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = delta(before.get(k), v);
    if (k.startsWith('TcpExt.')) tcpExt[k.slice(7)] = d;
    else rest[k] = d;
  }
  return { tcpExt, rest };
}

export function interfaceDeltas(before: readonly NetDevStat[], after: readonly NetDevStat[]): NetInterface[] {
  const prev = new Map(before.map((d) => [d.name, d] as const));
  return after.map((a) => {
    const b = prev.get(a.name);
    const d = (k: keyof Omit<NetDevStat, 'name'>): number => delta(b ? b[k] : a[k], a[k]);
    return {
      name: a.name,
      rxBytes: d('rxBytes'),
      rxPackets: d('rxPackets'),
      rxErrors: d('rxErrors'),
      rxDropped: d('rxDropped'),
      rxFifo: d('rxFifo'),
      rxFrame: d('rxFrame'),
      txBytes: d('txBytes'),
      txPackets: d('txPackets'),
      txErrors: d('txErrors'),
      txDropped: d('txDropped'),
      txFifo: d('txFifo'),
      txCarrier: d('txCarrier'),
      txColls: d('txColls'),
    };
  });
}

export function softnetDeltas(before: readonly SoftnetStat[], after: readonly SoftnetStat[]): NetSoftnet[] {
  const prev = new Map(before.map((s) => [s.cpu, s] as const));
  return after.map((a) => {
    const b = prev.get(a.cpu);
    return {
      cpu: a.cpu,
      processed: delta(b?.processed ?? a.processed, a.processed),
      dropped: delta(b?.dropped ?? a.dropped, a.dropped),
      timeSqueeze: delta(b?.timeSqueeze ?? a.timeSqueeze, a.timeSqueeze),
      backlog: a.backlog ?? null,
      receivedRps: delta(b?.receivedRps ?? a.receivedRps, a.receivedRps),
      flowLimit: delta(b?.flowLimit ?? a.flowLimit, a.flowLimit),
    };
  });
}

function nsName(n: CapturedNamespace): string {
  if (n.host) return 'host';
  if (n.container) return containerLabel(n.container);
  return n.holder;
}

export function namespaceCounters(c: NetCapture): NetNamespaceCounters[] {
  return c.namespaces
    .map((n) => {
      const ns = netstatDelta(n.netstatBefore, n.netstatAfter);
      return {
        netns: { inode: n.inode, name: nsName(n), host: n.host, processes: n.processes, pid: n.pid, ...(n.container ? { container: n.container } : {}) },
        snmp: snmpDelta(n.snmpBefore, n.snmpAfter),
        tcpExt: ns.tcpExt,
        netstat: ns.rest,
        interfaces: interfaceDeltas(n.devBefore, n.devAfter),
      };
    })
    .sort((a, b) => Number(b.netns.host) - Number(a.netns.host) || a.netns.name.localeCompare(b.netns.name));
}

/** The container of a namespace that is not the host's (for events that carry only a namespace). */
function nsContainer(c: NetCapture): Map<number, ContainerRef> {
  return new Map(c.namespaces.filter((n) => n.container && !n.host).map((n) => [n.inode, n.container!] as const));
}

function containerOfCgroup(c: NetCapture, cgroup: string): ContainerRef | undefined {
  if (!cgroup) return undefined;
  return c.processes.find((p) => p.cgroup === cgroup && p.container)?.container;
}

/** Drops grouped by reason and location (and namespace, container), largest first; the sample flow and stack of the first. */
export function groupDrops(c: NetCapture): NetDrop[] {
  const byNs = nsContainer(c);
  const by = new Map<string, NetDrop>();
  for (const d of c.drops ?? []) {
    const container = containerOfCgroup(c, d.cgroup) ?? byNs.get(d.netns);
    const key = `${d.reason}\0${d.location}\0${d.netns}\0${container ? container.id : ''}`;
    const g = by.get(key);
    if (g) {
      g.count += d.count;
      continue;
    }
    by.set(key, {
      reason: d.reason,
      location: d.location,
      count: d.count,
      proto: protoName(d.flow),
      src: d.flow.src,
      dst: d.flow.dst,
      sport: d.flow.sport,
      dport: d.flow.dport,
      iface: d.ifname,
      netns: d.netns,
      ...(container ? { container } : {}),
      ...(d.stack.length > 0 ? { stack: d.stack } : {}),
    });
  }
  return [...by.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export function tcpTables(c: NetCapture): { retransmits: NetRetransmit[]; resets: NetReset[] } {
  const byNs = nsContainer(c);
  const retransmits: NetRetransmit[] = [];
  const resets: NetReset[] = [];
  for (const e of c.tcpEvents ?? []) {
    const container = containerOfCgroup(c, e.cgroup) ?? byNs.get(e.netns);
    const flow = { src: e.flow.src, dst: e.flow.dst, sport: e.flow.sport, dport: e.flow.dport, netns: e.netns, ...(container ? { container } : {}) };
    if (e.kind === 'retransmit') {
      retransmits.push({ ...flow, count: e.segs || e.count, state: tcpStateName(e.state), caState: e.caState === null ? null : (TCP_CA_STATES[e.caState] ?? String(e.caState)) });
    } else {
      resets.push({ ...flow, direction: e.kind === 'reset-sent' ? 'sent' : 'received', reason: e.reason, state: e.state === 0 ? '-' : tcpStateName(e.state), count: e.count });
    }
  }
  retransmits.sort((a, b) => b.count - a.count);
  resets.sort((a, b) => b.count - a.count);
  return { retransmits, resets };
}

const EMPTY_STAGE: NetStage = { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, histogram: [] };
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** A quantile (ms) of a fine histogram: linear inside the bucket that holds it, capped at the max. */
export function stageQuantileMs(st: RawStage, q: number): number {
  if (st.count <= 0) return 0;
  const total = st.fine.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  const want = q * total;
  let cum = 0;
  for (let i = 0; i < st.fine.length; i++) {
    const n = st.fine[i]!;
    if (n <= 0) continue;
    if (cum + n >= want) {
      const lo = fineBucketLowUs(i);
      const hi = i + 1 < NET_FINE_BUCKETS ? fineBucketLowUs(i + 1) : lo * 2;
      const us = lo + (hi - lo) * ((want - cum) / n);
      return r3(Math.min(us / 1000, st.maxNs / 1e6));
    }
    cum += n;
  }
  return r3(st.maxNs / 1e6);
}

/** The document's stage: p50/p99 from the fine buckets, the histogram folded to log2 µs slots. */
export function stageOf(st: RawStage | undefined): NetStage {
  if (!st || st.count <= 0) return EMPTY_STAGE;
  const histogram: number[] = [];
  st.fine.forEach((n, i) => {
    if (n <= 0) return;
    const lo = fineBucketLowUs(i);
    const slot = lo < 2 ? 0 : Math.min(31, Math.floor(Math.log2(lo)));
    while (histogram.length <= slot) histogram.push(0);
    histogram[slot]! += n;
  });
  return { count: st.count, p50Ms: stageQuantileMs(st, 0.5), p99Ms: stageQuantileMs(st, 0.99), maxMs: r3(st.maxNs / 1e6), meanMs: r3(st.sumNs / st.count / 1e6), histogram };
}

export interface NetLatencyTables {
  tx: { qdisc: NetStage; driver: NetStage };
  rx: { softirq: NetStage; socket: NetStage; app: NetStage };
  slowest: NetSlowFlow[];
  verdict: string | null;
  /** The stage with the most time (p99 × count), and for softirq the CPU with the slowest mean. */
  worst?: { stage: NetStageName; cpu?: number };
}

export const STAGE_VERDICTS: Record<NetStageName, string> = {
  qdisc: 'packets queue in the qdisc',
  driver: 'the driver takes packets late',
  softirq: 'softirq processing is delayed',
  socket: 'TCP processing of received segments is slow',
  app: 'the application reads late',
};

export function latencyTables(l: RawLatency | undefined, top: number, latencyMs: number): NetLatencyTables {
  if (!l) return { tx: { qdisc: EMPTY_STAGE, driver: EMPTY_STAGE }, rx: { softirq: EMPTY_STAGE, socket: EMPTY_STAGE, app: EMPTY_STAGE }, slowest: [], verdict: null };
  const st = Object.fromEntries(NET_STAGES.map((n) => [n, stageOf(l.stages[n])])) as Record<NetStageName, NetStage>;
  const slowest: NetSlowFlow[] = l.flows
    .filter((f) => f.flow.family !== 0)
    .sort((a, b) => b.maxNs - a.maxNs)
    .slice(0, top)
    .map((f) => ({ src: f.flow.src, dst: f.flow.dst, sport: f.flow.sport, dport: f.flow.dport, netns: f.netns, stage: f.stage, maxMs: r3(f.maxNs / 1e6), count: f.count }));
  // The verdict: the stage whose p99 is highest, when it is above a tenth of the finding threshold.
  let worst: NetStageName | undefined;
  for (const n of NET_STAGES) if (st[n].count > 0 && (!worst || st[n].p99Ms > st[worst].p99Ms)) worst = n;
  let verdict: string | null = null;
  let cpu: number | undefined;
  if (worst && st[worst].p99Ms >= latencyMs / 10) {
    verdict = STAGE_VERDICTS[worst];
    if (worst === 'softirq') {
      const c = [...l.softirqCpus].sort((a, b) => b.sumNs / b.count - a.sumNs / a.count)[0];
      if (c) {
        cpu = c.cpu;
        verdict += ` on CPU ${c.cpu}`;
      }
    }
  }
  return {
    tx: { qdisc: st.qdisc, driver: st.driver },
    rx: { softirq: st.softirq, socket: st.socket, app: st.app },
    slowest,
    verdict,
    ...(worst ? { worst: { stage: worst, ...(cpu !== undefined ? { cpu } : {}) } } : {}),
  };
}

interface Owner {
  sockets: number;
  recvQBytes: number;
  sendQBytes: number;
  maxRecvQBytes: number;
  maxRecvQPort: number;
  listeners: number;
  udpSockets: number;
  udpRecvBytes: number;
  udpSendBytes: number;
  unixSockets: number;
}
const newOwner = (): Owner => ({ sockets: 0, recvQBytes: 0, sendQBytes: 0, maxRecvQBytes: 0, maxRecvQPort: 0, listeners: 0, udpSockets: 0, udpRecvBytes: 0, udpSendBytes: 0, unixSockets: 0 });

export function socketTables(c: NetCapture): {
  tcpMemPressure: ReturnType<typeof tcpMem>;
  byProcess: NetProcessSockets[];
  byContainer: NetContainerSockets[];
  unowned: Array<{ netns: number; sockets: number; recvQBytes: number; sendQBytes: number; byState: Record<string, number> }>;
} {
  const procs = new Map<number, NetProcess>(c.processes.map((p) => [p.pid, p] as const));
  const perProc = new Map<number, Owner>();
  const unowned: Array<{ netns: number; sockets: number; recvQBytes: number; sendQBytes: number; byState: Record<string, number> }> = [];
  for (const n of c.namespaces) {
    const u = { netns: n.inode, sockets: 0, recvQBytes: 0, sendQBytes: 0, byState: {} as Record<string, number> };
    for (const s of n.tcp) {
      if (c.port !== undefined && s.localPort !== c.port && s.remotePort !== c.port) continue;
      const listen = s.state === 'LISTEN';
      const owners = s.inode ? c.socketOwners.get(s.inode) : undefined;
      if (!owners || owners.length === 0) {
        if (s.state === 'TIME_WAIT' || s.state === 'NEW_SYN_RECV' || s.state === 'SYN_RECV') continue;
        u.sockets++;
        if (!listen) {
          u.recvQBytes += s.rxQueue;
          u.sendQBytes += s.txQueue;
        }
        u.byState[s.state] = (u.byState[s.state] ?? 0) + 1;
        continue;
      }
      for (const pid of owners) {
        if (!procs.has(pid)) continue;
        const o = perProc.get(pid) ?? newOwner();
        o.sockets++;
        if (listen) o.listeners++;
        else {
          o.recvQBytes += s.rxQueue;
          o.sendQBytes += s.txQueue;
          if (s.rxQueue > o.maxRecvQBytes) {
            o.maxRecvQBytes = s.rxQueue;
            o.maxRecvQPort = s.localPort;
          }
        }
        perProc.set(pid, o);
      }
    }
    if (u.sockets > 0) unowned.push(u);
    const owned = (inode: number): number[] => (inode ? (c.socketOwners.get(inode) ?? []).filter((pid) => procs.has(pid)) : []);
    for (const s of n.udp ?? []) {
      if (c.port !== undefined && s.localPort !== c.port && s.remotePort !== c.port) continue;
      for (const pid of owned(s.inode)) {
        const o = perProc.get(pid) ?? newOwner();
        o.udpSockets++;
        o.udpRecvBytes += s.rxQueue;
        o.udpSendBytes += s.txQueue;
        perProc.set(pid, o);
      }
    }
    // UNIX sockets have no port: with --port only the IP sockets count.
    if (c.port === undefined) {
      for (const s of n.unix ?? []) {
        for (const pid of owned(s.inode)) {
          const o = perProc.get(pid) ?? newOwner();
          o.unixSockets++;
          perProc.set(pid, o);
        }
      }
    }
  }
  const byProcess: NetProcessSockets[] = [...perProc].map(([pid, o]) => {
    const p = procs.get(pid)!;
    return { pid, comm: p.comm, netns: p.netns, ...(p.container ? { container: p.container } : {}), ...o };
  });
  byProcess.sort((a, b) => b.recvQBytes + b.sendQBytes - (a.recvQBytes + a.sendQBytes) || b.sockets - a.sockets || a.pid - b.pid);
  const cont = new Map<string, NetContainerSockets>();
  for (const p of byProcess) {
    if (!p.container) continue;
    const k = p.container.id;
    const g = cont.get(k) ?? { container: p.container, processes: 0, ...newOwner() };
    g.processes++;
    g.sockets += p.sockets;
    g.listeners += p.listeners;
    g.udpSockets += p.udpSockets;
    g.udpRecvBytes += p.udpRecvBytes;
    g.udpSendBytes += p.udpSendBytes;
    g.unixSockets += p.unixSockets;
    g.recvQBytes += p.recvQBytes;
    g.sendQBytes += p.sendQBytes;
    if (p.maxRecvQBytes > g.maxRecvQBytes) {
      g.maxRecvQBytes = p.maxRecvQBytes;
      g.maxRecvQPort = p.maxRecvQPort;
    }
    cont.set(k, g);
  }
  return { tcpMemPressure: tcpMem(c), byProcess, byContainer: [...cont.values()].sort((a, b) => b.recvQBytes - a.recvQBytes), unowned: unowned.sort((a, b) => b.sockets - a.sockets) };
}

function tcpMem(c: NetCapture): {
  pages: number;
  bytes: number;
  minPages: number;
  pressurePages: number;
  maxPages: number;
  pressurePct: number;
  underPressure: boolean;
  orphans: number;
  maxOrphans: number;
} | null {
  const h = c.namespaces.find((n) => n.host) ?? c.namespaces[0];
  if (!h || h.sockstatTcpMemPages === undefined || !c.tcpMem) return null;
  const pages = h.sockstatTcpMemPages;
  const orphans = c.namespaces.reduce((a, n) => a + (n.sockstatOrphans ?? 0), 0);
  return {
    pages,
    bytes: pages * c.pageSizeBytes,
    minPages: c.tcpMem.min,
    pressurePages: c.tcpMem.pressure,
    maxPages: c.tcpMem.max,
    pressurePct: c.tcpMem.pressure > 0 ? r2((pages / c.tcpMem.pressure) * 100) : 0,
    underPressure: pages >= c.tcpMem.pressure,
    orphans,
    maxOrphans: c.maxOrphans ?? 0,
  };
}

export interface NetAnalysis {
  intervalS: number;
  thresholds: Record<string, number>;
  counters: { namespaces: NetNamespaceCounters[]; softnet: NetSoftnet[] };
  drops: NetDrop[];
  tcp: { retransmits: NetRetransmit[]; resets: NetReset[] };
  latency: Omit<NetLatencyTables, 'worst'>;
  sockets: ReturnType<typeof socketTables>;
  lostEvents: number;
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: NetCapture['coverage'];
}

const nsLabel = (n: NetNamespaceCounters | undefined): string => (n ? n.netns.name : '-');

export function analyzeNet(c: NetCapture, t: Thresholds, top = 20): NetAnalysis {
  const namespaces = namespaceCounters(c);
  const softnet = softnetDeltas(c.softnetBefore, c.softnetAfter);
  const drops = groupDrops(c);
  const tcp = tcpTables(c);
  const sockets = socketTables(c);
  const lat = latencyTables(c.latency, top, t['net.latencyMs']);
  const findings: RawFinding[] = [];
  const iv = Math.max(c.intervalS, 1e-3);
  const nsOf = (inode: number): NetNamespaceCounters | undefined => namespaces.find((n) => n.netns.inode === inode);

  // net.drop.high: the dominant reason and location.
  const totalDrops = drops.reduce((a, d) => a + d.count, 0);
  const perS = totalDrops / iv;
  if (drops.length > 0 && (totalDrops >= t['net.dropMin'] || perS >= t['net.dropPerS'])) {
    const byRL = new Map<string, { reason: string; location: string; count: number; first: NetDrop }>();
    for (const d of drops) {
      const k = `${d.reason}\0${d.location}`;
      const g = byRL.get(k) ?? { reason: d.reason, location: d.location, count: 0, first: d };
      g.count += d.count;
      byRL.set(k, g);
    }
    const top1 = [...byRL.values()].sort((a, b) => b.count - a.count)[0]!;
    const f = top1.first;
    findings.push({
      id: 'net.drop.high',
      severity: perS >= 10 * t['net.dropPerS'] ? 'critical' : 'warning',
      params: {
        drops: totalDrops,
        perS: r2(perS),
        reason: top1.reason,
        location: top1.location.split('+')[0]!,
        reasonCount: top1.count,
        sharePct: r2((top1.count / totalDrops) * 100),
        flow: f.src ? `${f.proto} ${f.src}:${f.sport} → ${f.dst}:${f.dport}` : f.proto,
        iface: f.iface || '-',
        where: f.container ? containerLabel(f.container) : nsLabel(nsOf(f.netns)),
        thresholdPerS: t['net.dropPerS'],
        port: String(f.dport || f.sport),
      },
      evidence: { top: drops.slice(0, 5) },
    });
  }

  for (const n of namespaces) {
    const sent = n.snmp['Tcp.OutSegs'] ?? 0;
    const retr = n.snmp['Tcp.RetransSegs'] ?? 0;
    const pct = sent > 0 ? (retr / sent) * 100 : 0;
    if (retr >= t['net.retransMin'] && pct >= t['net.retransPct']) {
      const flows = tcp.retransmits.filter((r) => r.netns === n.netns.inode);
      const w = flows[0];
      findings.push({
        id: 'net.retrans.high',
        severity: pct >= 10 * t['net.retransPct'] ? 'critical' : 'warning',
        params: {
          where: n.netns.name,
          retransmits: retr,
          segments: sent,
          retransPct: r2(pct),
          thresholdPct: t['net.retransPct'],
          timeouts: n.tcpExt['TCPTimeouts'] ?? 0,
          flow: w ? `${w.src}:${w.sport} → ${w.dst}:${w.dport}` : '-',
          flowCount: w?.count ?? 0,
          caState: w?.caState ?? '-',
          peer: w?.dst ?? '-',
        },
        evidence: { flows: flows.slice(0, 5), counters: { RetransSegs: retr, OutSegs: sent, TCPTimeouts: n.tcpExt['TCPTimeouts'] ?? 0, TCPLostRetransmit: n.tcpExt['TCPLostRetransmit'] ?? 0 } },
      });
    }
    const ov = n.tcpExt['ListenOverflows'] ?? 0;
    const ld = n.tcpExt['ListenDrops'] ?? 0;
    if (Math.max(ov, ld) >= t['net.listenOverflowMin']) {
      const nsData = c.namespaces.find((x) => x.inode === n.netns.inode);
      // Kernels name the overflow TCP_LISTEN_OVERFLOW, or (6.x conn_request path) only NOT_SPECIFIED: take drops to a listening port too.
      const listening = new Set((nsData?.tcp ?? []).filter((s) => s.state === 'LISTEN').map((s) => s.localPort));
      const ovDrops = drops.filter((d) => d.netns === n.netns.inode && (/LISTEN_OVERFLOW|SYN_?FLOOD|TCP_REQQFULLDROP/.test(d.reason) || (d.proto === 'tcp' && listening.has(d.dport))));
      const port = ovDrops[0]?.dport ?? 0;
      const listener = nsData?.tcp.filter((s) => s.state === 'LISTEN' && (port === 0 || s.localPort === port)).sort((a, b) => b.rxQueue - a.rxQueue)[0];
      const owner = listener?.inode ? c.socketOwners.get(listener.inode)?.[0] : undefined;
      const op = owner !== undefined ? c.processes.find((p) => p.pid === owner) : undefined;
      findings.push({
        id: 'net.listen.overflow',
        severity: 'warning',
        params: {
          where: n.netns.name,
          overflows: ov,
          listenDrops: ld,
          port: String(port || listener?.localPort || 0),
          acceptQueue: listener?.rxQueue ?? 0,
          comm: op?.comm ?? '-',
          pid: op?.pid ?? 0,
          threshold: t['net.listenOverflowMin'],
        },
        evidence: { tcpExt: { ListenOverflows: ov, ListenDrops: ld }, drops: ovDrops.slice(0, 5), listener: listener ?? null },
      });
    }
  }

  const mem = sockets.tcpMemPressure;
  if (mem && mem.pressurePct >= t['net.tcpMemPct']) {
    const p = sockets.byProcess[0];
    findings.push({
      id: 'net.socket.memory-high',
      severity: mem.underPressure ? 'critical' : 'warning',
      params: { kind: 'tcp_mem', tcpMemBytes: mem.bytes, pages: mem.pages, pressurePages: mem.pressurePages, pressurePct: mem.pressurePct, thresholdPct: t['net.tcpMemPct'], comm: p?.comm ?? '-', pid: p?.pid ?? 0, recvQBytes: p?.recvQBytes ?? 0, port: String(p?.maxRecvQPort ?? 0) },
      evidence: { tcpMem: mem, top: sockets.byProcess.slice(0, 5) },
    });
  } else {
    const p = [...sockets.byProcess].sort((a, b) => b.maxRecvQBytes - a.maxRecvQBytes)[0];
    if (p && p.maxRecvQBytes >= t['net.recvQBytes']) {
      findings.push({
        id: 'net.latency.app',
        severity: 'warning',
        params: { comm: p.comm, pid: p.pid, recvQBytes: p.maxRecvQBytes, port: String(p.maxRecvQPort), totalRecvQBytes: p.recvQBytes, thresholdBytes: t['net.recvQBytes'], where: p.container ? containerLabel(p.container) : nsLabel(nsOf(p.netns)), pruned: namespaces.reduce((a, n) => a + (n.tcpExt['PruneCalled'] ?? 0) + (n.tcpExt['TCPRcvQDrop'] ?? 0), 0) },
        evidence: { process: p },
      });
    }
  }
  const squeeze = softnet.reduce((a, s) => a + s.timeSqueeze, 0);
  const backlogDrops = softnet.reduce((a, s) => a + s.dropped, 0);
  if (backlogDrops > 0 || squeeze >= 100 * iv) {
    const cpu = [...softnet].sort((a, b) => b.dropped - a.dropped || b.timeSqueeze - a.timeSqueeze)[0]!;
    findings.push({
      id: 'net.latency.softirq',
      severity: backlogDrops > 0 ? 'warning' : 'info',
      params: { cpu: cpu.cpu, dropped: backlogDrops, squeezes: squeeze, cpuDropped: cpu.dropped, cpuSqueezes: cpu.timeSqueeze },
      evidence: { softnet: softnet.filter((s) => s.dropped > 0 || s.timeSqueeze > 0) },
    });
  }
  for (const u of sockets.unowned) {
    if (u.sockets >= t['net.unownedSockets']) {
      findings.push({
        id: 'net.socket.leak',
        severity: 'warning',
        params: { kind: 'unowned', where: nsLabel(nsOf(u.netns)), sockets: u.sockets, threshold: t['net.unownedSockets'], state: Object.entries(u.byState).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '-', comm: '-', pid: 0 },
        evidence: { unowned: u },
      });
    }
  }
  for (const p of sockets.byProcess) {
    if (p.sockets >= t['net.processSockets']) {
      findings.push({
        id: 'net.socket.leak',
        severity: 'warning',
        params: { kind: 'process', where: p.container ? containerLabel(p.container) : nsLabel(nsOf(p.netns)), sockets: p.sockets, threshold: t['net.processSockets'], state: '-', comm: p.comm, pid: p.pid },
        evidence: { process: p },
      });
    }
  }
  // Latency by stage (the tracer): a stage whose p99 is above net.latencyMs.
  const slowFlow = (stage: NetStageName): NetSlowFlow | undefined => lat.slowest.find((f) => f.stage === stage);
  const flowText = (f: NetSlowFlow | undefined): string => (f ? `${f.src}:${f.sport} → ${f.dst}:${f.dport}` : '-');
  const q = lat.tx.qdisc;
  if (q.count > 0 && q.p99Ms >= t['net.latencyMs']) {
    const f = slowFlow('qdisc');
    findings.push({
      id: 'net.latency.qdisc',
      severity: 'warning',
      params: { where: f ? nsLabel(nsOf(f.netns)) : '-', p50Ms: q.p50Ms, p99Ms: q.p99Ms, maxMs: q.maxMs, packets: q.count, thresholdMs: t['net.latencyMs'], flow: flowText(f) },
      evidence: { stage: q, flows: lat.slowest.filter((x) => x.stage === 'qdisc').slice(0, 5) },
    });
  }
  const app = lat.rx.app;
  if (app.count > 0 && app.p99Ms >= t['net.latencyMs'] && !findings.some((f) => f.id === 'net.latency.app')) {
    const f = slowFlow('app');
    const p = f ? [...sockets.byProcess].find((x) => x.netns === f.netns && (x.maxRecvQPort === f.dport || x.maxRecvQPort === f.sport)) : undefined;
    findings.push({
      id: 'net.latency.app',
      severity: 'warning',
      params: { comm: p?.comm ?? '-', pid: p?.pid ?? 0, recvQBytes: p?.maxRecvQBytes ?? 0, port: String(f?.dport ?? 0), totalRecvQBytes: p?.recvQBytes ?? 0, thresholdBytes: t['net.recvQBytes'], where: f ? nsLabel(nsOf(f.netns)) : '-', pruned: namespaces.reduce((a, n) => a + (n.tcpExt['PruneCalled'] ?? 0) + (n.tcpExt['TCPRcvQDrop'] ?? 0), 0) },
      evidence: { stage: app, flows: lat.slowest.filter((x) => x.stage === 'app').slice(0, 5) },
    });
  }
  const sq = lat.rx.softirq;
  if (sq.count > 0 && sq.p99Ms >= t['net.latencyMs'] && !findings.some((f) => f.id === 'net.latency.softirq')) {
    const cpu = lat.worst?.cpu ?? 0;
    const sn = softnet.find((s) => s.cpu === cpu);
    findings.push({
      id: 'net.latency.softirq',
      severity: 'warning',
      params: { cpu, dropped: softnet.reduce((a, s) => a + s.dropped, 0), squeezes: softnet.reduce((a, s) => a + s.timeSqueeze, 0), cpuDropped: sn?.dropped ?? 0, cpuSqueezes: sn?.timeSqueeze ?? 0 },
      evidence: { stage: sq, flows: lat.slowest.filter((x) => x.stage === 'softirq').slice(0, 5) },
    });
  }
  return {
    intervalS: r2(c.intervalS),
    thresholds: netThresholds(t),
    counters: { namespaces, softnet },
    drops: drops.slice(0, Math.max(top, 50)),
    tcp: { retransmits: tcp.retransmits.slice(0, top), resets: tcp.resets.slice(0, top) },
    latency: { tx: lat.tx, rx: lat.rx, slowest: lat.slowest, verdict: lat.verdict },
    sockets: { ...sockets, byProcess: sockets.byProcess.slice(0, top), byContainer: sockets.byContainer.slice(0, top) },
    lostEvents: c.lostEvents,
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}
