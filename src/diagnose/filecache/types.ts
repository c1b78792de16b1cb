/**
 * What `oscope filecache` finds. These shapes are what `oscope.filecache/v1` carries (src/report/
 * filecache.ts adds the schema tag); names are a contract.
 */
import type { ContainerRef, Coverage } from '../memory/types.js';

export type { ContainerRef, Coverage };

export interface FileHolder {
  pid: number;
  comm: string;
}

export interface FileCacheFile {
  /** The file's path on the host (for a deleted file: the path it had). */
  path: string;
  /** The path inside the container when the file lives in a container's file system (overlay layers mapped back). */
  containerPath: string | null;
  /** "major:minor" of the file system that holds the file's pages (the real layer for overlay files). */
  device: string;
  inode: number;
  cachedBytes: number;
  /** null when the kernel could not tell (mincore fallback: cachestat before 6.5 is missing). */
  dirtyBytes: number | null;
  writebackBytes: number | null;
  /** Bytes on the active LRU list, from a sample of the file's resident pages scaled to cachedBytes; null when not sampled. */
  activeBytes: number | null;
  sizeBytes: number;
  deleted: boolean;
  /** The file is shared memory (tmpfs, /dev/shm, memfd, SysV): its pages are Shmem, not reclaimable file cache. */
  shmem: boolean;
  holders: FileHolder[];
  /** Memory cgroups the file's pages are charged to (sampled, scaled to cachedBytes); empty when not sampled. */
  cgroups: { path: string; bytes: number }[];
  container: ContainerRef | null;
}

export type ScopeKind = 'host' | 'container' | 'pod' | 'cgroup';

export interface FileCacheScope {
  kind: ScopeKind;
  /** What the user asked for (container id or name, pod NAME[/NAMESPACE], cgroup path); null for the host. */
  query: string | null;
  /** The memory cgroups the scope covers (with their descendants). */
  cgroups: string[];
  /** Bytes of the listed files' cache charged to the scope (the whole cache for the host). */
  cachedBytes: number;
}

export interface FileCacheMethod {
  /** How files were found: the BPF in-core inode walk, or processes' files + tmpfs + a file system walk. */
  discovery: 'bpf-inode-walk' | 'procfs+tmpfs+walk' | 'procfs+tmpfs';
  /** How each file's cache was measured. */
  measure: 'cachestat' | 'mincore';
  /** How pages were attributed to cgroups and active/inactive. */
  attribution: 'pagemap+kpageflags+kpagecgroup' | 'pagemap+kpageflags' | 'none';
  /** Resident pages sampled per file (at most). */
  samplePages: number;
  /** Files measured. */
  filesMeasured: number;
  durationMs: number;
}

export interface FileCacheAnalysis {
  scope: FileCacheScope;
  method: FileCacheMethod;
  coverage: Coverage[];
  files: FileCacheFile[];
}
