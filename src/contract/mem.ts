/**
 * `oscope.mem/v1`: the memory panorama. Every section's shape is defined here once; the diagnosis
 * (src/diagnose/memory/) fills them, report/mem.ts adds the localized findings and renders the text.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, MethodSchema, bytes } from './common.js';
import { FileCacheFileSchema } from './filecache.js';

export const MEM_SCHEMA = 'oscope.mem/v1';

export const BREAKDOWN_GROUPS = ['free', 'user', 'kernel', 'reserved', 'unaccounted'] as const;
export const BreakdownGroupSchema = z.enum(BREAKDOWN_GROUPS);
export type BreakdownGroup = z.infer<typeof BreakdownGroupSchema>;

export const BreakdownItemSchema = z.object({
  key: z.string(),
  group: BreakdownGroupSchema,
  bytes,
  /** Set when the item is a part of another item ("of which"), so it is not summed twice. */
  partOf: z.string().optional(),
  /** The kernel counter(s) the figure comes from. */
  source: z.string(),
});
export type BreakdownItem = z.infer<typeof BreakdownItemSchema>;

export const ProcessRowSchema = z.object({
  pid: z.number().int(),
  comm: z.string(),
  rssBytes: bytes,
  anonBytes: bytes,
  fileBytes: bytes,
  shmemBytes: bytes,
  swapBytes: bytes,
  pssBytes: bytes.optional(),
  pageTableBytes: bytes.optional(),
  threads: z.number().int().optional(),
  cgroup: z.string().optional(),
  container: ContainerRefSchema.optional(),
});
export type ProcessRow = z.infer<typeof ProcessRowSchema>;

export const CgroupRowSchema = z.object({
  path: z.string(),
  usageBytes: bytes,
  anonBytes: bytes,
  fileBytes: bytes,
  activeFileBytes: bytes,
  shmemBytes: bytes,
  workingsetBytes: bytes,
  limitBytes: bytes.nullable(),
  dirtyBytes: bytes.optional(),
  container: ContainerRefSchema.optional(),
});
export type CgroupRow = z.infer<typeof CgroupRowSchema>;

export const TmpfsRowSchema = z.object({
  mount: z.string(),
  fstype: z.string(),
  usedBytes: bytes,
  sizeBytes: bytes,
  files: z.number().int(),
  topDirs: z.array(z.object({ path: z.string(), files: z.number().int(), bytes })),
  /** True when the walk stopped at its entry cap: topDirs then cover only part of the mount. */
  truncated: z.boolean(),
});
export type TmpfsRow = z.infer<typeof TmpfsRowSchema>;

export const SysvRowSchema = z.object({
  key: z.string(),
  shmid: z.number().int(),
  sizeBytes: bytes,
  rssBytes: bytes,
  swapBytes: bytes,
  nattch: z.number().int(),
  cpid: z.number().int(),
  lpid: z.number().int(),
  creator: z.string().optional(),
  lastUser: z.string().optional(),
  orphan: z.boolean(),
});
export type SysvRow = z.infer<typeof SysvRowSchema>;

export const DeletedOpenRowSchema = z.object({
  path: z.string(),
  kind: z.enum(['memfd', 'deleted']),
  /** The file lives in shared memory (tmpfs, memfd, SysV): its pages are Shmem. */
  shmem: z.boolean(),
  bytes,
  device: z.string(),
  inode: z.number().int(),
  holders: z.array(z.object({ pid: z.number().int(), comm: z.string(), fd: z.number().int() })),
});
export type DeletedOpenRow = z.infer<typeof DeletedOpenRowSchema>;

export const ShmemSectionSchema = z.object({
  totalBytes: bytes,
  tmpfs: z.array(TmpfsRowSchema),
  sysv: z.array(SysvRowSchema),
  deletedOpen: z.array(DeletedOpenRowSchema),
  /** Shmem that none of the rows explains (shared anonymous mappings, GPU buffers, other namespaces' tmpfs). */
  residualBytes: bytes,
});
export type ShmemSection = z.infer<typeof ShmemSectionSchema>;

