/**
 * The node page's pictures from the agent's samples: disk latency and throughput over the last hour,
 * network drops (by kernel counter) and TCP retransmits over the last hour,
 * run-queue latency (p50/p99/max over the last hour and the hour's histogram) and kernel-log anomalies
 * (count per interval, by rule). Samples from agents
 * that do not send these fields (older ones) count as missing, never as zero.
 */
import { useMemo } from 'react';
import type { LogAnomalyCounts, NodeSample, RunqueueLatencySample, SampleDisk, SampleNet } from '@contract';
import { formatBytes, formatCount, formatDurationMsShort as formatMs } from '@format';
import { useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { histogramOption, leLabels } from './Latency.js';

type RqPoint = { ts: string; rq: RunqueueLatencySample };
type DiskPoint = { ts: string; disks: SampleDisk[] };

export function diskPoints(samples: NodeSample[]): DiskPoint[] {
  return samples.flatMap((s) => {
    const d = s.data.disks;
    return Array.isArray(d) ? [{ ts: s.ts, disks: d }] : [];
  });
}

/** The disks of the hour, busiest first (by their largest throughput), at most `max`. */
export function busiestDisks(points: DiskPoint[], max = 6): string[] {
  const peak = new Map<string, number>();
  for (const p of points) for (const d of p.disks) peak.set(d.name, Math.max(peak.get(d.name) ?? 0, d.readBytesPerS + d.writeBytesPerS + d.iops));
  return [...peak.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([n]) => n);
}

const DISK_COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#64748b'];

export function DisksCard({ samples }: { samples: NodeSample[] }) {
  const { t } = useI18n();
  const points = useMemo(() => diskPoints(samples), [samples]);
  const names = useMemo(() => busiestDisks(points), [points]);
  const at = (p: DiskPoint, name: string): SampleDisk | undefined => p.disks.find((d) => d.name === name);
  const latency = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatMs(Number(v)) },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatMs(v) } },
      series: names.flatMap((name, i) => {
        const color = DISK_COLORS[i % DISK_COLORS.length];
        const hasDevice = points.some((p) => at(p, name)?.latency?.device?.p99Ms != null);
        return [
          { name: `${name} await`, type: 'line', symbol: 'none', itemStyle: { color }, lineStyle: { width: 2 }, connectNulls: false, data: points.map((p) => [p.ts, at(p, name)?.awaitMs ?? null]) },
          ...(hasDevice
            ? [{ name: `${name} device p99`, type: 'line', symbol: 'none', itemStyle: { color }, lineStyle: { width: 1, type: 'dashed' }, connectNulls: false, data: points.map((p) => [p.ts, at(p, name)?.latency?.device?.p99Ms ?? null]) }]
            : []),
        ];
      }),
    }),
    [points, names],
  );
  const throughput = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => `${formatBytes(Math.abs(Number(v)))}/s` },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatBytes(Math.abs(v)) } },
      series: names.flatMap((name, i) => {
        const color = DISK_COLORS[i % DISK_COLORS.length];
        return [
          { name: `${name} read`, type: 'line', symbol: 'none', areaStyle: { opacity: 0.25 }, itemStyle: { color }, lineStyle: { width: 1 }, data: points.map((p) => [p.ts, at(p, name)?.readBytesPerS ?? null]) },
          { name: `${name} write`, type: 'line', symbol: 'none', areaStyle: { opacity: 0.1 }, itemStyle: { color }, lineStyle: { width: 1, type: 'dashed' }, data: points.map((p) => { const w = at(p, name)?.writeBytesPerS; return [p.ts, w === undefined ? null : -w]; }) },
        ];
      }),
    }),
    [points, names],
  );
  const latest = points.at(-1)?.disks[0];
  return (
    <div className="card" data-testid="disks-card">
      <div className="card-head">
        <h2>{t('node.disks')}</h2>
        {latest && (
          <span className="muted small" data-testid="disks-latest">
            {t('node.disksLatest', { disk: latest.name, iops: formatCount(Math.round(latest.iops)), await: formatMs(latest.awaitMs), util: `${latest.utilPct.toFixed(1)} %` })}
          </span>
        )}
      </div>
      {names.length === 0 ? (
        <p className="muted">{t('node.noDisks')}</p>
      ) : (
        <div className="grid2 charts">
          <div>
            <h3>{t('node.diskLatency')}</h3>
            <Chart option={latency} height={220} testId="chart-disk-latency" />
          </div>
          <div>
            <h3>{t('node.diskThroughput')}</h3>
            <Chart option={throughput} height={220} testId="chart-disk-throughput" />
          </div>
        </div>
      )}
    </div>
  );
}
type NetPoint = { ts: string; net: SampleNet };

