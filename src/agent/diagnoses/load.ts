/**
 * `load` and `profile` for the agent: the same documents as `oscope load --json` and `oscope profile
 * --json`, with the diagnoses' own parameter schemas (src/diagnose/load/params.ts,
 * src/diagnose/profile/params.ts) plus the document's language and threshold overrides, and the agent's
 * explicit caps (the constants below; tested in test/agent/load-profile.test.ts): the interval (a
 * console task times out, and the sampling must stay cheap on a node someone else runs), the profile's
 * rate (a console user should not turn a node's sampling into its workload) and the rows kept (the
 * console stores the document). The scopes default to null (= the whole host) so that the console sees
 * them in the entry's defaults and offers them.
 */
import { z } from 'zod';
import { analyzeLoad } from '../../diagnose/load/analyze.js';
import { collectLoad } from '../../diagnose/load/collect.js';
import { LoadParamsSchema, type LoadParams } from '../../diagnose/load/params.js';
import { analyzeProfile } from '../../diagnose/profile/analyze.js';
import { collectProfile } from '../../diagnose/profile/collect.js';
import { ProfileParamsSchema, type ProfileParams } from '../../diagnose/profile/params.js';
import { ThresholdOverridesSchema, resolveThresholds } from '../../diagnose/thresholds.js';
import { LANGS } from '../../report/i18n/index.js';
import { LOAD_SCHEMA, loadDocument } from '../../report/load.js';
import { PROFILE_SCHEMA, profileDocument } from '../../report/profile.js';
import { type DiagnosisEntry, type ProgressFn, agentMax } from '../registry.js';

/** The agent's cap on a load interval (the CLI allows an hour). */
export const AGENT_LOAD_MAX_INTERVAL_S = 300;
/** The agent's cap on load's task samples per second (the CLI allows 100). */
export const AGENT_LOAD_MAX_HZ = 20;
/** The agent's cap on load's rows per table (the CLI allows 1000). */
export const AGENT_LOAD_MAX_TOP = 200;
/** The agent's cap on a profile's interval (the CLI allows an hour). */
export const AGENT_PROFILE_MAX_INTERVAL_S = 60;
/** The agent's cap on a profile's rate per CPU (the CLI allows 10000). */
export const AGENT_PROFILE_MAX_HZ = 99;
/** The agent's cap on a profile's function rows (the CLI allows 100000). */
export const AGENT_PROFILE_MAX_TOP = 1000;

const lang = z.enum(LANGS).default('en');
const thresholds = ThresholdOverridesSchema.default({});
const set = (x: unknown): boolean => x !== undefined && x !== null;

const ls = LoadParamsSchema.innerType().shape;
export const LoadParamsAgent = LoadParamsSchema.innerType()
  .extend({
    cgroup: ls.cgroup.unwrap().nullable().default(null),
    container: ls.container.unwrap().nullable().default(null),
    pod: ls.pod.unwrap().nullable().default(null),
    thresholds,
    lang,
  })
  .strict()
  .refine((p) => [p.cgroup, p.container, p.pod].filter(set).length <= 1, { message: 'give at most one of cgroup, container and pod', path: ['cgroup'] })
  .superRefine(agentMax('intervalS', AGENT_LOAD_MAX_INTERVAL_S, 's of interval on the agent'))
  .superRefine(agentMax('sampleHz', AGENT_LOAD_MAX_HZ, 'samples per second on the agent'))
  .superRefine(agentMax('top', AGENT_LOAD_MAX_TOP, 'rows on the agent'));
export type AgentLoadParams = z.infer<typeof LoadParamsAgent>;

/** Drops nulls (= not given) from the scope fields. */
function withoutNulls<T extends Record<string, unknown>>(p: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null)) as { [K in keyof T]: Exclude<T[K], null> };
}

/** The diagnosis's own parameters from the agent's (nulls dropped, language and thresholds apart). */
export function loadDiagnosisParams(p: AgentLoadParams): LoadParams {
  const { lang: _l, thresholds: _t, ...rest } = p;
  return withoutNulls(rest) as LoadParams;
}

/** Ticks the `measure` step once a second over the interval. */
async function measured<T>(onProgress: ProgressFn, intervalS: number, f: () => Promise<T>): Promise<T> {
  const total = Math.ceil(intervalS);
  onProgress('measure', 0, total);
  let done = 0;
  const beat = setInterval(() => onProgress('measure', Math.min(total, ++done), total), 1000);
  beat.unref();
  try {
    return await f();
  } finally {
    clearInterval(beat);
  }
}

export const loadDiagnosis: DiagnosisEntry<AgentLoadParams> = {
  name: 'load',
  description: 'why is the load average high: runnable and D threads, D stacks, forks, CPU throttling, run-queue balance',
  schema: LOAD_SCHEMA,
  params: LoadParamsAgent,
  timeoutMs: (AGENT_LOAD_MAX_INTERVAL_S + 120) * 1000,
  run: async (host, p, onProgress) => {
    const th = resolveThresholds(p.thresholds);
    const params = loadDiagnosisParams(p);
    const capture = await measured(onProgress, p.intervalS, () => collectLoad(host, params));
    onProgress('analyze', 1, 1);
    return loadDocument(analyzeLoad(capture, th, params.top), p.lang);
  },
};

const ps = ProfileParamsSchema.shape;
export const ProfileParamsAgent = ProfileParamsSchema.extend({
  pid: ps.pid.unwrap().nullable().default(null),
  cgroup: ps.cgroup.unwrap().nullable().default(null),
  container: ps.container.unwrap().nullable().default(null),
  thresholds,
  lang,
})
  .strict()
  .refine((p) => [p.pid, p.cgroup, p.container].filter(set).length <= 1, { message: 'give at most one of pid, cgroup and container', path: ['cgroup'] })
  .superRefine(agentMax('intervalS', AGENT_PROFILE_MAX_INTERVAL_S, 's of profile on the agent'))
  .superRefine(agentMax('hz', AGENT_PROFILE_MAX_HZ, 'samples per second per CPU on the agent'))
  .superRefine(agentMax('top', AGENT_PROFILE_MAX_TOP, 'function rows on the agent'));
export type AgentProfileParams = z.infer<typeof ProfileParamsAgent>;

export function profileDiagnosisParams(p: AgentProfileParams): ProfileParams {
  const { lang: _l, thresholds: _t, ...rest } = p;
  return withoutNulls(rest) as ProfileParams;
}

export const profileDiagnosis: DiagnosisEntry<AgentProfileParams> = {
  name: 'profile',
  description: 'where the CPU time goes (or, off-CPU, where tasks block): top functions, stacks and a flame graph',
  schema: PROFILE_SCHEMA,
  params: ProfileParamsAgent,
  timeoutMs: (AGENT_PROFILE_MAX_INTERVAL_S + 120) * 1000,
  run: async (host, p, onProgress) => {
    const th = resolveThresholds(p.thresholds);
    const params = profileDiagnosisParams(p);
    const capture = await measured(onProgress, p.intervalS, () => collectProfile(host, params));
    onProgress('analyze', 1, 1);
    return profileDocument(analyzeProfile(capture, th, params.top), p.lang);
  },
};
