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
  NetStage,
} from '../../contract/net.js';
import { containerLabel } from '../../contract/label.js';
import type { NetDevStat } from '../../kernel/procfs/net/dev.js';
import type { SnmpCounters } from '../../kernel/procfs/net/snmp.js';
import type { SoftnetStat } from '../../kernel/procfs/net/softnet.js';
import { tcpStateName } from '../../kernel/procfs/net/tcp.js';
import type { Thresholds } from '../thresholds.js';
import { TCP_CA_STATES, protoName } from './bpf.js';
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

interface Owner {
  sockets: number;
  recvQBytes: number;
  sendQBytes: number;
  maxRecvQBytes: number;
  maxRecvQPort: number;
  listeners: number;
}
const newOwner = (): Owner => ({ sockets: 0, recvQBytes: 0, sendQBytes: 0, maxRecvQBytes: 0, maxRecvQPort: 0, listeners: 0 });

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
  latency: { tx: { qdisc: NetStage; driver: NetStage }; rx: { softirq: NetStage; socket: NetStage; app: NetStage }; slowest: []; verdict: null };
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
  return {
    intervalS: r2(c.intervalS),
    thresholds: netThresholds(t),
    counters: { namespaces, softnet },
    drops: drops.slice(0, Math.max(top, 50)),
    tcp: { retransmits: tcp.retransmits.slice(0, top), resets: tcp.resets.slice(0, top) },
    latency: { tx: { qdisc: EMPTY_STAGE, driver: EMPTY_STAGE }, rx: { softirq: EMPTY_STAGE, socket: EMPTY_STAGE, app: EMPTY_STAGE }, slowest: [], verdict: null },
    sockets: { ...sockets, byProcess: sockets.byProcess.slice(0, top), byContainer: sockets.byContainer.slice(0, top) },
    lostEvents: c.lostEvents,
    findings,
    method: c.method,
    coverage: c.coverage,
  };
}
