/**
 * `oscope.mem/v1`: the memory panorama as one JSON document (schema below, checked by tests), and its
 * text rendering. Built from a MemAnalysis (src/diagnose/memory/) plus the language.
 */
import { z } from 'zod';
import type { HostInfo } from '../host/host.js';
import type { MemAnalysis } from '../diagnose/memory/types.js';
import { FileCacheFileSchema, fileCacheTable } from './filecache.js';
import { ContainerSchema } from './container.js';
import { FindingSchema, localizeFindings } from './finding.js';
import { formatBytes, formatCount } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, table, section, renderFindings, renderCoverage } from './text.js';

export const MEM_SCHEMA = 'oscope.mem/v1';

const bytes = z.number().int().nonnegative();

export const MemDocumentSchema = z.object({
  schema: z.literal(MEM_SCHEMA),
  generatedAt: z.string().datetime(),
  host: z.object({
    hostname: z.string(),
    kernel: z.string(),
    memTotalBytes: bytes,
    physicalBytes: bytes,
    availableBytes: bytes,
    capturedAt: z.string(),
    source: z.enum(['live', 'bundle']),
  }),
  breakdown: z.object({
    totalBytes: bytes,
    items: z.array(
      z.object({
        key: z.string(),
        group: z.enum(['free', 'user', 'kernel', 'reserved', 'unaccounted']),
        bytes,
        partOf: z.string().optional(),
        source: z.string(),
      }),
    ),
    groups: z.record(z.number()),
    unaccountedBytes: bytes,
    notes: z.array(z.string()),
  }),
  kpage: z
    .object({ pfns: z.number().int(), pageSize: z.number().int(), classes: z.record(z.number()), durationMs: z.number() })
    .nullable(),
  processes: z.array(
    z.object({
      pid: z.number().int(),
      comm: z.string(),
      rssBytes: bytes,
      anonBytes: bytes,
      fileBytes: bytes,
      shmemBytes: bytes,
      swapBytes: bytes,
      pssBytes: bytes.optional(),
      pageTableBytes: bytes.optional(),
      threads: z.number().int().optional(),
      cgroup: z.string().optional(),
      container: ContainerSchema.optional(),
    }),
  ),
  cgroups: z.array(
    z.object({
      path: z.string(),
      usageBytes: bytes,
      anonBytes: bytes,
      fileBytes: bytes,
      activeFileBytes: bytes,
      shmemBytes: bytes,
      workingsetBytes: bytes,
      limitBytes: bytes.nullable(),
      dirtyBytes: bytes.optional(),
      container: ContainerSchema.optional(),
    }),
  ),
  shmem: z.object({
    totalBytes: bytes,
    tmpfs: z.array(
      z.object({
        mount: z.string(),
        fstype: z.string(),
        usedBytes: bytes,
        sizeBytes: bytes,
        files: z.number().int(),
        topDirs: z.array(z.object({ path: z.string(), files: z.number().int(), bytes })),
        truncated: z.boolean(),
      }),
    ),
    sysv: z.array(
      z.object({
        key: z.string(),
        shmid: z.number().int(),
        sizeBytes: bytes,
        rssBytes: bytes,
        swapBytes: bytes,
        nattch: z.number().int(),
        cpid: z.number().int(),
        lpid: z.number().int(),
        creator: z.string().optional(),
        lastUser: z.string().optional(),
        orphan: z.boolean(),
      }),
    ),
    deletedOpen: z.array(
      z.object({
        path: z.string(),
        kind: z.enum(['memfd', 'deleted']),
        shmem: z.boolean(),
        bytes,
        device: z.string(),
        inode: z.number().int(),
        holders: z.array(z.object({ pid: z.number().int(), comm: z.string(), fd: z.number().int() })),
      }),
    ),
    residualBytes: bytes,
  }),
  slab: z.object({
    reclaimableBytes: bytes,
    unreclaimableBytes: bytes,
    top: z.array(
      z.object({ name: z.string(), bytes, activeObjs: z.number().int(), objs: z.number().int(), objSizeBytes: bytes, reclaimable: z.boolean().nullable() }),
    ),
    dentry: z.object({ total: z.number().int(), unused: z.number().int(), negative: z.number().int().nullable() }),
    inodes: z.object({ total: z.number().int(), free: z.number().int() }).nullable(),
  }),
  memcg: z.object({
    total: z.number().int(),
    visible: z.number().int(),
    zombies: z.number().int(),
    zombieBytes: bytes,
    byParent: z.array(z.object({ path: z.string(), zombies: z.number().int().nullable(), zombieBytes: bytes })),
    hierarchy: z.enum(['v1', 'v2', 'none']),
  }),
  unaccounted: z.object({
    bytes,
    kpageEstimateBytes: z.number().int().nullable(),
    vmallocTop: z.array(z.object({ caller: z.string(), bytes, count: z.number().int() })),
    vmallocBytes: bytes.nullable(),
    bpf: z.object({ maps: z.number().int(), mapBytes: bytes, progs: z.number().int() }).nullable(),
    socketBytes: bytes.nullable(),
    pageTableTop: z.array(z.object({ pid: z.number().int(), comm: z.string(), bytes })),
    kernelStackTop: z.array(z.object({ pid: z.number().int(), comm: z.string(), threads: z.number().int(), bytes })),
    allocinfoTop: z.array(z.object({ site: z.string(), bytes, calls: z.number().int() })).nullable(),
  }),
  fileCache: z.object({ files: z.array(FileCacheFileSchema), method: z.string() }).nullable().optional(),
  findings: z.array(FindingSchema),
  method: z.record(z.string()),
  coverage: z.array(z.object({ section: z.string(), status: z.enum(['complete', 'partial', 'unavailable']), reason: z.string().optional() })),
});
export type MemDocument = z.infer<typeof MemDocumentSchema>;

