/**
 * `io`: why is I/O slow, and who does all this I/O (the same document as `oscope io --json`). The
 * diagnosis's own parameters (src/diagnose/io/params.ts) plus the document's language and threshold
 * overrides, with the agent's caps: the interval (a console task times out, and an alert's diagnosis
 * should come back while the problem is live) and the rows kept per table (the console stores the
 * document). `disk` and `cgroup` default to null (= every disk, the whole host) so that the console sees
 * them in the entry's defaults and offers the scopes.
 */
import { z } from 'zod';
import { analyzeIo } from '../../diagnose/io/analyze.js';
import { collectIo } from '../../diagnose/io/collect.js';
import { IoParamsSchema, type IoParams as IoDiagnosisParams } from '../../diagnose/io/params.js';
import { ThresholdOverridesSchema, resolveThresholds } from '../../diagnose/thresholds.js';
import { LANGS } from '../../report/i18n/index.js';
import { IO_SCHEMA, ioDocument } from '../../report/io.js';
import { type DiagnosisEntry, agentMax } from '../registry.js';

/** The agent's cap on the interval (the CLI allows an hour). */
export const AGENT_IO_MAX_INTERVAL_S = 300;
/** The agent's cap on rows per table (the CLI allows 1000). */
export const AGENT_IO_MAX_TOP = 200;

const shape = IoParamsSchema.shape;

export const IoParamsAgent = IoParamsSchema.extend({
  disk: shape.disk.unwrap().nullable().default(null),
  cgroup: shape.cgroup.unwrap().nullable().default(null),
  thresholds: ThresholdOverridesSchema.default({}),
  lang: z.enum(LANGS).default('en'),
})
  .strict()
  .refine((p) => [p.pid, p.cgroup, p.container].filter((x) => x !== undefined && x !== null).length <= 1, { message: 'give at most one of pid, cgroup and container', path: ['cgroup'] })
  .superRefine(agentMax('intervalS', AGENT_IO_MAX_INTERVAL_S, 's of interval on the agent'))
  .superRefine(agentMax('top', AGENT_IO_MAX_TOP, 'rows on the agent'));
export type AgentIoParams = z.infer<typeof IoParamsAgent>;

/** The diagnosis's own parameters from the agent's (nulls dropped, language and thresholds apart). */
export function ioDiagnosisParams(p: AgentIoParams): IoDiagnosisParams {
  const { lang: _l, thresholds: _t, disk, cgroup, ...rest } = p;
  return { ...rest, ...(disk !== null ? { disk } : {}), ...(cgroup !== null ? { cgroup } : {}) };
}

export const ioDiagnosis: DiagnosisEntry<AgentIoParams> = {
  name: 'io',
  description: 'why is I/O slow and who does it: disks, latency by stage (queue, scheduler, device, wake), traffic per process/cgroup/file, hangs, iowait',
  schema: IO_SCHEMA,
  params: IoParamsAgent,
  timeoutMs: (AGENT_IO_MAX_INTERVAL_S + 120) * 1000,
  run: async (host, p, onProgress) => {
    const th = resolveThresholds(p.thresholds);
    const params = ioDiagnosisParams(p);
    onProgress('measure', 0, p.intervalS);
    let done = 0;
    const beat = setInterval(() => onProgress('measure', Math.min(p.intervalS, ++done), p.intervalS), 1000);
    beat.unref();
    try {
      const capture = await collectIo(host, params, th);
      onProgress('analyze', 1, 1);
      return ioDocument(analyzeIo(capture, th, params.top), p.lang);
    } finally {
      clearInterval(beat);
    }
  },
};
