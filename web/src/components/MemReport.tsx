/** The `oscope.mem/v1` view: breakdown charts, then the tables (processes, cgroups, shmem, slab, memcg, unaccounted). */
import { useMemo } from 'react';
import type { BreakdownGroup, Coverage as CoverageRow, MemDocument, Method } from '@contract';
import { containerLabel, formatBytes, formatCount, formatShare } from '@format';
import { itemLabel, type Lang, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';
import { AutoTable } from './AutoTable.js';
import { FilesTable } from './FileCacheView.js';

/** The groups in the order they are drawn (the document's BREAKDOWN_GROUPS, user first). */
export const GROUPS: readonly BreakdownGroup[] = ['user', 'kernel', 'unaccounted', 'free', 'reserved'];
export type Group = BreakdownGroup;
export const GROUP_COLORS: Record<Group, string> = { user: '#3b82f6', kernel: '#f59e0b', unaccounted: '#ef4444', free: '#22c55e', reserved: '#94a3b8' };

const bytesCol = <R,>(key: string, label: string, get: (r: R) => number | null | undefined): Column<R> => ({
  key,
  label,
  numeric: true,
  value: (r) => get(r) ?? null,
  render: (r) => formatBytes(get(r)),
});

export function groupBytes(doc: MemDocument, g: Group): number {
  return doc.breakdown.groups[g] ?? doc.breakdown.items.filter((i) => i.group === g && !i.partOf).reduce((s, i) => s + i.bytes, 0);
}

function donut(doc: MemDocument, t: (k: `group.${Group}`) => string): ChartOption {
  const total = doc.breakdown.totalBytes || 1;
  return {
    tooltip: { trigger: 'item', formatter: (p: { name: string; value: number }) => `${p.name}: ${formatBytes(p.value)} (${formatShare(p.value / total)})` },
    legend: { bottom: 0, textStyle: { fontSize: 12 } },
    series: [
      {
        type: 'pie',
        radius: ['48%', '75%'],
        center: ['50%', '45%'],
        avoidLabelOverlap: true,
        itemStyle: { borderColor: '#fff', borderWidth: 2 },
        label: { formatter: (p: { name: string; value: number }) => `${p.name}\n${formatBytes(p.value)}`, fontSize: 11 },
        data: GROUPS.map((g) => ({ name: t(`group.${g}`), value: groupBytes(doc, g), itemStyle: { color: GROUP_COLORS[g] } })).filter((d) => d.value > 0),
      },
    ],
  };
}

function treemap(doc: MemDocument, lang: Lang, t: (k: `group.${Group}`) => string): ChartOption {
  const total = doc.breakdown.totalBytes || 1;
  return {
    tooltip: { formatter: (p: { name: string; value: number }) => `${p.name}: ${formatBytes(p.value)} (${formatShare(p.value / total)})` },
    series: [
      {
        type: 'treemap',
        roam: false,
        nodeClick: false,
        breadcrumb: { show: false },
        // The whole box: ECharts' defaults centre an 80 % box, which left a band empty above the map.
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
        label: { formatter: (p: { name: string; value: number }) => `${p.name}\n${formatBytes(p.value)}`, fontSize: 11 },
        upperLabel: { show: true, height: 18, color: '#fff', fontWeight: 'bold' },
        levels: [{ itemStyle: { borderColor: '#fff', borderWidth: 2, gapWidth: 2 } }, { itemStyle: { borderColor: 'rgba(255,255,255,.6)', borderWidth: 1, gapWidth: 1 } }],
        // Free memory is the donut's story; here the used memory gets the room.
        data: GROUPS.filter((g) => g !== 'free').map((g) => ({
          name: t(`group.${g}`),
          itemStyle: { color: GROUP_COLORS[g] },
          children: doc.breakdown.items.filter((i) => i.group === g && !i.partOf && i.bytes > 0).map((i) => ({ name: itemLabel(lang, i.key), value: i.bytes })),
        })).filter((g) => g.children.length > 0),
      },
    ],
  };
}

export function MemCharts({ doc }: { doc: MemDocument }) {
  const { t, lang } = useI18n();
  const d = useMemo(() => donut(doc, t), [doc, lang, t]);
  const tm = useMemo(() => treemap(doc, lang, t), [doc, lang, t]);
  return (
    <div className="card">
      <div className="card-head">
        <h2>{t('result.charts')}</h2>
        <span className="muted small">{t('result.total', { total: formatBytes(doc.breakdown.totalBytes), available: formatBytes(doc.host.availableBytes) })}</span>
      </div>
      <div className="group-strip" data-testid="group-strip">
        {GROUPS.map((g) => {
          const b = groupBytes(doc, g);
          return (
            <div key={g} className="group-cell" style={{ borderTopColor: GROUP_COLORS[g] }}>
              <span className="muted small">{t(`group.${g}`)}</span>
              <strong>{formatBytes(b)}</strong>
              <span className="muted small">{formatShare(b / (doc.breakdown.totalBytes || 1))}</span>
            </div>
          );
        })}
      </div>
      <div className="grid2 charts">
        <div>
          <h3>{t('result.byGroup')}</h3>
          <Chart option={d} height={300} testId="chart-donut" />
        </div>
        <div>
          <h3>{t('result.byItem')}</h3>
          <Chart option={tm} height={300} testId="chart-treemap" />
        </div>
      </div>
      {doc.breakdown.notes.length > 0 && (
        <ul className="notes muted small">
          {doc.breakdown.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function MemTables({ doc }: { doc: MemDocument }) {
  const { t } = useI18n();
  type P = MemDocument['processes'][number];
  type C = MemDocument['cgroups'][number];
  type S = MemDocument['slab']['top'][number];
  const procCols: Column<P>[] = [
    { key: 'pid', label: 'PID', numeric: true, value: (p) => p.pid },
    { key: 'comm', label: 'COMM', value: (p) => p.comm, render: (p) => <strong>{p.comm}</strong> },
    bytesCol<P>('rss', 'RSS', (p) => p.rssBytes),
    bytesCol<P>('pss', 'PSS', (p) => p.pssBytes),
    bytesCol<P>('anon', 'ANON', (p) => p.anonBytes),
    bytesCol<P>('file', 'FILE', (p) => p.fileBytes),
    bytesCol<P>('shmem', 'SHMEM', (p) => p.shmemBytes),
    bytesCol<P>('swap', 'SWAP', (p) => p.swapBytes),
    { key: 'threads', label: 'THREADS', numeric: true, value: (p) => p.threads ?? null },
    { key: 'where', label: 'CONTAINER / CGROUP', value: (p) => containerLabel(p.container) || (p.cgroup ?? ''), className: 'path wrap' },
  ];
  const cgCols: Column<C>[] = [
    { key: 'path', label: 'CGROUP', value: (c) => c.path, className: 'path wrap' },
    { key: 'container', label: 'CONTAINER', value: (c) => containerLabel(c.container) },
    bytesCol<C>('usage', 'USAGE', (c) => c.usageBytes),
    bytesCol<C>('anon', 'ANON', (c) => c.anonBytes),
    bytesCol<C>('file', 'FILE', (c) => c.fileBytes),
    bytesCol<C>('active', 'ACTIVE FILE', (c) => c.activeFileBytes),
    bytesCol<C>('shmem', 'SHMEM', (c) => c.shmemBytes),
    bytesCol<C>('ws', 'WORKINGSET', (c) => c.workingsetBytes),
    { key: 'limit', label: 'LIMIT', numeric: true, value: (c) => c.limitBytes, render: (c) => (c.limitBytes === null ? 'max' : formatBytes(c.limitBytes)) },
  ];
  const slabCols: Column<S>[] = [
    { key: 'name', label: 'CACHE', value: (s) => s.name, render: (s) => <code>{s.name}</code> },
    bytesCol<S>('bytes', 'BYTES', (s) => s.bytes),
    { key: 'objs', label: 'OBJECTS', numeric: true, value: (s) => s.objs, render: (s) => formatCount(s.objs) },
    { key: 'active', label: 'ACTIVE', numeric: true, value: (s) => s.activeObjs, render: (s) => formatCount(s.activeObjs) },
    bytesCol<S>('size', 'OBJ SIZE', (s) => s.objSizeBytes),
    { key: 'recl', label: 'RECLAIMABLE', value: (s) => (s.reclaimable === null ? '?' : s.reclaimable ? 'yes' : 'no') },
  ];
  const un = doc.unaccounted;
  const unRows: { what: string; bytes: number | null }[] = [
    { what: 'unaccounted (MemTotal − counters)', bytes: un.bytes },
    { what: 'kpageflags estimate', bytes: un.kpageEstimateBytes },
    { what: 'socket buffers (sockstat)', bytes: un.socketBytes },
    { what: un.bpf ? `BPF maps (${un.bpf.maps}) / programs (${un.bpf.progs})` : 'BPF maps', bytes: un.bpf?.mapBytes ?? null },
    { what: 'vmalloc (vmallocinfo)', bytes: un.vmallocBytes },
  ];
  return (
    <>
      <div className="card" id="processes">
        <h2>{t('result.processes')}</h2>
        <DataTable testId="processes-table" columns={procCols} rows={doc.processes} rowKey={(p) => String(p.pid)} initialSort={{ key: 'rss', desc: true }} limit={30} />
      </div>
      {doc.fileCache && doc.fileCache.files.length > 0 && (
        <div className="card" id="files">
          <div className="card-head">
            <h2>{t('result.files')}</h2>
            <span className="muted small">{doc.fileCache.method}</span>
          </div>
          <FilesTable files={doc.fileCache.files} />
        </div>
      )}
      <div className="card" id="cgroups">
        <h2>{t('result.cgroups')}</h2>
        <DataTable testId="cgroups-table" columns={cgCols} rows={doc.cgroups} rowKey={(c) => c.path} initialSort={{ key: 'usage', desc: true }} limit={30} />
      </div>
      <div className="card" id="shmem">
        <div className="card-head">
          <h2>{t('result.shmem')}</h2>
          <span className="muted small">
            {formatBytes(doc.shmem.totalBytes)} · residual {formatBytes(doc.shmem.residualBytes)}
          </span>
        </div>
        <h3>{t('result.tmpfs')}</h3>
        <AutoTable rows={doc.shmem.tmpfs} testId="tmpfs-table" />
        {doc.shmem.sysv.length > 0 && (
          <>
            <h3>{t('result.sysv')}</h3>
            <AutoTable rows={doc.shmem.sysv} testId="sysv-table" />
          </>
        )}
        {doc.shmem.deletedOpen.length > 0 && (
          <>
            <h3>{t('result.deletedOpen')}</h3>
            <AutoTable rows={doc.shmem.deletedOpen} limit={30} testId="deleted-table" />
          </>
        )}
      </div>
      <div className="card" id="slab">
        <div className="card-head">
          <h2>{t('result.slab')}</h2>
          <span className="muted small">
            reclaimable {formatBytes(doc.slab.reclaimableBytes)} · unreclaimable {formatBytes(doc.slab.unreclaimableBytes)} · dentries {formatCount(doc.slab.dentry.total)} (unused {formatCount(doc.slab.dentry.unused)}, negative{' '}
            {formatCount(doc.slab.dentry.negative)})
          </span>
        </div>
        <DataTable testId="slab-table" columns={slabCols} rows={doc.slab.top} rowKey={(s) => s.name} initialSort={{ key: 'bytes', desc: true }} limit={30} />
      </div>
      <div className="grid2">
        <div className="card" id="memcg">
          <h2>{t('result.memcg')}</h2>
          <p>{t('result.memcgSummary', { total: doc.memcg.total, visible: doc.memcg.visible, zombies: doc.memcg.zombies, bytes: formatBytes(doc.memcg.zombieBytes) })}</p>
          {doc.memcg.byParent.length > 0 && <AutoTable rows={doc.memcg.byParent} limit={30} />}
        </div>
        <div className="card" id="unaccounted">
          <h2>{t('result.unaccounted')}</h2>
          <table className="data compact">
            <tbody>
              {unRows
                .filter((r) => r.bytes !== null)
                .map((r) => (
                  <tr key={r.what}>
                    <td>{r.what}</td>
                    <td className="num">{formatBytes(r.bytes)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          {un.vmallocTop.length > 0 && (
            <>
              <h3>{t('result.vmalloc')}</h3>
              <AutoTable rows={un.vmallocTop} limit={15} />
            </>
          )}
          {un.pageTableTop.length > 0 && (
            <>
              <h3>page tables</h3>
              <AutoTable rows={un.pageTableTop} limit={10} />
            </>
          )}
          {un.kernelStackTop.length > 0 && (
            <>
              <h3>kernel stacks</h3>
              <AutoTable rows={un.kernelStackTop} limit={10} />
            </>
          )}
          {un.allocinfoTop && un.allocinfoTop.length > 0 && (
            <>
              <h3>allocinfo</h3>
              <AutoTable rows={un.allocinfoTop} limit={15} />
            </>
          )}
        </div>
      </div>
    </>
  );
}

/** How each part was measured (a document's `method`, words or numbers) and what each section could see. */
export function Coverage({ method, coverage }: { method: Method | Record<string, string | number>; coverage: CoverageRow[] }) {
  const { t } = useI18n();
  return (
    <details className="card coverage">
      <summary>
        <h2>{t('result.coverage')}</h2>
      </summary>
      <dl className="kv">
        {Object.entries(method).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <ul className="coverage-list">
        {coverage.map((c) => (
          <li key={c.section}>
            <span className={`pill ${c.status === 'complete' ? 'pill-ok' : c.status === 'partial' ? 'pill-warn' : 'pill-bad'}`}>{c.status}</span> <strong>{c.section}</strong>{' '}
            {c.reason && <span className="muted">— {c.reason}</span>}
          </li>
        ))}
      </ul>
    </details>
  );
}
