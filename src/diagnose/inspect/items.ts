/**
 * Inspection items: what `oscope inspect` lists. Log reports with the same kind and title are folded
 * into one item with a count and first/last times; indicator, config and hardware checks add their own.
 * Items are ordered most severe first, then by first appearance.
 */
import type { LogReport } from './engine.js';
import { type ItemClass, type Level, LEVELS, type RuleSet } from './rules.js';

import type { InspectItem } from '../../contract/inspect.js';

export { InspectItemSchema, type InspectItem } from '../../contract/inspect.js';

export function levelRank(l: Level): number {
  return LEVELS.indexOf(l);
}

/**
 * Most severe first, then first seen first. A log item that starts a cascade (reports following each
 * other closely, as when a WARNING leads to an oops and a panic) ranks with the cascade's worst level:
 * the root cause is listed before its consequences.
 */
export function sortItems(items: InspectItem[], order: Map<string, number> = new Map()): InspectItem[] {
  const rank = (it: InspectItem): number => {
    const c = it.details.cascadeLevel;
    const own = levelRank(it.level);
    return typeof c === 'string' && (LEVELS as readonly string[]).includes(c) ? Math.min(own, levelRank(c as Level)) : own;
  };
  return [...items].sort((a, b) => rank(a) - rank(b) || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

/** Reports closer than this (input lines between one's end and the next one's start) form a cascade. */
export const CASCADE_GAP_LINES = 200;
/** … and closer than this in time, when the log has timestamps. */
export const CASCADE_GAP_S = 60;

/** Crash reports start cascades; other log events only join them. */
const CRASH_GROUPS = new Set(['oops', 'warning', 'hang', 'memory-safety', 'lockdep', 'other']);

/** For each report, the worst level of the cascade it starts (undefined when it does not start one). */
export function cascadeLevels(reports: LogReport[]): (Level | undefined)[] {
  const out: (Level | undefined)[] = new Array<Level | undefined>(reports.length).fill(undefined);
  let root = -1;
  for (let i = 0; i < reports.length; i++) {
    const r = reports[i]!;
    const prev = reports[i - 1];
    const crash = CRASH_GROUPS.has(r.finding);
    if (!crash && root < 0) continue;
    const near =
      prev !== undefined &&
      r.startLine - prev.endLine <= CASCADE_GAP_LINES &&
      (r.header.monoS === undefined || prev.header.monoS === undefined || r.header.monoS - prev.header.monoS <= CASCADE_GAP_S);
    if (!near) {
      root = crash ? i : -1;
      if (crash) out[i] = r.level;
    } else if (root >= 0 && levelRank(r.level) < levelRank(out[root]!)) {
      out[root] = r.level;
    }
  }
  return out;
}

/** FNV-1a, 32 bit, as 8 hex digits: short stable ids from titles. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function kindSlug(kind: string): string {
  return kind.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

const EVIDENCE_NOISE = /^(?:R[A-Z0-9]{2}: |[RE]?[A-Z]{2}: [0-9a-f]{4}:|Code: |CR2: |FS: |CS: |DR[0-7]: |Hardware name: |Modules linked in:|irq event stamp:|(?:hard|soft)irqs last|\s*x\d+ ?: |\s*r\d+ ?:|\s*<\/?(?:TASK|IRQ|NMI|EOI)>|\s*$)/;

/** OOM reports: the lines that say what happened, wherever they are in the report. */
const OOM_EVIDENCE = /invoked oom-killer|^oom-kill:|Killed process|Kill process|^Task in |^memory: usage|limit of |oom_reaper: reaped/;

/** The lines worth showing: the header and the informative lines, not registers or stack frames. */
export function evidenceLines(r: LogReport, max = 8): string[] {
  if (r.kind === 'OOM') return r.lines.filter((l) => OOM_EVIDENCE.test(l)).slice(0, max);
  const out: string[] = [];
  for (const line of r.lines) {
    if (out.length >= max) break;
    if (EVIDENCE_NOISE.test(line)) continue;
    if (/^\s*(?:\[<?[0-9a-f]+>?\] )*\s*(?:\? )?[a-zA-Z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/.test(line)) continue;
    if (/^(?:Call Trace|Call trace|Backtrace):?$/.test(line.trim())) break;
    out.push(line.trimEnd());
  }
  return out;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export interface FoldOptions {
  /** The source name shown in items (`/dev/kmsg`, `--log /var/log/kern.log`, …). */
  source?: string;
}

/** Folds reports (in order of appearance) into items, dropping kinds below their minimum count. */
export function foldReports(reports: LogReport[], rules: RuleSet, opts: FoldOptions = {}): { items: InspectItem[]; order: Map<string, number> } {
  const byKey = new Map<string, InspectItem>();
  const order = new Map<string, number>();
  let n = 0;
  const cascades = cascadeLevels(reports);
  reports.forEach((r, ri) => {
    const cascade = cascades[ri];
    const id = `log.${kindSlug(r.kind)}.${shortHash(r.title)}`;
    const at = iso(r.header.wallMs);
    const up = r.header.monoS ?? null;
    const item = byKey.get(id);
    if (item) {
      item.count++;
      item.lastAt = at ?? item.lastAt;
      item.lastUptimeS = up ?? item.lastUptimeS;
      if (levelRank(r.level) < levelRank(item.level)) item.level = r.level;
      if (item.container === null && r.container) item.container = r.container;
      if (cascade !== undefined) {
        const c = item.details.cascadeLevel as Level | undefined;
        if (c === undefined || levelRank(cascade) < levelRank(c)) item.details.cascadeLevel = cascade;
      }
      return;
    }
    const info = rules.kindInfo[r.kind];
    const cls: ItemClass = info?.class ?? 'log';
    const details: Record<string, unknown> = { finding: r.finding, corrupted: r.corrupted, panicked: r.panicked };
    if (r.oom) details.oom = r.oom;
    if (cascade !== undefined && cascade !== r.level) details.cascadeLevel = cascade;
    byKey.set(id, {
      id,
      class: cls,
      kind: r.kind,
      level: r.level,
      title: r.title,
      count: 1,
      firstAt: at,
      lastAt: at,
      firstUptimeS: up,
      lastUptimeS: up,
      evidence: evidenceLines(r),
      stack: r.stack,
      container: r.container ?? null,
      suggestion: `inspect.suggest.${kindSlug(r.kind)}`,
      source: r.source ?? opts.source ?? 'log',
      details,
    });
    order.set(id, n++);
  });
  const items = [...byKey.values()].filter((it) => {
    const min = rules.kindInfo[it.kind]?.minCount;
    return min === undefined || it.count >= min;
  });
  return { items, order };
}