export function netPoints(samples: NodeSample[]): NetPoint[] {
  return samples.flatMap((s) => {
    const n = s.data.net;
    return n && typeof n.drops === 'number' && typeof n.intervalS === 'number' && n.intervalS > 0 ? [{ ts: s.ts, net: n }] : [];
  });
}

/** The drop counters of the hour, most drops first, at most `max` (the rest summed as "other"). */
export function topDropCounters(points: NetPoint[], max = 6): string[] {
  const sum = new Map<string, number>();
  for (const p of points) for (const [k, v] of Object.entries(p.net.dropsByCounter ?? {})) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => k);
}

const DROP_COLORS = ['#ef4444', '#f59e0b', '#8b5cf6', '#0ea5e9', '#10b981', '#64748b'];
const perS = (n: number, p: NetPoint): number => Math.round((n / p.net.intervalS) * 100) / 100;
const rateFmt = (v: number): string => (v >= 100 ? formatCount(Math.round(v)) : String(Math.round(v * 100) / 100));

export function NetCard({ samples }: { samples: NodeSample[] }) {
  const { t } = useI18n();
  const points = useMemo(() => netPoints(samples), [samples]);
  const counters = useMemo(() => topDropCounters(points), [points]);
  const drops = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => `${rateFmt(Number(v))}/s` },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', name: t('node.net.perS'), nameTextStyle: { fontSize: 10 }, axisLabel: { formatter: (v: number) => rateFmt(v) } },
      series: [
        ...counters.map((k, i) => ({
          name: k,
          type: 'line',
          stack: 'drops',
          symbol: 'none',
          areaStyle: { opacity: 0.45 },
          lineStyle: { width: 1 },
          itemStyle: { color: DROP_COLORS[i % DROP_COLORS.length] },
          data: points.map((p) => [p.ts, perS(p.net.dropsByCounter?.[k] ?? 0, p)]),
        })),
        {
          name: t('node.net.otherDrops'),
          type: 'line',
          stack: 'drops',
          symbol: 'none',
          areaStyle: { opacity: 0.3 },
          lineStyle: { width: 1 },
          itemStyle: { color: '#94a3b8' },
          data: points.map((p) => [p.ts, perS(Math.max(0, p.net.drops - counters.reduce((a, k) => a + (p.net.dropsByCounter?.[k] ?? 0), 0)), p)]),
        },
        {
          name: t('node.net.ifErrors'),
          type: 'line',
          symbol: 'none',
          lineStyle: { width: 1, type: 'dashed' },
          itemStyle: { color: '#0f172a' },
          data: points.map((p) => [p.ts, perS(p.net.ifErrors + p.net.ifDropped, p)]),
        },
      ],
    }),
    [points, counters, t],
  );
  const retrans = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 8, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: [
        { type: 'value', name: t('node.net.perS'), nameTextStyle: { fontSize: 10 }, axisLabel: { formatter: (v: number) => rateFmt(v) } },
        { type: 'value', name: '%', nameTextStyle: { fontSize: 10 }, splitLine: { show: false }, axisLabel: { formatter: (v: number) => `${v} %` } },
      ],
      series: [
        { name: t('node.net.retransPerS'), type: 'line', symbol: 'none', lineStyle: { width: 2 }, itemStyle: { color: '#f59e0b' }, data: points.map((p) => [p.ts, perS(p.net.retransSegs, p)]) },
        {
          name: t('node.net.retransPct'),
          type: 'line',
          yAxisIndex: 1,
          symbol: 'none',
          lineStyle: { width: 1, type: 'dashed' },
          itemStyle: { color: '#ef4444' },
          data: points.map((p) => [p.ts, p.net.outSegs > 0 ? Math.round((p.net.retransSegs / p.net.outSegs) * 1000) / 10 : null]),
        },
        { name: t('node.net.listenOverflows'), type: 'bar', barMaxWidth: 6, itemStyle: { color: '#8b5cf6' }, data: points.map((p) => [p.ts, p.net.listenOverflows]) },
      ],
    }),
    [points, t],
  );
  const last = points.at(-1)?.net;
  const hourDrops = points.reduce((a, p) => a + p.net.drops, 0);
  const hourRetrans = points.reduce((a, p) => a + p.net.retransSegs, 0);
  return (
    <div className="card" data-testid="net-card">
      <div className="card-head">
        <h2>{t('node.net')}</h2>
        {points.length > 0 && (
          <span className={`pill ${hourDrops > 0 ? 'pill-bad' : 'pill-ok'}`} data-testid="net-hour">
            {t('node.net.hour', { drops: formatCount(hourDrops), retrans: formatCount(hourRetrans) })}
          </span>
        )}
        {last && (
          <span className="muted small" data-testid="net-latest">
            {t('node.net.latest', {
              drops: rateFmt(last.drops / last.intervalS),
              retrans: rateFmt(last.retransSegs / last.intervalS),
              pct: last.outSegs > 0 ? ((last.retransSegs / last.outSegs) * 100).toFixed(1) : '0.0',
              tcpMem: last.tcpMemBytes === null ? '–' : formatBytes(last.tcpMemBytes),
            })}
          </span>
        )}
      </div>
      {points.length === 0 ? (
        <p className="muted">{t('node.net.none')}</p>
      ) : (
        <div className="grid2 charts">
          <div>
            <h3>{t('node.net.drops')}</h3>
            <Chart option={drops} height={220} testId="chart-net-drops-trend" />
          </div>
          <div>
            <h3>{t('node.net.retrans')}</h3>
            <Chart option={retrans} height={220} testId="chart-net-retrans-trend" />
          </div>
        </div>
      )}
    </div>
  );
}

