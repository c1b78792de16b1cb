/**
 * The `oscope.inspect/v1` JSON document: the inspect result plus localized findings, checked against
 * its zod schema. Built here so the CLI (`oscope inspect --json`) and the agent's `inspect` diagnosis
 * return the very same document.
 */
import { InspectDocumentSchema, type InspectDocument } from '../contract/inspect.js';
import { inspectFindings } from '../diagnose/inspect/findings.js';
import type { InspectResult } from '../diagnose/inspect/inspect.js';
import { localizeFindings } from './finding.js';
import type { Lang } from './i18n/index.js';

export { INSPECT_SCHEMA, SourceInfoSchema } from '../contract/inspect.js';
/** Kept under its first name for the CLI and older tests; the schema is InspectDocumentSchema. */
export { InspectDocumentSchema as InspectJsonSchema, type InspectDocument as InspectJson } from '../contract/inspect.js';

/** The JSON document: the result plus localized findings, checked against the schema. */
export function inspectDocument(r: InspectResult, lang: Lang): InspectDocument {
  const doc = { ...r, findings: localizeFindings(inspectFindings(r.items), lang) };
  return InspectDocumentSchema.parse(doc);
}
