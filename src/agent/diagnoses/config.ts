/**
 * `config`: this node's configuration capture (the same document as `oscope config-diff --capture`,
 * oscope.config/v1). Reads only. The console keeps the latest one per node and compares two nodes with
 * it (GET /api/config-diff).
 */
import { z } from 'zod';
import { collectConfig } from '../../diagnose/config/collect.js';
import { ConfigParamsObject } from '../../diagnose/config/params.js';
import { LANGS } from '../../report/i18n/index.js';
import { CONFIG_SCHEMA, configDocument } from '../../report/config.js';
import type { DiagnosisEntry } from '../registry.js';

export const ConfigTaskParams = ConfigParamsObject.extend({ lang: z.enum(LANGS).default('en') }).strict();
export type ConfigTaskParams = z.infer<typeof ConfigTaskParams>;

const STEPS = ['sysctl', 'cmdline', 'kernel-config', 'modules', 'thp', 'cgroup', 'topology'];

export const configDiagnosis: DiagnosisEntry<ConfigTaskParams> = {
  name: 'config',
  description: "configuration capture (sysctls, kernel command line, kernel and its config, modules, THP, cgroups, CPU and memory topology) for config-diff between nodes",
  schema: CONFIG_SCHEMA,
  params: ConfigTaskParams,
  timeoutMs: 2 * 60_000,
  run: async (host, _p, onProgress) => {
    const c = await collectConfig(host, (step) => onProgress(step, STEPS.indexOf(step), STEPS.length));
    onProgress('done', STEPS.length, STEPS.length);
    const info = host.info();
    return configDocument(c, { hostname: info.hostname, kernel: c.kernel.release, capturedAt: info.capturedAt });
  },
};
