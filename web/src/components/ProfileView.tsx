/**
 * The `oscope.profile/v1` view: an interactive flame graph built from `stacks[{frames,count}]` (root
 * first; drawn as an icicle, the root on top), the top functions (self and total) and the share per
 * process. In the flame graph: hover a frame for its share, click it to zoom in (its ancestors stay on
 * top, full width: click one to zoom out), type in the search box to highlight every frame whose name
 * contains the text and see their share of the profile. A plain React/SVG renderer: the graph is a few
 * thousand rectangles at most, and frames narrower than half a pixel are not drawn.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MergedProfile } from '@contract';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import type { ProfileDocument, ProfileFunction, ProfileProcess, ProfileStack, SampleProfile } from '@contract';
import { containerLabel, formatCount, formatDurationMs, formatPct, formatShare } from '@format';
import { type T, useI18n } from '../i18n.js';
import { DataTable, type Column } from './DataTable.js';

export interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

/** The call tree of the stacks: children merged by name, sorted by name (a flame graph's order). */
export function flameTree(stacks: readonly ProfileStack[]): FlameNode {
  interface Build {
    name: string;
    value: number;
    kids: Map<string, Build>;
  }
  const root: Build = { name: 'all', value: 0, kids: new Map() };
  for (const s of stacks) {
    root.value += s.count;
    let n = root;
    for (const f of s.frames) {
      let k = n.kids.get(f);
      if (!k) n.kids.set(f, (k = { name: f, value: 0, kids: new Map() }));
      k.value += s.count;
      n = k;
    }
  }
  const freeze = (b: Build): FlameNode => ({ name: b.name, value: b.value, children: [...b.kids.values()].sort((a, c) => a.name.localeCompare(c.name)).map(freeze) });
  return freeze(root);
}

/** The share of the profile whose stack has a frame containing `q` (case-insensitive), 0..1. */
export function matchedShare(stacks: readonly ProfileStack[], q: string): number {
  const needle = q.trim().toLowerCase();
  const total = stacks.reduce((a, s) => a + s.count, 0);
  if (!needle || total === 0) return 0;
  const hit = stacks.reduce((a, s) => a + (s.frames.some((f) => f.toLowerCase().includes(needle)) ? s.count : 0), 0);
  return hit / total;
}

/** A warm colour per name (stable across renders); kernel-looking frames in orange, others red-yellow. */
function colorOf(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  if (name.startsWith('[unknown')) return '#cbd5e1';
  const hue = 8 + (h % 44);
  const light = 55 + ((h >> 8) % 12);
  return `hsl(${hue}, 85%, ${light}%)`;
}

const ROW = 18;

interface Rect {
  node: FlameNode;
  /** Path of child indexes from the root. */
  path: number[];
  depth: number;
  x: number;
  w: number;
}

function layout(root: FlameNode, zoom: number[], width: number): { rects: Rect[]; depth: number; zoomNode: FlameNode } {
  const rects: Rect[] = [];
  // The zoomed frame's ancestors (and itself): full width.
  let n = root;
  const chain: FlameNode[] = [root];
  for (const i of zoom) {
    const c = n.children[i];
    if (!c) break;
    n = c;
    chain.push(c);
  }
  chain.forEach((c, d) => rects.push({ node: c, path: zoom.slice(0, d), depth: d, x: 0, w: width }));
  const zoomNode = n;
  const scale = zoomNode.value > 0 ? width / zoomNode.value : 0;
  let maxDepth = chain.length - 1;
  const walk = (p: FlameNode, path: number[], depth: number, x0: number): void => {
    let x = x0;
    p.children.forEach((c, i) => {
      const w = c.value * scale;
      if (w >= 0.5) {
        const cp = [...path, i];
        rects.push({ node: c, path: cp, depth, x, w });
        if (depth > maxDepth) maxDepth = depth;
        walk(c, cp, depth + 1, x);
      }
      x += w;
    });
  };
  walk(zoomNode, zoom.slice(0, chain.length - 1), chain.length, 0);
  return { rects, depth: maxDepth + 1, zoomNode };
}

