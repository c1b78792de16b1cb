import { useState } from 'react';
import type { HealthLevel, Node } from '@contract';
import { formatBytes, formatCount, formatDurationMsShort, formatShare } from '@format';
import { api, firingAlerts } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { formatAge } from '../time.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { href } from '../router.js';

export function usedBytes(n: Node): number | null {
  const l = n.latest;
  if (!l || l.memTotalBytes === undefined || l.memAvailableBytes === undefined) return null;
  return l.memTotalBytes - l.memAvailableBytes;
}

export function MemBar({ used, total }: { used: number | null; total: number | undefined }) {
  if (used === null || !total) return <span className="muted">–</span>;
  const f = used / total;
  return (
    <span className="membar" title={`${formatBytes(used)} / ${formatBytes(total)}`}>
      <span className="membar-track">
        <span className={`membar-fill ${f > 0.9 ? 'hot' : f > 0.75 ? 'warm' : ''}`} style={{ width: `${Math.min(100, f * 100)}%` }} />
      </span>
      <span className="membar-text">
        {formatBytes(used)} <span className="muted">/ {formatBytes(total)} · {formatShare(f)}</span>
      </span>
    </span>
  );
}

const LEVELS: HealthLevel[] = ['healthy', 'at-risk', 'warning', 'error'];
const LEVEL_PILL: Record<HealthLevel, string> = { healthy: 'pill-ok', 'at-risk': 'pill-run', warning: 'pill-warn', error: 'pill-bad' };

/** The node's health score (agents that compute it), null otherwise. */
export function healthOf(n: Node): { score: number; level: HealthLevel } | null {
  const h = n.latest?.health;
  return h ? { score: h.score, level: h.level } : null;
}

