/**
 * `inspect`: kernel-log anomalies and risky indicators/settings of the agent's host (the same document
 * as `oscope inspect --json`). The diagnosis's own parameters (src/diagnose/inspect/params.ts) less the
 * paths of the node (`logFiles`, `rulesDirs`: only the host's own logs and the built-in rules), with the
 * agent's own window: the last AGENT_INSPECT_DEFAULT_SINCE_H hours unless asked, at most
 * AGENT_INSPECT_MAX_SINCE_H (the CLI reads the whole log by default and has no cap).
 */
import { z } from 'zod';
import { InspectParamsObject, inspectChecks } from '../../diagnose/inspect/params.js';
import { runInspect } from '../../diagnose/inspect/inspect.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { LANGS } from '../../report/i18n/index.js';
import { INSPECT_SCHEMA, inspectDocument } from '../../report/inspect.js';
import { type DiagnosisEntry, agentMax } from '../registry.js';

/** The agent's default window: a console click asks about the last day, not the whole journal. */
export const AGENT_INSPECT_DEFAULT_SINCE_H = 24;
/** The agent's cap on the window (90 days). */
export const AGENT_INSPECT_MAX_SINCE_H = 24 * 90;

export const InspectParamsSchema = InspectParamsObject.omit({ logFiles: true, rulesDirs: true })
  .extend({
    sinceH: InspectParamsObject.shape.sinceH.unwrap().default(AGENT_INSPECT_DEFAULT_SINCE_H),
    // The same effective default as the diagnosis's (checks run on the host's own logs), written out.
    checks: z.boolean().default(true),
    lang: z.enum(LANGS).default('en'),
  })
  .strict()
  .superRefine(agentMax('sinceH', AGENT_INSPECT_MAX_SINCE_H, 'hours back on the agent'));
export type InspectParams = z.infer<typeof InspectParamsSchema>;

export const inspectDiagnosis: DiagnosisEntry<InspectParams> = {
  name: 'inspect',
  description: 'kernel-log anomalies (oops, lockups, hung tasks, OOM kills with root cause, I/O errors) and risky settings',
  schema: INSPECT_SCHEMA,
  params: InspectParamsSchema,
  timeoutMs: 5 * 60_000,
  run: async (host, p, onProgress) => {
    onProgress('scan', 0, 1);
    const r = await runInspect(host, { sinceMs: Date.now() - p.sinceH * 3_600_000, checks: inspectChecks(p), thresholds: resolveThresholds(p.thresholds) });
    onProgress('scan', 1, 1);
    return inspectDocument(r, p.lang);
  },
};
