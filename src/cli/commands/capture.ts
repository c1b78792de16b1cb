/** `oscope capture -o FILE.tar.gz`: saves the raw kernel files the diagnoses read, for `--from`. */
import type { Command } from 'commander';
import { runMemPanorama } from '../../diagnose/memory/panorama.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { RecordingHost } from '../../host/bundle.js';
import { LiveHost } from '../../host/live.js';
import { formatBytes } from '../../report/format.js';
import { VERSION } from '../../version.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { captureFileCache } from './filecache.js';
import type { RegisterCommand } from './index.js';
import { stat } from 'node:fs/promises';

export const registerCapture: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('capture')
    .description('save the kernel files the diagnoses read into a bundle, to analyse elsewhere with --from')
    .requiredOption('-o, --output <file>', 'bundle to write (.tar.gz)')
    .option('--no-kpage', 'leave out /proc/kpageflags (smaller bundle)')
    .action(async (flags: { output: string; kpage: boolean }) => {
      const c = ctx();
      if (c.from) throw new UserError('capture reads the live host; it cannot be combined with --from', EXIT.usage);
      const rec = new RecordingHost(new LiveHost());
      await runMemPanorama(rec, { thresholds: resolveThresholds(), kpage: flags.kpage });
      const noFileCache = await captureFileCache(rec);
      if (noFileCache !== undefined) c.err(`oscope: the bundle has no filecache capture: ${noFileCache}`);
      const { files } = await rec.writeBundle(flags.output, VERSION);
      const size = (await stat(flags.output)).size;
      if (c.json) c.out(JSON.stringify({ schema: 'oscope.capture/v1', output: flags.output, files, bytes: size }));
      else c.out(`wrote ${flags.output}: ${files} files, ${formatBytes(size)}; analyse it with: oscope mem --from ${flags.output}`);
    });
};
