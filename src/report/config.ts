/**
 * `oscope.config/v1` (a capture) and `oscope.config-diff/v1` (two compared): the documents, checked
 * against their zod schemas, each marked difference's reason worded from the catalogs
 * (`config.reason.<rule>`), and their text renderings. The CLI (`oscope config-diff`), the agent's
 * `config` diagnosis and the console's comparison use them.
 */
import { CONFIG_DIFF_SCHEMA, CONFIG_SCHEMA, ConfigDiffDocumentSchema, ConfigDocumentSchema, type ConfigDiffDocument, type ConfigDocument } from '../contract/config.js';
import type { HostRef } from '../contract/common.js';
import type { ConfigCapture } from '../diagnose/config/collect.js';
import { diffConfig } from '../diagnose/config/diff.js';
import { NOISE } from '../diagnose/config/rules.js';
import type { Thresholds } from '../diagnose/thresholds.js';
import { formatBytes } from './format.js';
import { type Lang, t } from './i18n/index.js';
import { type Style, section, table } from './text.js';

export { CONFIG_DIFF_SCHEMA, CONFIG_SCHEMA, ConfigDiffDocumentSchema, ConfigDocumentSchema } from '../contract/config.js';

export function configDocument(c: ConfigCapture, host: HostRef): ConfigDocument {
  return ConfigDocumentSchema.parse({ schema: CONFIG_SCHEMA, host, ...c });
}

/** A capture of another build (or hand-edited): the schema's one-sentence complaint, or the document. */
export function parseConfigDocument(value: unknown): { ok: true; doc: ConfigDocument } | { ok: false; reason: string } {
  const r = ConfigDocumentSchema.safeParse(value);
  if (r.success) return { ok: true, doc: r.data };
  const schema = value !== null && typeof value === 'object' ? (value as { schema?: unknown }).schema : undefined;
  if (schema !== CONFIG_SCHEMA) return { ok: false, reason: `it is not an ${CONFIG_SCHEMA} capture (schema ${JSON.stringify(schema ?? null)})` };
  const i = r.error.issues[0];
  return { ok: false, reason: `it is not a valid ${CONFIG_SCHEMA} capture (${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'})` };
}

export function configDiffDocument(a: ConfigDocument, b: ConfigDocument, th: Thresholds, lang: Lang): ConfigDiffDocument {
  const d = diffConfig(a, b, th);
  const params = { pct: th['configDiff.memTotalDiffPct'] };
  return ConfigDiffDocumentSchema.parse({
    schema: CONFIG_DIFF_SCHEMA,
    a: a.host,
    b: b.host,
    summary: { differences: d.differences, marked: d.marked, excluded: d.excluded },
    areas: d.areas.map((x) => ({
      area: x.area,
      differences: x.differences.map((r) => ({
        key: r.key,
        a: r.a,
        b: r.b,
        marked: r.rule !== undefined,
        ...(r.rule !== undefined ? { rule: r.rule, severity: r.severity, reason: t(lang, `config.reason.${r.rule}`, params) } : {}),
      })),
    })),
    excludedPatterns: NOISE.map((n) => `${n.area}: ${n.pattern}`),
    notCompared: d.notCompared,
  });
}

/** A value for people: sizes of `…Bytes` settings formatted, long values cut. */
export function showValue(key: string, v: string | null, lang: Lang): string {
  if (v === null) return t(lang, 'config.diff.absent');
  if (/Bytes$/.test(key) && /^\d+$/.test(v)) return formatBytes(Number(v));
  return v.length > 60 ? `${v.slice(0, 57)}…` : v;
}

export function renderConfigText(doc: ConfigDocument, lang: Lang, s: Style): string {
  const out = [s.bold(t(lang, 'config.capture.heading', { hostname: doc.host.hostname, kernel: doc.host.kernel, capturedAt: doc.host.capturedAt }))];
  out.push(
    t(lang, 'config.capture.summary', {
      sysctls: Object.keys(doc.sysctls).length,
      params: doc.cmdline?.params.length ?? 0,
      options: doc.kernelConfig ? Object.keys(doc.kernelConfig.options).length : 0,
      source: doc.kernelConfig?.source ?? '–',
      modules: doc.modules?.length ?? 0,
      mode: doc.cgroup.mode,
      cpus: doc.topology.cpusOnlineCount ?? 0,
      numa: doc.topology.numaNodes.length,
      memBytes: doc.topology.memTotalBytes ?? 0,
    }),
  );
  for (const m of doc.missing) out.push(s.dim(t(lang, 'config.capture.missing', { what: m })));
  return out.join('\n');
}

export function renderConfigDiffText(doc: ConfigDiffDocument, lang: Lang, s: Style, opts: { all?: boolean; otherLimit?: number } = {}): string {
  const out = [
    s.bold(t(lang, 'config.diff.heading', { a: doc.a.hostname, akernel: doc.a.kernel, acaptured: doc.a.capturedAt, b: doc.b.hostname, bkernel: doc.b.kernel, bcaptured: doc.b.capturedAt })),
    t(lang, 'config.diff.summary', doc.summary),
  ];
  const sev = (v: string | undefined): string => (v === 'critical' ? s.bold(s.red(t(lang, 'severity.critical').toUpperCase())) : v === 'warning' ? s.bold(s.yellow(t(lang, 'severity.warning').toUpperCase())) : s.cyan(t(lang, 'severity.info').toUpperCase()));
  const marked = doc.areas.flatMap((a) => a.differences.filter((d) => d.marked).map((d) => ({ area: a.area, d })));
  out.push(section(t(lang, 'config.diff.marked'), s));
  if (marked.length === 0) out.push(`  ${s.green(t(lang, 'config.diff.none'))}`);
  else {
    for (const { area, d } of marked) {
      out.push(`  ${sev(d.severity)} ${s.dim(t(lang, `config.area.${area}`))} ${s.bold(d.key)}: ${showValue(d.key, d.a, lang)} → ${showValue(d.key, d.b, lang)}`);
      out.push(`      ${d.reason ?? ''}`);
    }
  }
  const other = doc.areas.flatMap((a) => a.differences.filter((d) => !d.marked).map((d) => ({ area: a.area, d })));
  if (other.length > 0) {
    const limit = opts.all ? other.length : (opts.otherLimit ?? 30);
    out.push(section(t(lang, 'config.diff.other'), s));
    out.push(table([t(lang, 'config.col.area'), t(lang, 'config.col.setting'), t(lang, 'config.col.a'), t(lang, 'config.col.b')], other.slice(0, limit).map(({ area, d }) => [t(lang, `config.area.${area}`), d.key, showValue(d.key, d.a, lang), showValue(d.key, d.b, lang)]), s));
    if (other.length > limit) out.push(s.dim(`  ${t(lang, 'config.diff.otherMore', { count: other.length - limit })}`));
  }
  if (doc.notCompared.length > 0) out.push('', s.dim(t(lang, 'config.diff.notCompared', { what: doc.notCompared.join('; ') })));
  return out.join('\n');
}
