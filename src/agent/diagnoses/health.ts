/**
 * `health`: the node's health score (the same document as `oscope health --json`), from a one-shot
 * collection on the host (procfs gauges and the kernel log of the last health.errorWindowH hours).
 * Reads only; the agent's own per-tick score also reaches the console in every sample.
 */
import { z } from 'zod';
import { collectHealth } from '../../diagnose/health/collect.js';
import { HealthParamsObject } from '../../diagnose/health/params.js';
import { scoreHealth } from '../../diagnose/health/score.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { HEALTH_SCHEMA, healthDocument } from '../../report/health.js';
import { LANGS } from '../../report/i18n/index.js';
import type { DiagnosisEntry } from '../registry.js';

export const HealthTaskParams = HealthParamsObject.extend({ lang: z.enum(LANGS).default('en') }).strict();
export type HealthTaskParams = z.infer<typeof HealthTaskParams>;

export const healthDiagnosis: DiagnosisEntry<HealthTaskParams> = {
  name: 'health',
  description: 'health score 0-100 and level (healthy, at risk, warning, error) from errors, latency, load and saturation, with what lowered it',
  schema: HEALTH_SCHEMA,
  params: HealthTaskParams,
  timeoutMs: 2 * 60_000,
  run: async (host, p, onProgress) => {
    onProgress('collect', 0, 1);
    const t = resolveThresholds(p.thresholds);
    const a = scoreHealth(await collectHealth(host, t), t);
    onProgress('collect', 1, 1);
    const info = host.info();
    return healthDocument(a, { hostname: info.hostname, kernel: info.kernel, capturedAt: info.capturedAt }, 'one-shot', p.lang);
  },
};
