/**
 * `oscope.net/v1`: the document builder (a NetAnalysis with its findings localized) and its text
 * rendering. Built from src/diagnose/net/.
 */
import { NET_SCHEMA, type NetDocument } from '../contract/net.js';
import type { NetAnalysis } from '../diagnose/net/analyze.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatBytes, formatDurationMs } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { NET_SCHEMA, NetDocumentSchema, type NetDocument } from '../contract/net.js';

export function netDocument(a: NetAnalysis, lang: Lang): NetDocument {
  return {
    schema: NET_SCHEMA,
    intervalS: a.intervalS,
    thresholds: a.thresholds,
    counters: a.counters,
    drops: a.drops,
    tcp: a.tcp,
    latency: a.latency,
    sockets: a.sockets,
    lostEvents: a.lostEvents,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

/** The TcpExt/snmp counters an SRE reads first, in this order. */
const KEY_COUNTERS: Array<[string, 'snmp' | 'tcpExt']> = [
  ['Tcp.OutSegs', 'snmp'],
  ['Tcp.RetransSegs', 'snmp'],
  ['TCPTimeouts', 'tcpExt'],
  ['ListenOverflows', 'tcpExt'],
  ['ListenDrops', 'tcpExt'],
  ['TCPBacklogDrop', 'tcpExt'],
  ['TCPRcvQDrop', 'tcpExt'],
  ['PruneCalled', 'tcpExt'],
  ['Ip.InDiscards', 'snmp'],
  ['Udp.RcvbufErrors', 'snmp'],
];

const flowText = (f: { src: string; sport: number; dst: string; dport: number }): string => (f.src ? `${f.src}:${f.sport} → ${f.dst}:${f.dport}` : '-');

export function renderNetText(doc: NetDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  out.push(s.bold(t(lang, 'net.title', { intervalS: doc.intervalS })));
  const m = doc.sockets.tcpMemPressure;
  if (m) out.push(s.dim(`  ${t(lang, 'net.tcpmem', { tcpMemBytes: m.bytes, pressurePct: m.pressurePct, orphans: m.orphans, maxOrphans: m.maxOrphans })}`));
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));

  out.push(section(t(lang, 'net.section.namespaces'), s));
  out.push(
    table(
      ['NETNS', 'NAME', 'PROCS', ...KEY_COUNTERS.map(([k]) => k.replace(/^(Tcp|Ip|Udp)\./, ''))],
      doc.counters.namespaces.map((n) => [String(n.netns.inode), n.netns.name, String(n.netns.processes), ...KEY_COUNTERS.map(([k, w]) => String((w === 'snmp' ? n.snmp[k] : n.tcpExt[k]) ?? 0))]),
      s,
    ),
  );
  out.push(section(t(lang, 'net.section.interfaces'), s));
  const ifRows: string[][] = [];
  for (const n of doc.counters.namespaces) {
    for (const i of n.interfaces) {
      if (i.rxPackets + i.txPackets + i.rxErrors + i.txErrors + i.rxDropped + i.txDropped === 0) continue;
      ifRows.push([n.netns.name, i.name, formatBytes(i.rxBytes), String(i.rxPackets), String(i.rxErrors), String(i.rxDropped), String(i.rxFifo), formatBytes(i.txBytes), String(i.txPackets), String(i.txErrors), String(i.txDropped)]);
    }
  }
  out.push(table(['NETNS', 'IFACE', 'RX', 'RX PKTS', 'RX ERR', 'RX DROP', 'RX FIFO', 'TX', 'TX PKTS', 'TX ERR', 'TX DROP'], ifRows, s));
  out.push(section(t(lang, 'net.section.softnet'), s));
  out.push(table(['CPU', 'PROCESSED', 'DROPPED', 'SQUEEZED', 'BACKLOG'], doc.counters.softnet.map((c) => [String(c.cpu), String(c.processed), String(c.dropped), String(c.timeSqueeze), c.backlog === null ? '-' : String(c.backlog)]), s));

  out.push(section(t(lang, 'net.section.drops'), s));
  out.push(
    table(
      ['COUNT', 'REASON', 'LOCATION', 'PROTO', 'SAMPLE FLOW', 'IFACE', 'WHERE'],
      doc.drops.slice(0, 20).map((d) => [String(d.count), d.reason, d.location, d.proto, flowText(d), d.iface || '-', d.container ? containerLabel(d.container) : String(d.netns)]),
      s,
    ),
  );
  for (const d of doc.drops.slice(0, 3)) {
    if (!d.stack) continue;
    out.push(s.dim(`  ${d.reason} @ ${d.location}:`));
    for (const f of d.stack.slice(0, 8)) out.push(s.dim(`      ${f}`));
  }
  out.push(section(t(lang, 'net.section.retrans'), s));
  out.push(table(['COUNT', 'FLOW', 'STATE', 'CA STATE', 'WHERE'], doc.tcp.retransmits.map((r) => [String(r.count), flowText(r), r.state, r.caState ?? '-', r.container ? containerLabel(r.container) : String(r.netns)]), s));
  out.push(section(t(lang, 'net.section.resets'), s));
  out.push(table(['COUNT', 'DIR', 'FLOW', 'STATE', 'REASON', 'WHERE'], doc.tcp.resets.map((r) => [String(r.count), r.direction, flowText(r), r.state, r.reason || '-', r.container ? containerLabel(r.container) : String(r.netns)]), s));

  const L = doc.latency;
  const stages: Array<[string, (typeof L.tx)['qdisc']]> = [
    ['tx qdisc', L.tx.qdisc],
    ['tx driver', L.tx.driver],
    ['rx softirq', L.rx.softirq],
    ['rx socket', L.rx.socket],
    ['rx app', L.rx.app],
  ];
  if (stages.some(([, st]) => st.count > 0)) {
    out.push(section(t(lang, 'net.section.latency'), s));
    out.push(table(['STAGE', 'PACKETS', 'P50', 'P99', 'MAX', 'MEAN'], stages.map(([n, st]) => [n, String(st.count), formatDurationMs(st.p50Ms), formatDurationMs(st.p99Ms), formatDurationMs(st.maxMs), formatDurationMs(st.meanMs)]), s));
    if (L.verdict) out.push(`  → ${L.verdict}`);
    if (L.slowest.length > 0) out.push(table(['STAGE', 'FLOW', 'MAX', 'PACKETS'], L.slowest.slice(0, 10).map((f) => [f.stage, flowText(f), formatDurationMs(f.maxMs), String(f.count)]), s));
  }

  out.push(section(t(lang, 'net.section.sockets'), s));
  out.push(
    table(
      ['PID', 'COMM', 'TCP', 'LISTEN', 'RECV-Q', 'SEND-Q', 'MAX RECV-Q', 'PORT', 'UDP', 'UDP BUF', 'UNIX', 'WHERE'],
      doc.sockets.byProcess.map((p) => [String(p.pid), p.comm, String(p.sockets), String(p.listeners), formatBytes(p.recvQBytes), formatBytes(p.sendQBytes), formatBytes(p.maxRecvQBytes), p.maxRecvQPort ? String(p.maxRecvQPort) : '-', String(p.udpSockets), formatBytes(p.udpRecvBytes + p.udpSendBytes), String(p.unixSockets), p.container ? containerLabel(p.container) : String(p.netns)]),
      s,
    ),
  );
  if (doc.sockets.byContainer.length > 0) {
    out.push(section(t(lang, 'net.section.containers'), s));
    out.push(table(['CONTAINER', 'PROCS', 'TCP', 'RECV-Q', 'SEND-Q', 'UDP', 'UDP BUF', 'UNIX'], doc.sockets.byContainer.map((c) => [containerLabel(c.container), String(c.processes), String(c.sockets), formatBytes(c.recvQBytes), formatBytes(c.sendQBytes), String(c.udpSockets), formatBytes(c.udpRecvBytes + c.udpSendBytes), String(c.unixSockets)]), s));
  }
  if (doc.sockets.unowned.length > 0) {
    out.push(section(t(lang, 'net.section.unowned'), s));
    out.push(table(['NETNS', 'SOCKETS', 'RECV-Q', 'SEND-Q', 'STATES'], doc.sockets.unowned.map((u) => [String(u.netns), String(u.sockets), formatBytes(u.recvQBytes), formatBytes(u.sendQBytes), Object.entries(u.byState).map(([k, v]) => `${k}:${v}`).join(' ')]), s));
  }
  if (doc.lostEvents > 0) out.push(s.yellow(`  ${t(lang, 'net.lost', { count: doc.lostEvents })}`));
  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}
