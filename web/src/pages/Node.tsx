import { useEffect, useMemo, useState } from 'react';
import type { DiagnosisInfo, NodeSample, SampleCgroup, Task } from '@contract';
import { formatBytes } from '@format';
import { ApiError, api } from '../api.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { DisksCard, HealthCard, LogAnomaliesCard, NetCard, RunqueueCard } from '../components/NodeCharts.js';
import { ProfileHistoryCard } from '../components/ProfileView.js';
import { isAdmin, useMe } from '../session.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { formatAge, formatSpan, formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { itemLabel, type Key, type Lang, useI18n } from '../i18n.js';
import { go, href } from '../router.js';
import { MemBar, usedBytes } from './Fleet.js';

/** The one-click diagnoses, in the order of the buttons. */
export const DIAGNOSES = ['mem', 'filecache', 'memleak', 'runlatency', 'inspect', 'io', 'net', 'load', 'profile'] as const;
const ACTIVE = new Set(['queued', 'running']);

export function diagLabel(t: (k: Key) => string, name: string): string {
  const known = DIAGNOSES.find((d) => d === name);
  return known ? t(`diag.${known}`) : name;
}

/**
 * The parameters sent with a task: the UI language when the diagnosis takes `lang`, and the scope when it
 * takes `cgroup` (both recognised from the defaults GET /api/diagnoses lists; see web/API-ASSUMPTIONS.md).
 */
export function taskParams(d: DiagnosisInfo | undefined, lang: string, cgroup: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  const defaults = d?.defaults ?? {};
  if ('lang' in defaults) p.lang = lang;
  if (cgroup && 'cgroup' in defaults) p.cgroup = cgroup;
  // Options the person picked, for the parameters this diagnosis has (older agents may lack some).
  for (const [k, v] of Object.entries(extra)) if (k in defaults) p[k] = v;
  return p;
}

/** The few choices a person makes before a click: each a set of parameters, the first the default. */
const OPTIONS: Record<string, { key: Key; params: Record<string, unknown> }[]> = {
  memleak: [
    { key: 'opt.memleak.check', params: { check: true } },
    { key: 'opt.memleak.slab', params: { check: false, type: 'slab', durationS: 60 } },
    { key: 'opt.memleak.page', params: { check: false, type: 'page', durationS: 60 } },
    { key: 'opt.memleak.vmalloc', params: { check: false, type: 'vmalloc', durationS: 60 } },
  ],
  runlatency: [
    { key: 'opt.runlatency.10', params: { durationS: 10 } },
    { key: 'opt.runlatency.30', params: { durationS: 30 } },
    { key: 'opt.runlatency.60', params: { durationS: 60 } },
  ],
  io: [
    { key: 'opt.io.10', params: { intervalS: 10 } },
    { key: 'opt.io.5', params: { intervalS: 5 } },
    { key: 'opt.io.30', params: { intervalS: 30 } },
  ],
  net: [
    { key: 'opt.net.5', params: { intervalS: 5 } },
    { key: 'opt.net.10', params: { intervalS: 10 } },
    { key: 'opt.net.30', params: { intervalS: 30 } },
  ],
  load: [
    { key: 'opt.load.5', params: { intervalS: 5 } },
    { key: 'opt.load.10', params: { intervalS: 10 } },
    { key: 'opt.load.30', params: { intervalS: 30 } },
  ],
  profile: [
    { key: 'opt.profile.10', params: { intervalS: 10, hz: 49, offCpu: false } },
    { key: 'opt.profile.30', params: { intervalS: 30, hz: 49, offCpu: false } },
    { key: 'opt.profile.offcpu', params: { intervalS: 10, offCpu: true } },
  ],
  inspect: [
    { key: 'opt.inspect.24h', params: { sinceH: 24 } },
    { key: 'opt.inspect.7d', params: { sinceH: 24 * 7 } },
    { key: 'opt.inspect.30d', params: { sinceH: 24 * 30 } },
  ],
};

/** The scopes of `oscope net` (src/diagnose/net/params.ts), besides the whole host and the page's cgroup. */
export const NET_SCOPES = ['host', 'container', 'pod', 'pid', 'cgroup', 'netns'] as const;
export type NetScopeKind = (typeof NET_SCOPES)[number];

