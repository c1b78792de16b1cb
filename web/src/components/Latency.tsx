/**
 * Latency pictures: log2 histograms as ECharts bar charts (the runlatency result and the node page's
 * run-queue chart share them), and the `oscope.runlatency/v1` view: a summary per kind, per-CPU and
 * per-cgroup run-queue histograms, and the events table with victim, culprit and an expandable stack.
 */
import { useMemo, useState } from 'react';
import type { LatencyEvent, LatencyKind, RunlatencyDocument } from '@contract';
import { formatCount, formatDurationMsShort as formatMs } from '@format';
import { type T, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';

/** Labels of log2-µs buckets (bucket i = [2^i, 2^(i+1)) µs) by their upper bound. */
export function log2Labels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `<${formatMs(2 ** (i + 1) / 1000)}`);
}

/** Labels of buckets given by upper bounds in ms (null = +Inf). */
export function leLabels(leMs: (number | null)[]): string[] {
  return leMs.map((le, i) => (le === null || !Number.isFinite(le) ? `>${formatMs(leMs[i - 1] ?? 0)}` : `≤${formatMs(le)}`));
}

export function histogramOption(labels: string[], series: { name: string; data: number[]; color?: string }[], opts: { stack?: boolean; yName?: string } = {}): ChartOption {
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: series.length > 1 ? { top: 0, type: 'scroll', textStyle: { fontSize: 11 } } : undefined,
    grid: { left: 8, right: 16, top: series.length > 1 ? 28 : 12, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: labels, axisLabel: { fontSize: 10, rotate: labels.length > 14 ? 40 : 0 } },
    yAxis: { type: 'value', name: opts.yName, nameTextStyle: { fontSize: 10 }, minInterval: 1 },
    series: series.map((s) => ({
      name: s.name,
      type: 'bar',
      data: s.data,
      stack: opts.stack ? 'h' : undefined,
      itemStyle: s.color ? { color: s.color } : undefined,
      barMaxWidth: 28,
    })),
  };
}

