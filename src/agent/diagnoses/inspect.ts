/**
 * `inspect`: kernel-log anomalies and risky indicators/settings of the agent's host (the same document
 * as `oscope inspect --json`). Only the host's own logs: no file names, no extra rule directories.
 */
import { z } from 'zod';
import { runInspect } from '../../diagnose/inspect/inspect.js';
import { LANGS } from '../../report/i18n/index.js';
import { INSPECT_SCHEMA, inspectDocument } from '../../report/inspect.js';
import type { DiagnosisEntry } from '../registry.js';

export const InspectParamsSchema = z
  .object({
    /** Only log reports of the last sinceH hours (default 24; at most 90 days). */
    sinceH: z.number().positive().max(24 * 90).default(24),
    /** Run the indicator, configuration and hardware checks too. */
    checks: z.boolean().default(true),
    lang: z.enum(LANGS).default('en'),
  })
  .strict();
export type InspectParams = z.infer<typeof InspectParamsSchema>;

export const inspectDiagnosis: DiagnosisEntry<InspectParams> = {
  name: 'inspect',
  description: 'kernel-log anomalies (oops, lockups, hung tasks, OOM kills with root cause, I/O errors) and risky settings',
  schema: INSPECT_SCHEMA,
  params: InspectParamsSchema,
  timeoutMs: 5 * 60_000,
  run: async (host, p, onProgress) => {
    onProgress('scan', 0, 1);
    const r = await runInspect(host, { sinceMs: Date.now() - p.sinceH * 3_600_000, checks: p.checks });
    onProgress('scan', 1, 1);
    return inspectDocument(r, p.lang);
  },
};
