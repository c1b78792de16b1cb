import { useEffect, useState } from 'react';
import type { ApiReplies, ConfigDifference, Node, Task } from '@contract';
import { formatBytes } from '@format';
import { ApiError, api } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { useLoad } from '../hooks.js';
import { type Key, useI18n } from '../i18n.js';
import { go } from '../router.js';
import { isAdmin, useMe } from '../session.js';
import { formatTime } from '../time.js';

type DiffReply = ApiReplies['GET /api/config-diff'];
interface Row extends ConfigDifference {
  area: string;
}

const show = (key: string, v: string | null, absent: string): string => (v === null ? absent : /Bytes$/.test(key) && /^\d+$/.test(v) ? formatBytes(Number(v)) : v);

/** One side: the node picker, when its latest capture was stored, and (admins) a button to capture now. */
function Side({ side, nodes, nodeId, onPick, onCaptured }: { side: 'a' | 'b'; nodes: Node[]; nodeId: string | undefined; onPick: (id: string) => void; onCaptured: () => void }) {
  const { t, lang } = useI18n();
  const me = useMe();
  const latest = useLoad(async () => (nodeId ? api.nodeConfig(nodeId).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))) : null), [nodeId]);
  const [task, setTask] = useState<Task>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!task) return;
    if (task.status === 'done') {
      setTask(undefined);
      latest.reload();
      onCaptured();
      return;
    }
    if (task.status !== 'queued' && task.status !== 'running') {
      setError(task.error ?? task.status);
      setTask(undefined);
      return;
    }
    const timer = setTimeout(() => api.task(task.id).then(setTask, (e: unknown) => setError(String(e))), 1000);
    return () => clearTimeout(timer);
  }, [task]);
  const capture = (): void => {
    if (!nodeId) return;
    setError(undefined);
    api.createTask(nodeId, 'config', { lang }).then(setTask, (e: unknown) => {
      if (e instanceof ApiError && typeof e.body.activeTaskId === 'string') api.task(e.body.activeTaskId).then(setTask, () => undefined);
      else setError(e instanceof Error ? e.message : String(e));
    });
  };
  return (
    <div className="card" data-testid={`cfg-side-${side}`}>
      <label>
        <strong>{side.toUpperCase()}</strong>{' '}
        <select data-testid={`cfg-node-${side}`} value={nodeId ?? ''} onChange={(e) => onPick(e.target.value)}>
          <option value="">{t('cfg.pick')}</option>
          {nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name}
            </option>
          ))}
        </select>
      </label>
      <p className="muted small" data-testid={`cfg-latest-${side}`}>
        {!nodeId ? '' : latest.data === undefined ? t('common.loading') : latest.data === null ? t('cfg.noCapture') : t('cfg.capturedAt', { time: formatTime(latest.data.storedAt, lang), kernel: latest.data.capture.kernel.release })}
      </p>
      {nodeId && isAdmin(me) && (
        <button data-testid={`cfg-capture-${side}`} disabled={task !== undefined} onClick={capture}>
          {task ? t('cfg.capturing') : t('cfg.captureNow')}
        </button>
      )}
      {error && <p className="error small">{error}</p>}
    </div>
  );
}

/** Configuration drift between two nodes: their latest `config` captures compared, the differences that matter first. */
export function ConfigDiff({ a, b }: { a: string | undefined; b: string | undefined }) {
  const { t, lang } = useI18n();
  const nodes = useLoad(() => api.nodes(), []);
  const [captures, setCaptures] = useState(0);
  const diff = useLoad(async (): Promise<DiffReply | string | undefined> => {
    if (!a || !b) return undefined;
    return api.configDiff(a, b, lang).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? e.message : Promise.reject(e)));
  }, [a, b, lang, captures]);
  const pick = (side: 'a' | 'b', id: string): void => go('config-diff', ...(side === 'a' ? [id || '-', b ?? '-'] : [a ?? '-', id || '-']));
  const d = typeof diff.data === 'object' ? diff.data : undefined;
  const rows = (marked: boolean): Row[] => (d ? d.diff.areas.flatMap((x) => x.differences.filter((r) => r.marked === marked).map((r) => ({ ...r, area: x.area }))) : []);
  const absent = t('cfg.absent');
  const areaLabel = (area: string): string => t(`cfg.area.${area}` as Key);
  const base: Column<Row>[] = [
    { key: 'area', label: t('cfg.col.area'), value: (r) => areaLabel(r.area) },
    { key: 'key', label: t('cfg.col.setting'), value: (r) => r.key, render: (r) => <code>{r.key}</code> },
    { key: 'a', label: `A: ${d?.a.nodeName ?? ''}`, value: (r) => show(r.key, r.a, absent) },
    { key: 'b', label: `B: ${d?.b.nodeName ?? ''}`, value: (r) => show(r.key, r.b, absent) },
  ];
  const markedCols: Column<Row>[] = [
    { key: 'severity', label: t('cfg.col.severity'), value: (r) => r.severity ?? '', render: (r) => <span className={`sev sev-${r.severity ?? 'info'}`}>{t(`sev.${r.severity ?? 'info'}`)}</span> },
    ...base,
    { key: 'reason', label: t('cfg.col.reason'), value: (r) => r.reason ?? '' },
  ];
  const all = nodes.data ?? [];
  const side = (x: string | undefined): string | undefined => (x && x !== '-' ? x : undefined);
  return (
    <div className="pad">
      <h2>{t('cfg.title')}</h2>
      <p className="muted small">{t('cfg.hint')}</p>
      <div className="row gap">
        <Side side="a" nodes={all} nodeId={side(a)} onPick={(id) => pick('a', id)} onCaptured={() => setCaptures((n) => n + 1)} />
        <Side side="b" nodes={all} nodeId={side(b)} onPick={(id) => pick('b', id)} onCaptured={() => setCaptures((n) => n + 1)} />
      </div>
      {diff.error && <p className="error">{diff.error}</p>}
      {typeof diff.data === 'string' && <p className="muted" data-testid="cfg-missing">{diff.data}</p>}
      {d && (
        <>
          <p data-testid="cfg-summary">{t('cfg.summary', { differences: d.diff.summary.differences, marked: d.diff.summary.marked, excluded: d.diff.summary.excluded })}</p>
          <h3>{t('cfg.marked')}</h3>
          <DataTable testId="cfg-marked" columns={markedCols} rows={rows(true)} rowKey={(r) => `${r.area}/${r.key}`} emptyText={t('cfg.noneMarked')} />
          <h3>{t('cfg.other')}</h3>
          <DataTable testId="cfg-other" columns={base} rows={rows(false)} rowKey={(r) => `${r.area}/${r.key}`} limit={50} emptyText={t('cfg.noneOther')} />
          {d.diff.notCompared.length > 0 && <p className="muted small">{t('cfg.notCompared', { what: d.diff.notCompared.join('; ') })}</p>}
        </>
      )}
    </div>
  );
}
