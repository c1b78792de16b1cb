import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { ApiError, api, type Finding, type ReportDoc, type Task } from '../api.js';
import { AutoSections } from '../components/AutoTable.js';
import { type FileCacheDoc, FileCacheView, fileCacheFindings } from '../components/FileCacheView.js';
import { Findings } from '../components/Findings.js';
import { type InspectDoc, InspectView } from '../components/InspectView.js';
import { type RunlatencyDoc, RunlatencyView, runlatencySummary } from '../components/Latency.js';
import { Coverage, type MemDoc, MemCharts, MemTables } from '../components/MemReport.js';
import { type MemleakDoc, MemleakView, memleakVerdictFinding } from '../components/MemleakView.js';
import { formatDuration, formatTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { type T, useI18n } from '../i18n.js';
import { go, href } from '../router.js';
import { isAdmin, useMe } from '../session.js';
import { diagLabel, TaskStatusPill } from './Node.js';

/** What leads a result: the document's findings, plus what the UI concludes itself, in the UI language. */
export function conclusionsOf(doc: ReportDoc, t: T): { summary: string[]; findings: Finding[] } {
  const own = doc.findings ?? [];
  switch (doc.schema) {
    case 'oscope.filecache/v1':
      return { summary: [], findings: [...own, ...fileCacheFindings(doc as unknown as FileCacheDoc, t)] };
    case 'oscope.runlatency/v1':
      return { summary: [runlatencySummary(doc as unknown as RunlatencyDoc, t)], findings: own };
    case 'oscope.memleak/v1': {
      const v = memleakVerdictFinding(doc as unknown as MemleakDoc, t);
      return { summary: [], findings: v ? [v, ...own] : own };
    }
    default:
      return { summary: [], findings: own };
  }
}

/** The dedicated view of a schema; AutoSections for any other. */
function ReportBody({ doc }: { doc: ReportDoc }): ReactNode {
  switch (doc.schema) {
    case 'oscope.mem/v1':
      return (
        <>
          <MemCharts doc={doc as unknown as MemDoc} />
          <MemTables doc={doc as unknown as MemDoc} />
        </>
      );
    case 'oscope.filecache/v1':
      return <FileCacheView doc={doc as unknown as FileCacheDoc} />;
    case 'oscope.runlatency/v1':
      return <RunlatencyView doc={doc as unknown as RunlatencyDoc} />;
    case 'oscope.memleak/v1':
      return <MemleakView doc={doc as unknown as MemleakDoc} />;
    case 'oscope.inspect/v1':
      return <InspectView doc={doc as unknown as InspectDoc} />;
    default:
      return <AutoSections doc={doc} skip={['method', 'coverage']} />;
  }
}

export function Result({ taskId }: { taskId: string }) {
  const { t, lang } = useI18n();
  const me = useMe();
  const task = useLoad(() => api.task(taskId), [taskId]);
  const report = useLoad(() => api.report(taskId), [taskId]);
  const node = useLoad(() => (task.data ? api.node(task.data.nodeId) : Promise.resolve(undefined)), [task.data?.nodeId]);
  const tk = task.data;
  const doc = report.data;
  const reportLang = tk && typeof tk.params.lang === 'string' ? tk.params.lang : undefined;
  const concl = useMemo(() => (doc ? conclusionsOf(doc, t) : { summary: [], findings: [] }), [doc, t]);
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
          ) : !isAdmin(me) ? null : (
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
          <div className="card conclusions" data-testid="conclusions">
            <h2>{t('result.conclusions')}</h2>
            {concl.summary.map((line, i) => (
              <p key={i} className="summary" data-testid="conclusion-summary">
                {line}
              </p>
            ))}
            <Findings findings={concl.findings} />
          </div>
          <ReportBody doc={doc} />
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
