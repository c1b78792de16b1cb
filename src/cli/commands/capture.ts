/**
 * `oscope capture -o FILE.tar.gz`: saves the raw kernel files the diagnoses read, for `--from`.
 *
 * It runs the collectors of `oscope mem` and `oscope inspect` through a RecordingHost, so the bundle
 * holds exactly what those commands read here: `oscope mem --from FILE` and `oscope inspect --from FILE`
 * then see what a live run saw. The kernel log is recorded from /dev/kmsg (a bundle has no journal).
 * filecache and io keep their own captures (`filecache --from`, `io --from`): io measures for
 * CAPTURE_IO_INTERVAL_S seconds.
 */
import type { Command } from 'commander';
import { collectCheckData } from '../../diagnose/inspect/checks.js';
import { runMemPanorama } from '../../diagnose/memory/panorama.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { RecordingHost } from '../../host/bundle.js';
import type { Host } from '../../host/host.js';
import { LiveHost } from '../../host/live.js';
import { CLASSIC_KERNEL_LOGS, MCELOG_PATH, streamFileBytes } from '../../kernel/log/files.js';
import { readKmsg } from '../../kernel/log/kmsg.js';
import { bootWallMs } from '../../kernel/log/uptime.js';
import { formatBytes } from '../../report/format.js';
import { VERSION } from '../../version.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { captureFileCache } from './filecache.js';
import { captureIo } from './io.js';
import type { RegisterCommand } from './index.js';
import { stat } from 'node:fs/promises';

/** The largest kernel log file a capture keeps. */
export const LOG_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Reads what `oscope inspect` reads on a bundle (src/diagnose/inspect/inspect.ts): the kernel log
 * (/dev/kmsg, else the first classic log file present), /proc/uptime for its timestamps, whether the
 * classic files and mcelog exist (and mcelog itself), and the checks' files.
 */
export async function recordInspectInputs(host: Host): Promise<void> {
  const haveKmsg = await readKmsg(host).then(
    () => true,
    () => false,
  );
  await bootWallMs(host);
  // A log file is kept whole (inspect reads it whole), up to LOG_MAX_BYTES: a bigger one stays out of the
  // bundle, and `inspect --from` says it could not read it rather than the bundle growing without bound.
  const record = async (path: string): Promise<boolean> => {
    const st = await host.stat(path, { follow: true }).catch(() => undefined);
    if (!st || st.size > LOG_MAX_BYTES) return false;
    return streamFileBytes(host, path, () => {}).then(
      () => true,
      () => false,
    );
  };
  let haveLog = haveKmsg;
  for (const f of CLASSIC_KERNEL_LOGS) {
    if (!(await host.exists(f)) || haveLog) continue;
    haveLog = await record(f);
  }
  if (await host.exists(MCELOG_PATH)) await record(MCELOG_PATH);
  await collectCheckData(host);
}

/** Everything `oscope capture` records, run through `host` (a RecordingHost): mem's and inspect's reads. */
export async function captureInto(host: Host, opts: { kpage: boolean }): Promise<void> {
  await runMemPanorama(host, { thresholds: resolveThresholds(), kpage: opts.kpage });
  await recordInspectInputs(host);
}

export const registerCapture: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('capture')
    .description('save the kernel files the diagnoses read into a bundle, to analyse elsewhere with --from (mem, inspect, filecache, io)')
    .requiredOption('-o, --output <file>', 'bundle to write (.tar.gz)')
    .option('--no-kpage', 'leave out /proc/kpageflags (smaller bundle)')
    .action(async (flags: { output: string; kpage: boolean }) => {
      const c = ctx();
      if (c.from) throw new UserError('capture reads the live host; it cannot be combined with --from', EXIT.usage);
      const liveHost = new LiveHost();
      const rec = new RecordingHost(liveHost);
      await captureInto(rec, { kpage: flags.kpage });
      const noFileCache = await captureFileCache(rec);
      if (noFileCache !== undefined) c.err(`oscope: the bundle has no filecache capture: ${noFileCache}`);
      const noIo = await captureIo(rec, { measureOn: liveHost });
      if (noIo !== undefined) c.err(`oscope: the bundle has no io capture: ${noIo}`);
      const { files } = await rec.writeBundle(flags.output, VERSION);
      const size = (await stat(flags.output)).size;
      if (c.json) c.out(JSON.stringify({ schema: 'oscope.capture/v1', output: flags.output, files, bytes: size }));
      else c.out(`wrote ${flags.output}: ${files} files, ${formatBytes(size)}; analyse it with: oscope mem --from ${flags.output} (or inspect, filecache, io --from ${flags.output})`);
    });
};
