/**
 * `oscope.mem/v1`: the memory panorama as one JSON document (schema below, checked by tests), and its
 * text rendering. Built from a MemAnalysis (src/diagnose/memory/) plus the language.
 */
import type { HostInfo } from '../host/host.js';
import type { MemAnalysis } from '../diagnose/memory/types.js';
import { MEM_SCHEMA, type MemDocument } from '../contract/mem.js';
import { fileCacheTable } from './filecache.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatBytes, formatCount } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, table, section, renderFindings, renderCoverage } from './text.js';

export { MEM_SCHEMA, MemDocumentSchema, type MemDocument } from '../contract/mem.js';

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
        .map((p) => [String(p.pid), p.comm, B(p.rssBytes), B(p.anonBytes), B(p.fileBytes), B(p.shmemBytes), B(p.swapBytes), containerLabel(p.container) || (p.cgroup ?? '')]),
      s,
    ),
  );

  out.push(section(t(lang, 'mem.section.cgroups'), s));
  out.push(
    table(
      ['CGROUP', 'USAGE', 'ANON', 'FILE', 'ACTIVE_FILE', 'SHMEM', 'WORKINGSET', 'LIMIT', 'CONTAINER'],
      doc.cgroups
        .slice(0, top)
        .map((c) => [c.path, B(c.usageBytes), B(c.anonBytes), B(c.fileBytes), B(c.activeFileBytes), B(c.shmemBytes), B(c.workingsetBytes), c.limitBytes === null ? 'max' : B(c.limitBytes), containerLabel(c.container)]),
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
