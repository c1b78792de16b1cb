import { useEffect, useMemo, useState } from 'react';
import { ApiError, api, type ReportDoc, type Task } from '../api.js';
import { AutoSections, formatField } from '../components/AutoTable.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { Findings } from '../components/Findings.js';
import { Coverage, type MemDoc, MemCharts, MemTables } from '../components/MemReport.js';
import { formatBytes, formatDuration, formatTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { go, href } from '../router.js';
import { diagLabel, TaskStatusPill } from './Node.js';

interface Growth {
  name: string;
  startBytes: number;
  endBytes: number;
  bytesPerS: number;
}
interface Callsite {
  symbol: string;
  stack: string[];
  outstandingBytes: number;
  count: number;
  oldestAgeS: number;
}

function MemleakView({ doc }: { doc: ReportDoc }) {
  const { t } = useI18n();
  const verdict = doc.verdict as { leaking: boolean; kind: string | null; confidence: string; reason: string } | undefined;
  const growth = (doc.growth as Growth[] | undefined) ?? [];
  const callsites = (doc.callsites as Callsite[] | undefined) ?? [];
  const top = [...growth].sort((a, b) => b.bytesPerS - a.bytesPerS).slice(0, 15).reverse();
  const option: ChartOption = {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => `${formatBytes(Number(v))}/s` },
    grid: { left: 160, right: 24, top: 8, bottom: 24 },
    xAxis: { type: 'value', axisLabel: { formatter: (v: number) => `${formatBytes(v)}/s` } },
    yAxis: { type: 'category', data: top.map((g) => g.name), axisLabel: { fontSize: 11 } },
    series: [{ type: 'bar', data: top.map((g) => ({ value: g.bytesPerS, itemStyle: { color: g.bytesPerS > 0 ? '#ef4444' : '#22c55e' } })) }],
  };
  const csCols: Column<Callsite>[] = [
    { key: 'symbol', label: 'SYMBOL', value: (c) => c.symbol, render: (c) => <code>{c.symbol}</code> },
    { key: 'bytes', label: 'OUTSTANDING', numeric: true, value: (c) => c.outstandingBytes, render: (c) => formatBytes(c.outstandingBytes) },
    { key: 'count', label: 'ALLOCATIONS', numeric: true, value: (c) => c.count, render: (c) => formatField('count', c.count) },
    { key: 'age', label: 'OLDEST', numeric: true, value: (c) => c.oldestAgeS, render: (c) => formatField('oldestAgeS', c.oldestAgeS) },
    { key: 'stack', label: 'STACK', value: (c) => c.stack.join(' '), render: (c) => formatField('stack', c.stack) },
  ];
  return (
    <>
      {verdict && (
        <div className={`card verdict ${verdict.leaking ? 'verdict-bad' : 'verdict-ok'}`}>
          <h2>{t('result.verdict')}</h2>
          <p>
            <strong>{verdict.leaking ? `LEAK ${verdict.kind ?? ''}` : 'OK'}</strong> · confidence {verdict.confidence}
          </p>
          <p>{verdict.reason}</p>
        </div>
      )}
      {growth.length > 0 && (
        <div className="card">
          <h2>{t('result.growth')}</h2>
          <Chart option={option} height={Math.max(160, top.length * 22 + 40)} />
        </div>
      )}
      <div className="card">
        <h2>{t('result.callsites')}</h2>
        <DataTable columns={csCols} rows={callsites} initialSort={{ key: 'bytes', desc: true }} limit={100} />
      </div>
    </>
  );
}

