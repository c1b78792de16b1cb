/**
 * The `oscope.io/v1` view: where a request's time goes per disk (one stacked bar per disk: queue,
 * scheduler, device, wake), the disks as iostat -x shows them, the stage histograms, the top talkers
 * (processes, cgroups, files), the slow requests, the hangs with the D-state tasks behind them, and
 * iowait per task. Everything comes from the document; the UI computes no finding.
 */
import { useMemo, useState } from 'react';
import type { IoCgroupTraffic, IoDTaskGroup, IoDisk, IoDiskLatency, IoDocument, IoFileTraffic, IoHang, IoProcessTraffic, IoSlowRequest, IoStageName, IoWaitTask } from '@contract';
import { containerLabel, formatBytes, formatCount, formatDurationMsShort as formatMs } from '@format';
import { type T, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';
import { histogramOption, log2Labels } from './Latency.js';

export const STAGES: readonly IoStageName[] = ['queue', 'sched', 'device', 'wake'];
/** One colour per stage, the same in every chart: the OS side in blues, the device in orange, the wake-up in violet. */
export const STAGE_COLORS: Record<IoStageName, string> = { queue: '#60a5fa', sched: '#1d4ed8', device: '#f59e0b', wake: '#a855f7' };

export const stageLabel = (t: T, s: IoStageName): string => t(`io.stage.${s}`);

/** The stacked bar: one row per disk, the mean time of a request in each stage (ms). */
export function stageBreakdownOption(t: T, perDisk: IoDiskLatency[]): ChartOption {
  const disks = [...perDisk].sort((a, b) => total(b) - total(a));
  return {
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (items: unknown) => {
        const list = items as { axisValue: string; seriesName: string; dataIndex: number; color: string }[];
        const d = disks[list[0]?.dataIndex ?? 0];
        if (!d) return '';
        const rows = STAGES.map((s) => {
          const st = d.stages[s];
          return `<span style="color:${STAGE_COLORS[s]}">●</span> ${stageLabel(t, s)}: ${formatMs(st.meanMs)} · p50 ${formatMs(st.p50Ms)} · p99 ${formatMs(st.p99Ms)} · ${formatCount(st.count)}`;
        });
        return [`<strong>${d.disk}</strong>`, ...rows].join('<br/>');
      },
    },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 24, top: 28, bottom: 28, containLabel: true },
    xAxis: { type: 'value', name: t('io.meanPerRequest'), nameLocation: 'middle', nameGap: 24, nameTextStyle: { fontSize: 10 }, axisLabel: { formatter: (v: number) => formatMs(v) } },
    yAxis: { type: 'category', data: disks.map((d) => d.disk), inverse: true },
    series: STAGES.map((s) => ({
      name: stageLabel(t, s),
      type: 'bar',
      stack: 'stages',
      barMaxWidth: 26,
      itemStyle: { color: STAGE_COLORS[s] },
      label: { show: true, formatter: (p: { value: number }) => (p.value > 0 && p.value >= total0(disks) * 0.08 ? formatMs(p.value) : ''), fontSize: 10, color: '#fff' },
      data: disks.map((d) => d.stages[s].meanMs),
    })),
  };
}

const total = (d: IoDiskLatency): number => STAGES.reduce((a, s) => a + d.stages[s].meanMs, 0);
const total0 = (ds: IoDiskLatency[]): number => Math.max(0, ...ds.map(total));

/** Who: "comm (pid)" or a container label. */
function who(comm: string, pid: number) {
  return (
    <span>
      <strong>{comm}</strong> <span className="muted">({pid})</span>
    </span>
  );
}

