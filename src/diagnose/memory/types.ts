/**
 * What the memory panorama finds, section by section. These shapes are what `oscope.mem/v1` carries
 * (src/report/mem.ts adds the schema tag and localized findings); names are a contract.
 */
import type { RawFinding } from '../../report/finding.js';
import type { Breakdown } from './breakdown.js';
import type { FileCacheFile } from '../filecache/types.js';

export interface ContainerRef {
  runtime: string;
  id: string;
  name?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
}

export interface ProcessRow {
  pid: number;
  comm: string;
  rssBytes: number;
  anonBytes: number;
  fileBytes: number;
  shmemBytes: number;
  swapBytes: number;
  pssBytes?: number;
  pageTableBytes?: number;
  threads?: number;
  cgroup?: string;
  container?: ContainerRef;
}

export interface CgroupRow {
  path: string;
  usageBytes: number;
  anonBytes: number;
  fileBytes: number;
  activeFileBytes: number;
  shmemBytes: number;
  workingsetBytes: number;
  limitBytes: number | null;
  dirtyBytes?: number;
  container?: ContainerRef;
}

export interface TmpfsRow {
  mount: string;
  fstype: string;
  usedBytes: number;
  sizeBytes: number;
  files: number;
  topDirs: { path: string; files: number; bytes: number }[];
  /** True when the walk stopped at its entry cap: topDirs then cover only part of the mount. */
  truncated: boolean;
}

export interface SysvRow {
  key: string;
  shmid: number;
  sizeBytes: number;
  rssBytes: number;
  swapBytes: number;
  nattch: number;
  cpid: number;
  lpid: number;
  creator?: string;
  lastUser?: string;
  orphan: boolean;
}

export interface DeletedOpenRow {
  path: string;
  kind: 'memfd' | 'deleted';
  /** The file lives in shared memory (tmpfs, memfd, SysV): its pages are Shmem. */
  shmem: boolean;
  bytes: number;
  device: string;
  inode: number;
  holders: { pid: number; comm: string; fd: number }[];
}

export interface ShmemSection {
  totalBytes: number;
  tmpfs: TmpfsRow[];
  sysv: SysvRow[];
  deletedOpen: DeletedOpenRow[];
  /** Shmem that none of the rows explains (shared anonymous mappings, GPU buffers, other namespaces' tmpfs). */
  residualBytes: number;
}

export interface SlabCacheRow {
  name: string;
  bytes: number;
  activeObjs: number;
  objs: number;
  objSizeBytes: number;
  reclaimable: boolean | null;
}

export interface SlabSection {
  reclaimableBytes: number;
  unreclaimableBytes: number;
  top: SlabCacheRow[];
  dentry: { total: number; unused: number; negative: number | null };
  inodes: { total: number; free: number } | null;
}

export interface MemcgSection {
  /** Memory cgroups the kernel holds (live + dying). */
  total: number;
  /** Live ones (directories). */
  visible: number;
  zombies: number;
  zombieBytes: number;
  byParent: { path: string; zombies: number | null; zombieBytes: number }[];
  hierarchy: 'v1' | 'v2' | 'none';
}

export interface UnaccountedSection {
  bytes: number;
  /** From /proc/kpageflags: pages no flag explains, minus the counters that own flagless pages. */
  kpageEstimateBytes: number | null;
  vmallocTop: { caller: string; bytes: number; count: number }[];
  vmallocBytes: number | null;
  bpf: { maps: number; mapBytes: number; progs: number } | null;
  socketBytes: number | null;
  pageTableTop: { pid: number; comm: string; bytes: number }[];
  /** Processes with the most threads: each thread has a kernel stack (KernelStack ÷ all threads, per thread). */
  kernelStackTop: { pid: number; comm: string; threads: number; bytes: number }[];
  allocinfoTop: { site: string; bytes: number; calls: number }[] | null;
}

export interface KpageSummary {
  pfns: number;
  pageSize: number;
  classes: Record<string, number>;
  durationMs: number;
}

export type CoverageStatus = 'complete' | 'partial' | 'unavailable';

export interface Coverage {
  section: string;
  status: CoverageStatus;
  reason?: string;
}

/** The files holding the most page cache (`oscope filecache` without the disk walk); live hosts only. */
export interface MemFileCacheSection {
  files: FileCacheFile[];
  method: string;
}

export interface MemAnalysis {
  breakdown: Breakdown;
  kpage: KpageSummary | null;
  processes: ProcessRow[];
  cgroups: CgroupRow[];
  shmem: ShmemSection;
  slab: SlabSection;
  memcg: MemcgSection;
  unaccounted: UnaccountedSection;
  /** null when it could not run (a bundle, no native addon); absent from older producers. */
  fileCache?: MemFileCacheSection | null;
  findings: RawFinding[];
  method: Record<string, string>;
  coverage: Coverage[];
}