export function memDocument(a: MemAnalysis, info: HostInfo, source: 'live' | 'bundle', availableBytes: number, lang: Lang): MemDocument {
  return {
    schema: MEM_SCHEMA,
    generatedAt: new Date().toISOString(),
    host: {
      hostname: info.hostname,
      kernel: info.kernel,
      memTotalBytes: a.breakdown.memTotalBytes,
      physicalBytes: a.breakdown.totalBytes,
      availableBytes,
      capturedAt: info.capturedAt,
      source,
    },
    breakdown: {
      totalBytes: a.breakdown.totalBytes,
      items: a.breakdown.items,
      groups: a.breakdown.groups,
      unaccountedBytes: a.breakdown.unaccountedBytes,
      notes: a.breakdown.notes,
    },
    kpage: a.kpage,
    processes: a.processes,
    cgroups: a.cgroups,
    shmem: a.shmem,
    slab: a.slab,
    memcg: a.memcg,
    unaccounted: a.unaccounted,
    fileCache: a.fileCache ?? null,
    findings: localizeFindings(a.findings, lang),
    method: a.method,
    coverage: a.coverage,
  };
}

function containerText(c: { runtime: string; id: string; name?: string; podName?: string; podNamespace?: string } | undefined): string {
  if (!c) return '';
  if (c.podName) return `${c.podNamespace ? `${c.podNamespace}/` : ''}${c.podName}${c.name ? `/${c.name}` : ''}`;
  return `${c.runtime}:${c.name ?? c.id.slice(0, 12)}`;
}

const B = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : formatBytes(n));

