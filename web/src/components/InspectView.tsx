/**
 * The `oscope.inspect/v1` view: after the findings, OOM kills with their root cause, the kernel-log
 * anomalies table (kind, level, count, first/last seen, evidence and stack), the risky settings and
 * indicators, and which log sources were read.
 */
import { type ReactNode } from 'react';
import type { InspectDocument, InspectItem, Level as ItemLevel, SourceInfo } from '@contract';
import { formatBytes, formatCount } from '@format';
import { useI18n } from '../i18n.js';
import { formatTime } from '../time.js';
import { formatField } from './AutoTable.js';
import { DataTable, type Column } from './DataTable.js';

/** What the OOM classifier (src/diagnose/inspect/oom.ts) puts in a log item's `details.oom`. */
interface Oom {
  cause: string;
  invoker?: string;
  killedPid?: number;
  killedComm?: string;
  killedRssBytes?: number;
  oomMemcg?: string;
  memcgUsageBytes?: number;
  memcgLimitBytes?: number;
  container?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The item's OOM analysis, read field by field from its free-form details (undefined when it has none). */
function oomOf(item: InspectItem): Oom | undefined {
  const o = item.details.oom;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const f = new Map(Object.entries(o));
  const cause = str(f.get('cause'));
  if (cause === undefined) return undefined;
  return {
    cause,
    invoker: str(f.get('invoker')),
    killedPid: num(f.get('killedPid')),
    killedComm: str(f.get('killedComm')),
    killedRssBytes: num(f.get('killedRssBytes')),
    oomMemcg: str(f.get('oomMemcg')),
    memcgUsageBytes: num(f.get('memcgUsageBytes')),
    memcgLimitBytes: num(f.get('memcgLimitBytes')),
    container: str(f.get('container')),
  };
}

type OomItem = { item: InspectItem; oom: Oom };

const LEVEL_RANK: Record<ItemLevel, number> = { fatal: 4, critical: 3, error: 2, warning: 1, info: 0 };
const levelClass = (l: ItemLevel): string => (l === 'fatal' || l === 'critical' || l === 'error' ? 'pill-bad' : l === 'warning' ? 'pill-warn' : '');
const CAUSES = ['cgroup-limit', 'parent-cgroup-limit', 'cpuset-numa', 'fragmentation', 'shmem', 'fork-storm', 'host-memory', 'unknown'] as const;

function Level({ level }: { level: ItemLevel }) {
  const { t } = useI18n();
  return <span className={`pill ${levelClass(level)}`}>{t(`in.level.${level}`)}</span>;
}

export function InspectView({ doc }: { doc: InspectDocument }) {
  const { t, lang } = useI18n();
  const when = (iso: string | null, up: number | null): ReactNode => (iso ? <span className="nowrap small">{formatTime(iso, lang)}</span> : up !== null ? <span className="small">+{up.toFixed(0)} s</span> : '–');
  const logs = doc.items.filter((i) => i.class === 'log');
  const ooms: OomItem[] = logs.flatMap((item) => {
    const oom = oomOf(item);
    return oom ? [{ item, oom }] : [];
  });
  const settings = doc.items.filter((i) => i.class !== 'log');
  const causeLabel = (c: string): string => {
    const known = CAUSES.find((x) => x === c);
    return known ? t(`in.cause.${known}`) : c;
  };

  const logCols: Column<InspectItem>[] = [
    { key: 'level', label: t('in.col.level'), value: (i) => LEVEL_RANK[i.level], render: (i) => <Level level={i.level} /> },
    { key: 'kind', label: t('in.col.kind'), value: (i) => i.kind, render: (i) => <code>{i.kind}</code> },
    { key: 'title', label: t('in.col.title'), value: (i) => i.title, render: (i) => <strong>{i.title}</strong>, className: 'wrap' },
    { key: 'count', label: t('in.col.count'), numeric: true, value: (i) => i.count, render: (i) => formatCount(i.count) },
    { key: 'first', label: t('in.col.first'), value: (i) => i.firstAt ?? i.firstUptimeS, render: (i) => when(i.firstAt, i.firstUptimeS) },
    { key: 'last', label: t('in.col.last'), value: (i) => i.lastAt ?? i.lastUptimeS, render: (i) => when(i.lastAt, i.lastUptimeS) },
    { key: 'container', label: t('in.col.container'), value: (i) => i.container ?? '' },
    { key: 'evidence', label: t('in.col.evidence'), value: (i) => i.evidence.join(' '), render: (i) => formatField('evidence', i.evidence), className: 'wrap' },
    { key: 'stack', label: t('in.col.stack'), value: (i) => i.stack.join(' '), render: (i) => formatField('stack', i.stack), className: 'wrap' },
  ];
  const oomCols: Column<OomItem>[] = [
    { key: 'last', label: t('in.col.last'), value: ({ item: i }) => i.lastAt ?? i.lastUptimeS, render: ({ item: i }) => when(i.lastAt, i.lastUptimeS) },
    { key: 'cause', label: t('in.col.cause'), value: ({ oom }) => oom.cause, render: ({ oom }) => <span className="pill pill-bad">{causeLabel(oom.cause)}</span> },
    { key: 'victim', label: t('in.col.victim'), value: ({ oom }) => oom.killedComm ?? '', render: ({ oom: o }) => (o.killedComm ? <span><strong>{o.killedComm}</strong> <span className="muted">({o.killedPid})</span></span> : '–') },
    { key: 'rss', label: t('in.col.rss'), numeric: true, value: ({ oom }) => oom.killedRssBytes ?? null, render: ({ oom }) => formatBytes(oom.killedRssBytes) },
    { key: 'invoker', label: t('in.col.invoker'), value: ({ oom }) => oom.invoker ?? '' },
    { key: 'memcg', label: t('in.col.memcg'), value: ({ oom }) => oom.oomMemcg ?? '', render: ({ oom: o }) => <span className="path small">{o.oomMemcg ?? '–'}{o.memcgLimitBytes !== undefined && <span className="muted block">{formatBytes(o.memcgUsageBytes)} / {formatBytes(o.memcgLimitBytes)}</span>}</span>, className: 'wrap' },
    { key: 'container', label: t('in.col.container'), value: ({ item, oom }) => oom.container ?? item.container ?? '' },
    { key: 'count', label: t('in.col.count'), numeric: true, value: ({ item }) => item.count },
  ];
  const setCols: Column<InspectItem>[] = [
    { key: 'level', label: t('in.col.level'), value: (i) => LEVEL_RANK[i.level], render: (i) => <Level level={i.level} /> },
    { key: 'class', label: t('in.col.class'), value: (i) => i.class, render: (i) => t(`in.class.${i.class}`) },
    { key: 'title', label: t('in.col.title'), value: (i) => i.title, render: (i) => <strong>{i.title}</strong>, className: 'wrap' },
    { key: 'evidence', label: t('in.col.evidence'), value: (i) => i.evidence.join(' '), render: (i) => <span className="small">{i.evidence.join('; ')}</span>, className: 'wrap' },
    { key: 'source', label: t('in.col.source'), value: (i) => i.source, render: (i) => <code className="small">{i.source}</code> },
  ];
  const srcCols: Column<SourceInfo>[] = [
    { key: 'name', label: t('in.col.source'), value: (s) => s.name, render: (s) => <code>{s.name}</code> },
    { key: 'status', label: t('in.col.status'), value: (s) => s.status, render: (s) => <span className={`pill ${s.status === 'used' ? 'pill-ok' : s.status === 'error' ? 'pill-bad' : ''}`}>{s.status}</span> },
    { key: 'lines', label: t('in.col.lines'), numeric: true, value: (s) => s.lines ?? null, render: (s) => formatCount(s.lines) },
    { key: 'reports', label: t('in.col.reports'), numeric: true, value: (s) => s.reports ?? null, render: (s) => formatCount(s.reports) },
    { key: 'reason', label: '', value: (s) => s.reason ?? '', className: 'muted small wrap' },
  ];
  return (
    <>
      <div className="card" id="oom">
        <h2>{t('in.oom')}</h2>
        <DataTable testId="oom-table" columns={oomCols} rows={ooms} rowKey={({ item }) => item.id} initialSort={{ key: 'last', desc: true }} emptyText={t('in.noOom')} />
      </div>
      <div className="card" id="anomalies">
        <div className="card-head">
          <h2>{t('in.anomalies')}</h2>
          <span className="muted small">{doc.since ? t('in.since', { since: formatTime(doc.since, lang) }) : t('in.allLogs')}</span>
        </div>
        <DataTable testId="anomalies-table" columns={logCols} rows={logs} rowKey={(i) => i.id} initialSort={{ key: 'level', desc: true }} limit={200} emptyText={t('in.noAnomalies')} />
      </div>
      <div className="card" id="settings">
        <h2>{t('in.settings')}</h2>
        <DataTable testId="settings-table" columns={setCols} rows={settings} rowKey={(i) => i.id} initialSort={{ key: 'level', desc: true }} emptyText={t('in.noSettings')} />
      </div>
      <div className="card" id="sources">
        <h2>{t('in.sources')}</h2>
        <DataTable columns={srcCols} rows={doc.sources} rowKey={(s) => s.name} />
      </div>
    </>
  );
}
