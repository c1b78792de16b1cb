/**
 * `oscope.config/v1`: one node's configuration as captured (`oscope config-diff --capture`, the agent's
 * `config` diagnosis), and `oscope.config-diff/v1`: the differences between two captures, grouped by area,
 * those that matter for what oscope diagnoses marked with the reason (src/diagnose/config/rules.ts is the
 * table; README "Configuration drift").
 */
import { z } from 'zod';
import { HostRefSchema } from './common.js';

export const CONFIG_SCHEMA = 'oscope.config/v1';
export const CONFIG_DIFF_SCHEMA = 'oscope.config-diff/v1';

export const CONFIG_AREAS = ['kernel', 'cmdline', 'kernel-config', 'sysctl', 'modules', 'thp', 'cgroup', 'topology'] as const;
export const ConfigAreaSchema = z.enum(CONFIG_AREAS);
export type ConfigArea = z.infer<typeof ConfigAreaSchema>;

const strMap = z.record(z.string());

export const ConfigDocumentSchema = z.object({
  schema: z.literal(CONFIG_SCHEMA),
  host: HostRefSchema,
  kernel: z.object({
    /** uname -r (/proc/sys/kernel/osrelease). */
    release: z.string(),
    /** uname -v: the build (/proc/sys/kernel/version). */
    version: z.string().optional(),
    /** uname -m (/proc/sys/kernel/arch, 5.x+), when known. */
    arch: z.string().optional(),
  }),
  cmdline: z.object({ raw: z.string(), params: z.array(z.object({ key: z.string(), value: z.string().optional() })) }).nullable(),
  /** The build configuration's set options; null with `kernelConfigMissing` naming where it was looked for. */
  kernelConfig: z.object({ source: z.string(), options: strMap }).nullable(),
  kernelConfigMissing: z.array(z.string()).optional(),
  /** Every readable sysctl (dotted name → value as sysctl(8) prints it). */
  sysctls: strMap,
  sysctlsUnreadable: z.number().int().nonnegative(),
  /** Loaded modules; null when the kernel has no module support (no /proc/modules). */
  modules: z.array(z.object({ name: z.string(), sizeBytes: z.number().int().nonnegative(), refcount: z.number().int().nullable(), usedBy: z.array(z.string()), state: z.string(), taints: z.string() })).nullable(),
  /** Transparent-hugepage settings (path under /sys/kernel/mm/transparent_hugepage → selected value); null without THP. */
  thp: strMap.nullable(),
  cgroup: z.object({
    mode: z.enum(['v1', 'v2', 'hybrid', 'none']),
    hierarchies: z.array(z.object({ version: z.union([z.literal(1), z.literal(2)]), controllers: z.array(z.string()), name: z.string().optional(), mountPoint: z.string() })),
    /** Where the memory controller is (null: not mounted or disabled). */
    memory: z.object({ version: z.union([z.literal(1), z.literal(2)]), mountPoint: z.string() }).nullable(),
    /** /proc/cgroups: controller → enabled. */
    controllers: z.record(z.boolean()),
  }),
  topology: z.object({
    cpuModel: z.string().optional(),
    cpusPossible: z.string().optional(),
    cpusOnline: z.string().optional(),
    cpusOnlineCount: z.number().int().optional(),
    smtActive: z.boolean().optional(),
    numaNodes: z.array(z.object({ id: z.number().int(), cpus: z.string(), memTotalBytes: z.number().optional() })),
    memTotalBytes: z.number().optional(),
    swapTotalBytes: z.number().optional(),
    /** Hugetlb pool per page size (`2048kB` → pages). */
    hugepages: z.record(z.number().int().nonnegative()),
  }),
  /** What could not be read here, one sentence each. */
  missing: z.array(z.string()),
});
export type ConfigDocument = z.infer<typeof ConfigDocumentSchema>;

export const ConfigDifferenceSchema = z.object({
  /** The setting, in the area's own naming (`vm.swappiness`, `enabled`, `CONFIG_HZ`, `memTotalBytes`). */
  key: z.string(),
  /** The value in A and in B; null when the setting is absent on that side. */
  a: z.string().nullable(),
  b: z.string().nullable(),
  /** Marked: it matters for what oscope diagnoses (the rule and its reason). */
  marked: z.boolean(),
  rule: z.string().optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  reason: z.string().optional(),
});
export type ConfigDifference = z.infer<typeof ConfigDifferenceSchema>;

export const ConfigDiffDocumentSchema = z.object({
  schema: z.literal(CONFIG_DIFF_SCHEMA),
  a: HostRefSchema,
  b: HostRefSchema,
  summary: z.object({ differences: z.number().int(), marked: z.number().int(), excluded: z.number().int() }),
  /** Every area, in CONFIG_AREAS order, marked differences first within each. */
  areas: z.array(z.object({ area: ConfigAreaSchema, differences: z.array(ConfigDifferenceSchema) })),
  /** Settings compared in neither direction because they are noise (the documented list), by pattern. */
  excludedPatterns: z.array(z.string()),
  /** Areas one side could not capture (e.g. no kernel config file): not compared. */
  notCompared: z.array(z.string()),
});
export type ConfigDiffDocument = z.infer<typeof ConfigDiffDocumentSchema>;
