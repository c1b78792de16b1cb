/**
 * `oscope config-diff`: configuration drift between two nodes.
 *
 *   oscope config-diff --capture [-o FILE]     capture this host's configuration (oscope.config/v1):
 *                                              the JSON to stdout, or to FILE with a one-line summary
 *   oscope config-diff A.json B.json           compare two captures (oscope.config-diff/v1 with --json)
 *   oscope config-diff A.json                  compare a capture with this host now (A = the file, B = here)
 *
 * Differences are grouped by area; those that matter for what oscope diagnoses are marked with the
 * reason (src/diagnose/config/rules.ts), noise is left out (the same file's NOISE). `--all` lists every
 * unmarked difference in the text too; `--fail-on-marked` exits 1 when any difference is marked (CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { collectConfig } from '../../diagnose/config/collect.js';
import type { ConfigDocument } from '../../contract/config.js';
import type { Host } from '../../host/host.js';
import { configDiffDocument, configDocument, parseConfigDocument, renderConfigDiffText, renderConfigText } from '../../report/config.js';
import { styleFrom } from '../../report/text.js';
import { EXIT, UserError } from '../errors.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';

interface ConfigDiffFlags {
  capture?: boolean;
  output?: string;
  all?: boolean;
  failOnMarked?: boolean;
  threshold?: string[];
  config?: string;
}

/** Captures a host's configuration as an oscope.config/v1 document. */
export async function captureConfig(host: Host): Promise<ConfigDocument> {
  const c = await collectConfig(host);
  const info = host.info();
  return configDocument(c, { hostname: info.hostname, kernel: c.kernel.release, capturedAt: info.capturedAt });
}

function readCapture(file: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `capture ${file} does not exist` : `cannot read capture ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`capture ${file} is not JSON (make one with: oscope config-diff --capture -o ${file})`, EXIT.usage);
  }
  const r = parseConfigDocument(value);
  if (!r.ok) throw new UserError(`capture ${file}: ${r.reason}`, EXIT.usage);
  return r.doc;
}

export const registerConfigDiff: RegisterCommand = (program, ctx) => {
  program
    .command('config-diff')
    .description('configuration drift: capture this host (--capture), or compare two captures (or one with this host) — sysctls, command line, kernel and its config, modules, THP, cgroups, topology — with the differences that matter marked')
    .argument('[A]', 'a capture (oscope.config/v1 JSON, from --capture)')
    .argument('[B]', 'a second capture (default: this host now)')
    .option('--capture', "capture this host's configuration (oscope.config/v1 JSON)")
    .option('-o, --output <file>', 'with --capture: write the capture to FILE instead of stdout')
    .option('--all', 'list every difference in the text, not only the first 30 unmarked ones')
    .option('--fail-on-marked', 'exit 1 when a difference is marked (for CI and scripts)')
    .option('--threshold <key=value>', 'override a threshold (repeatable), e.g. configDiff.memTotalDiffPct=10', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .action(async (a: string | undefined, b: string | undefined, flags: ConfigDiffFlags) => {
      const c = ctx();
      const s = styleFrom(c.color);
      if (flags.capture) {
        if (a !== undefined) throw new UserError('--capture takes no capture files (use -o FILE to name the output)', EXIT.usage);
        const doc = await captureConfig(await c.host());
        const json = JSON.stringify(doc, null, 2);
        if (flags.output !== undefined) {
          try {
            writeFileSync(flags.output, `${json}\n`);
          } catch (err) {
            throw new UserError(`cannot write ${flags.output}: ${(err as Error).message}`, EXIT.usage);
          }
          if (!c.json) c.out(`${renderConfigText(doc, c.lang, s)}\n${flags.output}`);
        } else c.out(json);
        return;
      }
      if (flags.output !== undefined) throw new UserError('-o/--output goes with --capture', EXIT.usage);
      if (a === undefined) throw new UserError('config-diff needs a capture to compare (oscope config-diff A.json [B.json]), or --capture to make one', EXIT.usage);
      const th = thresholdsFrom(flags);
      const docA = readCapture(a);
      const docB = b !== undefined ? readCapture(b) : await captureConfig(await c.host());
      const diff = configDiffDocument(docA, docB, th, c.lang);
      if (c.json) c.out(JSON.stringify(diff, null, 2));
      else c.out(renderConfigDiffText(diff, c.lang, s, { all: flags.all === true }));
      if (flags.failOnMarked && diff.summary.marked > 0) process.exitCode = EXIT.findings;
    });
};