export function Result({ taskId }: { taskId: string }) {
  const { t, lang } = useI18n();
  const task = useLoad(() => api.task(taskId), [taskId]);
  const report = useLoad(() => api.report(taskId), [taskId]);
  const node = useLoad(() => (task.data ? api.node(task.data.nodeId) : Promise.resolve(undefined)), [task.data?.nodeId]);
  const tk = task.data;
  const doc = report.data;
  const reportLang = tk && typeof tk.params.lang === 'string' ? tk.params.lang : undefined;
  const findings = useMemo(() => doc?.findings ?? [], [doc]);
  // "Run again" (in the current language): follow the new task and open its result when it is done.
  const [rerunning, setRerunning] = useState<Task>();
  const [rerunError, setRerunError] = useState<string>();
  useEffect(() => {
    if (!rerunning) return;
    if (rerunning.status === 'done') {
      go('tasks', rerunning.id);
      return;
    }
    if (rerunning.status !== 'queued' && rerunning.status !== 'running') {
      setRerunError(t('result.failed', { error: rerunning.error ?? rerunning.status }));
      return;
    }
    const timer = setTimeout(() => api.task(rerunning.id).then(setRerunning, (e: unknown) => setRerunError(String(e))), 1000);
    return () => clearTimeout(timer);
  }, [rerunning, t]);

  if (task.error) return <p className="error pad">{task.error}</p>;
  if (!tk) return <p className="muted pad">{t('common.loading')}</p>;
  const nodeName = node.data?.name ?? tk.nodeId.slice(0, 8);

  const rerun = (): void => {
    setRerunError(undefined);
    api.createTask(tk.nodeId, tk.diagnosis, { ...tk.params, lang }).then(setRerunning, (e: unknown) => {
      if (e instanceof ApiError && typeof e.body.activeTaskId === 'string') api.task(e.body.activeTaskId).then(setRerunning, () => undefined);
      else setRerunError(e instanceof Error ? e.message : String(e));
    });
  };

  return (
    <section className="page">
      <div className="page-head">
        <a className="muted" href={href('nodes', tk.nodeId)}>
          ← {nodeName}
        </a>
        <h1 data-testid="result-title">{t('result.title', { diagnosis: diagLabel(t, tk.diagnosis), node: nodeName })}</h1>
        <TaskStatusPill task={tk} />
        <span className="muted small">
          {formatTime(tk.finishedAt ?? tk.createdAt, lang)} · {formatDuration(tk.startedAt, tk.finishedAt)} · {tk.createdBy}
        </span>
      </div>
      {tk.status !== 'done' && tk.error && <p className="error">{t('result.failed', { error: tk.error })}</p>}
      {reportLang && reportLang !== lang && (
        <p className="note">
          {t('result.langNote', { lang: reportLang })}{' '}
          {rerunning ? (
            <span className="muted" data-testid="rerun-progress">
              <span className="spinner inline" /> {t('node.running', { diagnosis: diagLabel(t, tk.diagnosis) })} {rerunning.progress ? `${rerunning.progress.step}` : ''}
            </span>
          ) : (
            <button className="link" onClick={rerun} data-testid="rerun">
              {t('result.rerun')}
            </button>
          )}
        </p>
      )}
      {rerunError && <p className="error">{rerunError}</p>}
      {report.error && tk.status === 'done' && <p className="error">{report.error}</p>}
      {doc && (
        <>
          <div className="card conclusions">
            <h2>{t('result.conclusions')}</h2>
            <Findings findings={findings} />
          </div>
          {doc.schema === 'oscope.mem/v1' ? (
            <>
              <MemCharts doc={doc as unknown as MemDoc} />
              <MemTables doc={doc as unknown as MemDoc} />
            </>
          ) : doc.schema === 'oscope.memleak/v1' ? (
            <MemleakView doc={doc} />
          ) : (
            <AutoSections doc={doc} skip={['method', 'coverage']} />
          )}
          {Array.isArray(doc.coverage) && <Coverage method={(doc.method as Record<string, unknown> | undefined) ?? {}} coverage={doc.coverage as { section: string; status: string; reason?: string }[]} />}
          <details className="card">
            <summary>
              <h2>{t('result.raw')}</h2>
            </summary>
            <pre className="raw">{JSON.stringify(doc, null, 2)}</pre>
          </details>
        </>
      )}
    </section>
  );
}
