/**
 * The `oscope.inspect/v1` JSON document: the inspect result plus localized findings, checked against
 * its zod schema. Built here so the CLI (`oscope inspect --json`) and the agent's `inspect` diagnosis
 * return the very same document.
 */
import { z } from 'zod';
import { inspectFindings } from '../diagnose/inspect/findings.js';
import { INSPECT_SCHEMA, type InspectResult } from '../diagnose/inspect/inspect.js';
import { InspectItemSchema } from '../diagnose/inspect/items.js';
import { FindingSchema, localizeFindings } from './finding.js';
import type { Lang } from './i18n/index.js';

export { INSPECT_SCHEMA };

export const SourceInfoSchema = z.object({
  name: z.string(),
  kind: z.enum(['file', 'kmsg', 'journal', 'mcelog']),
  status: z.enum(['used', 'skipped', 'unavailable', 'error']),
  lines: z.number().int().nonnegative().optional(),
  bytes: z.number().int().nonnegative().optional(),
  reports: z.number().int().nonnegative().optional(),
  reason: z.string().optional(),
});

/** The `oscope.inspect/v1` document. */
export const InspectJsonSchema = z.object({
  schema: z.literal(INSPECT_SCHEMA),
  host: z.object({ hostname: z.string(), kernel: z.string(), capturedAt: z.string() }),
  since: z.string().nullable(),
  sources: z.array(SourceInfoSchema),
  items: z.array(InspectItemSchema),
  findings: z.array(FindingSchema),
  rules: z.array(z.string()),
});
export type InspectJson = z.infer<typeof InspectJsonSchema>;

/** The JSON document: the result plus localized findings, checked against the schema. */
export function inspectDocument(r: InspectResult, lang: Lang): InspectJson {
  const doc = { ...r, findings: localizeFindings(inspectFindings(r.items), lang) };
  return InspectJsonSchema.parse(doc);
}
