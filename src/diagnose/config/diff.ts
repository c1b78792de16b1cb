/**
 * The pure comparison of two configuration captures: each capture flattened into settings per area
 * (`flattenConfig`), the noise left out (rules.ts NOISE), every remaining difference listed, and those a
 * rule of rules.ts DRIFT_RULES covers marked with its id and severity. report/config.ts words the reasons.
 */
import { CONFIG_AREAS, type ConfigArea, type ConfigDocument } from '../../contract/config.js';
import type { Thresholds } from '../thresholds.js';
import { isNoise, ruleFor, type Severity } from './rules.js';

export type FlatConfig = Record<ConfigArea, Map<string, string>>;

/** The settings of a capture, per area, as strings (what the diff compares). */
export function flattenConfig(c: Omit<ConfigDocument, 'schema' | 'host'>): FlatConfig {
  const out = Object.fromEntries(CONFIG_AREAS.map((a) => [a, new Map<string, string>()])) as FlatConfig;
  const k = out.kernel;
  k.set('release', c.kernel.release);
  if (c.kernel.version !== undefined) k.set('version', c.kernel.version);
  if (c.kernel.arch !== undefined) k.set('arch', c.kernel.arch);
  if (c.cmdline) {
    // A parameter given twice (console=tty0 console=ttyS0) compares as its values in order.
    for (const p of c.cmdline.params) {
      const prev = out.cmdline.get(p.key);
      const v = p.value ?? '';
      out.cmdline.set(p.key, prev === undefined ? v : `${prev} ${v}`);
    }
  }
  if (c.kernelConfig) for (const [n, v] of Object.entries(c.kernelConfig.options)) out['kernel-config'].set(n, v);
  for (const [n, v] of Object.entries(c.sysctls)) out.sysctl.set(n, v);
  // Modules compare by presence (and taint flags); sizes, reference counts and users change by themselves.
  if (c.modules) for (const m of c.modules) out.modules.set(m.name, m.taints ? `loaded (${m.taints})` : 'loaded');
  if (c.thp) for (const [n, v] of Object.entries(c.thp)) out.thp.set(n, v);
  const g = out.cgroup;
  g.set('mode', c.cgroup.mode);
  g.set('memory.version', c.cgroup.memory ? `v${c.cgroup.memory.version}` : 'none');
  if (c.cgroup.memory) g.set('memory.mountPoint', c.cgroup.memory.mountPoint);
  const v2 = c.cgroup.hierarchies.find((h) => h.version === 2);
  if (v2) g.set('v2.controllers', v2.controllers.join(' '));
  const where = new Map<string, number>();
  for (const h of c.cgroup.hierarchies) for (const n of h.controllers) where.set(n, h.version);
  for (const [n, enabled] of Object.entries(c.cgroup.controllers)) g.set(`controller.${n}`, !enabled ? 'disabled' : where.has(n) ? `v${where.get(n)}` : 'not mounted');
  const t = c.topology;
  const tp = out.topology;
  if (t.cpuModel !== undefined) tp.set('cpuModel', t.cpuModel);
  if (t.cpusPossible !== undefined) tp.set('cpusPossible', t.cpusPossible);
  if (t.cpusOnlineCount !== undefined) tp.set('cpusOnlineCount', String(t.cpusOnlineCount));
  if (t.smtActive !== undefined) tp.set('smtActive', String(t.smtActive));
  tp.set('numaNodes', String(t.numaNodes.length));
  for (const n of t.numaNodes) if (n.memTotalBytes !== undefined) tp.set(`numaNode${n.id}.memTotalBytes`, String(n.memTotalBytes));
  if (t.memTotalBytes !== undefined) tp.set('memTotalBytes', String(t.memTotalBytes));
  if (t.swapTotalBytes !== undefined) tp.set('swapTotalBytes', String(t.swapTotalBytes));
  for (const [size, n] of Object.entries(t.hugepages)) tp.set(`hugepages.${size}`, String(n));
  return out;
}

export interface RawDifference {
  key: string;
  a: string | null;
  b: string | null;
  rule?: string;
  severity?: Severity;
}

export interface ConfigDiff {
  areas: { area: ConfigArea; differences: RawDifference[] }[];
  differences: number;
  marked: number;
  /** Settings left out as noise (counted over both sides). */
  excluded: number;
  /** Areas one side could not capture, with why. */
  notCompared: string[];
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Which areas a capture has at all (absent ≠ empty: no kernel config file is not "every option unset"). */
function captured(c: Omit<ConfigDocument, 'schema' | 'host'>): Set<ConfigArea> {
  const s = new Set<ConfigArea>(['kernel', 'sysctl', 'cgroup', 'topology']);
  if (c.cmdline) s.add('cmdline');
  if (c.kernelConfig) s.add('kernel-config');
  if (c.modules) s.add('modules');
  if (c.thp) s.add('thp');
  return s;
}

export function diffConfig(a: Omit<ConfigDocument, 'schema' | 'host'>, b: Omit<ConfigDocument, 'schema' | 'host'>, t: Thresholds): ConfigDiff {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const ca = captured(a);
  const cb = captured(b);
  const areas: ConfigDiff['areas'] = [];
  const notCompared: string[] = [];
  let excluded = 0;
  let differences = 0;
  let marked = 0;
  for (const area of CONFIG_AREAS) {
    if (!ca.has(area) || !cb.has(area)) {
      const side = !ca.has(area) && !cb.has(area) ? 'A and B' : !ca.has(area) ? 'A' : 'B';
      notCompared.push(`${area}: not captured on ${side}`);
      areas.push({ area, differences: [] });
      continue;
    }
    const ma = fa[area];
    const mb = fb[area];
    const keys = [...new Set([...ma.keys(), ...mb.keys()])].sort();
    const diffs: RawDifference[] = [];
    for (const key of keys) {
      if (isNoise(area, key)) {
        excluded++;
        continue;
      }
      const va = ma.get(key) ?? null;
      const vb = mb.get(key) ?? null;
      if (va === vb) continue;
      const rule = ruleFor(area, key, va, vb, t);
      diffs.push(rule ? { key, a: va, b: vb, rule: rule.id, severity: rule.severity } : { key, a: va, b: vb });
    }
    diffs.sort((x, y) => (x.severity ? SEVERITY_ORDER[x.severity] : 9) - (y.severity ? SEVERITY_ORDER[y.severity] : 9) || x.key.localeCompare(y.key));
    differences += diffs.length;
    marked += diffs.filter((d) => d.rule !== undefined).length;
    areas.push({ area, differences: diffs });
  }
  return { areas, differences, marked, excluded, notCompared };
}
