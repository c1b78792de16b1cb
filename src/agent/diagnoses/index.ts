/**
 * The diagnoses an agent runs on request. One entry per diagnosis; add new ones here as they land
 * (`inspect`, `filecache`, `memleak`, `runlatency`).
 */
import { DiagnosisRegistry } from '../registry.js';
import { memDiagnosis } from './mem.js';
import { filecacheDiagnosis, memleakDiagnosis, runlatencyDiagnosis } from './more.js';

export function defaultRegistry(): DiagnosisRegistry {
  return new DiagnosisRegistry().register(memDiagnosis).register(filecacheDiagnosis).register(memleakDiagnosis).register(runlatencyDiagnosis);
}
