/**
 * Findings for the agent and the console (design.md "Finding") derived from inspection items.
 *
 * Stable ids (documented in rules/inspect/README.md):
 *   inspect.log.<group>      log items of one group: hang, oops, warning, memory-safety, lockdep, oom,
 *                            memory, fs, io, hardware, net, latency, segfault, other
 *   inspect.indicator.<check>, inspect.config.<check>, inspect.hardware.<check>   one per check result
 */
import { type RawFinding, type Severity, compareSeverity } from '../../contract/common.js';
import { type InspectItem, levelRank } from './items.js';
import type { Level } from './rules.js';

/** Log finding groups with catalog entries; a rule file naming another group falls back to `other`. */
export const LOG_FINDING_GROUPS = [
  'hang', 'oops', 'warning', 'memory-safety', 'lockdep', 'oom', 'memory', 'fs', 'io', 'hardware', 'net', 'latency', 'segfault', 'other',
] as const;

/** The one mapping of an inspection level (fatal … info) to a Finding severity. */
export function severityOf(level: Level): Severity {
  return level === 'fatal' || level === 'critical' ? 'critical' : level === 'info' ? 'info' : 'warning';
}

export function inspectFindings(items: InspectItem[]): RawFinding[] {
  const out: RawFinding[] = [];
  const groups = new Map<string, InspectItem[]>();
  for (const it of items) {
    if (it.id.startsWith('log.')) {
      const g0 = typeof it.details.finding === 'string' ? it.details.finding : 'other';
      const g = (LOG_FINDING_GROUPS as readonly string[]).includes(g0) ? g0 : 'other';
      const list = groups.get(g) ?? [];
      list.push(it);
      groups.set(g, list);
      continue;
    }
    const params: Record<string, string | number> = { title: it.title };
    for (const [k, v] of Object.entries((it.details.params as Record<string, unknown>) ?? {})) {
      if (typeof v === 'string' || typeof v === 'number') params[k] = v;
    }
    out.push({
      id: `inspect.${it.class}.${it.id.slice(it.class.length + 1).split(':')[0]}`,
      severity: severityOf(it.level),
      params,
      evidence: { item: it.id, lines: it.evidence, source: it.source },
    });
  }
  for (const [g, list] of groups) {
    const worst = list.reduce((a, b) => (levelRank(b.level) < levelRank(a.level) ? b : a));
    const count = list.reduce((n, it) => n + it.count, 0);
    const firsts = list.map((it) => it.firstAt).filter((x): x is string => x !== null).sort();
    const lasts = list.map((it) => it.lastAt).filter((x): x is string => x !== null).sort();
    out.push({
      id: `inspect.log.${g}`,
      severity: severityOf(worst.level),
      params: {
        count,
        kinds: list.length,
        title: worst.title,
        firstAt: firsts[0] ?? '-',
        lastAt: lasts[lasts.length - 1] ?? '-',
      },
      evidence: { items: list.map((it) => ({ id: it.id, kind: it.kind, level: it.level, title: it.title, count: it.count, container: it.container })) },
    });
  }
  return out.sort(compareSeverity);
}
