/**
 * `oscope.filecache/v1`: which files hold the page cache, host-wide or in one container/pod/cgroup.
 * The diagnosis is src/diagnose/filecache/; report/filecache.ts renders it.
 */
import { z } from 'zod';
import { ContainerRefSchema, CoverageSchema, FindingSchema, bytes } from './common.js';

export const FILECACHE_SCHEMA = 'oscope.filecache/v1';

export const FileHolderSchema = z.object({ pid: z.number().int().positive(), comm: z.string() });
export type FileHolder = z.infer<typeof FileHolderSchema>;

export const FileCacheFileSchema = z.object({
  /** The file's path on the host (for a deleted file: the path it had). */
  path: z.string(),
  /** The path inside the container when the file lives in a container's file system (overlay layers mapped back). */
  containerPath: z.string().nullable(),
  /** "major:minor" of the file system that holds the file's pages (the real layer for overlay files). */
  device: z.string().regex(/^\d+:\d+$/),
  inode: z.number().int().nonnegative(),
  cachedBytes: bytes,
  /** null when the kernel could not tell (mincore fallback: cachestat before 6.5 is missing). */
  dirtyBytes: bytes.nullable(),
  writebackBytes: bytes.nullable(),
  /** Bytes on the active LRU list, from a sample of the file's resident pages scaled to cachedBytes; null when not sampled. */
  activeBytes: bytes.nullable(),
  sizeBytes: bytes,
  deleted: z.boolean(),
  /** The file is shared memory (tmpfs, /dev/shm, memfd, SysV): its pages are Shmem, not reclaimable file cache. */
  shmem: z.boolean(),
  holders: z.array(FileHolderSchema),
  /** Memory cgroups the file's pages are charged to (sampled, scaled to cachedBytes); empty when not sampled. */
  cgroups: z.array(z.object({ path: z.string(), bytes })),
  container: ContainerRefSchema.nullable(),
});
export type FileCacheFile = z.infer<typeof FileCacheFileSchema>;

export const SCOPE_KINDS = ['host', 'container', 'pod', 'cgroup'] as const;
export const ScopeKindSchema = z.enum(SCOPE_KINDS);
export type ScopeKind = z.infer<typeof ScopeKindSchema>;

export const FileCacheScopeSchema = z.object({
  kind: ScopeKindSchema,
  /** What the user asked for (container id or name, pod NAME[/NAMESPACE], cgroup path); null for the host. */
  query: z.string().nullable(),
  /** The memory cgroups the scope covers (with their descendants). */
  cgroups: z.array(z.string()),
  /** Bytes of the listed files' cache charged to the scope (the whole cache for the host). */
  cachedBytes: bytes,
});
export type FileCacheScope = z.infer<typeof FileCacheScopeSchema>;

export const FileCacheMethodSchema = z.object({
  /** How files were found: the BPF in-core inode walk, or processes' files + tmpfs + a file system walk. */
  discovery: z.enum(['bpf-inode-walk', 'procfs+tmpfs+walk', 'procfs+tmpfs']),
  /** How each file's cache was measured. */
  measure: z.enum(['cachestat', 'mincore']),
  /** How pages were attributed to cgroups and active/inactive. */
  attribution: z.enum(['pagemap+kpageflags+kpagecgroup', 'pagemap+kpageflags', 'none']),
  /** Resident pages sampled per file (at most). */
  samplePages: z.number().int().nonnegative(),
  /** Files measured. */
  filesMeasured: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
});
export type FileCacheMethod = z.infer<typeof FileCacheMethodSchema>;

export const FileCacheDocumentSchema = z.object({
  schema: z.literal(FILECACHE_SCHEMA),
  scope: FileCacheScopeSchema,
  method: FileCacheMethodSchema,
  coverage: z.array(CoverageSchema),
  files: z.array(FileCacheFileSchema),
  /**
   * filecache.* findings, most severe first (summary, deleted files still cached, dirty pages, one
   * container holding most of the cache, shared memory). Documents written before findings existed
   * parse with none.
   */
  findings: z.array(FindingSchema).default([]),
});
export type FileCacheDocument = z.infer<typeof FileCacheDocumentSchema>;
