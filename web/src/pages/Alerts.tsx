import { useState } from 'react';
import type { Alert, AlertFilter, AlertState, Severity } from '@contract';
import { alertMessage, api, firingAlerts } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { SeverityBadge } from '../components/Findings.js';
import { formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { href } from '../router.js';

/** The filters' choices, most severe first ('' in the select is any). */
const SEVERITY_CHOICES: readonly Severity[] = ['critical', 'warning', 'info'];
const STATE_CHOICES: readonly AlertState[] = ['firing', 'resolved'];

/** Alert events, newest first, filtered by node, severity and state (on the server), in the UI language. */

export function Alerts() {
  const { t, lang } = useI18n();
  const [filter, setFilter] = useState<AlertFilter>({});
  const alerts = useLoad(() => api.alerts(filter.node, 1000, { severity: filter.severity, state: filter.state }), [filter.node, filter.severity, filter.state], 10000);
  const nodes = useLoad(() => api.nodes(), []);
  const nodeName = (id: string): string => nodes.data?.find((n) => n.id === id)?.name ?? id.slice(0, 8);
  const sevRank = { critical: 2, warning: 1, info: 0 } as const;
  const firingNow = firingAlerts(alerts.data ?? []).length;

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
    { key: 'message', label: t('alerts.message'), value: (a) => alertMessage(a, lang), render: (a) => <span data-testid="alert-message">{alertMessage(a, lang)}</span>, className: 'wrap' },
  ];

  const set = (patch: Partial<AlertFilter>): void => setFilter((f) => ({ ...f, ...patch }));

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t('alerts.title')}</h1>
        {alerts.data && <span className="muted">{t('alerts.summary', { n: alerts.data.length, firing: firingNow })}</span>}
      </div>
      <div className="card filters" data-testid="alert-filters">
        <label>
          {t('alerts.node')}{' '}
          <select value={filter.node ?? ''} onChange={(e) => set({ node: e.target.value || undefined })} data-testid="filter-node">
            <option value="">{t('alerts.any')}</option>
            {(nodes.data ?? []).map((n) => (
              <option key={n.id} value={n.id}>
                {n.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('alerts.severity')}{' '}
          <select value={filter.severity ?? ''} onChange={(e) => set({ severity: SEVERITY_CHOICES.find((s) => s === e.target.value) })} data-testid="filter-severity">
            <option value="">{t('alerts.any')}</option>
            {SEVERITY_CHOICES.map((s) => (
              <option key={s} value={s}>
                {t(`sev.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('alerts.state')}{' '}
          <select value={filter.state ?? ''} onChange={(e) => set({ state: STATE_CHOICES.find((s) => s === e.target.value) })} data-testid="filter-state">
            <option value="">{t('alerts.any')}</option>
            {STATE_CHOICES.map((s) => (
              <option key={s} value={s}>
                {t(`alerts.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {(filter.node || filter.severity || filter.state) && (
          <button className="link" onClick={() => setFilter({})}>
            {t('alerts.clear')}
          </button>
        )}
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
