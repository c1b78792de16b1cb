/**
 * The `oscope.memleak/v1` view: the verdict banner (the document's verdict and its reason; the verdict's
 * finding is among the conclusions), growth curves of the top caches or callers over the watch (the
 * document keeps each one's first and last measurement, drawn as a line between them), the growth
 * rates, and the call sites with their stacks.
 */
import { useMemo } from 'react';
import type { Callsite, GrowthRow, MemleakDocument } from '@contract';
import { formatBytes, formatCount, formatSignedBytes } from '@format';
import { useI18n } from '../i18n.js';
import { formatField } from './AutoTable.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';

const COLORS = ['#ef4444', '#f59e0b', '#3b82f6', '#8b5cf6', '#10b981', '#ec4899', '#14b8a6', '#64748b'];

export function MemleakView({ doc }: { doc: MemleakDocument }) {
  const { t } = useI18n();
  const top = useMemo(() => [...doc.growth].sort((a, b) => Math.abs(b.endBytes - b.startBytes) - Math.abs(a.endBytes - a.startBytes)).slice(0, 8), [doc]);
  const curves = useMemo<ChartOption>(() => {
    const d = doc.durationS > 0 ? doc.durationS : 1;
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatBytes(Number(v)) },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 24, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: 'value', min: 0, max: d, name: 's', axisLabel: { formatter: (v: number) => `${v} s` } },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => formatBytes(v) } },
      series: top.map((g, i) => ({
        name: g.name,
        type: 'line',
        symbolSize: 6,
        lineStyle: { width: 2 },
        itemStyle: { color: COLORS[i % COLORS.length] },
        data: [
          [0, g.startBytes],
          [d, g.endBytes],
        ],
      })),
    };
  }, [doc, top]);
  const rates = useMemo<ChartOption>(() => {
    const r = [...doc.growth].sort((a, b) => b.bytesPerS - a.bytesPerS).slice(0, 15).reverse();
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => `${formatBytes(Number(v))}/s` },
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', splitNumber: 3, axisLabel: { hideOverlap: true, formatter: (v: number) => `${formatBytes(v)}/s` } },
      yAxis: { type: 'category', data: r.map((g) => g.name), axisLabel: { fontSize: 11 } },
      series: [{ type: 'bar', barMaxWidth: 20, data: r.map((g) => ({ value: g.bytesPerS, itemStyle: { color: g.bytesPerS > 0 ? '#ef4444' : '#22c55e' } })) }],
    };
  }, [doc]);
  const gCols: Column<GrowthRow>[] = [
    { key: 'name', label: doc.type === 'vmalloc' ? t('ml.col.caller') : doc.type === 'page' ? t('ml.col.counter') : t('ml.col.cache'), value: (g) => g.name, render: (g) => <code>{g.name}</code> },
    { key: 'start', label: t('ml.col.start'), numeric: true, value: (g) => g.startBytes, render: (g) => formatBytes(g.startBytes) },
    { key: 'end', label: t('ml.col.end'), numeric: true, value: (g) => g.endBytes, render: (g) => formatBytes(g.endBytes) },
    { key: 'delta', label: t('ml.col.delta'), numeric: true, value: (g) => g.endBytes - g.startBytes, render: (g) => <span className={g.endBytes > g.startBytes ? 'up' : 'down'}>{formatSignedBytes(g.endBytes - g.startBytes)}</span> },
    { key: 'rate', label: t('ml.col.rate'), numeric: true, value: (g) => g.bytesPerS, render: (g) => `${formatSignedBytes(g.bytesPerS)}/s` },
  ];
  const csCols: Column<Callsite>[] = [
    { key: 'symbol', label: t('ml.col.symbol'), value: (c) => c.symbol, render: (c) => <code>{c.symbol}</code> },
    { key: 'bytes', label: t('ml.col.outstanding'), numeric: true, value: (c) => c.outstandingBytes, render: (c) => formatBytes(c.outstandingBytes) },
    { key: 'count', label: t('ml.col.allocations'), numeric: true, value: (c) => c.count, render: (c) => formatCount(c.count) },
    { key: 'age', label: t('ml.col.oldest'), numeric: true, value: (c) => c.oldestAgeS, render: (c) => formatField('oldestAgeS', c.oldestAgeS) },
    { key: 'stack', label: t('ml.col.stack'), value: (c) => c.stack.join(' '), render: (c) => formatField('stack', c.stack), className: 'wrap' },
  ];
  return (
    <>
      <div className={`card verdict ${doc.verdict.leaking ? 'verdict-bad' : 'verdict-ok'}`} data-testid="verdict">
        <div className="card-head">
          <h2>{t('result.verdict')}</h2>
          <strong>{doc.verdict.leaking ? t('ml.verdict.leak', { kind: doc.verdict.kind ?? '' }) : t('ml.verdict.ok')}</strong>
          <span className="muted small">
            {t('ml.confidence')}: {t(`ml.conf.${doc.verdict.confidence}`)} · {t(`ml.type.${doc.type}`)} · {doc.durationS} s
          </span>
        </div>
        {/* The reason, worded by the diagnosis in the document's language. */}
        <p data-testid="verdict-reason">{doc.verdict.reason}</p>
      </div>
      {doc.growth.length > 0 ? (
        <>
          <div className="card" id="growth">
            <h2>{t('result.growth')}</h2>
            <p className="muted small">{t('ml.curvesNote')}</p>
            <div className="grid2 charts">
              <div>
                <h3>{t('ml.curves')}</h3>
                <Chart option={curves} height={300} testId="chart-growth" />
              </div>
              <div>
                <h3>{t('ml.rates')}</h3>
                <Chart option={rates} height={300} testId="chart-rates" />
              </div>
            </div>
          </div>
          <div className="card">
            <h2>{t('ml.growthTable')}</h2>
            <DataTable testId="growth-table" columns={gCols} rows={doc.growth} rowKey={(g) => g.name} initialSort={{ key: 'rate', desc: true }} limit={50} />
          </div>
        </>
      ) : (
        doc.type === 'check' && <p className="note">{t('ml.checkNote')}</p>
      )}
      <div className="card" id="callsites">
        <h2>{t('result.callsites')}</h2>
        <DataTable testId="callsites-table" columns={csCols} rows={doc.callsites} rowKey={(c, i) => `${c.symbol}-${i}`} initialSort={{ key: 'bytes', desc: true }} limit={100} emptyText={doc.type === 'check' ? t('ml.noTrace') : undefined} />
      </div>
    </>
  );
}
