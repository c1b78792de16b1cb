import { type ReactNode, useEffect, useState } from 'react';
import type { Coverage as CoverageRow, Finding, Method, StoredDocument, Task } from '@contract';
import { ApiError, api, isKnownDocument } from '../api.js';
import { AutoSections } from '../components/AutoTable.js';
import { FileCacheView } from '../components/FileCacheView.js';
import { Findings } from '../components/Findings.js';
import { InspectView } from '../components/InspectView.js';
import { IoView } from '../components/IoView.js';
import { LoadView } from '../components/LoadView.js';
import { RunlatencyView } from '../components/Latency.js';
import { Coverage, MemCharts, MemTables } from '../components/MemReport.js';
import { MemleakView } from '../components/MemleakView.js';
import { NetView } from '../components/NetView.js';
import { ProfileView } from '../components/ProfileView.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { go, href } from '../router.js';
import { isAdmin, useMe } from '../session.js';
import { formatSpan, formatTime } from '../time.js';
import { diagLabel, TaskStatusPill } from './Node.js';

/**
 * What leads a result: the document's findings as the diagnosis made them, in their order and in the
 * language the task ran in (the UI sends its language as the task's `lang`). The UI adds none.
 */
export function findingsOf(doc: StoredDocument): Finding[] {
  return 'findings' in doc && doc.findings ? doc.findings : [];
}

/** How the document was measured and what it could see, for the documents that say so. */
function coverageOf(doc: StoredDocument): { method: Method | Record<string, string | number>; coverage: CoverageRow[] } | undefined {
  if (!isKnownDocument(doc) || doc.schema === 'oscope.inspect/v1' || doc.schema === 'oscope.config/v1' || doc.schema === 'oscope.config-diff/v1') return undefined;
  return { method: doc.method, coverage: doc.coverage };
}

/** The dedicated view of a schema; AutoSections for a schema this UI does not know. */
function ReportBody({ doc }: { doc: StoredDocument }): ReactNode {
  if (!isKnownDocument(doc)) return <AutoSections doc={doc} />;
  switch (doc.schema) {
    case 'oscope.mem/v1':
      return (
        <>
          <MemCharts doc={doc} />
          <MemTables doc={doc} />
        </>
      );
    case 'oscope.filecache/v1':
      return <FileCacheView doc={doc} />;
    case 'oscope.runlatency/v1':
      return <RunlatencyView doc={doc} />;
    case 'oscope.memleak/v1':
      return <MemleakView doc={doc} />;
    case 'oscope.inspect/v1':
      return <InspectView doc={doc} />;
    case 'oscope.io/v1':
      return <IoView doc={doc} />;
    case 'oscope.load/v1':
      return <LoadView doc={doc} />;
    case 'oscope.profile/v1':
      return <ProfileView doc={doc} />;
    case 'oscope.net/v1':
      return <NetView doc={doc} />;
    case 'oscope.config/v1': // a capture: compared on the config-diff page
    case 'oscope.config-diff/v1':
      return <AutoSections doc={doc} />;
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
  const cov = doc ? coverageOf(doc) : undefined;
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
          {formatTime(tk.finishedAt ?? tk.createdAt, lang)} · {formatSpan(tk.startedAt, tk.finishedAt)} · {tk.createdBy}
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
            <Findings findings={findingsOf(doc)} />
          </div>
          <ReportBody doc={doc} />
          {cov && <Coverage method={cov.method} coverage={cov.coverage} />}
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
