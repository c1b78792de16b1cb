/**
 * `oscope.inspect/v1`: kernel-log anomalies and indicator, configuration, hardware and known-issue
 * checks, folded into items, with localized findings. The diagnosis is src/diagnose/inspect/.
 */
import { z } from 'zod';
import { FindingSchema, HostRefSchema } from './common.js';

export const INSPECT_SCHEMA = 'oscope.inspect/v1';

/** Item levels, most severe first. */
export const LEVELS = ['fatal', 'critical', 'error', 'warning', 'info'] as const;
export const LevelSchema = z.enum(LEVELS);
export type Level = z.infer<typeof LevelSchema>;

export const ITEM_CLASSES = ['log', 'indicator', 'config', 'hardware', 'known-issue'] as const;
export const ItemClassSchema = z.enum(ITEM_CLASSES);
export type ItemClass = z.infer<typeof ItemClassSchema>;

export const InspectItemSchema = z.object({
  /** Stable id: `log.<kind>.<hash of title>` for log items, `<class>.<check>` for checks. */
  id: z.string(),
  class: ItemClassSchema,
  /** Crash class (syzkaller TYPE vocabulary: HANG, WARNING, KASAN-READ, …) or OOM, MCE, FS-ERROR, … */
  kind: z.string(),
  level: LevelSchema,
  title: z.string(),
  count: z.number().int().nonnegative(),
  firstAt: z.string().nullable(),
  lastAt: z.string().nullable(),
  /** Seconds since boot of the first/last occurrence when no wall-clock time is known. */
  firstUptimeS: z.number().nullable(),
  lastUptimeS: z.number().nullable(),
  evidence: z.array(z.string()),
  stack: z.array(z.string()),
  /** The container or pod involved (OOM victims), when known. */
  container: z.string().nullable(),
  /** Catalog key of the suggestion (`inspect.suggest.<kind>`) and its params, localized by the renderer. */
  suggestion: z.string(),
  /** Where the item came from (a log source name, or the kernel file a check read). */
  source: z.string(),
  /** Kind-specific details (OOM analysis, check values). */
  details: z.record(z.unknown()),
});
export type InspectItem = z.infer<typeof InspectItemSchema>;

export const SourceStatusSchema = z.enum(['used', 'skipped', 'unavailable', 'error']);
export type SourceStatus = z.infer<typeof SourceStatusSchema>;

export const SourceInfoSchema = z.object({
  name: z.string(),
  kind: z.enum(['file', 'kmsg', 'journal', 'mcelog']),
  status: SourceStatusSchema,
  lines: z.number().int().nonnegative().optional(),
  bytes: z.number().int().nonnegative().optional(),
  reports: z.number().int().nonnegative().optional(),
  reason: z.string().optional(),
});
export type SourceInfo = z.infer<typeof SourceInfoSchema>;

/** Why a boot ended (`oscope inspect --boots`). */
export const BOOT_CAUSES = ['panic', 'watchdog', 'oom-panic', 'hung-task-panic', 'mce', 'clean-shutdown', 'unclean', 'running'] as const;
export const BootCauseSchema = z.enum(BOOT_CAUSES);
export type BootCause = z.infer<typeof BootCauseSchema>;

/** One previous boot and how it ended. */
export const BootSchema = z.object({
  /** The journal's boot id, `pstore:<record>` or `kdump:<directory>`. */
  id: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  cause: BootCauseSchema,
  /** The crash's title, worded by inspect's rules (as its log items are). */
  title: z.string().optional(),
  stack: z.array(z.string()).optional(),
  /** Where it was read: `journal`, `pstore`, `kdump`. */
  source: z.enum(['journal', 'pstore', 'kdump']),
  /** The file or command it was read from. */
  from: z.string().optional(),
  /** The kernel release that boot ran, when its log says (its `Linux version` banner or an oops's taint line). */
  kernel: z.string().optional(),
});
export type Boot = z.infer<typeof BootSchema>;

/** The `oscope.inspect/v1` document. */
export const InspectDocumentSchema = z.object({
  schema: z.literal(INSPECT_SCHEMA),
  host: HostRefSchema,
  since: z.string().nullable(),
  sources: z.array(SourceInfoSchema),
  items: z.array(InspectItemSchema),
  findings: z.array(FindingSchema),
  rules: z.array(z.string()),
  /** Previous boots and why each ended (`--boots` only; absent otherwise). */
  boots: z.array(BootSchema).optional(),
});
export type InspectDocument = z.infer<typeof InspectDocumentSchema>;