export interface HistRow {
  label: string;
  count: number;
  buckets: number[];
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Several log2 histograms: percentiles across them, and one of them (or all summed) bucket by bucket. */
export function HistogramSet({ rows, testId, what }: { rows: HistRow[]; testId: string; what: string }) {
  const { t } = useI18n();
  const [pick, setPick] = useState('');
  const width = Math.max(0, ...rows.map((r) => r.buckets.length));
  const chosen = pick ? rows.filter((r) => r.label === pick) : rows;
  const summed = Array.from({ length: width }, (_, i) => chosen.reduce((a, r) => a + (r.buckets[i] ?? 0), 0));
  const hist = useMemo(() => histogramOption(log2Labels(width), [{ name: t('lat.wakeups'), data: summed, color: '#3b82f6' }]), [width, summed.join(','), t]);
  const top = [...rows].sort((a, b) => b.p99Ms - a.p99Ms).slice(0, 24);
  const pct = useMemo<ChartOption>(
    () => ({
      // In µs on a log axis starting at 1 µs, so every bar grows from the bottom.
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatMs(Number(v) / 1000) },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: top.map((r) => r.label), axisLabel: { fontSize: 10, rotate: top.length > 8 ? 30 : 0, width: 120, overflow: 'truncate' } },
      yAxis: { type: 'log', logBase: 10, min: 1, axisLabel: { formatter: (v: number) => formatMs(v / 1000) } },
      series: [
        { name: 'p50', type: 'bar', data: top.map((r) => Math.max(r.p50Ms * 1000, 1)), itemStyle: { color: '#93c5fd' }, barMaxWidth: 18 },
        { name: 'p99', type: 'bar', data: top.map((r) => Math.max(r.p99Ms * 1000, 1)), itemStyle: { color: '#f59e0b' }, barMaxWidth: 18 },
        { name: 'max', type: 'bar', data: top.map((r) => Math.max(r.maxMs * 1000, 1)), itemStyle: { color: '#ef4444' }, barMaxWidth: 18 },
      ],
    }),
    [top],
  );
  if (rows.length === 0) return <p className="muted">{t('common.none')}</p>;
  return (
    <div data-testid={testId}>
      <div className="grid2 charts">
        <div>
          <div className="card-head">
            <h3>{t('lat.histogram')}</h3>
            <select value={pick} onChange={(e) => setPick(e.target.value)} aria-label={what}>
              <option value="">{t('lat.allOf', { what, n: rows.length })}</option>
              {rows.map((r) => (
                <option key={r.label} value={r.label}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
          <Chart option={hist} height={240} testId={`${testId}-hist`} />
        </div>
        <div>
          <h3>{t('lat.percentiles', { what })}</h3>
          <Chart option={pct} height={262} testId={`${testId}-pct`} />
        </div>
      </div>
    </div>
  );
}

/** The kinds in the order of the strip: what a person looks at first. */
const KINDS: readonly LatencyKind[] = ['runqueue', 'nosched', 'irqoff', 'softirq', 'hardirq'];

export const kindLabel = (t: T, k: LatencyKind): string => t(`lat.kind.${k}`);

export function RunlatencyView({ doc }: { doc: RunlatencyDocument }) {
  const { t } = useI18n();
  const kinds = KINDS.map((k) => ({ kind: k, threshold: doc.thresholds[k], ...doc.summary.byKind[k] }));
  const cpuRows: HistRow[] = doc.histograms.runqueue.perCpu.map((h) => ({ ...h, label: `CPU ${h.cpu}` }));
  const cgRows: HistRow[] = doc.histograms.runqueue.perCgroup.map((h) => ({ ...h, label: h.cgroup }));
  const evCols: Column<LatencyEvent>[] = [
    { key: 'lat', label: t('lat.col.latency'), numeric: true, value: (e) => e.latencyMs, render: (e) => <strong>{formatMs(e.latencyMs)}</strong> },
    { key: 'kind', label: t('lat.col.kind'), value: (e) => kindLabel(t, e.kind), render: (e) => <span className={`pill kind-${e.kind}`}>{kindLabel(t, e.kind)}</span> },
    { key: 'cpu', label: 'CPU', numeric: true, value: (e) => e.cpu },
    { key: 'victim', label: t('lat.col.victim'), value: (e) => `${e.comm} ${e.pid}`, render: (e) => (e.pid === 0 && !e.comm ? '–' : <span><strong>{e.comm}</strong> <span className="muted">({e.pid})</span></span>) },
    { key: 'culprit', label: t('lat.col.culprit'), value: (e) => (e.culprit ? `${e.culprit.comm} ${e.culprit.pid}` : ''), render: (e) => (e.culprit ? <span><strong>{e.culprit.comm}</strong> <span className="muted">({e.culprit.pid})</span></span> : <span className="muted">–</span>) },
    { key: 'at', label: t('lat.col.at'), value: (e) => e.at, render: (e) => <span className="nowrap small">{e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</span> },
    {
      key: 'stack',
      label: t('lat.col.stack'),
      value: (e) => e.stack.join(' '),
      render: (e) =>
        e.stack.length === 0 ? (
          <span className="muted">–</span>
        ) : (
          <details className="stack">
            <summary>
              {e.stack[0]}
              {e.stack.length > 1 ? ` (+${e.stack.length - 1})` : ''}
            </summary>
            <pre>{e.stack.join('\n')}</pre>
          </details>
        ),
      className: 'wrap',
    },
  ];
  return (
    <>
      <div className="card">
        <div className="card-head">
          <h2>{t('lat.byKind')}</h2>
          <span className="muted small">{t('lat.window', { s: doc.summary.durationS, cpus: doc.summary.cpus, steal: doc.summary.stealGaps, timer: doc.summary.timerGaps, lost: doc.summary.lostEvents })}</span>
        </div>
        <div className="kind-strip" data-testid="kind-strip">
          {kinds.map((k) => (
            <div key={k.kind} className={`kind-cell ${k.count > 0 ? 'kind-hit' : ''}`}>
              <span className="muted small">{kindLabel(t, k.kind)}</span>
              <strong>{formatCount(k.count)}</strong>
              <span className="muted small">
                {t('lat.max')} {formatMs(k.maxMs)} · {t('lat.threshold')} {k.threshold > 0 ? formatMs(k.threshold) : t('lat.off')}
              </span>
            </div>
          ))}
        </div>
      </div>
      <div className="card" id="percpu">
        <h2>{t('lat.perCpu')}</h2>
        <HistogramSet rows={cpuRows} testId="lat-percpu" what="CPU" />
      </div>
      <div className="card" id="percgroup">
        <h2>{t('lat.perCgroup')}</h2>
        <HistogramSet rows={cgRows} testId="lat-percgroup" what="cgroup" />
      </div>
      <div className="card" id="events">
        <h2>{t('lat.events')}</h2>
        <DataTable testId="events-table" columns={evCols} rows={doc.events} rowKey={(e, i) => `${e.at}-${e.cpu}-${i}`} initialSort={{ key: 'lat', desc: true }} limit={200} emptyText={t('lat.noEvents')} />
      </div>
    </>
  );
}
