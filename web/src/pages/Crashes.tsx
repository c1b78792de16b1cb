import { useState } from 'react';
import type { CrashGroup } from '@contract';
import { api } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { href } from '../router.js';

const DAY_MS = 86_400_000;
const CAUSES = ['panic', 'watchdog', 'oom-panic', 'hung-task-panic', 'mce', 'unclean', 'clean-shutdown', 'running'] as const;
type Cause = (typeof CAUSES)[number];
const causeOf = (c: string): Cause => CAUSES.find((x) => x === c) ?? 'panic';
const RANGES = [1, 7, 30, 0] as const;

/**
 * Crashes across the fleet (GET /api/crashes): the agents' boots that did not end cleanly, grouped by
 * title and stack signature: "this panic hit 14 nodes on kernel X since Tuesday", with the first and
 * last node and time, filtered by kernel and time range on the server.
 */
export function Crashes() {
  const { t, lang } = useI18n();
  const [days, setDays] = useState<(typeof RANGES)[number]>(7);
  const [kernel, setKernel] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  // The range's start is fixed per choice (not per render) so the query key stays the same.
  const [since] = useState(() => Date.now());
  const sinceIso = days === 0 ? undefined : new Date(since - days * DAY_MS).toISOString();
  const crashes = useLoad(() => api.crashes({ since: sinceIso, kernel: kernel || undefined }), [sinceIso, kernel], 30000);
  const nodes = useLoad(() => api.nodes(), []);
  const kernels = [...new Set((nodes.data ?? []).map((n) => n.info.kernel ?? '').filter((k) => k !== ''))].sort();
  const key = (c: CrashGroup): string => `${c.cause}|${c.title ?? ''}|${c.signature ?? ''}`;

  const columns: Column<CrashGroup>[] = [
    {
      key: 'title',
      label: t('crashes.crash'),
      value: (c) => c.title ?? t(`crashes.cause.${causeOf(c.cause)}`),
      render: (c) => (
        <button type="button" className="link strong wrap" onClick={() => setOpen(open === key(c) ? null : key(c))} data-testid="crash-title">
          {c.title ?? t(`crashes.cause.${causeOf(c.cause)}`)}
        </button>
      ),
      className: 'wrap',
    },
    { key: 'cause', label: t('crashes.cause'), value: (c) => c.cause, render: (c) => <span className={`pill ${c.cause === 'unclean' ? 'pill-warn' : 'pill-bad'}`}>{t(`crashes.cause.${causeOf(c.cause)}`)}</span> },
    { key: 'nodes', label: t('crashes.nodes'), numeric: true, value: (c) => c.nodes, render: (c) => <span data-testid="crash-nodes">{c.nodes}</span> },
    { key: 'count', label: t('crashes.count'), numeric: true, value: (c) => c.count },
    { key: 'kernels', label: t('crashes.kernels'), value: (c) => c.kernels[0]?.kernel ?? '', render: (c) => <span className="small">{c.kernels.map((k) => `${k.kernel ?? t('crashes.unknownKernel')} ×${k.count}`).join(', ')}</span>, className: 'wrap' },
    { key: 'first', label: t('crashes.first'), value: (c) => c.first.at, render: (c) => <span className="nowrap"><a href={href('nodes', c.first.nodeId)}>{c.first.nodeName}</a> {formatTime(c.first.at, lang)}</span> },
    { key: 'last', label: t('crashes.last'), value: (c) => c.last.at, render: (c) => <span className="nowrap"><a href={href('nodes', c.last.nodeId)}>{c.last.nodeName}</a> {formatTime(c.last.at, lang)}</span> },
  ];
  const shown = (crashes.data ?? []).find((c) => key(c) === open);

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t('crashes.title')}</h1>
        {crashes.data && <span className="muted">{t('crashes.summary', { groups: crashes.data.length, crashes: crashes.data.reduce((a, c) => a + c.count, 0) })}</span>}
      </div>
      <div className="card filters" data-testid="crash-filters">
        <label>
          {t('crashes.range')}{' '}
          <select value={String(days)} onChange={(e) => setDays(RANGES.find((r) => String(r) === e.target.value) ?? 7)} data-testid="filter-range">
            {RANGES.map((r) => (
              <option key={r} value={String(r)}>
                {r === 0 ? t('crashes.allTime') : t('crashes.lastDays', { n: r })}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('fleet.kernel')}{' '}
          <select value={kernel} onChange={(e) => setKernel(e.target.value)} data-testid="filter-kernel">
            <option value="">{t('fleet.allKernels')}</option>
            {kernels.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
      </div>
      {crashes.error && <p className="error">{crashes.error}</p>}
      <div className="card">
        {crashes.data ? (
          <DataTable testId="crashes-table" columns={columns} rows={crashes.data} rowKey={key} initialSort={{ key: 'last', desc: true }} emptyText={t('crashes.empty')} />
        ) : (
          <p className="muted">{t('common.loading')}</p>
        )}
      </div>
      {shown && (
        <div className="card" data-testid="crash-detail">
          <h2>{shown.title ?? t(`crashes.cause.${causeOf(shown.cause)}`)}</h2>
          <p className="muted">{t('crashes.hit', { nodes: shown.nodes, count: shown.count, since: formatTime(shown.first.at, lang) })}{shown.signature ? ` · ${t('crashes.signature')} ${shown.signature}` : ''}</p>
          {shown.stack && shown.stack.length > 0 ? <pre className="stack">{shown.stack.join('\n')}</pre> : <p className="muted">{t('crashes.noStack')}</p>}
        </div>
      )}
    </section>
  );
}
