/**
 * What the memory panorama finds, section by section. The sections' shapes are the `oscope.mem/v1`
 * contract (src/contract/mem.ts); report/mem.ts adds the schema tag and localized findings.
 */
import type { Coverage, Method, RawFinding } from '../../contract/common.js';
import type { CgroupRow, KpageSummary, MemFileCacheSection, MemcgSection, ProcessRow, ShmemSection, SlabSection, UnaccountedSection } from '../../contract/mem.js';
import type { Breakdown } from './breakdown.js';

export type { ContainerRef, Coverage, CoverageStatus } from '../../contract/common.js';
export type {
  CgroupRow,
  DeletedOpenRow,
  KpageSummary,
  MemFileCacheSection,
  MemcgSection,
  ProcessRow,
  ShmemSection,
  SlabCacheRow,
  SlabSection,
  SysvRow,
  TmpfsRow,
  UnaccountedSection,
} from '../../contract/mem.js';

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
  method: Method;
  coverage: Coverage[];
}
