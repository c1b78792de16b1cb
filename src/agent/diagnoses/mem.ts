/** `mem`: the memory panorama (the same document as `oscope mem --json`). */
import { z } from 'zod';
import { runMemPanorama } from '../../diagnose/memory/panorama.js';
import { isThresholdKey, resolveThresholds } from '../../diagnose/thresholds.js';
import { memDocument, MEM_SCHEMA } from '../../report/mem.js';
import { LANGS } from '../../report/i18n/index.js';
import type { DiagnosisEntry } from '../registry.js';

export const MemParamsSchema = z
  .object({
    /** Rows in the process and cgroup tables. */
    top: z.number().int().min(1).max(1000).default(30),
    /** Cross-check with /proc/kpageflags (slower, more precise unaccounted figure). */
    kpage: z.boolean().default(true),
    lang: z.enum(LANGS).default('en'),
    /** Threshold overrides, same keys as `oscope mem --threshold`. */
    thresholds: z
      .record(z.number())
      .default({})
      .superRefine((t, ctx) => {
        for (const k of Object.keys(t)) if (!isThresholdKey(k)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown threshold "${k}"`, path: [k] });
      }),
  })
  .strict();
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
