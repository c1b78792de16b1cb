/**
 * The `oscope.net/v1` view: where a packet's time goes (one bar per stage — tx qdisc, tx driver, rx
 * softirq, rx socket, rx app — with p50/p99/max on a log scale, and the stages' log2 histograms), the
 * dropped packets by kernel reason and location with a sample flow and stack per group, the slowest
 * flows, TCP retransmits and resets, socket queues per container and process, and the counters per
 * network namespace, interface and CPU. Everything comes from the document; the UI computes no finding.
 */
import { useMemo } from 'react';
import type { ContainerRef, NetDocument, NetDrop, NetContainerSockets, NetInterface, NetNamespaceCounters, NetProcessSockets, NetReset, NetRetransmit, NetSlowFlow, NetSoftnet, NetStage } from '@contract';
import { containerLabel, formatBytes, formatCount, formatDurationMsShort as formatMs } from '@format';
import { type T, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';
import { histogramOption, log2Labels } from './Latency.js';

/** The stages in the order a packet meets them: send, then receive. */
export const NET_STAGES = ['qdisc', 'driver', 'softirq', 'socket', 'app'] as const;
export type NetStageName = (typeof NET_STAGES)[number];
/** One colour per stage, the same in every chart: the send side in blues, the receive side in oranges to violet. */
export const NET_STAGE_COLORS: Record<NetStageName, string> = { qdisc: '#60a5fa', driver: '#1d4ed8', softirq: '#f59e0b', socket: '#10b981', app: '#a855f7' };

export const netStageLabel = (t: T, s: NetStageName): string => t(`net.stage.${s}`);

export function netStage(doc: NetDocument, s: NetStageName): NetStage {
  return s === 'qdisc' || s === 'driver' ? doc.latency.tx[s] : doc.latency.rx[s];
}

/**
 * The document's verdict in the UI language: the diagnosis words it in English from one table per stage
 * (src/diagnose/net/analyze.ts STAGE_VERDICTS, "… on CPU N" for softirq); a verdict this UI does not
 * recognise is shown as it comes.
 */
const VERDICT_PREFIX: Record<NetStageName, string> = {
  qdisc: 'packets queue in the qdisc',
  driver: 'the driver takes packets late',
  softirq: 'softirq processing is delayed',
  socket: 'TCP processing of received segments is slow',
  app: 'the application reads late',
};
export function verdictText(t: T, verdict: string): string {
  for (const s of NET_STAGES) {
    if (!verdict.startsWith(VERDICT_PREFIX[s])) continue;
    const cpu = /on CPU (\d+)$/.exec(verdict)?.[1];
    return cpu !== undefined ? t('net.verdict.softirqCpu', { cpu }) : t(`net.verdict.${s}`);
  }
  return verdict;
}

/** "10.0.0.1:80 → 10.0.0.2:5000", IPv6 addresses in brackets; "–" for a packet without an IP header. */
export function flowText(f: { src: string; dst: string; sport: number; dport: number }): string {
  if (!f.src && !f.dst) return '–';
  const end = (a: string, p: number): string => (a.includes(':') ? `[${a}]` : a) + (p > 0 ? `:${p}` : '');
  return `${end(f.src, f.sport)} → ${end(f.dst, f.dport)}`;
}

/** The stage chart: p50, p99 and max of each stage as bars on a log scale (µs to seconds on one axis; values in µs). */
export function netStagesOption(t: T, doc: NetDocument): ChartOption {
  const stages = NET_STAGES.filter((s) => netStage(doc, s).count > 0);
  const marks = [
    ['p50', 'p50Ms', 0.45, '#cbd5e1'],
    ['p99', 'p99Ms', 0.75, '#64748b'],
    [t('lat.max'), 'maxMs', 1, '#0f172a'],
  ] as const;
  return {
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (items: unknown) => {
        const list = items as { dataIndex: number }[];
        const s = stages[list[0]?.dataIndex ?? 0];
        if (!s) return '';
        const st = netStage(doc, s);
        return [`<strong>${netStageLabel(t, s)}</strong>`, `p50 ${formatMs(st.p50Ms)} · p99 ${formatMs(st.p99Ms)} · ${t('lat.max')} ${formatMs(st.maxMs)}`, `${t('net.mean')} ${formatMs(st.meanMs)} · ${formatCount(st.count)} ${t('net.packets')}`].join('<br/>');
      },
    },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 48, top: 28, bottom: 28, containLabel: true },
    // In µs, from 1 µs: a log axis grows its bars from 1, so 1 µs is the baseline (in ms it would be 1 ms).
    xAxis: { type: 'log', logBase: 10, min: 1, name: t('net.perPacket'), nameLocation: 'middle', nameGap: 24, nameTextStyle: { fontSize: 10 }, axisLabel: { formatter: (v: number) => formatMs(v / 1000) } },
    yAxis: { type: 'category', data: stages.map((s) => netStageLabel(t, s)), inverse: true },
    series: marks.map(([name, k, opacity, legend]) => ({
      name,
      type: 'bar',
      itemStyle: { color: legend },
      barMaxWidth: 12,
      barGap: '10%',
      label: { show: name !== 'p50', position: 'right', fontSize: 10, formatter: (p: { value: number }) => formatMs(p.value / 1000) },
      // A stage's colour, lighter for p50: the eye finds the stage first, then its tail.
      data: stages.map((s) => ({ value: Math.max(1, netStage(doc, s)[k] * 1000), itemStyle: { color: NET_STAGE_COLORS[s], opacity } })),
    })),
  };
}

