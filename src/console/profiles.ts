/**
 * The node page's flame graph of any time range: the agents' profile windows (continuous and triggered,
 * src/agent/profiler.ts) merged into one set of stacks. Pure.
 */
import type { SampleProfile } from '../contract/agent-wire.js';
import type { MergedProfile } from '../contract/console.js';

export const MERGED_MAX_STACKS = 5000;

export function mergeProfiles(windows: readonly SampleProfile[], since: number, until: number, truncated: boolean, maxStacks = MERGED_MAX_STACKS): MergedProfile {
  const byKey = new Map<string, { frames: string[]; count: number }>();
  let samples = 0;
  let other = 0;
  const triggers: MergedProfile['triggers'] = [];
  for (const w of windows) {
    samples += w.samples;
    other += w.otherSamples;
    if (w.trigger) triggers.push({ rule: w.trigger, startTs: w.startTs });
    for (const st of w.stacks) {
      const frames = st.f.map((i) => w.names[i] ?? '?');
      const key = frames.join('\u0000');
      const e = byKey.get(key);
      if (e) e.count += st.n;
      else byKey.set(key, { frames, count: st.n });
    }
  }
  const stacks = [...byKey.values()].sort((a, b) => b.count - a.count);
  for (const s of stacks.slice(maxStacks)) other += s.count;
  return {
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    windows: windows.length,
    samples,
    otherSamples: other,
    triggers,
    stacks: stacks.slice(0, maxStacks),
    ...(truncated ? { truncated: true as const } : {}),
  };
}
