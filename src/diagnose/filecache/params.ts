/**
 * Parameters of the file-cache diagnosis (`oscope filecache`, the agent's `filecache` task): one schema,
 * its defaults and bounds, shared by the CLI and the agent (see src/diagnose/params.ts).
 */
import { z } from 'zod';
import { type FlagMap, numberIn } from '../params.js';
import type { FileCacheOptions } from './run.js';

const scopeQuery = z.string().min(1, 'a non-empty name').max(4096, 'at most 4096 characters');
const dir = z.string().min(1, 'a directory').max(4096, 'a directory');

export const DISCOVERY_METHODS = ['auto', 'bpf-inode-walk', 'procfs'] as const;

export const FilecacheParamsObject = z
  .object({
    /** Files to list (`--top`). */
    top: numberIn(1, 100_000, 'a whole number from 1 to 100000', { int: true }).default(30),
    /** Only page cache charged to this container: id prefix or name (`--container`). */
    container: scopeQuery.nullable().default(null),
    /** Only page cache charged to this Kubernetes pod: name[/namespace] or uid (`--pod`). */
    pod: scopeQuery.nullable().default(null),
    /** Only page cache charged to this memory cgroup and its children (`--cgroup`). */
    cgroup: scopeQuery.nullable().default(null),
    /** How files are found (`--discovery`): the BPF in-core inode walk where it runs, else procfs. */
    discovery: z.enum(DISCOVERY_METHODS, { errorMap: () => ({ message: 'auto, bpf-inode-walk or procfs' }) }).default('auto'),
    /**
     * Walk local file systems (`--walk` / `--no-walk`). Absent: only when the BPF inode walk did not run
     * or `roots` are given (with the inode walk, files nobody holds are found without reading directories).
     */
    walk: z.boolean().optional(),
    /** Walk these directories instead of every local file system (`--root`, repeatable). */
    roots: z.array(dir).min(1).optional(),
    /** Never walk below these directories (`--exclude`, repeatable; default /proc /sys /dev /run). */
    exclude: z.array(dir).optional(),
    /** Stop the walk after this many files (`--max-files`). */
    maxFiles: numberIn(1, 1_000_000_000, 'a whole number from 1 to 1000000000', { int: true }).default(2_000_000),
    /** Resident pages sampled per file for active/inactive and cgroups; 0 = none (`--sample-pages`). */
    samplePages: numberIn(0, 1_000_000, 'a whole number from 0 to 1000000', { int: true }).default(256),
    /** Measure with mincore(2) even where cachestat(2) exists (`--mincore`). */
    mincore: z.boolean().default(false),
  })
  .strict();

/** At most one scope (`--container`, `--pod`, `--cgroup`). */
export const oneScope = (p: { container?: string | null; pod?: string | null; cgroup?: string | null }): boolean =>
  [p.container, p.pod, p.cgroup].filter((x) => x !== undefined && x !== null).length <= 1;
export const ONE_SCOPE = { message: 'give only one of --container, --pod and --cgroup (container, pod, cgroup)', path: ['cgroup'] };

export const FilecacheParamsSchema = FilecacheParamsObject.refine(oneScope, ONE_SCOPE);
export type FilecacheParams = z.infer<typeof FilecacheParamsObject>;

export const FILECACHE_FLAGS: FlagMap<FilecacheParams> = {
  top: '--top',
  container: '--container',
  pod: '--pod',
  cgroup: '--cgroup',
  discovery: '--discovery',
  walk: '--walk',
  roots: '--root',
  exclude: '--exclude',
  maxFiles: '--max-files',
  samplePages: '--sample-pages',
  mincore: '--mincore',
};

/** The scope the parameters ask for, as runFileCache takes it. */
export function filecacheScope(p: { container?: string | null; pod?: string | null; cgroup?: string | null }): { kind: 'container' | 'pod' | 'cgroup'; query: string } | undefined {
  if (p.container) return { kind: 'container', query: p.container };
  if (p.pod) return { kind: 'pod', query: p.pod };
  if (p.cgroup) return { kind: 'cgroup', query: p.cgroup };
  return undefined;
}

/** The parameters as runFileCache's options (the CLI and the agent alike; the agent has no roots/exclude). */
export function fileCacheOptions(p: Omit<FilecacheParams, 'roots' | 'exclude'> & Partial<Pick<FilecacheParams, 'roots' | 'exclude'>>): FileCacheOptions {
  const opts: FileCacheOptions = { top: p.top, discovery: p.discovery, maxWalkFiles: p.maxFiles, samplePages: p.samplePages };
  if (p.walk !== undefined) opts.walk = p.walk;
  if (p.roots) opts.roots = p.roots;
  if (p.exclude) opts.exclude = p.exclude;
  const scope = filecacheScope(p);
  if (scope) opts.scope = scope;
  return opts;
}