/** The stages' log2 histograms in one chart (trailing empty buckets cut). */
export function netHistogramOption(t: T, doc: NetDocument): ChartOption {
  const stages = NET_STAGES.filter((s) => netStage(doc, s).count > 0);
  let width = Math.max(1, ...stages.map((s) => netStage(doc, s).histogram.length));
  while (width > 1 && stages.every((s) => (netStage(doc, s).histogram[width - 1] ?? 0) === 0)) width--;
  return histogramOption(
    log2Labels(width),
    stages.map((s) => ({ name: netStageLabel(t, s), data: Array.from({ length: width }, (_, i) => netStage(doc, s).histogram[i] ?? 0), color: NET_STAGE_COLORS[s] })),
    { yName: t('net.packets') },
  );
}

/** Drops per reason (all locations summed), largest first. */
export function dropsByReason(drops: NetDrop[]): { reason: string; count: number }[] {
  const m = new Map<string, number>();
  for (const d of drops) m.set(d.reason, (m.get(d.reason) ?? 0) + d.count);
  return [...m.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

function dropsOption(t: T, drops: NetDrop[]): ChartOption {
  const rows = dropsByReason(drops).slice(0, 12);
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map((r) => r.reason), inverse: true, axisLabel: { fontSize: 10 } },
    series: [{ type: 'bar', name: t('net.drops'), barMaxWidth: 18, itemStyle: { color: '#ef4444' }, label: { show: true, position: 'right', fontSize: 10 }, data: rows.map((r) => r.count) }],
  };
}

/** Socket memory (Recv-Q + Send-Q) of the heaviest owners: containers when the document has them, else processes. */
function socketsOption(t: T, rows: { label: string; recvQBytes: number; sendQBytes: number }[]): ChartOption {
  const top = [...rows].sort((a, b) => b.recvQBytes + b.sendQBytes - (a.recvQBytes + a.sendQBytes)).slice(0, 10);
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatBytes(Number(v)) },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatBytes(v) } },
    yAxis: { type: 'category', data: top.map((r) => r.label), inverse: true, axisLabel: { fontSize: 10 } },
    series: [
      { type: 'bar', name: 'Recv-Q', stack: 'q', barMaxWidth: 18, itemStyle: { color: '#a855f7' }, data: top.map((r) => r.recvQBytes) },
      { type: 'bar', name: 'Send-Q', stack: 'q', barMaxWidth: 18, itemStyle: { color: '#60a5fa' }, data: top.map((r) => r.sendQBytes) },
    ],
  };
}

