/**
 * `oscope health [--json]`: this host's health score. From the running agent's data when one answers
 * on the local socket (its per-tick score, with the run-queue latency and the kernel-log window it
 * keeps), else from a one-shot collection (procfs, statfs, the kernel log of the last
 * health.errorWindowH hours). `--from BUNDLE` scores a captured bundle.
 */
import { collectHealth } from '../../diagnose/health/collect.js';
import { HEALTH_FLAGS, type HealthParams, HealthParamsSchema } from '../../diagnose/health/params.js';
import { type HealthAnalysis, scoreHealth } from '../../diagnose/health/score.js';
import { resolveThresholds } from '../../diagnose/thresholds.js';
import { connectLocalAgent } from '../../agent/local.js';
import { healthDocument, renderHealthText } from '../../report/health.js';
import { styleFrom } from '../../report/text.js';
import { collectKeyValue, thresholdsFrom } from '../options.js';
import type { RegisterCommand } from './index.js';
import { cliParams } from './params.js';

interface HealthFlags {
  threshold?: string[];
  config?: string;
  agent: boolean;
}

export const registerHealth: RegisterCommand = (program, ctx) => {
  program
    .command('health')
    .description('health score 0-100 of this host (healthy, at risk, warning, error) from errors, latency, load and saturation, with what lowered it and the diagnosis to run')
    .option('--threshold <key=value>', 'override a threshold or weight (repeatable), e.g. health.weightErrors=50', collectKeyValue)
    .option('--config <file>', 'JSON file with {"thresholds": {...}} (default /etc/oscope/config.json)')
    .option('--no-agent', 'do not ask a running agent: collect once now')
    .action(async (flags: HealthFlags) => {
      const c = ctx();
      const p: HealthParams = cliParams(HealthParamsSchema, { thresholds: thresholdsFrom(flags) }, HEALTH_FLAGS);
      const t = resolveThresholds(p.thresholds);
      const host = await c.host();
      const custom = Object.keys(flags.threshold ?? []).length > 0 || flags.config !== undefined;
      let analysis: HealthAnalysis | undefined;
      let source: 'agent' | 'one-shot' = 'one-shot';
      // The agent scores with its own (default or configured) weights: custom weights mean a fresh score.
      if (host.live && flags.agent && !custom) {
        const agent = await connectLocalAgent();
        if (agent) {
          try {
            analysis = (await agent.health()).analysis;
            source = 'agent';
          } catch {
            analysis = undefined;
          }
        }
      }
      analysis ??= scoreHealth(await collectHealth(host, t), t);
      const info = host.info();
      const doc = healthDocument(analysis, { hostname: info.hostname, kernel: info.kernel, capturedAt: source === 'agent' ? new Date().toISOString() : info.capturedAt }, source, c.lang);
      if (c.json) c.out(JSON.stringify(doc, null, 2));
      else c.out(renderHealthText(doc, c.lang, styleFrom(c.color)));
    });
};
