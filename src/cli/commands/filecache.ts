/** `oscope filecache`: which files hold the page cache, host-wide or for one container, pod or cgroup. */
import type { Command } from 'commander';
import { analyzeFileCache } from '../../diagnose/filecache/analyze.js';
import { FileCacheCaptureSchema } from '../../diagnose/filecache/capture.js';
import { FILECACHE_FLAGS, type FilecacheParams, FilecacheParamsSchema, fileCacheOptions } from '../../diagnose/filecache/params.js';
import { ScopeNotFoundError, collectFileCache, runFileCache } from '../../diagnose/filecache/run.js';
import { DEFAULT_EXCLUDES } from '../../diagnose/filecache/sources.js';
import type { FileCacheAnalysis } from '../../diagnose/filecache/types.js';
import { readCapture, recordCapture } from '../../host/bundle.js';
import type { Host } from '../../host/host.js';
import { fileCacheDocument, renderFileCacheText } from '../../report/filecache.js';
import { styleFrom } from '../../report/text.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, progressReporter, thresholdsFrom } from '../options.js';
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
  threshold?: string[];
  config?: string;
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

/** Files examined and kept by `oscope capture`: enough that `filecache --from B --container X` has the files it ranks. */
const CAPTURE_KEEP = 500;

/**
 * `oscope capture`'s filecache step: collects on the live host and keeps the capture in the bundle
 * being recorded. No file system walk (the BPF inode walk, where it runs, finds files nobody holds).
 * Returns why nothing was recorded, or undefined.
 */
export async function captureFileCache(host: Host): Promise<string | undefined> {
  if (!host.live) return 'not a live host';
  const status = host.live.pageCacheProbe();
  if (!status.available) return status.reason;
  try {
    recordCapture(host, 'filecache', await collectFileCache(host, status.probe, { walk: false, keep: CAPTURE_KEEP }));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    status.probe.close();
  }
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
    .option('--threshold <key=value>', 'override a threshold (repeatable), e.g. filecache.deletedWarnBytes=104857600', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (flags: FilecacheFlags) => {
      const c = ctx();
      const p = filecacheParams(flags);
      const thresholds = thresholdsFrom(flags);
      const opts = { ...fileCacheOptions(p), thresholds };
      const host = await c.host();
      const print = (analysis: FileCacheAnalysis): void => {
        const doc = fileCacheDocument(analysis, c.lang);
        if (c.json) c.out(JSON.stringify(doc, null, 2));
        else c.out(renderFileCacheText(doc, c.lang, styleFrom(c.color)));
      };
      if (!host.live) {
        // A bundle: analyse the capture `oscope capture` recorded (what was measured then, not re-measured).
        const raw = await readCapture(host, 'filecache');
        if (raw === undefined) {
          throw new UserError(`bundle ${c.from ?? ''} has no filecache capture (the page cache could not be measured where it was captured, or an older oscope made it); capture again with \`oscope capture -o FILE\` on the host`, EXIT.usage);
        }
        const parsed = FileCacheCaptureSchema.safeParse(raw);
        if (!parsed.success) throw new UserError(`bundle ${c.from ?? ''}: its filecache capture is not ${FileCacheCaptureSchema.shape.schema.value} (${parsed.error.issues[0]?.message ?? 'invalid'})`, EXIT.usage);
        const liveOnly = [flags.walk !== undefined && '--walk', flags.root && '--root', flags.exclude && '--exclude', flags.mincore && '--mincore', flags.discovery !== 'auto' && '--discovery'].filter(Boolean);
        if (liveOnly.length > 0) c.err(`oscope: ${liveOnly.join(', ')} only change how the live host is measured; the bundle's capture is analysed as it was recorded`);
        try {
          print(analyzeFileCache(parsed.data, { top: p.top, ...(opts.scope ? { scope: opts.scope } : {}) }, thresholds));
        } catch (err) {
          if (err instanceof ScopeNotFoundError) throw new UserError(`${err.message} (in the bundle)`, EXIT.usage);
          throw err;
        }
        return;
      }
      const status = host.live.pageCacheProbe(p.mincore ? { method: 'mincore' } : {});
      if (!status.available) throw new UserError(`filecache needs the native addon: ${status.reason}`, EXIT.unsupported);
      if (host.info().uid !== 0) {
        c.err('oscope: not root: other users\' processes, page frame numbers and /proc/kpage* are hidden, so holders, active pages and cgroups are partial (run with sudo for all of it)');
      }
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
      print(analysis);
    });
};