export const SlabCacheRowSchema = z.object({
  name: z.string(),
  bytes,
  activeObjs: z.number().int(),
  objs: z.number().int(),
  objSizeBytes: bytes,
  reclaimable: z.boolean().nullable(),
});
export type SlabCacheRow = z.infer<typeof SlabCacheRowSchema>;

export const SlabSectionSchema = z.object({
  reclaimableBytes: bytes,
  unreclaimableBytes: bytes,
  top: z.array(SlabCacheRowSchema),
  dentry: z.object({ total: z.number().int(), unused: z.number().int(), negative: z.number().int().nullable() }),
  inodes: z.object({ total: z.number().int(), free: z.number().int() }).nullable(),
});
export type SlabSection = z.infer<typeof SlabSectionSchema>;

export const MemcgSectionSchema = z.object({
  /** Memory cgroups the kernel holds (live + dying). */
  total: z.number().int(),
  /** Live ones (directories). */
  visible: z.number().int(),
  zombies: z.number().int(),
  zombieBytes: bytes,
  byParent: z.array(z.object({ path: z.string(), zombies: z.number().int().nullable(), zombieBytes: bytes })),
  hierarchy: z.enum(['v1', 'v2', 'none']),
});
export type MemcgSection = z.infer<typeof MemcgSectionSchema>;

export const UnaccountedSectionSchema = z.object({
  bytes,
  /** From /proc/kpageflags: pages no flag explains, minus the counters that own flagless pages. */
  kpageEstimateBytes: z.number().int().nullable(),
  vmallocTop: z.array(z.object({ caller: z.string(), bytes, count: z.number().int() })),
  vmallocBytes: bytes.nullable(),
  bpf: z.object({ maps: z.number().int(), mapBytes: bytes, progs: z.number().int() }).nullable(),
  socketBytes: bytes.nullable(),
  pageTableTop: z.array(z.object({ pid: z.number().int(), comm: z.string(), bytes })),
  /** Processes with the most threads: each thread has a kernel stack (KernelStack ÷ all threads, per thread). */
  kernelStackTop: z.array(z.object({ pid: z.number().int(), comm: z.string(), threads: z.number().int(), bytes })),
  allocinfoTop: z.array(z.object({ site: z.string(), bytes, calls: z.number().int() })).nullable(),
});
export type UnaccountedSection = z.infer<typeof UnaccountedSectionSchema>;

export const KpageSummarySchema = z.object({ pfns: z.number().int(), pageSize: z.number().int(), classes: z.record(z.number()), durationMs: z.number() });
export type KpageSummary = z.infer<typeof KpageSummarySchema>;

/** The files holding the most page cache (`oscope filecache` without the disk walk); live hosts only. */
export const MemFileCacheSectionSchema = z.object({ files: z.array(FileCacheFileSchema), method: z.string() });
export type MemFileCacheSection = z.infer<typeof MemFileCacheSectionSchema>;

export const MemDocumentSchema = z.object({
  schema: z.literal(MEM_SCHEMA),
  generatedAt: z.string().datetime(),
  host: z.object({
    hostname: z.string(),
    kernel: z.string(),
    memTotalBytes: bytes,
    physicalBytes: bytes,
    availableBytes: bytes,
    capturedAt: z.string(),
    source: z.enum(['live', 'bundle']),
  }),
  breakdown: z.object({
    totalBytes: bytes,
    items: z.array(BreakdownItemSchema),
    groups: z.record(z.number()),
    unaccountedBytes: bytes,
    notes: z.array(z.string()),
  }),
  kpage: KpageSummarySchema.nullable(),
  processes: z.array(ProcessRowSchema),
  cgroups: z.array(CgroupRowSchema),
  shmem: ShmemSectionSchema,
  slab: SlabSectionSchema,
  memcg: MemcgSectionSchema,
  unaccounted: UnaccountedSectionSchema,
  fileCache: MemFileCacheSectionSchema.nullable().optional(),
  findings: z.array(FindingSchema),
  method: MethodSchema,
  coverage: z.array(CoverageSchema),
});
export type MemDocument = z.infer<typeof MemDocumentSchema>;