type LaPoint = { ts: string; la: LogAnomalyCounts };

export function runqueuePoints(samples: NodeSample[]): RqPoint[] {
  return samples.flatMap((s) => {
    const rq = s.data.runqueueLatency;
    return rq && Array.isArray(rq.counts) && Array.isArray(rq.leMs) ? [{ ts: s.ts, rq }] : [];
  });
}

export function anomalyPoints(samples: NodeSample[]): LaPoint[] {
  return samples.flatMap((s) => {
    const la = s.data.logAnomalies;
    return la && typeof la.total === 'number' ? [{ ts: s.ts, la }] : [];
  });
}

/** The buckets of several intervals summed (bucket bounds from the newest sample; same layout expected). */
export function sumHistogram(points: RqPoint[]): { leMs: (number | null)[]; counts: number[] } {
  const last = points.at(-1);
  if (!last) return { leMs: [], counts: [] };
  const counts = last.rq.leMs.map((_, i) => points.reduce((a, p) => a + (p.rq.leMs.length === last.rq.leMs.length ? (p.rq.counts[i] ?? 0) : 0), 0));
  // Trailing empty buckets say nothing.
  let end = counts.length;
  while (end > 1 && counts[end - 1] === 0) end--;
  return { leMs: last.rq.leMs.slice(0, end), counts: counts.slice(0, end) };
}

export function RunqueueCard({ samples }: { samples: NodeSample[] }) {
  const { t } = useI18n();
  const points = useMemo(() => runqueuePoints(samples), [samples]);
  const line = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatMs(Number(v)) },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'log', logBase: 10, axisLabel: { formatter: (v: number) => formatMs(v) } },
      series: (
        [
          ['p50', 'p50Ms', '#93c5fd'],
          ['p99', 'p99Ms', '#f59e0b'],
          ['max', 'maxMs', '#ef4444'],
        ] as const
      ).map(([name, k, color]) => ({
        name,
        type: 'line',
        symbol: 'none',
        lineStyle: { width: name === 'p99' ? 2 : 1 },
        itemStyle: { color },
        connectNulls: false,
        data: points.map((p) => [p.ts, p.rq[k] === null || p.rq[k] === 0 ? null : p.rq[k]]),
      })),
    }),
    [points],
  );
  const hist = useMemo(() => {
    const h = sumHistogram(points);
    return histogramOption(leLabels(h.leMs), [{ name: t('lat.wakeups'), data: h.counts, color: '#3b82f6' }]);
  }, [points, t]);
  const latest = points.at(-1)?.rq;
  return (
    <div className="card" data-testid="runqueue-card">
      <div className="card-head">
        <h2>{t('node.runqueue')}</h2>
        {latest && (
          <span className="muted small" data-testid="runqueue-latest">
            {t('node.runqueueLatest', { p99: formatMs(latest.p99Ms), max: formatMs(latest.maxMs), n: formatCount(latest.count) })}
          </span>
        )}
      </div>
      {points.length === 0 ? (
        <p className="muted">{t('node.noRunqueue')}</p>
      ) : (
        <div className="grid2 charts">
          <div>
            <h3>{t('node.runqueueTrend')}</h3>
            <Chart option={line} height={220} testId="chart-runqueue-trend" />
          </div>
          <div>
            <h3>{t('node.runqueueHist')}</h3>
            <Chart option={hist} height={220} testId="chart-runqueue-hist" />
          </div>
        </div>
      )}
    </div>
  );
}