function Stack({ stack }: { stack: string[] }) {
  if (stack.length === 0) return <span className="muted">–</span>;
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

export function IoView({ doc }: { doc: IoDocument }) {
  const { t } = useI18n();
  const perDisk = doc.latency.perDisk.filter((d) => STAGES.some((s) => d.stages[s].count > 0));
  const breakdown = useMemo(() => stageBreakdownOption(t, perDisk), [t, perDisk]);
  const [histDisk, setHistDisk] = useState('');
  const chosen = perDisk.find((d) => d.disk === histDisk) ?? perDisk[0];
  const hist = useMemo(() => {
    if (!chosen) return undefined;
    const width = Math.max(1, ...STAGES.map((s) => chosen.stages[s].histogram.length));
    return histogramOption(
      log2Labels(width),
      STAGES.map((s) => ({ name: stageLabel(t, s), data: Array.from({ length: width }, (_, i) => chosen.stages[s].histogram[i] ?? 0), color: STAGE_COLORS[s] })),
      { yName: t('io.requests') },
    );
  }, [chosen, t]);

  const diskCols: Column<IoDisk>[] = [
    { key: 'name', label: t('io.col.disk'), value: (d) => d.name, render: (d) => <span><strong>{d.name}</strong> <span className="muted small">{d.majMin}{d.model ? ` · ${d.model}` : ''}</span></span> },
    { key: 'sched', label: t('io.col.scheduler'), value: (d) => d.scheduler, className: 'muted small' },
    { key: 'iops', label: 'IOPS', numeric: true, value: (d) => d.iops, render: (d) => formatCount(Math.round(d.iops)) },
    { key: 'r', label: t('io.col.readPerS'), numeric: true, value: (d) => d.readBytesPerS, render: (d) => `${formatBytes(d.readBytesPerS)}/s` },
    { key: 'w', label: t('io.col.writePerS'), numeric: true, value: (d) => d.writeBytesPerS, render: (d) => `${formatBytes(d.writeBytesPerS)}/s` },
    { key: 'await', label: 'await', numeric: true, value: (d) => d.awaitMs, render: (d) => formatMs(d.awaitMs) },
    { key: 'util', label: '%util', numeric: true, value: (d) => d.utilPct, render: (d) => <span className={d.utilPct >= (doc.thresholds['io.utilPct'] ?? 90) ? 'bad' : ''}>{d.utilPct.toFixed(1)} %</span> },
    { key: 'qd', label: 'aqu-sz', numeric: true, value: (d) => d.queueDepth },
    { key: 'inflight', label: t('io.col.inflight'), numeric: true, value: (d) => d.inflight },
  ];
  const procCols: Column<IoProcessTraffic>[] = [
    { key: 'who', label: t('io.col.process'), value: (p) => `${p.comm} ${p.pid}`, render: (p) => who(p.comm, p.pid) },
    { key: 'r', label: t('io.col.read'), numeric: true, value: (p) => p.readBytes, render: (p) => formatBytes(p.readBytes) },
    { key: 'w', label: t('io.col.write'), numeric: true, value: (p) => p.writeBytes, render: (p) => formatBytes(p.writeBytes) },
    { key: 'd', label: t('io.col.dirtied'), numeric: true, value: (p) => p.dirtiedBytes, render: (p) => formatBytes(p.dirtiedBytes) },
    { key: 'cg', label: t('io.col.cgroup'), value: (p) => (p.container ? containerLabel(p.container) : p.cgroup), render: (p) => (p.container ? <span>{containerLabel(p.container)}</span> : <code className="path">{p.cgroup}</code>), className: 'wrap' },
  ];
  const cgCols: Column<IoCgroupTraffic>[] = [
    { key: 'path', label: t('io.col.cgroup'), value: (c) => c.path, render: (c) => <code className="path">{c.path}</code>, className: 'wrap' },
    { key: 'container', label: t('io.col.container'), value: (c) => (c.container ? containerLabel(c.container) : '') },
    { key: 'r', label: t('io.col.read'), numeric: true, value: (c) => c.readBytes, render: (c) => formatBytes(c.readBytes) },
    { key: 'w', label: t('io.col.write'), numeric: true, value: (c) => c.writeBytes, render: (c) => formatBytes(c.writeBytes) },
  ];
  const fileCols: Column<IoFileTraffic>[] = [
    { key: 'path', label: t('io.col.file'), value: (f) => f.path, render: (f) => <code className="path">{f.path}</code>, className: 'wrap' },
    { key: 'r', label: t('io.col.read'), numeric: true, value: (f) => f.readBytes, render: (f) => formatBytes(f.readBytes) },
    { key: 'w', label: t('io.col.write'), numeric: true, value: (f) => f.writeBytes, render: (f) => formatBytes(f.writeBytes) },
    { key: 'writers', label: t('io.col.writers'), value: (f) => f.writers.map((w) => `${w.comm} ${w.pid}`).join(', '), className: 'small wrap' },
  ];
  const slowCols: Column<IoSlowRequest>[] = [
    { key: 'total', label: t('io.col.total'), numeric: true, value: (s) => s.totalMs, render: (s) => <strong>{formatMs(s.totalMs)}</strong> },
    ...STAGES.map(
      (st): Column<IoSlowRequest> => ({
        key: st,
        label: stageLabel(t, st),
        numeric: true,
        value: (s) => (st === 'wake' ? s.wakeMs : s[`${st}Ms`]),
        render: (s) => {
          const v = st === 'wake' ? s.wakeMs : s[`${st}Ms`];
          return v === null ? <span className="muted">–</span> : formatMs(v);
        },
      }),
    ),
    { key: 'disk', label: t('io.col.disk'), value: (s) => s.disk },
    { key: 'op', label: 'op', value: (s) => s.op },
    { key: 'size', label: t('io.col.size'), numeric: true, value: (s) => s.sizeBytes, render: (s) => formatBytes(s.sizeBytes) },
    { key: 'sector', label: 'sector', numeric: true, value: (s) => s.sector, className: 'muted small' },
    { key: 'who', label: t('io.col.process'), value: (s) => `${s.comm} ${s.pid}`, render: (s) => who(s.comm, s.pid) },
    { key: 'cg', label: t('io.col.cgroup'), value: (s) => (s.container ? containerLabel(s.container) : s.cgroup), className: 'small wrap' },
    { key: 'file', label: t('io.col.file'), value: (s) => s.file ?? '', render: (s) => (s.file ? <code className="path">{s.file}</code> : <span className="muted">–</span>), className: 'wrap' },
    { key: 'at', label: t('lat.col.at'), value: (s) => s.at, render: (s) => <span className="nowrap small">{s.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</span> },
  ];
  const hangCols: Column<IoHang>[] = [
    { key: 'age', label: t('io.col.age'), numeric: true, value: (h) => h.ageS, render: (h) => <strong className="bad">{h.kind === 'disk' ? '≥ ' : ''}{h.ageS.toFixed(1)} s</strong> },
    { key: 'disk', label: t('io.col.disk'), value: (h) => h.disk },
    { key: 'kind', label: t('io.col.kind'), value: (h) => t(`io.hang.${h.kind}`) },
    { key: 'count', label: t('io.col.count'), numeric: true, value: (h) => h.count },
    { key: 'op', label: 'op', value: (h) => h.op ?? '' },
    { key: 'sector', label: 'sector', numeric: true, value: (h) => h.sector, className: 'muted small' },
    { key: 'who', label: t('io.col.process'), value: (h) => (h.comm ? `${h.comm} ${h.pid ?? ''}` : ''), render: (h) => (h.comm ? who(h.comm, h.pid ?? 0) : <span className="muted">–</span>) },
  ];
  const dCols: Column<IoDTaskGroup>[] = [
    { key: 'n', label: t('io.col.tasks'), numeric: true, value: (g) => g.tasks.length },
    { key: 'who', label: t('io.col.process'), value: (g) => g.tasks.map((x) => `${x.comm} ${x.tid}`).join(', '), render: (g) => <span className="small">{g.tasks.slice(0, 6).map((x) => `${x.comm} (${x.tid})`).join(', ')}{g.tasks.length > 6 ? ` +${g.tasks.length - 6}` : ''}</span>, className: 'wrap' },
    { key: 'stack', label: t('lat.col.stack'), value: (g) => g.stack.join(' '), render: (g) => <Stack stack={g.stack} />, className: 'wrap' },
  ];
  const waitCols: Column<IoWaitTask>[] = [
    { key: 'who', label: t('io.col.process'), value: (w) => `${w.comm} ${w.tid}`, render: (w) => who(w.comm, w.tid) },
    { key: 'ms', label: t('io.col.iowait'), numeric: true, value: (w) => w.iowaitMs, render: (w) => formatMs(w.iowaitMs) },
    { key: 'pct', label: '%', numeric: true, value: (w) => w.iowaitPct, render: (w) => `${w.iowaitPct.toFixed(1)} %` },
    { key: 'count', label: t('io.col.count'), numeric: true, value: (w) => w.count },
    { key: 'max', label: t('lat.max'), numeric: true, value: (w) => w.maxMs, render: (w) => formatMs(w.maxMs) },
    { key: 'stack', label: t('lat.col.stack'), value: (w) => w.stack.join(' '), render: (w) => <Stack stack={w.stack} />, className: 'wrap' },
  ];

  return (
    <>
      <div className="card" id="io-stages" data-testid="io-stages">
        <div className="card-head">
          <h2>{t('io.stages')}</h2>
          <span className="muted small">{t('io.window', { s: doc.intervalS, slow: formatCount(doc.latency.slow.length), lost: formatCount(doc.latency.lostEvents) })}</span>
        </div>
        {perDisk.length === 0 ? (
          <p className="muted">{t('io.noLatency')}</p>
        ) : (
          <>
            <div className="stage-strip">
              {perDisk.map((d) => (
                <span key={d.disk} className="pill" data-testid={`io-dominant-${d.disk}`}>
                  <strong>{d.disk}</strong>: {d.dominant ? t('io.dominant', { stage: stageLabel(t, d.dominant) }) : '–'}
                </span>
              ))}
            </div>
            <Chart option={breakdown} height={Math.max(120, 44 + perDisk.length * 36)} testId="chart-io-stages" />
            <p className="muted small">{t('io.stagesHint')}</p>
          </>
        )}
      </div>

      <div className="card" id="io-disks">
        <div className="card-head">
          <h2>{t('io.disks')}</h2>
          {doc.psi && <span className="muted small">{t('io.psi', { some: doc.psi.someAvg10.toFixed(1), full: doc.psi.fullAvg10.toFixed(1) })}</span>}
        </div>
        <DataTable testId="io-disks-table" columns={diskCols} rows={doc.disks} rowKey={(d) => d.name} initialSort={{ key: 'util', desc: true }} emptyText={t('io.noDisks')} />
      </div>

      {chosen && hist && (
        <div className="card" id="io-histograms">
          <div className="card-head">
            <h2>{t('io.histograms')}</h2>
            <div className="spacer" />
            <select value={chosen.disk} onChange={(e) => setHistDisk(e.target.value)} aria-label={t('io.col.disk')} data-testid="io-hist-disk">
              {perDisk.map((d) => (
                <option key={d.disk} value={d.disk}>
                  {d.disk}
                </option>
              ))}
            </select>
          </div>
          <Chart option={hist} height={240} testId="chart-io-hist" />
          <table className="data compact">
            <thead>
              <tr>
                <th>{t('io.col.stage')}</th>
                <th className="num">{t('io.requests')}</th>
                <th className="num">{t('io.col.mean')}</th>
                <th className="num">p50</th>
                <th className="num">p99</th>
                <th className="num">{t('lat.max')}</th>
              </tr>
            </thead>
            <tbody>
              {STAGES.map((s) => (
                <tr key={s}>
                  <td>
                    <span style={{ color: STAGE_COLORS[s] }}>●</span> {stageLabel(t, s)}
                  </td>
                  <td className="num">{formatCount(chosen.stages[s].count)}</td>
                  <td className="num">{formatMs(chosen.stages[s].meanMs)}</td>
                  <td className="num">{formatMs(chosen.stages[s].p50Ms)}</td>
                  <td className="num">{formatMs(chosen.stages[s].p99Ms)}</td>
                  <td className="num">{formatMs(chosen.stages[s].maxMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div className="card" id="io-talkers" data-testid="io-talkers">
        <h2>{t('io.talkers')}</h2>
        <div className="grid2">
          <div>
            <h3>{t('io.processes')}</h3>
            <DataTable testId="io-processes" columns={procCols} rows={doc.traffic.processes} rowKey={(p) => String(p.pid)} initialSort={{ key: 'w', desc: true }} limit={50} emptyText={t('io.noTraffic')} />
          </div>
          <div>
            <h3>{t('io.cgroups')}</h3>
            <DataTable testId="io-cgroups" columns={cgCols} rows={doc.traffic.cgroups} rowKey={(c) => c.path} initialSort={{ key: 'w', desc: true }} limit={50} emptyText={t('io.noTraffic')} />
          </div>
        </div>
        <h3>{t('io.files')}</h3>
        <DataTable testId="io-files" columns={fileCols} rows={doc.traffic.files} rowKey={(f) => f.path} initialSort={{ key: 'w', desc: true }} limit={50} emptyText={t('io.noFiles')} />
      </div>

      <div className="card" id="io-slow">
        <h2>{t('io.slow', { ms: formatMs(doc.thresholds['io.slowMs'] ?? 0) })}</h2>
        <DataTable testId="io-slow" columns={slowCols} rows={doc.latency.slow} rowKey={(s, i) => `${s.at}-${s.sector ?? ''}-${i}`} initialSort={{ key: 'total', desc: true }} limit={200} emptyText={t('io.noSlow')} />
      </div>

      <div className="card" id="io-hangs" data-testid="io-hangs">
        <h2>{t('io.hangs', { s: doc.thresholds['io.hangS'] ?? 0 })}</h2>
        <DataTable testId="io-hangs-table" columns={hangCols} rows={doc.hangs} rowKey={(h, i) => `${h.disk}-${h.kind}-${i}`} initialSort={{ key: 'age', desc: true }} emptyText={t('io.noHangs')} />
        <h3>{t('io.dTasks')}</h3>
        <DataTable testId="io-dtasks" columns={dCols} rows={doc.dTasks} rowKey={(g, i) => `${g.stack[0] ?? ''}-${i}`} initialSort={{ key: 'n', desc: true }} emptyText={t('io.noDTasks')} />
      </div>

      <div className="card" id="io-iowait">
        <h2>{t('io.iowait')}</h2>
        <DataTable testId="io-iowait" columns={waitCols} rows={doc.iowait.tasks} rowKey={(w) => String(w.tid)} initialSort={{ key: 'ms', desc: true }} limit={50} emptyText={t('io.noIowait')} />
      </div>
    </>
  );
}