export function Fleet() {
  const { t } = useI18n();
  const [level, setLevel] = useState<HealthLevel | ''>('');
  const [kernel, setKernel] = useState('');
  const [label, setLabel] = useState('');
  const nodes = useLoad(() => api.nodes(), [], 5000);
  const alerts = useLoad(() => api.alerts(undefined, 1000), [], 10000);

  const firing = firingAlerts(alerts.data ?? []);
  const alertCount = (id: string): number => firing.filter((a) => a.nodeId === id).length;
  const all = nodes.data ?? [];
  const kernels = [...new Set(all.map((n) => n.info.kernel ?? '').filter((k) => k !== ''))].sort();
  const labelsOf = (n: Node): string[] => Object.entries(n.info.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  const labels = [...new Set(all.flatMap(labelsOf))].sort();
  const list = all.filter((n) => (level === '' || healthOf(n)?.level === level) && (kernel === '' || n.info.kernel === kernel) && (label === '' || labelsOf(n).includes(label)));
  const scored = all.filter((n) => healthOf(n) !== null);
  const share = (l: HealthLevel): number => scored.filter((n) => healthOf(n)!.level === l).length;

  const columns: Column<Node>[] = [
    {
      key: 'name',
      label: t('fleet.node'),
      value: (n) => n.name,
      render: (n) => (
        <a href={href('nodes', n.id)} className="strong" data-testid="node-link">
          {n.name}
        </a>
      ),
    },
    {
      key: 'status',
      label: t('fleet.status'),
      value: (n) => (n.online ? 1 : 0),
      render: (n) => <span className={`dot ${n.online ? 'on' : 'off'}`}>{n.online ? t('fleet.online') : t('fleet.offline')}</span>,
    },
    {
      key: 'health',
      label: t('fleet.health'),
      numeric: true,
      value: (n) => healthOf(n)?.score ?? null,
      render: (n) => {
        const h = healthOf(n);
        if (!h) return <span className="muted">–</span>;
        const why = n.latest?.health?.reasons.map((r) => r.detail).join('\n') ?? '';
        return (
          <span className={`pill ${LEVEL_PILL[h.level]}`} title={why} data-testid="health-score">
            {h.score} · {t(`health.${h.level}`)}
          </span>
        );
      },
    },
    { key: 'seen', label: t('fleet.lastSeen'), value: (n) => n.lastSeenAt ?? '', render: (n) => (n.lastSeenAt ? t('common.ago', { t: formatAge(n.lastSeenAt) }) : t('common.never')) },
    { key: 'mem', label: t('fleet.memory'), numeric: true, value: (n) => usedBytes(n), render: (n) => <MemBar used={usedBytes(n)} total={n.latest?.memTotalBytes} /> },
    {
      key: 'alerts',
      label: t('fleet.alerts'),
      numeric: true,
      value: (n) => alertCount(n.id),
      render: (n) => {
        const c = alertCount(n.id);
        return c > 0 ? <a href={href('alerts')} className="pill pill-warn">{c}</a> : <span className="muted">0</span>;
      },
    },
    {
      key: 'rq',
      label: t('fleet.runqueueP99'),
      numeric: true,
      value: (n) => n.latest?.runqueueLatency?.p99Ms ?? null,
      render: (n) => {
        const v = n.latest?.runqueueLatency?.p99Ms;
        return v === null || v === undefined ? <span className="muted">–</span> : <span className={v >= 50 ? 'up' : ''}>{formatDurationMsShort(v)}</span>;
      },
    },
    {
      key: 'anomalies',
      label: t('fleet.anomalies'),
      numeric: true,
      value: (n) => n.latest?.logAnomalies?.total ?? null,
      render: (n) => {
        const v = n.latest?.logAnomalies?.total;
        return v === null || v === undefined ? <span className="muted">–</span> : v > 0 ? <span className="pill pill-bad">{formatCount(v)}</span> : <span className="muted">0</span>;
      },
    },
    { key: 'kernel', label: t('fleet.kernel'), value: (n) => n.info.kernel ?? '', className: 'muted small' },
    {
      key: 'labels',
      label: t('fleet.labels'),
      value: (n) => labelsOf(n).join(' '),
      render: (n) => (
        <span className="small" data-testid="node-labels">
          {labelsOf(n).map((l) => (
            <button key={l} type="button" className="pill link" onClick={() => setLabel(label === l ? '' : l)}>
              {l}
            </button>
          ))}
        </span>
      ),
      className: 'wrap',
    },
  ];

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t('fleet.title')}</h1>
        <span className="muted">{t('fleet.summary', { nodes: list.length, online: list.filter((n) => n.online).length, alerts: firing.length })}</span>
      </div>
      {scored.length > 0 && (
        <div className="card health-share" data-testid="health-share">
          <span className="muted">{t('fleet.healthShare')}</span>
          {LEVELS.map((l) => (
            <button key={l} type="button" className={`pill ${LEVEL_PILL[l]} ${level === l ? 'strong' : ''}`} aria-pressed={level === l} onClick={() => setLevel(level === l ? '' : l)}>
              {t(`health.${l}`)} {share(l)} ({Math.round((100 * share(l)) / scored.length)}%)
            </button>
          ))}
        </div>
      )}
      {(kernels.length > 1 || labels.length > 0 || kernel !== '' || label !== '') && (
        <div className="card filters" data-testid="fleet-filters">
          <select value={kernel} onChange={(e) => setKernel(e.target.value)} aria-label={t('fleet.kernel')} data-testid="filter-kernel">
            <option value="">{t('fleet.allKernels')}</option>
            {kernels.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          <select value={label} onChange={(e) => setLabel(e.target.value)} aria-label={t('fleet.labels')} data-testid="filter-label">
            <option value="">{t('fleet.allLabels')}</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </div>
      )}
      {nodes.error && <p className="error">{nodes.error}</p>}
      {!nodes.data && !nodes.error ? (
        <p className="muted">{t('common.loading')}</p>
      ) : (
        <div className="card">
          <DataTable testId="fleet-table" columns={columns} rows={list} rowKey={(n) => n.id} initialSort={scored.length > 0 ? { key: 'health', desc: false } : { key: 'name', desc: false }} emptyText={t('fleet.empty')} />
        </div>
      )}
    </section>
  );
}
