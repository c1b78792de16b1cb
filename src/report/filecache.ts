/**
 * `oscope.filecache/v1`: which files hold the page cache, as one JSON document (schema below, checked by
 * tests), and its text rendering. Built from a FileCacheAnalysis (src/diagnose/filecache/).
 */
import { FILECACHE_SCHEMA, type FileCacheDocument } from '../contract/filecache.js';
import type { RawFinding } from '../contract/common.js';
import type { FileCacheAnalysis } from '../diagnose/filecache/types.js';
import { localizeFindings } from './finding.js';
import { containerLabel, formatBytes } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, renderCoverage, renderFindings, section, table } from './text.js';

export { FILECACHE_SCHEMA, FileCacheDocumentSchema, FileCacheFileSchema, type FileCacheDocument } from '../contract/filecache.js';
export { containerLabel } from './format.js';

/** The scope in words ("the host", "container web (…)"), for the findings' {scope}. */
function scopeText(kind: string, query: string, lang: Lang): string {
  return kind === 'host' ? t(lang, 'filecache.scope.host') : `${t(lang, `filecache.scope.${kind}`)} ${query}`;
}

/** Findings in `lang`: the scope the diagnosis names by kind and query is worded here. */
export function localizeFileCacheFindings(raws: readonly RawFinding[], lang: Lang): FileCacheDocument['findings'] {
  return localizeFindings(
    raws.map((r) => (typeof r.params.scopeKind === 'string' ? { ...r, params: { ...r.params, scope: scopeText(r.params.scopeKind, String(r.params.scopeQuery ?? ''), lang) } } : r)),
    lang,
  );
}

export function fileCacheDocument(a: FileCacheAnalysis, lang: Lang = 'en'): FileCacheDocument {
  return { schema: FILECACHE_SCHEMA, scope: a.scope, method: a.method, coverage: a.coverage, files: a.files, findings: localizeFileCacheFindings(a.findings, lang) };
}

const B = (n: number | null): string => (n === null ? '-' : formatBytes(n));

function flags(f: FileCacheDocument['files'][number], lang: Lang): string {
  const out: string[] = [];
  if (f.deleted) out.push(t(lang, 'filecache.flag.deleted'));
  if (f.shmem) out.push(t(lang, 'filecache.flag.shmem'));
  return out.join(',');
}

/** The files table (also used by `oscope mem`). */
export function fileCacheTable(files: FileCacheDocument['files'], lang: Lang, s: Style): string {
  return table(
    ['CACHED', 'DIRTY', 'ACTIVE', 'SIZE', '', 'FILE', 'CONTAINER', 'CGROUP', 'HOLDERS'],
    files.map((f) => {
      const where = f.containerPath !== null ? `${f.path} ${s.dim(`(${f.containerPath})`)}` : f.path;
      const cg = f.cgroups[0] ? `${f.cgroups[0].path}${f.cgroups.length > 1 ? ` +${f.cgroups.length - 1}` : ''}` : '';
      const holders = f.holders.slice(0, 3).map((h) => `${h.comm}(${h.pid})`).join(' ') + (f.holders.length > 3 ? ` +${f.holders.length - 3}` : '');
      return [B(f.cachedBytes), B(f.dirtyBytes), B(f.activeBytes), B(f.sizeBytes), s.yellow(flags(f, lang)), where, containerLabel(f.container), cg, holders];
    }),
    s,
  );
}

export function renderFileCacheText(doc: FileCacheDocument, lang: Lang, s: Style): string {
  const out: string[] = [];
  const sc = doc.scope;
  const scopeLine = sc.kind === 'host' ? t(lang, 'filecache.scope.host') : `${t(lang, `filecache.scope.${sc.kind}`)} ${sc.query ?? ''} (${sc.cgroups.join(', ')})`;
  out.push(renderFindings(doc.findings, lang, s));
  out.push('');
  out.push(s.bold(t(lang, 'filecache.summary', { scope: scopeLine, cachedBytes: sc.cachedBytes, files: doc.files.length })));
  out.push(section(t(lang, 'filecache.section.files'), s));
  out.push(fileCacheTable(doc.files, lang, s));
  const m = doc.method;
  out.push(
    renderCoverage(
      { discovery: m.discovery, measure: m.measure, attribution: m.attribution, files: String(m.filesMeasured), durationMs: String(m.durationMs) },
      doc.coverage,
      lang,
      s,
    ),
  );
  return out.join('\n');
}
