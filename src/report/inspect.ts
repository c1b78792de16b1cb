/**
 * The `oscope.inspect/v1` JSON document: the inspect result with its findings (made in
 * src/diagnose/inspect/findings.ts) localized, checked against its zod schema. Built here so the CLI (`oscope inspect --json`) and the agent's `inspect` diagnosis
 * return the very same document.
 */
import { InspectDocumentSchema, type InspectDocument } from '../contract/inspect.js';
import type { InspectResult } from '../diagnose/inspect/inspect.js';
import { localizeFindings } from './finding.js';
import type { Lang } from './i18n/index.js';

export { INSPECT_SCHEMA, SourceInfoSchema } from '../contract/inspect.js';
/** Kept under its first name for the CLI and older tests; the schema is InspectDocumentSchema. */
export { InspectDocumentSchema as InspectJsonSchema, type InspectDocument as InspectJson } from '../contract/inspect.js';

/** The JSON document: the result with its findings localized, checked against the schema. */
export function inspectDocument(r: InspectResult, lang: Lang): InspectDocument {
  const doc = { ...r, findings: localizeFindings(r.findings, lang) };
  return InspectDocumentSchema.parse(doc);
}
