/**
 * Tables for report sections the UI has no dedicated view for (new schemas as they land): every array of
 * objects becomes a sortable, filterable table; sizes (`...Bytes`) and durations (`...Ms`, `...S`) are
 * formatted by their names, stacks (arrays of strings) fold into a details element.
 */
import type { ReactNode } from 'react';
import { formatBytes, formatCount, formatDurationMs, formatPct, MISSING } from '@format';
import { DataTable, type Column } from './DataTable.js';

type Row = Record<string, unknown>;

export const isRow = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v);

export function isRowArray(v: unknown): v is Row[] {
  return Array.isArray(v) && v.length > 0 && v.every(isRow);
}

export function formatField(key: string, v: unknown): ReactNode {
  if (v === null || v === undefined) return MISSING;
  if (typeof v === 'number') {
    // The contract's unit suffixes: …Bytes, …Ms, …S, …Us, …Pct (a percent, 0‥100).
    if (/Bytes$/.test(key)) return formatBytes(v);
    if (/Ms$/.test(key)) return formatDurationMs(v);
    if (/(^|[a-z])S$/.test(key)) return formatDurationMs(v * 1000);
    if (/Us$/.test(key)) return formatDurationMs(v / 1000);
    if (/Pct$/.test(key)) return formatPct(v);
    return formatCount(v);
  }
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    if (v.length === 0) return MISSING;
    return (
      <details className="stack">
        <summary>
          {String(v[0])}
          {v.length > 1 ? ` (+${v.length - 1})` : ''}
        </summary>
        <pre>{v.join('\n')}</pre>
      </details>
    );
  }
  const json = JSON.stringify(v);
  return json.length > 80 ? (
    <details className="stack">
      <summary>{json.slice(0, 60)}…</summary>
      <pre>{JSON.stringify(v, null, 2)}</pre>
    </details>
  ) : (
    <code>{json}</code>
  );
}

export function AutoTable({ rows, limit, testId }: { rows: Row[]; limit?: number; testId?: string }) {
  const keys: string[] = [];
  for (const r of rows.slice(0, 50)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const firstBytes = keys.find((k) => /Bytes$/.test(k) && typeof rows[0]?.[k] === 'number');
  const columns: Column<Row>[] = keys.map((k) => {
    const numeric = rows.some((r) => typeof r[k] === 'number');
    return {
      key: k,
      label: k,
      numeric,
      value: (r) => {
        const v = r[k];
        if (typeof v === 'number' || typeof v === 'string') return v;
        if (v === null || v === undefined) return null;
        return JSON.stringify(v);
      },
      render: (r) => formatField(k, r[k]),
      className: typeof rows[0]?.[k] === 'string' ? 'wrap' : undefined,
    };
  });
  return <DataTable testId={testId} columns={columns} rows={rows} limit={limit} initialSort={firstBytes ? { key: firstBytes, desc: true } : undefined} />;
}

/** Every array-of-objects section of a document (one level of nesting), as titled tables. */
export function AutoSections({ doc, skip = [] }: { doc: Record<string, unknown>; skip?: string[] }) {
  const sections: { title: string; rows: Row[] }[] = [];
  const scalars: [string, unknown][] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (skip.includes(k) || k === 'schema' || k === 'findings') continue;
    if (isRowArray(v)) sections.push({ title: k, rows: v });
    else if (isRow(v)) {
      for (const [k2, v2] of Object.entries(v)) {
        if (isRowArray(v2)) sections.push({ title: `${k} › ${k2}`, rows: v2 });
        else if (v2 === null || typeof v2 !== 'object') scalars.push([`${k}.${k2}`, v2]);
      }
    } else if (v === null || typeof v !== 'object') scalars.push([k, v]);
  }
  return (
    <>
      {scalars.length > 0 && (
        <div className="card">
          <dl className="kv">
            {scalars.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{formatField(k.split('.').pop() ?? k, v)}</dd>
              </div>
            ))}
          </dl>
        </div>
      )}
      {sections.map((s) => (
        <div className="card" key={s.title}>
          <h2>{s.title}</h2>
          <AutoTable rows={s.rows} limit={200} testId={`table-${s.title}`} />
        </div>
      ))}
    </>
  );
}
