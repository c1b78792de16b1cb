/**
 * The `oscope.filecache/v1` view (its conclusions are the document's findings, shown by the result page):
 * per-container/cgroup totals as a chart and a table, then the files table (sortable, filterable: path
 * and path inside the container, cached/dirty/writeback/active, holders, cgroups).
 */
import { useMemo } from 'react';
import type { FileCacheDocument, FileCacheFile } from '@contract';
import { containerLabel, formatBytes, formatCount, formatShare, MISSING } from '@format';
import { type T, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';

export interface CgroupTotal {
  path: string;
  container: string;
  bytes: number;
  files: number;
}

/** Page cache of the listed files per cgroup (each file's sampled split), biggest first. */
export function cgroupTotals(files: FileCacheFile[]): CgroupTotal[] {
  const by = new Map<string, CgroupTotal>();
  for (const f of files) {
    const parts = f.cgroups.length > 0 ? f.cgroups : [{ path: '(not attributed)', bytes: f.cachedBytes }];
    for (const c of parts) {
      let row = by.get(c.path);
      if (!row) {
        row = { path: c.path, container: '', bytes: 0, files: 0 };
        by.set(c.path, row);
      }
      row.bytes += c.bytes;
      row.files += 1;
      // A file's container is known when the file lives in one; name the cgroup by it.
      if (!row.container && f.container && f.cgroups.length === 1) row.container = containerLabel(f.container);
    }
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes);
}

const sum = (xs: (number | null)[]): number => xs.reduce<number>((a, b) => a + (b ?? 0), 0);

function scopeText(doc: FileCacheDocument, t: T): string {
  return doc.scope.kind === 'host' ? t('fc.scope.host') : `${doc.scope.kind} ${doc.scope.query ?? doc.scope.cgroups.join(', ')}`;
}

const bytesCol = (key: string, label: string, get: (f: FileCacheFile) => number | null): Column<FileCacheFile> => ({
  key,
  label,
  numeric: true,
  value: get,
  render: (f) => formatBytes(get(f)),
});

/** The files table (also in the memory panorama): top 30 by cache, sortable and filterable. */
export function FilesTable({ files, testId = 'files-table' }: { files: FileCacheFile[]; testId?: string }) {
  const { t } = useI18n();
  const cols: Column<FileCacheFile>[] = [
    {
      key: 'path',
      label: t('fc.col.path'),
      value: (f) => `${f.path} ${f.containerPath ?? ''}`,
      render: (f) => (
        <span className="path">
          {f.path}
          {f.containerPath && f.containerPath !== f.path && <span className="muted small block">{t('fc.inContainer')}: {f.containerPath}</span>}
        </span>
      ),
      className: 'wrap',
    },
    { key: 'container', label: t('fc.col.container'), value: (f) => containerLabel(f.container) },
    bytesCol('cached', t('fc.col.cached'), (f) => f.cachedBytes),
    { key: 'pct', label: t('fc.col.ofFile'), numeric: true, value: (f) => (f.sizeBytes > 0 ? f.cachedBytes / f.sizeBytes : null), render: (f) => (f.sizeBytes > 0 ? formatShare(Math.min(1, f.cachedBytes / f.sizeBytes)) : MISSING) },
    bytesCol('dirty', t('fc.col.dirty'), (f) => f.dirtyBytes),
    bytesCol('wb', t('fc.col.writeback'), (f) => f.writebackBytes),
    bytesCol('active', t('fc.col.active'), (f) => f.activeBytes),
    bytesCol('size', t('fc.col.size'), (f) => f.sizeBytes),
    {
      key: 'flags',
      label: t('fc.col.flags'),
      value: (f) => [f.deleted ? 'deleted' : '', f.shmem ? 'shmem' : ''].filter(Boolean).join(' '),
      render: (f) => (
        <>
          {f.deleted && <span className="pill pill-bad">{t('fc.flag.deleted')}</span>} {f.shmem && <span className="pill pill-warn">{t('fc.flag.shmem')}</span>}
        </>
      ),
    },
    {
      key: 'holders',
      label: t('fc.col.holders'),
      value: (f) => f.holders.map((h) => `${h.comm} ${h.pid}`).join(' '),
      render: (f) => (f.holders.length === 0 ? <span className="muted">–</span> : <span className="small">{f.holders.slice(0, 4).map((h) => `${h.comm}(${h.pid})`).join(', ')}{f.holders.length > 4 ? ` +${f.holders.length - 4}` : ''}</span>),
      className: 'wrap',
    },
    {
      key: 'cgroups',
      label: t('fc.col.cgroups'),
      value: (f) => f.cgroups.map((c) => c.path).join(' '),
      render: (f) => (
        <span className="path small">
          {f.cgroups.slice(0, 3).map((c) => (
            <span key={c.path} className="block">
              {c.path} <span className="muted">{formatBytes(c.bytes)}</span>
            </span>
          ))}
          {f.cgroups.length > 3 && <span className="muted">+{f.cgroups.length - 3}</span>}
        </span>
      ),
      className: 'wrap',
    },
  ];
  return <DataTable testId={testId} columns={cols} rows={files} rowKey={(f) => `${f.device}:${f.inode}`} initialSort={{ key: 'cached', desc: true }} limit={30} />;
}

export function FileCacheView({ doc }: { doc: FileCacheDocument }) {
  const { t, lang } = useI18n();
  const totals = useMemo(() => cgroupTotals(doc.files), [doc]);
  const listed = sum(doc.files.map((f) => f.cachedBytes));
  const chart = useMemo<ChartOption>(() => {
    const top = totals.slice(0, 12).reverse();
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatBytes(Number(v)) },
      grid: { left: 8, right: 24, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: 'value', splitNumber: 3, axisLabel: { hideOverlap: true, formatter: (v: number) => formatBytes(v) } },
      yAxis: { type: 'category', data: top.map((c) => (c.container ? `${c.container}` : c.path)), axisLabel: { fontSize: 11, width: 260, overflow: 'truncate' } },
      series: [{ type: 'bar', data: top.map((c) => c.bytes), itemStyle: { color: '#3b82f6' }, barMaxWidth: 22 }],
    };
  }, [totals]);
  const fileChart = useMemo<ChartOption>(() => {
    const top = [...doc.files].sort((a, b) => b.cachedBytes - a.cachedBytes).slice(0, 12).reverse();
    const name = (f: FileCacheFile): string => (f.path.length > 48 ? `…${f.path.slice(-47)}` : f.path);
    const ser = (label: string, color: string, get: (f: FileCacheFile) => number) => ({ name: label, type: 'bar', stack: 'c', itemStyle: { color }, barMaxWidth: 22, data: top.map(get) });
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatBytes(Number(v)) },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 24, top: 26, bottom: 24, containLabel: true },
      xAxis: { type: 'value', splitNumber: 3, axisLabel: { hideOverlap: true, formatter: (v: number) => formatBytes(v) } },
      yAxis: { type: 'category', data: top.map(name), axisLabel: { fontSize: 11 } },
      series: [
        ser(t('fc.col.active'), '#2563eb', (f) => f.activeBytes ?? 0),
        ser(t('fc.col.inactive'), '#93c5fd', (f) => Math.max(0, f.cachedBytes - (f.activeBytes ?? 0) - (f.dirtyBytes ?? 0) - (f.writebackBytes ?? 0))),
        ser(t('fc.col.dirty'), '#f59e0b', (f) => (f.dirtyBytes ?? 0) + (f.writebackBytes ?? 0)),
      ],
    };
  }, [doc, t, lang]);

  const totalCols: Column<CgroupTotal>[] = [
    { key: 'path', label: t('fc.col.cgroup'), value: (c) => c.path, className: 'path wrap' },
    { key: 'container', label: t('fc.col.container'), value: (c) => c.container },
    { key: 'bytes', label: t('fc.col.cached'), numeric: true, value: (c) => c.bytes, render: (c) => formatBytes(c.bytes) },
    { key: 'share', label: t('fc.col.share'), numeric: true, value: (c) => c.bytes, render: (c) => formatShare(listed > 0 ? c.bytes / listed : 0) },
    { key: 'files', label: t('fc.col.files'), numeric: true, value: (c) => c.files, render: (c) => formatCount(c.files) },
  ];

  return (
    <>
      <div className="card">
        <div className="card-head">
          <h2>{t('fc.overview')}</h2>
          <span className="muted small">
            {scopeText(doc, t)} · {t('fc.scopeCached', { bytes: formatBytes(doc.scope.cachedBytes) })} · {t('fc.listed', { n: doc.files.length, bytes: formatBytes(listed) })} · {t('fc.measured', { n: formatCount(doc.method.filesMeasured) })}
          </span>
        </div>
        <div className="grid2 charts">
          <div>
            <h3>{t('fc.topFiles')}</h3>
            <Chart option={fileChart} height={Math.max(200, Math.min(12, doc.files.length) * 24 + 60)} testId="chart-fc-files" />
          </div>
          <div>
            <h3>{t('fc.byCgroup')}</h3>
            <Chart option={chart} height={Math.max(200, Math.min(12, totals.length) * 24 + 50)} testId="chart-fc-cgroups" />
          </div>
        </div>
      </div>
      <div className="card" id="files">
        <h2>{t('result.files')}</h2>
        <FilesTable files={doc.files} />
      </div>
      <div className="card" id="containers">
        <h2>{t('fc.perContainer')}</h2>
        <p className="muted small">{t('fc.perContainerNote')}</p>
        <DataTable testId="fc-cgroups-table" columns={totalCols} rows={totals} rowKey={(c) => c.path} initialSort={{ key: 'bytes', desc: true }} limit={50} />
      </div>
    </>
  );
}
