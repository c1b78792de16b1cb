import { type Alert, api } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { SeverityBadge } from '../components/Findings.js';
import { formatTime } from '../format.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { href } from '../router.js';

export function Alerts() {
  const { t, lang } = useI18n();
  const alerts = useLoad(() => api.alerts(undefined, 1000), [], 10000);
  const nodes = useLoad(() => api.nodes(), []);
  const nodeName = (id: string): string => nodes.data?.find((n) => n.id === id)?.name ?? id.slice(0, 8);
  const sevRank = { critical: 2, warning: 1, info: 0 } as const;

  const columns: Column<Alert>[] = [
    { key: 'ts', label: t('alerts.time'), value: (a) => a.ts, render: (a) => <span className="nowrap">{formatTime(a.ts, lang)}</span> },
    { key: 'node', label: t('alerts.node'), value: (a) => nodeName(a.nodeId), render: (a) => <a href={href('nodes', a.nodeId)}>{nodeName(a.nodeId)}</a> },
    { key: 'severity', label: t('alerts.severity'), value: (a) => sevRank[a.severity], render: (a) => <SeverityBadge severity={a.severity} /> },
    {
      key: 'state',
      label: t('alerts.state'),
      value: (a) => a.state,
      render: (a) => <span className={`pill ${a.state === 'firing' ? 'pill-warn' : 'pill-ok'}`}>{a.state === 'firing' ? t('alerts.firing') : t('alerts.resolved')}</span>,
    },
    { key: 'rule', label: t('alerts.rule'), value: (a) => a.rule, render: (a) => <code>{a.rule}</code> },
    { key: 'message', label: t('alerts.message'), value: (a) => a.message, className: 'wrap' },
  ];

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t('alerts.title')}</h1>
      </div>
      {alerts.error && <p className="error">{alerts.error}</p>}
      <div className="card">
        {alerts.data ? (
          <DataTable testId="alerts-table" columns={columns} rows={alerts.data} rowKey={(a) => a.id} initialSort={{ key: 'ts', desc: true }} emptyText={t('alerts.empty')} />
        ) : (
          <p className="muted">{t('common.loading')}</p>
        )}
      </div>
    </section>
  );
}