export function LogAnomaliesCard({ samples }: { samples: NodeSample[] }) {
  const { t } = useI18n();
  const points = useMemo(() => anomalyPoints(samples), [samples]);
  const total = points.reduce((a, p) => a + p.la.total, 0);
  const byRule = useMemo(() => {
    const m = new Map<string, number>();
    for (const p of points) for (const [k, v] of Object.entries(p.la.byRule ?? {})) m.set(k, (m.get(k) ?? 0) + v);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }, [points]);
  const bars = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 8, right: 16, top: 12, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: t('node.anomalies'), itemStyle: { color: '#ef4444' }, barMaxWidth: 8, data: points.map((p) => [p.ts, p.la.total]) }],
    }),
    [points, t],
  );
  return (
    <div className="card" data-testid="anomalies-card">
      <div className="card-head">
        <h2>{t('node.anomalies')}</h2>
        {points.length > 0 && (
          <span className={`pill ${total > 0 ? 'pill-bad' : 'pill-ok'}`} data-testid="anomaly-count">
            {t('node.anomalyCount', { n: formatCount(total) })}
          </span>
        )}
      </div>
      {points.length === 0 ? (
        <p className="muted">{t('node.noAnomalyData')}</p>
      ) : (
        <>
          <Chart option={bars} height={140} testId="chart-anomalies" />
          {byRule.length > 0 ? (
            <table className="data compact">
              <tbody>
                {byRule.slice(0, 8).map(([rule, n]) => (
                  <tr key={rule}>
                    <td>
                      <code>{rule}</code>
                    </td>
                    <td className="num">{formatCount(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted small">{t('node.noAnomalies')}</p>
          )}
        </>
      )}
    </div>
  );
}

/** The node's health score over the samples' range, and what lowers it now. */
export function HealthCard({ samples }: { samples: NodeSample[] }) {
  const { t } = useI18n();
  const points = useMemo(() => samples.filter((s) => s.data.health).map((s) => ({ ts: s.ts, h: s.data.health! })), [samples]);
  const last = points.at(-1)?.h;
  const option = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 8, right: 16, top: 12, bottom: 8, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', min: 0, max: 100 },
      series: [{ type: 'line', name: t('fleet.health'), showSymbol: false, step: 'end', data: points.map((p) => [p.ts, p.h.score]) }],
    }),
    [points, t],
  );
  if (points.length === 0) return null;
  return (
    <div className="card" data-testid="health-card">
      <div className="card-head">
        <h2>{t('fleet.health')}</h2>
        {last && (
          <span className={`pill ${last.level === 'healthy' ? 'pill-ok' : last.level === 'at-risk' ? 'pill-run' : last.level === 'warning' ? 'pill-warn' : 'pill-bad'}`}>
            {last.score} · {t(`health.${last.level}`)}
          </span>
        )}
      </div>
      <Chart option={option} height={120} testId="chart-health" />
      {last && last.reasons.length > 0 && (
        <table className="data compact">
          <tbody>
            {last.reasons.map((r) => (
              <tr key={r.signal}>
                <td className="muted small">{r.subscore}</td>
                <td>{r.detail}</td>
                <td className="num">−{Math.round(r.penalty)}</td>
                <td className="muted small">{r.suggestedDiagnosis ? `oscope ${r.suggestedDiagnosis}` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
