/**
 * `oscope.health/v1`: one node's (or container's) health score 0–100 and level, from four sub-scores,
 * each explained by the signals that lowered it and the diagnosis to run. The scoring is
 * src/diagnose/health/ (README "Health scores" documents the formula); the agent computes it every
 * tick and sends the compact form (`HealthSummary`) in its sample, the console's fleet view reads it.
 */
import { z } from 'zod';
import { HostRefSchema } from './common.js';

export const HEALTH_SCHEMA = 'oscope.health/v1';

/** Levels, best first. `at-risk`: nothing is failing yet, but a signal is on its way there. */
export const HEALTH_LEVELS = ['healthy', 'at-risk', 'warning', 'error'] as const;
export const HealthLevelSchema = z.enum(HEALTH_LEVELS);
export type HealthLevel = z.infer<typeof HealthLevelSchema>;

export const SUBSCORES = ['errors', 'latency', 'load', 'saturation'] as const;
export const SubscoreNameSchema = z.enum(SUBSCORES);
export type SubscoreName = z.infer<typeof SubscoreNameSchema>;

const score = z.number().int().min(0).max(100);

export const HealthReasonSchema = z.object({
  subscore: SubscoreNameSchema,
  /** Stable signal name (`oom-kills`, `hung-tasks`, `mem-available`, `psi-cpu`, …). */
  signal: z.string(),
  /** One sentence with the numbers that matter (English). */
  detail: z.string(),
  /** Points this signal took off its sub-score. */
  penalty: z.number().nonnegative(),
  /** The oscope command that explains it (`inspect`, `mem`, `runlatency`, …). */
  suggestedDiagnosis: z.string().optional(),
});
export type HealthReason = z.infer<typeof HealthReasonSchema>;

export const SubscoresSchema = z.object({ errors: score, latency: score, load: score, saturation: score });
export type Subscores = z.infer<typeof SubscoresSchema>;

/** What the agent sends in each sample and the console stores per node. */
export const HealthSummarySchema = z.object({
  score,
  level: HealthLevelSchema,
  subscores: SubscoresSchema,
  reasons: z.array(HealthReasonSchema),
});
export type HealthSummary = z.infer<typeof HealthSummarySchema>;

/** A container's (cgroup's) score: saturation of its memory limit only, with the same levels. */
export const ContainerHealthSchema = z.object({ path: z.string(), container: z.string().nullable(), score, level: HealthLevelSchema, reasons: z.array(HealthReasonSchema) });
export type ContainerHealth = z.infer<typeof ContainerHealthSchema>;

export const HealthDocumentSchema = HealthSummarySchema.extend({
  schema: z.literal(HEALTH_SCHEMA),
  host: HostRefSchema,
  /** Where the signals came from: `agent` (its collected data) or `one-shot` (read now). */
  source: z.enum(['agent', 'one-shot']),
  /** Signals that could not be read here (then they lower nothing). */
  missing: z.array(z.string()),
  containers: z.array(ContainerHealthSchema),
  /** The weights in force (sub-score weights and the per-signal table). */
  weights: z.record(z.number()),
});
export type HealthDocument = z.infer<typeof HealthDocumentSchema>;
