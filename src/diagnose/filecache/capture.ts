/**
 * `oscope.filecache-capture/v1`: everything `oscope filecache` read from the kernel, as plain JSON, so
 * that the analysis (./analyze.ts) can run again elsewhere (`oscope capture`, then `oscope filecache
 * --from BUNDLE`). collectFileCache (./run.ts) makes it on the live host: the files it examined with
 * their measured rows and page samples, the memory cgroups, and what container identification needs.
 *
 * The page samples are kept raw (sampled pages, how many were active, how many each kpagecgroup inode
 * had): the analysis maps the inodes onto cgroup paths and scales them to each file's cache.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, bytes } from '../../contract/common.js';
import { FileCacheMethodSchema, FileHolderSchema, ScopeKindSchema } from '../../contract/filecache.js';

export const FILECACHE_CAPTURE_SCHEMA = 'oscope.filecache-capture/v1';

const count = z.number().int().nonnegative();

export const PageSampleCountsSchema = z.object({
  /** Resident pages sampled. */
  pages: count,
  /** Of them, on the active LRU list (PG_active in /proc/kpageflags). */
  activePages: count,
  /** Sampled pages per /proc/kpagecgroup inode (0: not charged, the root); absent when kpagecgroup was not read. */
  cgroupPages: z.array(z.object({ ino: count, pages: count })).optional(),
});
export type PageSampleCounts = z.infer<typeof PageSampleCountsSchema>;

/** One file as collect measured it (before container paths, containers and cgroups are worked out). */
export const CapturedFileSchema = z.object({
  path: z.string(),
  /** The path inside a container a process of its mount namespace reaches it by (or the walk placed it at). */
  knownContainerPath: z.string().optional(),
  /** A process of the container's mount namespace the file was found through. */
  viaPid: z.number().int().positive().optional(),
  device: z.string().regex(/^\d+:\d+$/),
  inode: count,
  cachedBytes: bytes,
  dirtyBytes: bytes.nullable(),
  writebackBytes: bytes.nullable(),
  sizeBytes: bytes,
  deleted: z.boolean(),
  shmem: z.boolean(),
  holders: z.array(FileHolderSchema),
  /** false: the inode walk's page count, no path reached the file to measure it. */
  measured: z.boolean(),
  /** A block device's own cache (file system metadata), listed with the walk's count. */
  deviceNode: z.boolean(),
  /** null: not sampled (sampling off, no path, or nothing resident). */
  sample: PageSampleCountsSchema.nullable(),
});
export type CapturedFile = z.infer<typeof CapturedFileSchema>;

const OverlaySchema = z.object({
  layers: z.object({ mountPoint: z.string(), upperDir: z.string().optional(), workDir: z.string().optional(), lowerDirs: z.array(z.string()) }),
  pid: z.number().int().positive().optional(),
  taskId: z.string().optional(),
});

export const FileCacheCaptureSchema = z.object({
  schema: z.literal(FILECACHE_CAPTURE_SCHEMA),
  pageSize: z.number().int().positive(),
  method: z.object({
    discovery: FileCacheMethodSchema.shape.discovery,
    measure: FileCacheMethodSchema.shape.measure,
    /** Whether pages were sampled, and whether with their cgroups. */
    attribution: FileCacheMethodSchema.shape.attribution,
    samplePages: count,
    filesMeasured: count,
    durationMs: z.number().nonnegative(),
  }),
  /** What collection could see (processes, discovery, walk, cgroups, attribution). */
  coverage: z.array(CoverageSchema),
  /** Every file found with page cache: how many and how much (the host's cache in files). */
  totals: z.object({ files: count, cachedBytes: bytes }),
  /**
   * The files examined, largest cache first as far as collect knew: for a host-wide run the ones that
   * can make the list; for a scoped run every file looked at until the scope's list was settled.
   */
  files: z.array(CapturedFileSchema),
  /** The scope collect examined files for (null: host-wide), and the coverage rows of that search. */
  examined: z.object({
    scope: z.object({ kind: ScopeKindSchema.exclude(['host']), query: z.string() }).nullable(),
    coverage: z.array(CoverageSchema),
  }),
  /** The memory cgroup hierarchy (null when there is none): each cgroup's directory inode and its page cache (memory.stat, with descendants). */
  cgroups: z
    .object({
      mountPoint: z.string().nullable(),
      list: z.array(z.object({ path: z.string(), ino: count, fileBytes: bytes })),
    })
    .nullable(),
  /** Processes and their memory cgroups (holders, and the processes files were found through). */
  processes: z.array(z.object({ pid: z.number().int().positive(), memoryCgroup: z.string().optional() })),
  /** The container each cgroup path belongs to, where one does (runtime state and cgroup names read at collect time). */
  containers: z.array(z.object({ cgroup: z.string(), container: ContainerRefSchema })),
  /** containerd task id → namespace (to tell a containerd task's cgroup by name). */
  tasks: z.record(z.string()),
  /** Overlay mounts with their container (to give files in their layers a path inside it). */
  overlays: z.array(OverlaySchema),
});
export type FileCacheCapture = z.infer<typeof FileCacheCaptureSchema>;
