/**
 * The `oscope.load/v1` view: the load average against the CPU count, the CPU time split, who makes the
 * load (share of the samples each process was runnable or in D state), D tasks grouped by kernel stack,
 * fork/exec rates with the parents that fork, CPU throttling per cgroup and the run queue per CPU. The
 * findings lead the page (Result.tsx); everything here comes from the document, the UI decides nothing.
 */
import { useMemo } from 'react';
import type { LoadCpu, LoadCpuQueue, LoadDStack, LoadDocument, LoadForkParent, LoadTask, LoadThrottled } from '@contract';
import { containerLabel, formatCount, formatDurationMsShort as formatMs, formatPct } from '@format';
import { type Key, type T, useI18n } from '../i18n.js';
import { Chart, type ChartOption } from './Chart.js';
import { DataTable, type Column } from './DataTable.js';

const SPLIT: { key: keyof LoadCpu; label: Key; color: string }[] = [
  { key: 'userPct', label: 'load.cpu.user', color: '#3b82f6' },
  { key: 'sysPct', label: 'load.cpu.sys', color: '#ef4444' },
  { key: 'irqPct', label: 'load.cpu.irq', color: '#f97316' },
  { key: 'softirqPct', label: 'load.cpu.softirq', color: '#f59e0b' },
  { key: 'iowaitPct', label: 'load.cpu.iowait', color: '#a855f7' },
  { key: 'stealPct', label: 'load.cpu.steal', color: '#64748b' },
  { key: 'idlePct', label: 'load.cpu.idle', color: '#e2e8f0' },
];

/** load1/5/15 as bars next to the CPU count: above the CPU bar, tasks wait for a CPU (or in D). */
function loadavgOption(t: T, doc: LoadDocument): ChartOption {
  const la = doc.loadavg;
  const over = (v: number): string => (v > la.cpus ? '#ef4444' : v > la.cpus * 0.7 ? '#f59e0b' : '#3b82f6');
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: ['load1', 'load5', 'load15', t('load.cpus')] },
    yAxis: { type: 'value' },
    series: [
      {
        type: 'bar',
        barMaxWidth: 48,
        label: { show: true, position: 'top', formatter: (p: { value: number }) => p.value.toFixed(2) },
        data: [
          { value: la.load1, itemStyle: { color: over(la.load1) } },
          { value: la.load5, itemStyle: { color: over(la.load5) } },
          { value: la.load15, itemStyle: { color: over(la.load15) } },
          { value: la.cpus, itemStyle: { color: '#94a3b8' } },
        ],
      },
    ],
  };
}

/** One stacked bar of all CPUs' time over the interval. */
function splitOption(t: T, cpu: LoadCpu): ChartOption {
  return {
    tooltip: { trigger: 'item', formatter: (p: { seriesName: string; value: number }) => `${p.seriesName}: ${formatPct(p.value)}` },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: (v: number) => `${v}%` } },
    yAxis: { type: 'category', data: ['CPU'] },
    series: SPLIT.map((s) => ({
      name: t(s.label),
      type: 'bar',
      stack: 'cpu',
      barMaxWidth: 40,
      itemStyle: { color: s.color },
      label: { show: true, formatter: (p: { value: number }) => (p.value >= 6 ? formatPct(p.value) : ''), fontSize: 10, color: s.key === 'idlePct' ? '#475569' : '#fff' },
      data: [cpu[s.key]],
    })),
  };
}

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

const cgroupOf = (x: { cgroup: string; container?: LoadTask['container'] }): string => (x.container ? containerLabel(x.container) : x.cgroup);

