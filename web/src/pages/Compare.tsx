import { useMemo } from 'react';
import type { StoredDocument, Task } from '@contract';
import { formatBytes, formatSignedBytes } from '@format';
import { api, memDocument } from '../api.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { GROUP_COLORS, GROUPS, type Group, groupBytes } from '../components/MemReport.js';
import { formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { itemLabel, useI18n } from '../i18n.js';
import { href } from '../router.js';

interface Row {
  key: string;
  label: string;
  group: Group | '';
  before: number;
  after: number;
}

export function Compare({ a, b }: { a: string; b: string }) {
  const { t, lang } = useI18n();
  const loaded = useLoad(
    async (): Promise<{ task: Task; doc: StoredDocument }[]> => {
      const runs = await Promise.all([a, b].map(async (id) => ({ task: await api.task(id), doc: await api.report(id) })));
      return runs.sort((x, y) => x.task.createdAt.localeCompare(y.task.createdAt));
    },
    [a, b],
  );

  const rows = useMemo((): Row[] => {
    const [first, second] = loaded.data ?? [];
    const x = first && memDocument(first.doc);
    const y = second && memDocument(second.doc);
    if (!x || !y) return [];
    const out: Row[] = [];
    for (const g of GROUPS) {
      out.push({ key: `group:${g}`, label: t(`group.${g}`), group: g, before: groupBytes(x, g), after: groupBytes(y, g) });
      const keys = [...new Set([...x.breakdown.items, ...y.breakdown.items].filter((i) => i.group === g).map((i) => i.key))];
      for (const k of keys) {
        const i1 = x.breakdown.items.find((i) => i.key === k);
        const i2 = y.breakdown.items.find((i) => i.key === k);
        out.push({ key: k, label: `  ${itemLabel(lang, k)}`, group: g, before: i1?.bytes ?? 0, after: i2?.bytes ?? 0 });
      }
    }
    return out;
  }, [loaded.data, t, lang]);

  const option = useMemo((): ChartOption => {
    const items = rows.filter((r) => !r.key.startsWith('group:') && r.after !== r.before).sort((p, q) => Math.abs(q.after - q.before) - Math.abs(p.after - p.before)).slice(0, 12).reverse();
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatSignedBytes(Number(v)) },
      grid: { left: 170, right: 30, top: 8, bottom: 24 },
      xAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatBytes(v) } },
      yAxis: { type: 'category', data: items.map((r) => r.label.trim()), axisLabel: { fontSize: 11 } },
      series: [{ type: 'bar', data: items.map((r) => ({ value: r.after - r.before, itemStyle: { color: r.group ? GROUP_COLORS[r.group] : '#64748b' } })) }],
    };
  }, [rows]);

  const columns: Column<Row>[] = [
    { key: 'label', label: t('compare.item'), value: (r) => r.label, render: (r) => (r.key.startsWith('group:') ? <strong>{r.label}</strong> : <span className="indent">{r.label.trim()}</span>) },
    { key: 'before', label: t('compare.before'), numeric: true, value: (r) => r.before, render: (r) => formatBytes(r.before) },
    { key: 'after', label: t('compare.after'), numeric: true, value: (r) => r.after, render: (r) => formatBytes(r.after) },
    {
      key: 'delta',
      label: t('compare.delta'),
      numeric: true,
      value: (r) => r.after - r.before,
      render: (r) => {
        const d = r.after - r.before;
        return <span className={d > 0 ? 'up' : d < 0 ? 'down' : 'muted'}>{formatSignedBytes(d)}</span>;
      },
    },
  ];

  if (loaded.error) return <p className="error pad">{loaded.error}</p>;
  const [ra, rb] = loaded.data ?? [];
  if (!ra || !rb) return <p className="muted pad">{t('common.loading')}</p>;
  const [ta, tb] = [ra.task, rb.task];
  return (
    <section className="page">
      <div className="page-head">
        <a className="muted" href={href('nodes', ta.nodeId)}>
          ←
        </a>
        <h1>{t('compare.title')}</h1>
        <span className="muted small">
          <a href={href('tasks', ta.id)}>{formatTime(ta.createdAt, lang)}</a> → <a href={href('tasks', tb.id)}>{formatTime(tb.createdAt, lang)}</a>
        </span>
      </div>
      {rows.length === 0 ? (
        <p className="error">{t('compare.needMem')}</p>
      ) : (
        <div className="grid2">
          <div className="card">
            <DataTable testId="compare-table" columns={columns} rows={rows} rowKey={(r) => r.key} />
          </div>
          <div className="card">
            <h2>{t('compare.delta')}</h2>
            <Chart option={option} height={380} />
          </div>
        </div>
      )}
    </section>
  );
}
