/**
 * `net` for the agent: the same `oscope.net/v1` document as `oscope net --json`, with the diagnosis's
 * own parameter schema (src/diagnose/net/params.ts) and the agent's caps on the interval and the rows.
 */
import { z } from 'zod';
import { analyzeNet } from '../../diagnose/net/analyze.js';
import { collectNet } from '../../diagnose/net/collect.js';
import { NetParamsSchema } from '../../diagnose/net/params.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { LANGS } from '../../report/i18n/index.js';
import { NET_SCHEMA, netDocument } from '../../report/net.js';
import { type DiagnosisEntry, agentMax } from '../registry.js';

/** The agent's cap on a net interval (the CLI allows an hour): the console times a task out after 11 min. */
export const AGENT_NET_MAX_INTERVAL_S = 600;
/** The agent's cap on rows per table (the CLI allows 1000): a task's document is stored by the console. */
export const AGENT_NET_MAX_TOP = 200;

export const NetAgentParams = NetParamsSchema.extend({ lang: z.enum(LANGS).default('en') })
  .strict()
  .superRefine(agentMax('intervalS', AGENT_NET_MAX_INTERVAL_S, 's of interval on the agent'))
  .superRefine(agentMax('top', AGENT_NET_MAX_TOP, 'rows on the agent'));
export type AgentNetParams = z.infer<typeof NetAgentParams>;

export const netDiagnosis: DiagnosisEntry<AgentNetParams> = {
  name: 'net',
  description: 'is the network dropping or delaying traffic: drops by reason, retransmits, latency by stage, socket memory',
  schema: NET_SCHEMA,
  params: NetAgentParams,
  timeoutMs: 11 * 60_000,
  run: async (host, p, onProgress) => {
    const { lang, ...params } = p;
    const th = resolveThresholds();
    onProgress('measuring', 0, 1);
    const capture = await collectNet(host, params, th);
    onProgress('measuring', 1, 1);
    return netDocument(analyzeNet(capture, th, params.top), lang);
  },
};
