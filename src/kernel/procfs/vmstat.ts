/**
 * /proc/vmstat — the kernel's virtual-memory event and state counters (mm/vmstat.c, vmstat_start()/
 * vmstat_show(); the names come from vmstat_text[]).
 *
 * Each line is `name value`. The set of names changes with every kernel release and config, so the
 * result is a map plus accessors. Two kinds of counters live here:
 * - state counters (`nr_*`, e.g. nr_free_pages, nr_slab_reclaimable, nr_kernel_stack, nr_shmem,
 *   nr_anon_pages, nr_file_pages): current values, in PAGES (PAGE_SIZE units). Exceptions: nr_kernel_stack
 *   (NR_KERNEL_STACK_KB, since 4.9) and nr_shadow_call_stack (NR_KERNEL_SCS_KB) are in KiB.
 *   nr_slab_{reclaimable,unreclaimable} are pages (the byte-based `_B` items are converted to pages
 *   before printing since 5.9); nr_dirty_threshold/nr_dirty_background_threshold are pages.
 *   `workingset_*`, `numa_*` and `nr_vmscan_*`, `nr_dirtied`, `nr_written` are event counts.
 * - event counters (pgfault, pgmajfault, pgscan_*, pgsteal_*, oom_kill, compact_*, thp_*, ...):
 *   monotonically increasing since boot.
 *
 * This module does not convert pages to bytes by itself: it cannot know the page size from the text.
 * Use `pages(name)` and multiply by `pageSize(host)`, or `bytes(name, pageSize)`, which knows the KiB ones.
 * See Documentation/admin-guide/mm/ and mm/vmstat.c for the meaning of each counter.
 */
import type { Host } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const VMSTAT_PATH = '/proc/vmstat';
/** Where pageSize() looks: the first mapping's KernelPageSize of the reading process. */
export const SELF_SMAPS_PATH = '/proc/self/smaps';
export const DEFAULT_PAGE_SIZE = 4096;

/** Counters /proc/vmstat prints in KiB, not pages (NR_KERNEL_STACK_KB, NR_KERNEL_SCS_KB). */
export const KIB_COUNTERS: ReadonlySet<string> = new Set(['nr_kernel_stack', 'nr_shadow_call_stack']);

export interface Vmstat {
  /** Every counter, raw (pages for most `nr_*`, event counts for the rest). */
  fields: Map<string, number>;
  /** The raw value, or undefined when this kernel does not export the counter. */
  get(name: string): number | undefined;
  /** Like get(), but 0 when absent (use only for counters that are legitimately optional). */
  getOr0(name: string): number;
  /** A page-count counter (`nr_*`) in pages; undefined when absent. Same as get(), named for intent. */
  pages(name: string): number | undefined;
  /**
   * A memory counter in bytes: pages × page size, except the counters the kernel keeps in KiB
   * (KIB_COUNTERS: nr_kernel_stack, nr_shadow_call_stack) which are × 1024. undefined when absent.
   * Meaningless for event counters.
   */
  bytes(name: string, pageSizeBytes: number): number | undefined;
}

export function parseVmstat(text: string, file = VMSTAT_PATH): Vmstat {
  const fields = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^([a-z0-9_]+) (\S+)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected "name value", got ${JSON.stringify(line)}`);
    fields.set(m[1]!, parseIntField(m[2], file, i + 1, m[1]!));
  }
  if (!fields.has('nr_free_pages')) throw new ParseError(file, 1, 'nr_free_pages is missing');
  const get = (name: string): number | undefined => fields.get(name);
  return {
    fields,
    get,
    getOr0: (name) => fields.get(name) ?? 0,
    pages: get,
    bytes: (name, pageSizeBytes) => {
      const v = fields.get(name);
      if (v === undefined) return undefined;
      return v * (KIB_COUNTERS.has(name) ? 1024 : pageSizeBytes);
    },
  };
}

export async function readVmstat(host: Host): Promise<Vmstat> {
  return parseVmstat(await host.readText(VMSTAT_PATH));
}

/**
 * The kernel's base page size, from the `KernelPageSize:` line of a smaps text (fs/proc/task_mmu.c
 * prints it per mapping, in kB). Returns undefined when no such line is found or it is not a power of
 * two (hugetlb mappings show their huge page size; the first mapping of a process is never hugetlb in
 * practice, and we take the smallest value seen).
 */
export function parseKernelPageSize(smapsText: string): number | undefined {
  let best: number | undefined;
  const re = /^KernelPageSize:\s+(\d+) kB$/gm;
  for (let m = re.exec(smapsText); m; m = re.exec(smapsText)) {
    const bytes = Number(m[1]) * 1024;
    if (bytes > 0 && (bytes & (bytes - 1)) === 0 && (best === undefined || bytes < best)) best = bytes;
  }
  return best;
}

const pageSizeCache = new WeakMap<Host, number>();

/**
 * The host's page size in bytes. Node cannot call sysconf(_SC_PAGESIZE), so this reads the
 * `KernelPageSize` of /proc/self/smaps through the host (so a bundle answers with the page size of the
 * machine it was captured on), and falls back to 4096 when that file is not available. Cached per host.
 */
export async function pageSize(host: Host): Promise<number> {
  const cached = pageSizeCache.get(host);
  if (cached !== undefined) return cached;
  const text = await host.tryReadText(SELF_SMAPS_PATH);
  const size = (text !== undefined ? parseKernelPageSize(text) : undefined) ?? DEFAULT_PAGE_SIZE;
  pageSizeCache.set(host, size);
  return size;
}