/**
 * The scope parameters of a `net` task, or the key of the message saying what is wrong with them. The
 * scope is the kind picked with its value (a container id prefix, a pod NAME[/NS], a PID, a cgroup path,
 * a network namespace file), else the page's container/cgroup; the port applies to any scope. The agent
 * checks them again (NetParamsSchema) and answers a bad one with one sentence.
 */
export function netScopeParams(kind: NetScopeKind, value: string, port: string, pageCgroup: string): { params: Record<string, unknown> } | { error: Key } {
  const v = value.trim();
  const params: Record<string, unknown> = {};
  if (kind === 'host') {
    if (pageCgroup) params.cgroup = pageCgroup;
  } else if (v === '') {
    return { error: 'node.net.needValue' };
  } else if (kind === 'pid') {
    if (!/^[1-9]\d*$/.test(v)) return { error: 'node.net.badPid' };
    params.pid = Number(v);
  } else if (kind === 'container') {
    if (v.length < 4) return { error: 'node.net.badContainer' };
    params.container = v;
  } else if (kind === 'netns') {
    if (v !== 'all' && !v.startsWith('/')) return { error: 'node.net.badNetns' };
    params.netns = v;
  } else {
    params[kind] = v;
  }
  const p = port.trim();
  if (p !== '') {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) return { error: 'node.net.badPort' };
    params.port = Number(p);
  }
  return { params };
}

export function TaskStatusPill({ task }: { task: Task }) {
  const { t } = useI18n();
  const cls = task.status === 'done' ? 'pill-ok' : task.status === 'failed' || task.status === 'timeout' ? 'pill-bad' : ACTIVE.has(task.status) ? 'pill-run' : '';
  return <span className={`pill ${cls}`}>{t(`task.status.${task.status}`)}</span>;
}

function Progress({ task, onCancel }: { task: Task; onCancel: () => void }) {
  const { t } = useI18n();
  const p = task.progress;
  const frac = p && p.total > 0 ? Math.min(1, p.done / p.total) : null;
  return (
    <div className="progress-box" data-testid="task-progress">
      <div className="progress-head">
        <span className="spinner" />
        <strong>{task.status === 'queued' ? t('node.queued') : t('node.running', { diagnosis: diagLabel(t, task.diagnosis) })}</strong>
        <span className="muted small">{p ? `${p.step} ${p.total > 0 ? `${p.done}/${p.total}` : ''}` : ''}</span>
        <div className="spacer" />
        <button className="link" onClick={onCancel}>
          {t('node.cancel')}
        </button>
      </div>
      <div className={`progress ${frac === null ? 'indeterminate' : ''}`}>
        <div className="progress-fill" style={frac === null ? undefined : { width: `${frac * 100}%` }} />
      </div>
    </div>
  );
}

const TREND: [string, string][] = [
  ['anon', 'anon'],
  ['file', 'filecache'],
  ['shmem', 'shmem'],
  ['slab_reclaimable', 'slabReclaimable'],
  ['slab_unreclaimable', 'slabUnreclaimable'],
];

function trendOption(lang: Lang, samples: NodeSample[]): ChartOption {
  const pts = samples.filter((s) => s.data.components);
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => formatBytes(Number(v)) },
    legend: { top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 60, right: 16, top: 30, bottom: 24 },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatBytes(v) } },
    series: TREND.map(([k, item]) => ({
      name: itemLabel(lang, item),
      type: 'line',
      stack: 'mem',
      areaStyle: { opacity: 0.35 },
      symbol: 'none',
      lineStyle: { width: 1 },
      data: pts.map((s) => [s.ts, s.data.components?.[k] ?? 0]),
    })),
  };
}