function Stack({ stack }: { stack: string[] | undefined }) {
  if (!stack || stack.length === 0) return <span className="muted">–</span>;
  return (
    <details className="stack">
      <summary>
        {stack[0]}
        {stack.length > 1 ? ` (+${stack.length - 1})` : ''}
      </summary>
      <pre>{stack.join('\n')}</pre>
    </details>
  );
}

/** The TcpExt / snmp fields of the namespace table: what an SRE reads first. */
const COUNTER_COLS: [string, 'snmp' | 'tcpExt'][] = [
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

export function NetView({ doc }: { doc: NetDocument }) {
  const { t } = useI18n();
  const nsName = useMemo(() => new Map(doc.counters.namespaces.map((n) => [n.netns.inode, n.netns.name])), [doc]);
  const where = (netns: number, c?: ContainerRef): string => (c ? containerLabel(c) : (nsName.get(netns) ?? String(netns)));
  const whereCol = <R extends { netns: number; container?: ContainerRef }>(): Column<R> => ({
    key: 'where',
    label: t('net.col.where'),
    value: (r) => where(r.netns, r.container),
    render: (r) => (
      <span title={`netns ${r.netns}`}>
        {where(r.netns, r.container)} {r.container ? <span className="muted small">{nsName.get(r.netns) ?? r.netns}</span> : null}
      </span>
    ),
    className: 'small wrap',
  });
  const measured = NET_STAGES.some((s) => netStage(doc, s).count > 0);
  const stagesOpt = useMemo(() => netStagesOption(t, doc), [t, doc]);
  const histOpt = useMemo(() => netHistogramOption(t, doc), [t, doc]);
  const dropsOpt = useMemo(() => dropsOption(t, doc.drops), [t, doc]);
  const totalDrops = doc.drops.reduce((a, d) => a + d.count, 0);
  const sockOwners = useMemo(
    () =>
      doc.sockets.byContainer.length > 0
        ? doc.sockets.byContainer.map((c) => ({ label: containerLabel(c.container), recvQBytes: c.recvQBytes, sendQBytes: c.sendQBytes }))
        : doc.sockets.byProcess.map((p) => ({ label: `${p.comm} (${p.pid})`, recvQBytes: p.recvQBytes, sendQBytes: p.sendQBytes })),
    [doc],
  );
  const sockOpt = useMemo(() => socketsOption(t, sockOwners), [t, sockOwners]);
  const hasQueued = sockOwners.some((r) => r.recvQBytes + r.sendQBytes > 0);
  const mem = doc.sockets.tcpMemPressure;

  const dropCols: Column<NetDrop>[] = [
    { key: 'count', label: t('net.col.count'), numeric: true, value: (d) => d.count, render: (d) => <strong>{formatCount(d.count)}</strong> },
    { key: 'reason', label: t('net.col.reason'), value: (d) => d.reason, render: (d) => <code>{d.reason}</code> },
    { key: 'location', label: t('net.col.location'), value: (d) => d.location, render: (d) => <code>{d.location}</code> },
    { key: 'proto', label: t('net.col.proto'), value: (d) => d.proto },
    { key: 'flow', label: t('net.col.sampleFlow'), value: (d) => flowText(d), className: 'small wrap' },
    { key: 'iface', label: t('net.col.iface'), value: (d) => d.iface || '–' },
    whereCol<NetDrop>(),
    { key: 'stack', label: t('lat.col.stack'), value: (d) => (d.stack ?? []).join(' '), render: (d) => <Stack stack={d.stack} />, className: 'wrap' },
  ];
  const slowCols: Column<NetSlowFlow>[] = [
    { key: 'max', label: t('lat.max'), numeric: true, value: (f) => f.maxMs, render: (f) => <strong>{formatMs(f.maxMs)}</strong> },
    {
      key: 'stage',
      label: t('net.col.stage'),
      value: (f) => f.stage,
      render: (f) => {
        const s = NET_STAGES.find((x) => x === f.stage);
        return s ? (
          <span>
            <span style={{ color: NET_STAGE_COLORS[s] }}>●</span> {netStageLabel(t, s)}
          </span>
        ) : (
          f.stage
        );
      },
    },
    { key: 'flow', label: t('net.col.flow'), value: (f) => flowText(f), className: 'small wrap' },
    { key: 'count', label: t('net.packets'), numeric: true, value: (f) => f.count, render: (f) => formatCount(f.count) },
    whereCol<NetSlowFlow>(),
  ];
  const retrCols: Column<NetRetransmit>[] = [
    { key: 'count', label: t('net.col.segments'), numeric: true, value: (r) => r.count, render: (r) => <strong>{formatCount(r.count)}</strong> },
    { key: 'flow', label: t('net.col.flow'), value: (r) => flowText(r), className: 'small wrap' },
    { key: 'state', label: t('net.col.state'), value: (r) => r.state },
    { key: 'ca', label: t('net.col.caState'), value: (r) => r.caState ?? '–' },
    whereCol<NetRetransmit>(),
  ];
  const rstCols: Column<NetReset>[] = [
    { key: 'count', label: t('net.col.count'), numeric: true, value: (r) => r.count, render: (r) => <strong>{formatCount(r.count)}</strong> },
    { key: 'dir', label: t('net.col.direction'), value: (r) => t(`net.reset.${r.direction}`) },
    { key: 'reason', label: t('net.col.reason'), value: (r) => r.reason || '–', render: (r) => (r.reason ? <code>{r.reason}</code> : <span className="muted">–</span>) },
    { key: 'flow', label: t('net.col.flow'), value: (r) => flowText(r), className: 'small wrap' },
    { key: 'state', label: t('net.col.state'), value: (r) => r.state },
    whereCol<NetReset>(),
  ];
  const queueCols = <R extends { sockets: number; listeners: number; recvQBytes: number; sendQBytes: number; maxRecvQBytes: number; maxRecvQPort: number }>(): Column<R>[] => [
    { key: 'sockets', label: t('net.col.sockets'), numeric: true, value: (r) => r.sockets, render: (r) => formatCount(r.sockets) },
    { key: 'listen', label: t('net.col.listeners'), numeric: true, value: (r) => r.listeners },
    { key: 'recvq', label: 'Recv-Q', numeric: true, value: (r) => r.recvQBytes, render: (r) => <span className={r.recvQBytes >= (doc.thresholds['net.recvQBytes'] ?? Infinity) ? 'bad' : ''}>{formatBytes(r.recvQBytes)}</span> },
    { key: 'sendq', label: 'Send-Q', numeric: true, value: (r) => r.sendQBytes, render: (r) => formatBytes(r.sendQBytes) },
    { key: 'maxrq', label: t('net.col.maxRecvQ'), numeric: true, value: (r) => r.maxRecvQBytes, render: (r) => (r.maxRecvQBytes > 0 ? `${formatBytes(r.maxRecvQBytes)} (:${r.maxRecvQPort})` : '0 B') },
  ];
  const procCols: Column<NetProcessSockets>[] = [
    { key: 'who', label: t('io.col.process'), value: (p) => `${p.comm} ${p.pid}`, render: (p) => <span><strong>{p.comm}</strong> <span className="muted">({p.pid})</span></span> },
    ...queueCols<NetProcessSockets>(),
    whereCol<NetProcessSockets>(),
  ];
  const ctrCols: Column<NetContainerSockets>[] = [
    { key: 'container', label: t('io.col.container'), value: (c) => containerLabel(c.container) },
    { key: 'procs', label: t('net.col.processes'), numeric: true, value: (c) => c.processes },
    ...queueCols<NetContainerSockets>(),
  ];
  const unownedCols: Column<NetDocument['sockets']['unowned'][number]>[] = [
    { key: 'netns', label: t('net.col.netns'), value: (u) => nsName.get(u.netns) ?? String(u.netns) },
    { key: 'sockets', label: t('net.col.sockets'), numeric: true, value: (u) => u.sockets, render: (u) => formatCount(u.sockets) },
    { key: 'recvq', label: 'Recv-Q', numeric: true, value: (u) => u.recvQBytes, render: (u) => formatBytes(u.recvQBytes) },
    { key: 'sendq', label: 'Send-Q', numeric: true, value: (u) => u.sendQBytes, render: (u) => formatBytes(u.sendQBytes) },
    { key: 'states', label: t('net.col.states'), value: (u) => Object.entries(u.byState).map(([k, v]) => `${k}:${v}`).join(' '), className: 'small wrap' },
  ];
  const nsCols: Column<NetNamespaceCounters>[] = [
    { key: 'name', label: t('net.col.netns'), value: (n) => n.netns.name, render: (n) => <span title={`net:[${n.netns.inode}]`}><strong>{n.netns.name}</strong> <span className="muted small">{n.netns.inode}</span></span> },
    { key: 'procs', label: t('net.col.processes'), numeric: true, value: (n) => n.netns.processes },
    ...COUNTER_COLS.map(
      ([f, src]): Column<NetNamespaceCounters> => ({
        key: f,
        label: f.replace(/^(Tcp|Ip|Udp)\./, ''),
        numeric: true,
        value: (n) => n[src][f] ?? null,
        render: (n) => {
          const v = n[src][f];
          return v === undefined ? <span className="muted">–</span> : <span className={v > 0 && f !== 'Tcp.OutSegs' ? 'bad' : ''}>{formatCount(v)}</span>;
        },
      }),
    ),
  ];
  type IfRow = NetInterface & { ns: string };
  const ifRows: IfRow[] = doc.counters.namespaces.flatMap((n) => n.interfaces.map((i) => ({ ...i, ns: n.netns.name })));
  const ifCols: Column<IfRow>[] = [
    { key: 'ns', label: t('net.col.netns'), value: (i) => i.ns, className: 'small' },
    { key: 'name', label: t('net.col.iface'), value: (i) => i.name, render: (i) => <strong>{i.name}</strong> },
    { key: 'rx', label: 'RX', numeric: true, value: (i) => i.rxBytes, render: (i) => formatBytes(i.rxBytes) },
    { key: 'rxp', label: t('net.col.rxPackets'), numeric: true, value: (i) => i.rxPackets, render: (i) => formatCount(i.rxPackets) },
    { key: 'rxerr', label: t('net.col.rxErr'), numeric: true, value: (i) => i.rxErrors + i.rxFrame, render: (i) => <span className={i.rxErrors > 0 ? 'bad' : ''}>{formatCount(i.rxErrors)}</span> },
    { key: 'rxdrop', label: t('net.col.rxDrop'), numeric: true, value: (i) => i.rxDropped + i.rxFifo, render: (i) => <span className={i.rxDropped + i.rxFifo > 0 ? 'bad' : ''}>{formatCount(i.rxDropped)}{i.rxFifo > 0 ? ` (fifo ${formatCount(i.rxFifo)})` : ''}</span> },
    { key: 'tx', label: 'TX', numeric: true, value: (i) => i.txBytes, render: (i) => formatBytes(i.txBytes) },
    { key: 'txp', label: t('net.col.txPackets'), numeric: true, value: (i) => i.txPackets, render: (i) => formatCount(i.txPackets) },
    { key: 'txerr', label: t('net.col.txErr'), numeric: true, value: (i) => i.txErrors + i.txCarrier, render: (i) => <span className={i.txErrors > 0 ? 'bad' : ''}>{formatCount(i.txErrors)}</span> },
    { key: 'txdrop', label: t('net.col.txDrop'), numeric: true, value: (i) => i.txDropped + i.txFifo, render: (i) => <span className={i.txDropped + i.txFifo > 0 ? 'bad' : ''}>{formatCount(i.txDropped)}</span> },
  ];
  const cpuCols: Column<NetSoftnet>[] = [
    { key: 'cpu', label: 'CPU', numeric: true, value: (c) => c.cpu },
    { key: 'processed', label: t('net.col.processed'), numeric: true, value: (c) => c.processed, render: (c) => formatCount(c.processed) },
    { key: 'dropped', label: t('net.col.dropped'), numeric: true, value: (c) => c.dropped, render: (c) => <span className={c.dropped > 0 ? 'bad' : ''}>{formatCount(c.dropped)}</span> },
    { key: 'squeezed', label: t('net.col.squeezed'), numeric: true, value: (c) => c.timeSqueeze, render: (c) => <span className={c.timeSqueeze > 0 ? 'bad' : ''}>{formatCount(c.timeSqueeze)}</span> },
    { key: 'backlog', label: t('net.col.backlog'), numeric: true, value: (c) => c.backlog, render: (c) => (c.backlog === null ? <span className="muted">–</span> : formatCount(c.backlog)) },
    { key: 'rps', label: 'RPS', numeric: true, value: (c) => c.receivedRps },
  ];

  return (
    <>
      <div className="card" id="net-stages" data-testid="net-stages">
        <div className="card-head">
          <h2>{t('net.stages')}</h2>
          {doc.latency.verdict && (
            <span className="pill pill-warn" data-testid="net-verdict">
              {verdictText(t, doc.latency.verdict)}
            </span>
          )}
          <div className="spacer" />
          <span className="muted small">{t('net.window', { s: doc.intervalS, lost: formatCount(doc.lostEvents) })}</span>
        </div>
        {!measured ? (
          <p className="muted">{t('net.noLatency')}</p>
        ) : (
          <div className="grid2 charts">
            <div>
              <h3>{t('net.stagePercentiles')}</h3>
              <Chart option={stagesOpt} height={250} testId="chart-net-stages" />
            </div>
            <div>
              <h3>{t('net.histograms')}</h3>
              <Chart option={histOpt} height={250} testId="chart-net-hist" />
            </div>
          </div>
        )}
        {measured && (
          <table className="data compact" data-testid="net-stage-table">
            <thead>
              <tr>
                <th>{t('net.col.stage')}</th>
                <th className="num">{t('net.packets')}</th>
                <th className="num">{t('net.mean')}</th>
                <th className="num">p50</th>
                <th className="num">p99</th>
                <th className="num">{t('lat.max')}</th>
              </tr>
            </thead>
            <tbody>
              {NET_STAGES.map((s) => {
                const st = netStage(doc, s);
                return (
                  <tr key={s} data-stage={s}>
                    <td>
                      <span style={{ color: NET_STAGE_COLORS[s] }}>●</span> {netStageLabel(t, s)}
                    </td>
                    <td className="num">{formatCount(st.count)}</td>
                    <td className="num">{st.count > 0 ? formatMs(st.meanMs) : '–'}</td>
                    <td className="num">{st.count > 0 ? formatMs(st.p50Ms) : '–'}</td>
                    <td className="num">{st.count > 0 ? formatMs(st.p99Ms) : '–'}</td>
                    <td className="num">{st.count > 0 ? formatMs(st.maxMs) : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <p className="muted small">{t('net.stagesHint')}</p>
        <h3>{t('net.slowest')}</h3>
        <DataTable testId="net-slowest" columns={slowCols} rows={doc.latency.slowest} rowKey={(f, i) => `${f.stage}-${flowText(f)}-${i}`} initialSort={{ key: 'max', desc: true }} limit={50} emptyText={t('net.noSlow')} />
      </div>

      <div className="card" id="net-drops" data-testid="net-drops">
        <div className="card-head">
          <h2>{t('net.dropsTitle')}</h2>
          <span className={`pill ${totalDrops > 0 ? 'pill-bad' : 'pill-ok'}`} data-testid="net-drop-total">
            {t('net.dropTotal', { n: formatCount(totalDrops) })}
          </span>
        </div>
        {doc.drops.length > 0 && <Chart option={dropsOpt} height={Math.max(100, 24 + dropsByReason(doc.drops).slice(0, 12).length * 28)} testId="chart-net-drops" />}
        <DataTable testId="net-drops-table" columns={dropCols} rows={doc.drops} rowKey={(d, i) => `${d.reason}-${d.location}-${d.netns}-${i}`} initialSort={{ key: 'count', desc: true }} limit={100} emptyText={t('net.noDrops')} />
      </div>

      <div className="card" id="net-tcp" data-testid="net-tcp">
        <h2>{t('net.tcp')}</h2>
        <div className="grid2">
          <div>
            <h3>{t('net.retransmits')}</h3>
            <DataTable testId="net-retransmits" columns={retrCols} rows={doc.tcp.retransmits} rowKey={(r, i) => `${flowText(r)}-${i}`} initialSort={{ key: 'count', desc: true }} limit={50} emptyText={t('net.noRetransmits')} />
          </div>
          <div>
            <h3>{t('net.resets')}</h3>
            <DataTable testId="net-resets" columns={rstCols} rows={doc.tcp.resets} rowKey={(r, i) => `${r.direction}-${flowText(r)}-${i}`} initialSort={{ key: 'count', desc: true }} limit={50} emptyText={t('net.noResets')} />
          </div>
        </div>
      </div>

      <div className="card" id="net-sockets" data-testid="net-sockets">
        <div className="card-head">
          <h2>{t('net.sockets')}</h2>
          {mem && (
            <span className={`pill ${mem.underPressure ? 'pill-bad' : 'pill-ok'}`} data-testid="net-tcpmem">
              {t('net.tcpMem', { bytes: formatBytes(mem.bytes), pct: mem.pressurePct.toFixed(1), orphans: formatCount(mem.orphans), maxOrphans: formatCount(mem.maxOrphans) })}
            </span>
          )}
        </div>
        {hasQueued && (
          <>
            <h3>{doc.sockets.byContainer.length > 0 ? t('net.queuesByContainer') : t('net.queuesByProcess')}</h3>
            <Chart option={sockOpt} height={Math.max(110, 40 + Math.min(10, sockOwners.length) * 26)} testId="chart-net-sockets" />
          </>
        )}
        <h3>{t('net.byContainer')}</h3>
        <DataTable testId="net-sockets-containers" columns={ctrCols} rows={doc.sockets.byContainer} rowKey={(c) => c.container.id} initialSort={{ key: 'recvq', desc: true }} limit={50} emptyText={t('net.noContainers')} />
        <h3>{t('net.byProcess')}</h3>
        <DataTable testId="net-sockets-processes" columns={procCols} rows={doc.sockets.byProcess} rowKey={(p) => String(p.pid)} initialSort={{ key: 'recvq', desc: true }} limit={50} emptyText={t('net.noSockets')} />
        <h3>{t('net.unowned')}</h3>
        <DataTable testId="net-sockets-unowned" columns={unownedCols} rows={doc.sockets.unowned} rowKey={(u) => String(u.netns)} initialSort={{ key: 'sockets', desc: true }} emptyText={t('net.noUnowned')} />
      </div>

      <div className="card" id="net-counters" data-testid="net-counters">
        <h2>{t('net.counters')}</h2>
        <DataTable testId="net-namespaces" columns={nsCols} rows={doc.counters.namespaces} rowKey={(n) => String(n.netns.inode)} initialSort={{ key: 'Tcp.OutSegs', desc: true }} />
        <h3>{t('net.interfaces')}</h3>
        <DataTable testId="net-interfaces" columns={ifCols} rows={ifRows} rowKey={(i) => `${i.ns}-${i.name}`} initialSort={{ key: 'rx', desc: true }} emptyText={t('net.noInterfaces')} />
        <h3>{t('net.softnet')}</h3>
        <DataTable testId="net-softnet" columns={cpuCols} rows={doc.counters.softnet} rowKey={(c) => String(c.cpu)} initialSort={{ key: 'cpu', desc: false }} />
      </div>
    </>
  );
}
