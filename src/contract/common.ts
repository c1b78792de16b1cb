/**
 * The parts every oscope document shares: Severity, Finding (localized, as documents carry it),
 * RawFinding (language-neutral, as diagnoses return it), Coverage, Method and ContainerRef.
 *
 * src/contract/ is the one place where the shape of a document is written down. It imports nothing but
 * zod; every type is `z.infer` of a schema. diagnose/ returns these types, report/ localizes and renders
 * them, the console's routes return them and web/ imports them type-only.
 */
import { z } from 'zod';

/** A size in bytes. */
export const bytes = z.number().int().nonnegative();
/** A duration in milliseconds. */
export const ms = z.number().nonnegative();

/** One severity order everywhere: most severe first. */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const SeveritySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Sorts most severe first (stable for equal severities). */
export function compareSeverity(a: { severity: Severity }, b: { severity: Severity }): number {
  return severityRank(a.severity) - severityRank(b.severity);
}

/** `<area>.<subject>.<condition>`: lower-case words joined by dots, at least two. */
export const FindingIdSchema = z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);

/** A finding as documents carry it: localized title, conclusion and suggestions. */
export const FindingSchema = z.object({
  id: FindingIdSchema,
  severity: SeveritySchema,
  title: z.string().min(1),
  conclusion: z.string().min(1),
  suggestions: z.array(z.string()),
  evidence: z.record(z.unknown()),
});
export type Finding = z.infer<typeof FindingSchema>;

export const ParamValueSchema = z.union([z.string(), z.number()]);
export type ParamValue = z.infer<typeof ParamValueSchema>;
/** Values for catalog templates. Names ending in Bytes render as sizes, Pct as percents, Ms as durations. */
export const ParamsSchema = z.record(ParamValueSchema);
export type Params = z.infer<typeof ParamsSchema>;

/**
 * A finding as a diagnosis makes it: a stable id, a severity, the numbers that matter (`params`) and the
 * evidence rows. report/ turns it into a Finding with the catalogs' words (en, zh-CN).
 */
export const RawFindingSchema = z.object({
  id: FindingIdSchema,
  severity: SeveritySchema,
  params: ParamsSchema,
  evidence: z.record(z.unknown()),
  /** Extra suggestions with their own params (e.g. one per culprit), appended after the catalog's. */
  extraSuggestions: z.array(z.object({ key: z.string(), params: ParamsSchema })).optional(),
});
export type RawFinding = z.infer<typeof RawFindingSchema>;

/** A catalog key and its params: a sentence a diagnosis decides and report/ words. */
export const MessageRefSchema = z.object({ key: z.string().min(1), params: ParamsSchema });
export type MessageRef = z.infer<typeof MessageRefSchema>;

export const CoverageStatusSchema = z.enum(['complete', 'partial', 'unavailable']);
export type CoverageStatus = z.infer<typeof CoverageStatusSchema>;

/** What a section of a report could see: complete, partial (with why), or unavailable (with why). */
export const CoverageSchema = z.object({ section: z.string(), status: CoverageStatusSchema, reason: z.string().optional() }).strict();
export type Coverage = z.infer<typeof CoverageSchema>;

/** How each part was measured (`{ irqoff: 'nmi-watchdog', … }`): free-form words, one per part. */
export const MethodSchema = z.record(z.string());
export type Method = z.infer<typeof MethodSchema>;

/** The container or pod a row belongs to. */
export const ContainerRefSchema = z.object({
  runtime: z.string(),
  id: z.string(),
  name: z.string().optional(),
  podName: z.string().optional(),
  podNamespace: z.string().optional(),
  podUid: z.string().optional(),
});
export type ContainerRef = z.infer<typeof ContainerRefSchema>;

/** Where a document's data came from. */
export const HostRefSchema = z.object({ hostname: z.string(), kernel: z.string(), capturedAt: z.string() });
export type HostRef = z.infer<typeof HostRefSchema>;
