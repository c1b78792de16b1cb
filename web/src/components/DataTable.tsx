/** A sortable, filterable table: click a header to sort, type in the box to filter every column. */
import { type ReactNode, useMemo, useState } from 'react';
import { useI18n } from '../i18n.js';

export interface Column<R> {
  key: string;
  label: string;
  /** The value sorted and filtered on. */
  value: (r: R) => string | number | null | undefined;
  /** How the cell shows (default: the value). */
  render?: (r: R) => ReactNode;
  numeric?: boolean;
  className?: string;
}

export function DataTable<R>({
  columns,
  rows,
  initialSort,
  limit,
  testId,
  rowKey,
  emptyText,
}: {
  columns: Column<R>[];
  rows: R[];
  initialSort?: { key: string; desc: boolean };
  limit?: number;
  testId?: string;
  rowKey?: (r: R, i: number) => string;
  emptyText?: string;
}) {
  const { t } = useI18n();
  const [sort, setSort] = useState(initialSort ?? null);
  const [filter, setFilter] = useState('');

  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    let out = f ? rows.filter((r) => columns.some((c) => String(c.value(r) ?? '').toLowerCase().includes(f))) : [...rows];
    if (sort) {
      const col = columns.find((c) => c.key === sort.key);
      if (col) {
        out = out.sort((a, b) => {
          const x = col.value(a);
          const y = col.value(b);
          let d: number;
          if (x === null || x === undefined) d = y === null || y === undefined ? 0 : -1;
          else if (y === null || y === undefined) d = 1;
          else if (typeof x === 'number' && typeof y === 'number') d = x - y;
          else d = String(x).localeCompare(String(y), undefined, { numeric: true });
          return sort.desc ? -d : d;
        });
      }
    }
    return out;
  }, [rows, columns, sort, filter]);

  const visible = limit ? shown.slice(0, limit) : shown;

  return (
    <div className="table-wrap" data-testid={testId}>
      <div className="table-tools">
        <input className="filter" type="search" placeholder={t('common.filter')} value={filter} onChange={(e) => setFilter(e.target.value)} />
        <span className="muted small">{visible.length < rows.length ? t('common.showing', { shown: visible.length, n: rows.length }) : t('common.rows', { n: rows.length })}</span>
      </div>
      {rows.length === 0 ? (
        <p className="muted">{emptyText ?? t('common.none')}</p>
      ) : (
        <div className="scroll-x">
          <table className="data">
            <thead>
              <tr>
                {columns.map((c) => {
                  const active = sort?.key === c.key;
                  return (
                    <th
                      key={c.key}
                      className={`${c.numeric ? 'num' : ''} sortable${active ? ' sorted' : ''}`}
                      onClick={() => setSort(active ? { key: c.key, desc: !sort.desc } : { key: c.key, desc: c.numeric === true })}
                      aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                    >
                      {c.label}
                      <span className="sort-mark">{active ? (sort.desc ? '▾' : '▴') : ''}</span>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {visible.map((r, i) => (
                <tr key={rowKey ? rowKey(r, i) : i}>
                  {columns.map((c) => (
                    <td key={c.key} className={`${c.numeric ? 'num' : ''} ${c.className ?? ''}`}>
                      {c.render ? c.render(r) : String(c.value(r) ?? '–')}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