export function LoadView({ doc }: { doc: LoadDocument }) {
  const { t } = useI18n();
  const la = useMemo(() => loadavgOption(t, doc), [t, doc]);
  const split = useMemo(() => splitOption(t, doc.cpu), [t, doc.cpu]);

  const taskCols: Column<LoadTask>[] = [
    { key: 'who', label: t('load.col.process'), value: (x) => `${x.comm} ${x.pid}`, render: (x) => who(x.comm, x.pid) },
    { key: 'r', label: t('load.col.runnable'), numeric: true, value: (x) => x.runnablePct, render: (x) => formatPct(x.runnablePct) },
    { key: 'd', label: t('load.col.d'), numeric: true, value: (x) => x.uninterruptiblePct, render: (x) => formatPct(x.uninterruptiblePct) },
    { key: 'threads', label: t('load.col.threads'), numeric: true, value: (x) => x.threads },
    { key: 'pinned', label: t('load.col.pinned'), value: (x) => (x.pinned ? t('common.yes') : ''), className: 'small' },
    { key: 'cg', label: t('load.col.cgroup'), value: cgroupOf, render: (x) => (x.container ? <span>{containerLabel(x.container)}</span> : <code className="path">{x.cgroup}</code>), className: 'wrap' },
  ];
  const dCols: Column<LoadDStack>[] = [
    { key: 'n', label: t('load.col.tasks'), numeric: true, value: (g) => g.tasks, render: (g) => <strong>{formatCount(g.tasks)}</strong> },
    { key: 'wait', label: t('load.col.waitIn'), value: (g) => g.waitIn, render: (g) => <code>{g.waitIn}</code> },
    { key: 'max', label: t('load.col.maxWait'), numeric: true, value: (g) => g.maxWaitMs, render: (g) => `${g.waitSource === 'observed' ? '≥ ' : ''}${formatMs(g.maxWaitMs)}` },
    { key: 'pids', label: t('load.col.pids'), value: (g) => g.comms.join(', '), render: (g) => <span className="small">{g.pids.slice(0, 6).map((p, i) => `${g.comms[i] ?? '?'} (${p})`).join(', ')}{g.pids.length > 6 ? ` +${g.pids.length - 6}` : ''}</span>, className: 'wrap' },
    { key: 'owner', label: t('load.col.owner'), value: (g) => (g.mutexOwner ? `${g.mutexOwner.comm} ${g.mutexOwner.pid}` : ''), render: (g) => (g.mutexOwner ? who(g.mutexOwner.comm, g.mutexOwner.pid) : <span className="muted">–</span>) },
    { key: 'stack', label: t('load.col.stack'), value: (g) => g.stack.join(' '), render: (g) => <Stack stack={g.stack} />, className: 'wrap' },
  ];
  const forkCols: Column<LoadForkParent>[] = [
    { key: 'who', label: t('load.col.process'), value: (f) => `${f.comm} ${f.pid}`, render: (f) => who(f.comm, f.pid) },
    { key: 'forks', label: t('load.col.forks'), numeric: true, value: (f) => f.forks, render: (f) => formatCount(f.forks) },
    { key: 'perS', label: t('load.col.forksPerS'), numeric: true, value: (f) => f.forksPerS, render: (f) => f.forksPerS.toFixed(1) },
    { key: 'execs', label: t('load.col.execs'), numeric: true, value: (f) => f.execs, render: (f) => formatCount(f.execs) },
    { key: 'cg', label: t('load.col.cgroup'), value: cgroupOf, className: 'small wrap' },
  ];
  const thrCols: Column<LoadThrottled>[] = [
    { key: 'cg', label: t('load.col.cgroup'), value: cgroupOf, render: (c) => <span><code className="path">{c.cgroup}</code>{c.container ? <span className="muted small"> {containerLabel(c.container)}</span> : null} <span className="muted small">v{c.version}</span></span>, className: 'wrap' },
    { key: 'quota', label: t('load.col.quota'), numeric: true, value: (c) => c.quotaCpus, render: (c) => (c.quotaCpus === null ? '–' : c.quotaCpus.toFixed(2)) },
    { key: 'usage', label: t('load.col.usage'), numeric: true, value: (c) => c.usageCpus, render: (c) => (c.usageCpus === null ? '–' : c.usageCpus.toFixed(2)) },
    { key: 'pct', label: t('load.col.throttledPct'), numeric: true, value: (c) => c.throttledPct, render: (c) => <span className={c.throttledPct > 0 ? 'bad' : ''}>{formatPct(c.throttledPct)} <span className="muted small">({formatCount(c.throttledPeriods)}/{formatCount(c.periods)})</span></span> },
    { key: 'ms', label: t('load.col.throttledMs'), numeric: true, value: (c) => c.throttledMs, render: (c) => formatMs(c.throttledMs) },
  ];
  const qCols: Column<LoadCpuQueue>[] = [
    { key: 'cpu', label: t('load.col.cpu'), numeric: true, value: (q) => q.cpu },
    { key: 'mean', label: t('load.col.meanRunnable'), numeric: true, value: (q) => q.meanRunnable, render: (q) => q.meanRunnable.toFixed(2) },
    { key: 'max', label: t('load.col.maxRunnable'), numeric: true, value: (q) => q.maxRunnable },
    { key: 'busy', label: t('load.col.busy'), numeric: true, value: (q) => q.busyPct, render: (q) => formatPct(q.busyPct) },
    { key: 'pinned', label: t('load.col.pinnedTasks'), value: (q) => q.pinnedTasks.map((p) => `${p.comm} ${p.tid}`).join(', '), render: (q) => <span className="small">{q.pinnedTasks.slice(0, 5).map((p) => `${p.comm} (${p.tid}, ${p.allowedCpus} CPUs)`).join(', ')}</span>, className: 'wrap' },
  ];

  return (
    <>
      <div className="grid2">
        <div className="card" data-testid="load-loadavg">
          <div className="card-head">
            <h2>{t('load.loadavg')}</h2>
          </div>
          <p className="muted small">
            {t('load.summary', { cpus: doc.loadavg.cpus, trend: t(`load.trend.${doc.loadavg.trend}`), r: doc.meanRunnable.toFixed(2), d: doc.meanUninterruptible.toFixed(2), s: doc.intervalS, n: formatCount(doc.samples) })}
          </p>
          <Chart option={la} height={200} testId="chart-load-loadavg" />
        </div>
        <div className="card" data-testid="load-cpu">
          <h2>{t('load.cpuSplit')}</h2>
          <Chart option={split} height={120} testId="chart-load-cpu" />
          <table className="data compact">
            <tbody>
              <tr>
                {SPLIT.map((s) => (
                  <td key={s.key} className="num">
                    <span style={{ color: s.color }}>●</span> {t(s.label)} {formatPct(doc.cpu[s.key])}
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        </div>
      </div>

      <div className="card" data-testid="load-tasks">
        <h2>{t('load.tasks')}</h2>
        <DataTable testId="load-tasks-table" columns={taskCols} rows={doc.tasks} rowKey={(x) => String(x.pid)} initialSort={{ key: 'r', desc: true }} limit={50} emptyText={t('load.noTasks')} />
      </div>

      <div className="card" data-testid="load-dstacks">
        <h2>{t('load.dstacks')}</h2>
        <DataTable testId="load-dstacks-table" columns={dCols} rows={doc.dStacks} rowKey={(g, i) => `${g.waitIn}-${i}`} initialSort={{ key: 'n', desc: true }} emptyText={t('load.noDStacks')} />
      </div>

      <div className="grid2">
        <div className="card" data-testid="load-forks">
          <div className="card-head">
            <h2>{t('load.forks')}</h2>
          </div>
          <p className="muted small">{t('load.forksSummary', { perS: doc.forks.perS.toFixed(1), execPerS: doc.forks.execPerS === null ? '–' : doc.forks.execPerS.toFixed(1), total: formatCount(doc.forks.total) })}</p>
          <DataTable testId="load-forks-table" columns={forkCols} rows={doc.forks.topParents} rowKey={(f) => String(f.pid)} initialSort={{ key: 'forks', desc: true }} emptyText={t('load.noForks')} />
        </div>
        <div className="card" data-testid="load-throttled">
          <h2>{t('load.throttled')}</h2>
          <DataTable testId="load-throttled-table" columns={thrCols} rows={doc.throttled} rowKey={(c) => c.cgroup} initialSort={{ key: 'pct', desc: true }} emptyText={t('load.noThrottled')} />
        </div>
      </div>

      <div className="card" data-testid="load-queues">
        <h2>{t('load.queues')}</h2>
        <DataTable testId="load-queues-table" columns={qCols} rows={doc.cpus} rowKey={(q) => String(q.cpu)} initialSort={{ key: 'cpu', desc: false }} />
      </div>
    </>
  );
}
