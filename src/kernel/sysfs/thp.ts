/**
 * Transparent hugepages: /sys/kernel/mm/transparent_hugepage/ (Documentation/admin-guide/mm/transhuge.rst).
 *
 *   enabled        always [madvise] never      the selected mode is in brackets
 *   defrag         always defer defer+madvise [madvise] never
 *   shmem_enabled  always within_size advise [never] deny force
 *   use_zero_page  1
 *   khugepaged/defrag, khugepaged/max_ptes_none, khugepaged/pages_to_scan, khugepaged/scan_sleep_millisecs
 *   hugepages-<size>kB/enabled   per-size mTHP (6.8+): always inherit madvise [never]
 *
 * Absent on kernels built without CONFIG_TRANSPARENT_HUGEPAGE.
 */
import type { Host } from '../../host/host.js';

export const THP_DIR = '/sys/kernel/mm/transparent_hugepage';

/** "[always] madvise never" → "always"; a plain value ("1") is returned as is. */
export function thpSelected(text: string): string {
  const t = text.trim();
  return /\[([^\]]+)\]/.exec(t)?.[1] ?? t;
}

const FILES = ['enabled', 'defrag', 'shmem_enabled', 'use_zero_page', 'khugepaged/defrag', 'khugepaged/max_ptes_none', 'khugepaged/max_ptes_swap', 'khugepaged/max_ptes_shared', 'khugepaged/pages_to_scan', 'khugepaged/scan_sleep_millisecs', 'khugepaged/alloc_sleep_millisecs'];

/** Setting (path under THP_DIR, `/` kept) → selected value; `undefined` when THP is not built in. */
export async function readThp(host: Host): Promise<Record<string, string> | undefined> {
  if (!(await host.exists(`${THP_DIR}/enabled`))) return undefined;
  const out: Record<string, string> = {};
  for (const f of FILES) {
    const v = await host.tryReadText(`${THP_DIR}/${f}`);
    if (v !== undefined) out[f] = thpSelected(v);
  }
  let names: string[] = [];
  try {
    names = (await host.readDir(THP_DIR)).filter((n) => /^hugepages-\d+kB$/.test(n)).sort((a, b) => parseInt(a.slice(10), 10) - parseInt(b.slice(10), 10));
  } catch {
    names = [];
  }
  for (const n of names) {
    const v = await host.tryReadText(`${THP_DIR}/${n}/enabled`);
    if (v !== undefined) out[`${n}/enabled`] = thpSelected(v);
  }
  return out;
}
