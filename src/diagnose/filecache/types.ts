/**
 * What `oscope filecache` finds. The shapes are the `oscope.filecache/v1` contract (src/contract/
 * filecache.ts); report/filecache.ts adds the schema tag and renders.
 */
import type { Coverage, RawFinding } from '../../contract/common.js';
import type { FileCacheFile, FileCacheMethod, FileCacheScope } from '../../contract/filecache.js';

export type { ContainerRef, Coverage } from '../../contract/common.js';
export type { FileCacheFile, FileCacheMethod, FileCacheScope, FileHolder, ScopeKind } from '../../contract/filecache.js';

export interface FileCacheAnalysis {
  scope: FileCacheScope;
  method: FileCacheMethod;
  coverage: Coverage[];
  files: FileCacheFile[];
  /** filecache.* findings, language-neutral (report/filecache.ts words them). */
  findings: RawFinding[];
}
