/**
 * `oscope profile diff A.json B.json`: what got hotter between two profiles. Shares, not counts, are
 * compared (the two may differ in length and rate): per function, self and total share in A and in B,
 * sorted by the change of the self share, and the stacks whose share changed most. Pure.
 */
import type { RawFinding } from '../../contract/common.js';
import type { ProfileDiffDocument, ProfileDocument } from '../../contract/profile.js';
import { PROFILE_DIFF_SCHEMA } from '../../contract/profile.js';
import type { Thresholds } from '../thresholds.js';

const r2 = (n: number): number => Math.round(n * 100) / 100;

export interface ProfileDiffAnalysis {
  doc: Omit<ProfileDiffDocument, 'findings'>;
  findings: RawFinding[];
}

export function diffProfiles(a: ProfileDocument, b: ProfileDocument, t: Thresholds, topStacks = 50): ProfileDiffAnalysis {
  const key = (f: { name: string; module: string }): string => `${f.module}\0${f.name}`;
  const fa = new Map(a.functions.map((f) => [key(f), f]));
  const fb = new Map(b.functions.map((f) => [key(f), f]));
  const keys = new Set([...fa.keys(), ...fb.keys()]);
  const functions = [...keys]
    .map((k) => {
      const x = fa.get(k);
      const y = fb.get(k);
      const name = (x ?? y)!.name;
      const module = (x ?? y)!.module;
      return {
        name,
        module,
        beforeSelfPct: x?.selfPct ?? 0,
        afterSelfPct: y?.selfPct ?? 0,
        deltaSelfPct: r2((y?.selfPct ?? 0) - (x?.selfPct ?? 0)),
        beforeTotalPct: x?.totalPct ?? 0,
        afterTotalPct: y?.totalPct ?? 0,
        deltaTotalPct: r2((y?.totalPct ?? 0) - (x?.totalPct ?? 0)),
      };
    })
    .sort((p, q) => q.deltaSelfPct - p.deltaSelfPct || q.deltaTotalPct - p.deltaTotalPct || (p.name < q.name ? -1 : 1));
  const share = (d: ProfileDocument): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of d.stacks) m.set(s.frames.join('\n'), (m.get(s.frames.join('\n')) ?? 0) + (d.samples > 0 ? (s.count / d.samples) * 100 : 0));
    return m;
  };
  const sa = share(a);
  const sb = share(b);
  const stacks = [...new Set([...sa.keys(), ...sb.keys()])]
    .map((k) => ({ frames: k === '' ? [] : k.split('\n'), beforePct: r2(sa.get(k) ?? 0), afterPct: r2(sb.get(k) ?? 0), deltaPct: r2((sb.get(k) ?? 0) - (sa.get(k) ?? 0)) }))
    .sort((p, q) => Math.abs(q.deltaPct) - Math.abs(p.deltaPct))
    .slice(0, topStacks);
  const findings: RawFinding[] = [];
  for (const f of functions) {
    if (f.deltaSelfPct < t['profile.diffPoints']) break;
    findings.push({ id: 'profile.diff.hotter', severity: 'info', params: { function: f.name, module: f.module, beforePct: f.beforeSelfPct, afterPct: f.afterSelfPct, deltaPoints: f.deltaSelfPct, thresholdPoints: t['profile.diffPoints'] }, evidence: { function: f } });
    if (findings.length >= 5) break;
  }
  return {
    doc: {
      schema: PROFILE_DIFF_SCHEMA,
      before: { samples: a.samples, intervalS: a.intervalS, mode: a.mode },
      after: { samples: b.samples, intervalS: b.intervalS, mode: b.mode },
      functions,
      stacks,
    },
    findings,
  };
}