export function NodePage({ nodeId }: { nodeId: string }) {
  const { t, lang } = useI18n();
  const me = useMe();
  const canRun = me === undefined || isAdmin(me);
  const node = useLoad(() => api.node(nodeId), [nodeId], 5000);
  const diagnoses = useLoad(() => api.diagnoses(), []);
  const [since] = useState(() => new Date(Date.now() - 3600_000).toISOString());
  const samples = useLoad(() => api.samples(nodeId, since), [nodeId], 30000);
  const [current, setCurrent] = useState<Task>();
  const history = useLoad(() => api.tasks(nodeId), [nodeId], current && ACTIVE.has(current.status) ? 1000 : 5000);
  const [scope, setScope] = useState('');
  const [ioDisk, setIoDisk] = useState('');
  const [netKind, setNetKind] = useState<NetScopeKind>('host');
  const [netValue, setNetValue] = useState('');
  const [netPort, setNetPort] = useState('');
  const [choice, setChoice] = useState<Record<string, number>>({});
  const [error, setError] = useState<string>();
  const [picked, setPicked] = useState<string[]>([]);

  // Follow the task this page started; when it is done, open its result.
  const live = current ? (history.data?.find((x) => x.id === current.id) ?? current) : undefined;
  useEffect(() => {
    if (live?.status === 'done') go('tasks', live.id);
  }, [live?.id, live?.status]);
  const running = (history.data ?? []).filter((x) => ACTIVE.has(x.status));

  const run = (name: string): void => {
    setError(undefined);
    const d = diagnoses.data?.find((x) => x.name === name);
    const extra = { ...OPTIONS[name]?.[choice[name] ?? 0]?.params, ...(name === 'io' && ioDisk ? { disk: ioDisk } : {}) };
    let params = taskParams(d, lang, scope, extra);
    if (name === 'net') {
      // net's scope parameters have no defaults (they are absent by default), so they are not in `defaults`.
      const ns = netScopeParams(netKind, netValue, netPort, scope);
      if ('error' in ns) {
        setError(t(ns.error));
        return;
      }
      params = { ...params, ...ns.params };
    }
    api.createTask(nodeId, name, params).then(
      (task) => {
        setCurrent(task);
        history.reload();
      },
      (e: unknown) => {
        setError(e instanceof Error ? e.message : String(e));
        if (e instanceof ApiError && typeof e.body.activeTaskId === 'string') {
          api.task(e.body.activeTaskId).then(setCurrent, () => undefined);
        }
        history.reload();
      },
    );
  };

  const cgroups: SampleCgroup[] = node.data?.latest?.cgroups ?? [];
  /** The disks of the node's samples in the hour (the latest first), for the I/O diagnosis's disk scope. */
  const diskNames = useMemo(() => {
    const names = new Set<string>((node.data?.latest?.disks ?? []).map((x) => x.name));
    for (const s of [...(samples.data ?? [])].reverse()) for (const x of s.data.disks ?? []) names.add(x.name);
    return [...names];
  }, [node.data?.latest?.disks, samples.data]);
  /** The diagnoses that take the picked container/cgroup (the others run host-wide). */
  const scoped = DIAGNOSES.filter((d) => {
    const defaults = diagnoses.data?.find((x) => x.name === d)?.defaults ?? {};
    return 'cgroup' in defaults || (d === 'net' && 'netns' in defaults);
  });
  const netScoped = 'netns' in (diagnoses.data?.find((x) => x.name === 'net')?.defaults ?? {});
  const n = node.data;
  const available = new Set((diagnoses.data ?? []).map((d) => d.name));
  const agentKnows = n?.info.diagnoses;

  const cgColumns: Column<SampleCgroup>[] = [
    { key: 'path', label: 'cgroup', value: (c) => c.path, render: (c) => <code className="path">{c.path}</code> },
    ...(cgroups.some((c) => c.container) ? [{ key: 'container', label: 'container', value: (c: SampleCgroup) => c.container ?? '' }] : []),
    { key: 'usage', label: 'usage', numeric: true, value: (c) => c.usageBytes, render: (c) => formatBytes(c.usageBytes) },
    { key: 'ws', label: 'workingset', numeric: true, value: (c) => c.workingsetBytes, render: (c) => formatBytes(c.workingsetBytes) },
    { key: 'limit', label: 'limit', numeric: true, value: (c) => c.limitBytes, render: (c) => (c.limitBytes === null ? 'max' : formatBytes(c.limitBytes)) },
  ];

  const histColumns: Column<Task>[] = useMemo(
    () => [
      {
        key: 'pick',
        label: '⇄',
        value: () => '',
        render: (x) =>
          x.status === 'done' && x.reportSchema === 'oscope.mem/v1' ? (
            <input
              type="checkbox"
              aria-label="compare"
              checked={picked.includes(x.id)}
              onChange={(e) => setPicked((p) => (e.target.checked ? [...p.filter((y) => y !== x.id), x.id].slice(-2) : p.filter((y) => y !== x.id)))}
            />
          ) : null,
      },
      { key: 'created', label: t('task.created'), value: (x) => x.createdAt, render: (x) => <span className="nowrap">{formatTime(x.createdAt, lang)}</span> },
      {
        key: 'diag',
        label: t('task.diagnosis'),
        value: (x) => diagLabel(t, x.diagnosis),
        render: (x) => (x.status === 'done' ? <a href={href('tasks', x.id)}>{diagLabel(t, x.diagnosis)}</a> : diagLabel(t, x.diagnosis)),
      },
      { key: 'status', label: t('task.status'), value: (x) => x.status, render: (x) => <TaskStatusPill task={x} /> },
      { key: 'dur', label: t('task.duration'), value: (x) => (x.startedAt && x.finishedAt ? Date.parse(x.finishedAt) - Date.parse(x.startedAt) : null), numeric: true, render: (x) => formatSpan(x.startedAt, x.finishedAt) },
      { key: 'by', label: t('task.by'), value: (x) => x.createdBy, className: 'muted small' },
      { key: 'err', label: '', value: (x) => x.error ?? '', className: 'muted small wrap' },
    ],
    [t, lang, picked],
  );

  const trend = useMemo(() => trendOption(lang, samples.data ?? []), [lang, samples.data]);

  if (node.error && !n) return <p className="error pad">{node.error}</p>;
  if (!n) return <p className="muted pad">{t('common.loading')}</p>;

  return (
    <section className="page">
      <div className="page-head">
        <a className="muted" href={href()}>
          ← {t('nav.fleet')}
        </a>
        <h1 data-testid="node-title">{n.name}</h1>
        <span className={`dot ${n.online ? 'on' : 'off'}`}>{n.online ? t('fleet.online') : t('fleet.offline')}</span>
        <span className="muted small">
          {n.info.kernel ?? ''} · {t('fleet.lastSeen')}: {n.lastSeenAt ? t('common.ago', { t: formatAge(n.lastSeenAt) }) : t('common.never')}
        </span>
        <div className="spacer" />
        <MemBar used={usedBytes(n)} total={n.latest?.memTotalBytes} />
      </div>

      <div className="card">
        <h2>{t('node.run')}</h2>
        <div className="scope-row">
          <label>
            {t('node.scope')}{' '}
            <select value={scope} onChange={(e) => setScope(e.target.value)} data-testid="scope-select">
              <option value="">{t('node.scope.host')}</option>
              {cgroups.map((c) => (
                <option key={c.path} value={c.path}>
                  {c.container ? `${c.container} — ${c.path}` : c.path} ({formatBytes(c.usageBytes)})
                </option>
              ))}
            </select>
          </label>
          <span className="muted small">{scope ? t('node.scope.takes', { list: scoped.map((d) => t(`diag.${d}`)).join(', ') || '–' }) : t('node.scope.hint')}</span>
        </div>
        <div className="diag-buttons">
          {DIAGNOSES.map((d) => {
            const ok = canRun && available.has(d) && (!agentKnows || agentKnows.length === 0 || agentKnows.includes(d));
            const busy = running.some((x) => x.diagnosis === d);
            return (
              <button key={d} className="diag-button" disabled={!ok || busy} onClick={() => run(d)} data-testid={`run-${d}`} title={ok ? t(`diag.${d}.desc`) : canRun ? t('node.unavailable') : t('node.viewerOnly')}>
                <span className="diag-name">{t(`diag.${d}`)}</span>
                <span className="diag-desc">{ok ? t(`diag.${d}.desc`) : canRun ? t('node.unavailable') : t('node.viewerOnly')}</span>
              </button>
            );
          })}
        </div>
        <div className="diag-options">
          {DIAGNOSES.map((d) => {
            const opts = OPTIONS[d];
            const defaults = diagnoses.data?.find((x) => x.name === d)?.defaults ?? {};
            // Offered only when the diagnosis has every parameter of the choices.
            if (!opts || !opts.every((o) => Object.keys(o.params).every((k) => k in defaults))) return <span key={d} />;
            return (
              <select key={d} value={choice[d] ?? 0} onChange={(e) => setChoice((c) => ({ ...c, [d]: Number(e.target.value) }))} data-testid={`opt-${d}`} aria-label={t(`diag.${d}`)}>
                {opts.map((o, i) => (
                  <option key={o.key} value={i}>
                    {t(o.key)}
                  </option>
                ))}
              </select>
            );
          })}
        </div>
        {'disk' in (diagnoses.data?.find((x) => x.name === 'io')?.defaults ?? {}) && (
          <div className="diag-options">
            <label>
              {t('node.ioDisk')}{' '}
              <select value={ioDisk} onChange={(e) => setIoDisk(e.target.value)} data-testid="io-disk-select">
                <option value="">{t('node.ioDisk.all')}</option>
                {diskNames.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
          </div>
        )}
        {netScoped && (
          <div className="diag-options" data-testid="net-scope">
            <label>
              {t('node.net.scope')}{' '}
              <select value={netKind} onChange={(e) => setNetKind(e.target.value as NetScopeKind)} data-testid="net-scope-kind">
                {NET_SCOPES.map((k) => (
                  <option key={k} value={k}>
                    {t(`node.net.kind.${k}`)}
                  </option>
                ))}
              </select>
            </label>
            {netKind !== 'host' && (
              <input
                className="net-scope-value"
                value={netValue}
                onChange={(e) => setNetValue(e.target.value)}
                placeholder={t(`node.net.placeholder.${netKind}`)}
                list={netKind === 'cgroup' ? 'net-cgroups' : undefined}
                data-testid="net-scope-value"
                aria-label={t(`node.net.kind.${netKind}`)}
              />
            )}
            <datalist id="net-cgroups">
              {cgroups.map((c) => (
                <option key={c.path} value={c.path}>
                  {c.container ?? ''}
                </option>
              ))}
            </datalist>
            <label>
              {t('node.net.port')}{' '}
              <input className="net-port" inputMode="numeric" value={netPort} onChange={(e) => setNetPort(e.target.value)} placeholder="1–65535" data-testid="net-port" />
            </label>
            <span className="muted small">{netKind === 'host' ? (scope ? t('node.net.hintCgroup', { cgroup: scope }) : t('node.net.hintHost')) : t(`node.net.hint.${netKind}`)}</span>
          </div>
        )}
        {error && <p className="error">{error}</p>}
        {live && ACTIVE.has(live.status) && <Progress task={live} onCancel={() => void api.cancelTask(live.id).then(setCurrent, (e: unknown) => setError(String(e)))} />}
        {live && (live.status === 'failed' || live.status === 'timeout') && <p className="error">{t('result.failed', { error: live.error ?? live.status })}</p>}
        {running
          .filter((x) => x.id !== live?.id)
          .map((x) => (
            <Progress key={x.id} task={x} onCancel={() => void api.cancelTask(x.id).then(() => history.reload())} />
          ))}
      </div>

      <DisksCard samples={samples.data ?? []} />

      <NetCard samples={samples.data ?? []} />

      <ProfileHistoryCard nodeId={nodeId} />

      <div className="grid2">
        <RunqueueCard samples={samples.data ?? []} />
        <HealthCard samples={samples.data ?? []} />
        <LogAnomaliesCard samples={samples.data ?? []} />
      </div>

      <div className="grid2">
        <div className="card">
          <h2>{t('node.memTrend')}</h2>
          {(samples.data ?? []).length > 0 ? <Chart option={trend} height={300} /> : <p className="muted">{t('node.noSamples')}</p>}
        </div>
        <div className="card">
          <h2>{t('node.cgroups')}</h2>
          <DataTable columns={cgColumns} rows={cgroups} rowKey={(c) => c.path} initialSort={{ key: 'usage', desc: true }} limit={30} />
        </div>
      </div>

      <div className="card">
        <div className="card-head">
          <h2>{t('node.history')}</h2>
          <div className="spacer" />
          <span className="muted small">{t('node.compareHint')}</span>
          <button className="secondary" disabled={picked.length !== 2} onClick={() => go('compare', picked[0]!, picked[1]!)} data-testid="compare-button">
            {t('node.compare')}
          </button>
        </div>
        <DataTable testId="history-table" columns={histColumns} rows={history.data ?? []} rowKey={(x) => x.id} initialSort={{ key: 'created', desc: true }} />
      </div>
    </section>
  );
}
