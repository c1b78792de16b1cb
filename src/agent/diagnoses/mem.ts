/** `mem`: the memory panorama (the same document as `oscope mem --json`). */
import { z } from 'zod';
import { MemParamsSchema as MemDiagnosisParams } from '../../diagnose/memory/params.js';
import { runMemPanorama } from '../../diagnose/memory/panorama.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { memDocument, MEM_SCHEMA } from '../../report/mem.js';
import { LANGS } from '../../report/i18n/index.js';
import { type DiagnosisEntry, agentMax } from '../registry.js';

/** The agent's cap on `top` (the CLI allows 100000): a task's document is stored by the console. */
export const AGENT_MEM_MAX_TOP = 1000;

/** src/diagnose/memory/params.ts plus the document's language, with the agent's cap. */
export const MemParamsSchema = MemDiagnosisParams.extend({ lang: z.enum(LANGS).default('en') })
  .strict()
  .superRefine(agentMax('top', AGENT_MEM_MAX_TOP, 'rows on the agent'));
export type MemParams = z.infer<typeof MemParamsSchema>;

export const memDiagnosis: DiagnosisEntry<MemParams> = {
  name: 'mem',
  description: 'memory panorama: where every byte of RAM is, with conclusions and suggestions',
  schema: MEM_SCHEMA,
  params: MemParamsSchema,
  timeoutMs: 5 * 60_000,
  run: async (host, params, onProgress) => {
    const thresholds = resolveThresholds(params.thresholds);
    const result = await runMemPanorama(host, { thresholds, kpage: params.kpage, top: params.top, onProgress });
    return memDocument(result.analysis, host.info(), host.kind, result.availableBytes, params.lang);
  },
};
