/** `oscope filecache`: which files hold the page cache, host-wide or for one container, pod or cgroup. */
import type { Command } from 'commander';
import { FILECACHE_FLAGS, type FilecacheParams, FilecacheParamsSchema, fileCacheOptions } from '../../diagnose/filecache/params.js';
import { ScopeNotFoundError, runFileCache } from '../../diagnose/filecache/run.js';
import { DEFAULT_EXCLUDES } from '../../diagnose/filecache/sources.js';
import { fileCacheDocument, renderFileCacheText } from '../../report/filecache.js';
import { styleFrom } from '../../report/text.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, progressReporter } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams, num } from './params.js';

export interface FilecacheFlags {
  top: string;
  container?: string;
  pod?: string;
  cgroup?: string;
  walk?: boolean;
  discovery: string;
  root?: string[];
  exclude?: string[];
  maxFiles: string;
  samplePages: string;
  mincore?: boolean;
}

/** The flags as the diagnosis's parameters (src/diagnose/filecache/params.ts), validated by its schema. */
export function filecacheParams(flags: FilecacheFlags): FilecacheParams {
  const input: Record<string, unknown> = {
    top: num(flags.top),
    discovery: flags.discovery,
    maxFiles: num(flags.maxFiles),
    samplePages: num(flags.samplePages),
    mincore: flags.mincore ?? false,
  };
  if (flags.container) input.container = flags.container;
  if (flags.pod) input.pod = flags.pod;
  if (flags.cgroup) input.cgroup = flags.cgroup;
  if (flags.walk !== undefined) input.walk = flags.walk;
  if (flags.root) input.roots = flags.root;
  if (flags.exclude) input.exclude = flags.exclude;
  return cliParams(FilecacheParamsSchema, input, FILECACHE_FLAGS, { top: flags.top, maxFiles: flags.maxFiles, samplePages: flags.samplePages, discovery: flags.discovery });
}

export const registerFilecache: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('filecache')
    .description('which files hold the page cache (host, or one container, pod or cgroup), with holders and cgroups')
    .option('--top <n>', 'files to list', '30')
    .option('--container <id>', 'only page cache charged to this container (id prefix or name)')
    .option('--pod <name[/namespace]>', 'only page cache charged to this Kubernetes pod (name or uid)')
    .option('--cgroup <path>', 'only page cache charged to this memory cgroup and its children')
    .option('--discovery <method>', 'how files are found: auto (the BPF in-core inode walk where it runs), bpf-inode-walk, procfs', 'auto')
    .option('--walk', 'also walk local file systems (the default only without the BPF inode walk)')
    .option('--no-walk', 'do not walk local file systems')
    .option('--root <dir>', 'walk this directory instead of every local file system (repeatable)', collectKeyValue)
    .option('--exclude <dir>', `never walk below this directory (repeatable; default ${DEFAULT_EXCLUDES.join(' ')})`, collectKeyValue)
    .option('--max-files <n>', 'stop the walk after this many files', '2000000')
    .option('--sample-pages <n>', 'resident pages sampled per file for active/inactive and cgroups (0 = none)', '256')
    .option('--mincore', 'measure with mincore(2) even where cachestat(2) exists')
    .action(async (flags: FilecacheFlags) => {
      const c = ctx();
      const p = filecacheParams(flags);
      const host = await c.host();
      if (!host.live) throw new UserError('filecache measures the page cache of the running machine; it cannot run on a captured bundle (--from)', EXIT.usage);
      const status = host.live.pageCacheProbe(p.mincore ? { method: 'mincore' } : {});
      if (!status.available) throw new UserError(`filecache needs the native addon: ${status.reason}`, EXIT.unsupported);
      if (host.info().uid !== 0) {
        c.err('oscope: not root: other users\' processes, page frame numbers and /proc/kpage* are hidden, so holders, active pages and cgroups are partial (run with sudo for all of it)');
      }
      const opts = fileCacheOptions(p);
      const progress = progressReporter(c);
      let analysis;
      try {
        analysis = await runFileCache(host, status.probe, { ...opts, onProgress: progress.update });
      } catch (err) {
        if (err instanceof ScopeNotFoundError) throw new UserError(err.message, EXIT.usage);
        throw err;
      } finally {
        progress.stop();
        status.probe.close();
      }
      const doc = fileCacheDocument(analysis);
      if (c.json) c.out(JSON.stringify(doc, null, 2));
      else c.out(renderFileCacheText(doc, c.lang, styleFrom(c.color)));
    });
};
