/**
 * The diagnoses an agent runs on request. One entry per diagnosis; add new ones here as they land.
 */
import type { MemHistoryPoint } from '../local.js';
import { DiagnosisRegistry } from '../registry.js';
import { configDiagnosis } from './config.js';
import { healthDiagnosis } from './health.js';
import { inspectDiagnosis } from './inspect.js';
import { ioDiagnosis } from './io.js';
import { loadDiagnosis, profileDiagnosis } from './load.js';
import { memDiagnosis } from './mem.js';
import { filecacheDiagnosis, memleakEntry, runlatencyDiagnosis } from './more.js';
import { netDiagnosis } from './net.js';

export interface RegistryOptions {
  /** The agent's memory history, for memleak's instant check (`check: true`). */
  history?: () => MemHistoryPoint[];
}

export function defaultRegistry(opts: RegistryOptions = {}): DiagnosisRegistry {
  return new DiagnosisRegistry()
    .register(memDiagnosis)
    .register(filecacheDiagnosis)
    .register(memleakEntry(opts.history))
    .register(runlatencyDiagnosis)
    .register(inspectDiagnosis)
    .register(ioDiagnosis)
    .register(healthDiagnosis)
    .register(netDiagnosis)
    .register(loadDiagnosis)
    .register(profileDiagnosis)
    .register(configDiagnosis);
}