export function FlameGraph({ stacks, unit, search }: { stacks: readonly ProfileStack[]; unit: ProfileDocument['unit']; search: string }) {
  const { t } = useI18n();
  const root = useMemo(() => flameTree(stacks), [stacks]);
  const [zoom, setZoom] = useState<number[]>([]);
  const [hover, setHover] = useState<FlameNode>();
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1000);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    setWidth(Math.max(200, el.clientWidth));
    return () => ro.disconnect();
  }, []);
  const { rects, depth, zoomNode } = useMemo(() => layout(root, zoom, width), [root, zoom, width]);
  const needle = search.trim().toLowerCase();
  const value = (v: number): string => (unit === 'us' ? formatDurationMs(v / 1000) : `${formatCount(v)} ${t('profile.unit.samples')}`);

  return (
    <div ref={box} className="flame" data-testid="flame-graph">
      <div className="flame-head">
        <span className="muted small" data-testid="flame-hover">
          {hover ? t('profile.hover', { name: hover.name, value: value(hover.value), share: formatShare(root.value > 0 ? hover.value / root.value : 0), zoomShare: formatShare(zoomNode.value > 0 ? hover.value / zoomNode.value : 0) }) : t('profile.hint')}
        </span>
        <div className="spacer" />
        <button className="secondary" disabled={zoom.length === 0} onClick={() => setZoom([])} data-testid="flame-reset">
          {t('profile.reset')}
        </button>
      </div>
      <svg width={width} height={depth * ROW} role="img" aria-label={t('profile.flame')} onMouseLeave={() => setHover(undefined)}>
        {rects.map((r) => {
          const hit = needle !== '' && r.node.name.toLowerCase().includes(needle);
          const fill = needle !== '' ? (hit ? '#d946ef' : '#e5e7eb') : r.depth === 0 ? '#94a3b8' : colorOf(r.node.name);
          const chars = Math.floor((r.w - 6) / 6.5);
          const label = chars >= 3 ? (r.node.name.length > chars ? `${r.node.name.slice(0, chars - 1)}…` : r.node.name) : '';
          return (
            <g
              key={r.path.join('.') || 'root'}
              transform={`translate(${r.x},${r.depth * ROW})`}
              onMouseEnter={() => setHover(r.node)}
              onClick={() => setZoom(r.path)}
              className={hit ? 'flame-frame flame-hit' : 'flame-frame'}
              data-name={r.node.name}
            >
              <rect width={Math.max(0.5, r.w - 0.5)} height={ROW - 1} fill={fill} rx={1.5} />
              {label && (
                <text x={3} y={ROW - 5} fontSize={11} fill="#1f2937">
                  {label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function unitLabel(t: T, doc: ProfileDocument): string {
  return doc.unit === 'us' ? t('profile.unit.us') : t('profile.unit.samples');
}

/**
 * The node's continuous profile over the samples shown (the agent's `--profile-hz` windows, merged):
 * one flame graph with search, or nothing when the agent does not profile.
 */
export function ContinuousProfileCard({ samples }: { samples: readonly { data: { profiles?: SampleProfile[] } }[] }) {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const merged = useMemo(() => {
    const byKey = new Map<string, ProfileStack>();
    let windows = 0;
    let total = 0;
    for (const s of samples) {
      for (const p of s.data.profiles ?? []) {
        windows++;
        total += p.samples;
        for (const st of p.stacks) {
          const frames = st.f.map((i) => p.names[i] ?? '?');
          const key = frames.join('\u0000');
          const e = byKey.get(key);
          if (e) e.count += st.n;
          else byKey.set(key, { frames, count: st.n });
        }
      }
    }
    return { stacks: [...byKey.values()], windows, total };
  }, [samples]);
  const matched = useMemo(() => matchedShare(merged.stacks, search), [merged.stacks, search]);
  if (merged.windows === 0) return null;
  return (
    <div className="card" data-testid="node-profile">
      <div className="card-head">
        <h2>{t('profile.continuous')}</h2>
        <span className="muted small">{t('profile.continuousSummary', { windows: merged.windows, samples: formatCount(merged.total) })}</span>
        <div className="spacer" />
        <input type="search" value={search} placeholder={t('profile.search')} onChange={(e) => setSearch(e.target.value)} data-testid="node-flame-search" aria-label={t('profile.search')} />
        {search.trim() !== '' && <span className="pill">{t('profile.matched', { share: formatShare(matched), unit: t('profile.unit.samples') })}</span>}
      </div>
      <FlameGraph stacks={merged.stacks} unit="samples" search={search} />
    </div>
  );
}

export function ProfileView({ doc }: { doc: ProfileDocument }) {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const matched = useMemo(() => matchedShare(doc.stacks, search), [doc.stacks, search]);
  const value = (v: number): string => (doc.unit === 'us' ? formatDurationMs(v / 1000) : formatCount(v));

  const fnCols: Column<ProfileFunction>[] = [
    {
      key: 'name',
      label: t('profile.col.function'),
      value: (f) => f.name,
      render: (f) => (
        <button className="link" onClick={() => setSearch(f.name)} title={t('profile.search')}>
          <code>{f.name}</code>
        </button>
      ),
      className: 'wrap',
    },
    { key: 'module', label: t('profile.col.module'), value: (f) => f.module, className: 'muted small' },
    { key: 'self', label: t('profile.col.self'), numeric: true, value: (f) => f.selfSamples, render: (f) => value(f.selfSamples) },
    { key: 'selfPct', label: t('profile.col.selfPct'), numeric: true, value: (f) => f.selfPct, render: (f) => <strong>{formatPct(f.selfPct)}</strong> },
    { key: 'totalPct', label: t('profile.col.totalPct'), numeric: true, value: (f) => f.totalPct, render: (f) => formatPct(f.totalPct) },
  ];
  const procCols: Column<ProfileProcess>[] = [
    { key: 'who', label: t('profile.col.process'), value: (p) => `${p.comm} ${p.pid}`, render: (p) => <span><strong>{p.comm}</strong> <span className="muted">({p.pid})</span></span> },
    { key: 'samples', label: unitLabel(t, doc), numeric: true, value: (p) => p.samples, render: (p) => value(p.samples) },
    { key: 'share', label: t('profile.col.share'), numeric: true, value: (p) => p.samples, render: (p) => formatShare(doc.samples > 0 ? p.samples / doc.samples : 0) },
    { key: 'container', label: t('profile.col.container'), value: (p) => (p.container ? containerLabel(p.container) : ''), className: 'small' },
  ];

  return (
    <>
      <div className="card" data-testid="profile-flame">
        <div className="card-head">
          <h2>{t('profile.flame')}</h2>
          <span className="muted small">{t('profile.summary', { mode: t(`profile.mode.${doc.mode}`), event: doc.event, hz: doc.hz, s: doc.intervalS, samples: `${value(doc.samples)}${doc.unit === 'samples' ? ` ${t('profile.unit.samples')}` : ''}` })}</span>
          <div className="spacer" />
          <input type="search" value={search} placeholder={t('profile.search')} onChange={(e) => setSearch(e.target.value)} data-testid="flame-search" aria-label={t('profile.search')} />
          {search.trim() !== '' && (
            <span className="pill" data-testid="flame-matched">
              {t('profile.matched', { share: formatShare(matched), unit: unitLabel(t, doc) })}
            </span>
          )}
        </div>
        {doc.stacks.length === 0 ? <p className="muted">{t('profile.noSamples')}</p> : <FlameGraph stacks={doc.stacks} unit={doc.unit} search={search} />}
      </div>

      <div className="grid2">
        <div className="card" data-testid="profile-functions">
          <h2>{t('profile.functions')}</h2>
          <DataTable testId="profile-functions-table" columns={fnCols} rows={doc.functions} rowKey={(f) => `${f.module}:${f.name}`} initialSort={{ key: 'self', desc: true }} limit={50} />
        </div>
        <div className="card" data-testid="profile-processes">
          <h2>{t('profile.processes')}</h2>
          <DataTable testId="profile-processes-table" columns={procCols} rows={doc.processes} rowKey={(p) => String(p.pid)} initialSort={{ key: 'samples', desc: true }} limit={50} />
        </div>
      </div>
    </>
  );
}

/** Self and total share (%) per function (the leaf frame is self) of a set of stacks. */
export function functionShares(stacks: readonly ProfileStack[]): Map<string, { self: number; total: number }> {
  const all = stacks.reduce((a, s) => a + s.count, 0);
  const out = new Map<string, { self: number; total: number }>();
  for (const s of stacks) {
    const leaf = s.frames.at(-1);
    for (const name of new Set(s.frames)) {
      const e = out.get(name) ?? { self: 0, total: 0 };
      e.total += s.count;
      if (name === leaf) e.self += s.count;
      out.set(name, e);
    }
  }
  for (const e of out.values()) {
    e.self = all > 0 ? (e.self / all) * 100 : 0;
    e.total = all > 0 ? (e.total / all) * 100 : 0;
  }
  return out;
}

export interface DiffRow {
  name: string;
  beforePct: number;
  afterPct: number;
  deltaPct: number;
}

/** What got hotter from range A to range B: per function, the self share in each, sorted by the change. */
export function diffShares(a: readonly ProfileStack[], b: readonly ProfileStack[]): DiffRow[] {
  const sa = functionShares(a);
  const sb = functionShares(b);
  const names = new Set([...sa.keys(), ...sb.keys()]);
  return [...names]
    .map((name) => {
      const x = sa.get(name)?.self ?? 0;
      const y = sb.get(name)?.self ?? 0;
      return { name, beforePct: x, afterPct: y, deltaPct: y - x };
    })
    .filter((r) => r.beforePct > 0 || r.afterPct > 0)
    .sort((p, q) => q.deltaPct - p.deltaPct || (p.name < q.name ? -1 : 1));
}

const RANGES = [15, 60, 360, 1440, 10080] as const;
/** A datetime-local value (local time, minutes) of an epoch ms. */
const localInput = (ms: number): string => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/** One range picker: a preset (the last N minutes) or a custom from–to. */
function RangePicker({ value, onChange, testId }: { value: { from: number; to: number }; onChange: (v: { from: number; to: number }) => void; testId: string }) {
  const { t } = useI18n();
  return (
    <span className="range-picker" data-testid={testId}>
      <select
        aria-label={t('profile.range')}
        value=""
        onChange={(e) => {
          const m = Number(e.target.value);
          if (m > 0) onChange({ from: Date.now() - m * 60_000, to: Date.now() });
        }}
      >
        <option value="">{t('profile.range.pick')}</option>
        {RANGES.map((m) => (
          <option key={m} value={m}>
            {t(`profile.range.${m}`)}
          </option>
        ))}
      </select>
      <input type="datetime-local" aria-label={t('profile.range.from')} value={localInput(value.from)} onChange={(e) => e.target.value && onChange({ ...value, from: new Date(e.target.value).getTime() })} />
      <span className="muted">–</span>
      <input type="datetime-local" aria-label={t('profile.range.to')} value={localInput(value.to)} onChange={(e) => e.target.value && onChange({ ...value, to: new Date(e.target.value).getTime() })} />
    </span>
  );
}

/**
 * The node's profile history: the continuous and triggered windows the console keeps, merged for any
 * time range (GET /api/nodes/:id/profiles), and with "compare" a second range (by default the one just
 * before, of the same length) and what got hotter from it to the first.
 */
export function ProfileHistoryCard({ nodeId }: { nodeId: string }) {
  const { t } = useI18n();
  const [range, setRange] = useState(() => ({ from: Date.now() - 3600_000, to: Date.now() }));
  const [compare, setCompare] = useState(false);
  const [base, setBase] = useState<{ from: number; to: number }>();
  const [search, setSearch] = useState('');
  const b = base ?? { from: range.from - (range.to - range.from), to: range.from };
  const cur = useLoad(() => api.profiles(nodeId, new Date(range.from).toISOString(), new Date(range.to).toISOString()), [nodeId, range.from, range.to]);
  const before = useLoad<MergedProfile | undefined>(() => (compare ? api.profiles(nodeId, new Date(b.from).toISOString(), new Date(b.to).toISOString()) : Promise.resolve(undefined)), [nodeId, compare, b.from, b.to]);
  const stacks = cur.data?.stacks ?? [];
  const matched = useMemo(() => matchedShare(stacks, search), [stacks, search]);
  const diff = useMemo(() => (compare && before.data && cur.data ? diffShares(before.data.stacks, cur.data.stacks) : []), [compare, before.data, cur.data]);
  const diffCols: Column<DiffRow>[] = [
    { key: 'name', label: t('profile.col.function'), value: (r) => r.name, render: (r) => <code>{r.name}</code>, className: 'wrap' },
    { key: 'before', label: t('profile.diff.before'), numeric: true, value: (r) => r.beforePct, render: (r) => formatPct(r.beforePct) },
    { key: 'after', label: t('profile.diff.after'), numeric: true, value: (r) => r.afterPct, render: (r) => formatPct(r.afterPct) },
    { key: 'delta', label: t('profile.diff.delta'), numeric: true, value: (r) => r.deltaPct, render: (r) => <strong className={r.deltaPct > 0 ? 'bad' : undefined}>{`${r.deltaPct > 0 ? '+' : ''}${r.deltaPct.toFixed(1)}`}</strong> },
  ];
  return (
    <div className="card" data-testid="node-profile">
      <div className="card-head">
        <h2>{t('profile.history')}</h2>
        <RangePicker value={range} onChange={setRange} testId="profile-range" />
        <label className="small">
          <input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} data-testid="profile-compare" /> {t('profile.compare')}
        </label>
        {compare && <RangePicker value={b} onChange={setBase} testId="profile-range-base" />}
      </div>
      {cur.data && (
        <div className="card-head">
          <span className="muted small" data-testid="profile-history-summary">
            {t('profile.historySummary', { windows: cur.data.windows, samples: formatCount(cur.data.samples), triggers: cur.data.triggers.length })}
          </span>
          {cur.data.triggers.length > 0 && <span className="pill">{t('profile.triggered', { rules: [...new Set(cur.data.triggers.map((x) => x.rule))].join(', ') })}</span>}
          <div className="spacer" />
          <input type="search" value={search} placeholder={t('profile.search')} onChange={(e) => setSearch(e.target.value)} data-testid="node-flame-search" aria-label={t('profile.search')} />
          {search.trim() !== '' && <span className="pill">{t('profile.matched', { share: formatShare(matched), unit: t('profile.unit.samples') })}</span>}
        </div>
      )}
      {cur.error && <p className="error">{cur.error}</p>}
      {cur.data && (stacks.length === 0 ? <p className="muted" data-testid="profile-history-empty">{t('profile.historyEmpty')}</p> : <FlameGraph stacks={stacks} unit="samples" search={search} />)}
      {compare && before.data && (
        <div data-testid="profile-diff">
          <h3>{t('profile.diff.title', { windows: before.data.windows })}</h3>
          <DataTable testId="profile-diff-table" columns={diffCols} rows={diff} rowKey={(r) => r.name} initialSort={{ key: 'delta', desc: true }} limit={30} />
        </div>
      )}
    </div>
  );
}
