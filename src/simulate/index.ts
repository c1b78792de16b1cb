/**
 * Public API of the simulations, for the CLI and for other engineers' tests:
 *
 *   const run = await runScenario('shm-leak', { size: '64MiB' });
 *   try { ... run.resources, run.created.bytes ... } finally { await cleanupRun(run.runId); }
 *
 * or `await withScenario('shm-leak', { size: '64MiB' }, async (run) => { ... })`, which always cleans up.
 */
import './scenarios/index.js';

export {
  type CleanupReport,
  type OptionInput,
  type Progress,
  type Resource,
  type RunResult,
  type RunState,
  type Scenario,
  type ScenarioResult,
  SimulateError,
  SIM_PREFIX,
  cleanupRun,
  cleanupRuns,
  getScenario,
  listRuns,
  listScenarios,
  runForeground,
  runScenario,
  startDetached,
  withScenario,
} from './framework.js';
export { stateDir } from './state.js';