/** The text report: findings first, then each section. */
export function renderMemText(doc: MemDocument, lang: Lang, s: Style, opts: { top?: number } = {}): string {
  const top = opts.top ?? 30;
  const out: string[] = [];
  out.push(s.dim(t(lang, 'report.host', { hostname: doc.host.hostname, kernel: doc.host.kernel, capturedAt: doc.host.capturedAt })));
  out.push(
    s.bold(t(lang, 'mem.total', { totalBytes: doc.breakdown.totalBytes, memTotalBytes: doc.host.memTotalBytes, availableBytes: doc.host.availableBytes })),
  );
  out.push('');
  out.push(renderFindings(doc.findings, lang, s));

  // Breakdown: groups with their items, each with a share bar.
  out.push(section(t(lang, 'mem.section.breakdown'), s));
  const total = doc.breakdown.totalBytes || 1;
  const rows: string[][] = [];
  for (const g of ['free', 'user', 'kernel', 'unaccounted', 'reserved'] as const) {
    const items = doc.breakdown.items.filter((i) => i.group === g);
    if (items.length === 0) continue;
    rows.push([s.bold(t(lang, `mem.group.${g}`)), s.bold(formatBytes(doc.breakdown.groups[g] ?? 0)), s.bold(pctText((doc.breakdown.groups[g] ?? 0) / total)), '']);
    for (const i of items) {
      if (g === 'unaccounted' || g === 'reserved' || g === 'free') {
        if (items.length === 1) continue;
      }
      rows.push([`  ${t(lang, `mem.item.${i.key}`)}`, formatBytes(i.bytes), pctText(i.bytes / total), s.dim(i.source)]);
    }
  }
  out.push(table(['', 'bytes', '%', 'source'], rows, s));
  if (doc.kpage) {
    out.push(
      s.dim(t(lang, 'mem.kpage.crosscheck', { otherBytes: doc.unaccounted.kpageEstimateBytes ?? 0, unaccountedBytes: doc.breakdown.unaccountedBytes })),
    );
  }
  for (const n of doc.breakdown.notes) out.push(s.dim(`· ${n}`));

  out.push(section(t(lang, 'mem.section.processes'), s));
  out.push(
    table(
      ['PID', 'COMM', 'RSS', 'ANON', 'FILE', 'SHMEM', 'SWAP', 'CONTAINER/CGROUP'],
      doc.processes
        .slice(0, top)
        .map((p) => [String(p.pid), p.comm, B(p.rssBytes), B(p.anonBytes), B(p.fileBytes), B(p.shmemBytes), B(p.swapBytes), containerText(p.container) || (p.cgroup ?? '')]),
      s,
    ),
  );

  out.push(section(t(lang, 'mem.section.cgroups'), s));
  out.push(
    table(
      ['CGROUP', 'USAGE', 'ANON', 'FILE', 'ACTIVE_FILE', 'SHMEM', 'WORKINGSET', 'LIMIT', 'CONTAINER'],
      doc.cgroups
        .slice(0, top)
        .map((c) => [c.path, B(c.usageBytes), B(c.anonBytes), B(c.fileBytes), B(c.activeFileBytes), B(c.shmemBytes), B(c.workingsetBytes), c.limitBytes === null ? 'max' : B(c.limitBytes), containerText(c.container)]),
      s,
    ),
  );

  if (doc.fileCache && doc.fileCache.files.length > 0) {
    out.push(section(t(lang, 'mem.section.filecache', { top }), s));
    out.push(fileCacheTable(doc.fileCache.files.slice(0, top), lang, s));
  }

  out.push(section(t(lang, 'mem.section.shmem'), s));
  out.push(
    table(
      ['MOUNT', 'FS', 'USED', 'SIZE', 'FILES', 'TOP DIRECTORY'],
      doc.shmem.tmpfs.map((m) => {
        const d = m.topDirs[0];
        return [m.mount, m.fstype, B(m.usedBytes), B(m.sizeBytes), formatCount(m.files), d ? `${d.path} (${formatCount(d.files)} files, ${B(d.bytes)})` : ''];
      }),
      s,
    ),
  );
  if (doc.shmem.sysv.length > 0) {
    out.push(
      table(
        ['SHMID', 'KEY', 'SIZE', 'RSS', 'NATTCH', 'CREATOR', 'LAST USER', ''],
        doc.shmem.sysv.map((x) => [String(x.shmid), x.key, B(x.sizeBytes), B(x.rssBytes), String(x.nattch), `${x.cpid} ${x.creator ?? ''}`, `${x.lpid} ${x.lastUser ?? ''}`, x.orphan ? s.yellow('orphan') : '']),
        s,
      ),
    );
  }
  if (doc.shmem.deletedOpen.length > 0) {
    out.push(
      table(
        ['FILE', 'KIND', 'BYTES', 'HOLDERS'],
        doc.shmem.deletedOpen
          .slice(0, top)
          .map((d) => [d.path, d.kind + (d.shmem ? '/shmem' : ''), B(d.bytes), d.holders.slice(0, 3).map((h) => `${h.comm}(${h.pid})`).join(' ')]),
        s,
      ),
    );
  }
  out.push(t(lang, 'mem.shmem.residual', { residualBytes: doc.shmem.residualBytes }));

  out.push(section(t(lang, 'mem.section.slab'), s));
  const dn = doc.slab.dentry;
  out.push(t(lang, 'mem.slab.dentry', { total: dn.total, unused: dn.unused, negative: dn.negative ?? '-' }));
  out.push(
    table(
      ['CACHE', 'BYTES', 'OBJECTS', 'ACTIVE', 'OBJ SIZE', 'RECLAIMABLE'],
      doc.slab.top.slice(0, 15).map((c) => [c.name, B(c.bytes), formatCount(c.objs), formatCount(c.activeObjs), B(c.objSizeBytes), c.reclaimable === null ? '?' : c.reclaimable ? 'yes' : 'no']),
      s,
    ),
  );

  out.push(section(t(lang, 'mem.section.memcg'), s));
  const mc = doc.memcg;
  out.push(t(lang, 'mem.memcg.summary', { total: mc.total, visible: mc.visible, zombies: mc.zombies, zombieBytes: mc.zombieBytes }));
  if (mc.byParent.length > 0) {
    out.push(table(['PARENT', 'ZOMBIES', 'BYTES'], mc.byParent.slice(0, 10).map((p) => [p.path, p.zombies === null ? '?' : String(p.zombies), B(p.zombieBytes)]), s));
  }

  out.push(section(t(lang, 'mem.section.unaccounted'), s));
  const un = doc.unaccounted;
  const unRows: string[][] = [['unaccounted (MemTotal − counters)', B(un.bytes)]];
  if (un.kpageEstimateBytes !== null) unRows.push(['kpageflags estimate', B(un.kpageEstimateBytes)]);
  if (un.socketBytes !== null) unRows.push(['socket buffers (sockstat)', B(un.socketBytes)]);
  if (un.bpf) unRows.push([`BPF maps (${un.bpf.maps}) / programs (${un.bpf.progs})`, B(un.bpf.mapBytes)]);
  if (un.vmallocBytes !== null) unRows.push(['vmalloc (vmallocinfo)', B(un.vmallocBytes)]);
  out.push(table(['', 'BYTES'], unRows, s));
  if (un.vmallocTop.length > 0) out.push(table(['VMALLOC CALLER', 'BYTES', 'AREAS'], un.vmallocTop.slice(0, 10).map((v) => [v.caller, B(v.bytes), String(v.count)]), s));
  if (un.pageTableTop.length > 0) out.push(table(['PID', 'COMM', 'PAGE TABLES'], un.pageTableTop.slice(0, 5).map((p) => [String(p.pid), p.comm, B(p.bytes)]), s));
  if (un.kernelStackTop.length > 0) {
    out.push(table(['PID', 'COMM', 'THREADS', 'KERNEL STACKS'], un.kernelStackTop.slice(0, 5).map((p) => [String(p.pid), p.comm, formatCount(p.threads), B(p.bytes)]), s));
  }
  if (un.allocinfoTop && un.allocinfoTop.length > 0) {
    out.push(table(['ALLOCINFO SITE', 'BYTES', 'CALLS'], un.allocinfoTop.slice(0, 10).map((a) => [a.site, B(a.bytes), formatCount(a.calls)]), s));
  }

  out.push(renderCoverage(doc.method, doc.coverage, lang, s));
  return out.join('\n');
}

function pctText(f: number): string {
  return `${(f * 100).toFixed(f * 100 >= 10 ? 0 : 1)}%`;
}
