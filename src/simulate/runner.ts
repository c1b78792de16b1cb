/**
 * Entry point of a detached simulation run (`oscope simulate <scenario> --detach`): started by
 * startDetached() in its own session, it runs the scenario in the foreground, reports the summary (or the
 * error) as one JSON line on fd 3, then holds until its duration ends or `oscope simulate cleanup` sends
 * SIGTERM, and cleans up.
 */
import { closeSync, writeSync } from 'node:fs';
import { type RunnerMessage, type RunnerRequest, SimulateError, runForeground } from './framework.js';
import './scenarios/index.js';

function report(msg: RunnerMessage): void {
  try {
    writeSync(3, `${JSON.stringify(msg)}\n`);
    closeSync(3);
  } catch {
    /* the parent is gone: nobody to tell */
  }
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as RunnerRequest;
  let reported = false;
  try {
    await runForeground(req.scenario, req.input, {
      durationS: req.durationS,
      force: req.force,
      runId: req.runId,
      stateDir: req.stateDir,
      detached: true,
      onStarted: (result) => {
        reported = true;
        report({ ok: true, result });
      },
    });
    if (!reported) report({ ok: false, error: 'interrupted before everything was created', kind: 'interrupted' });
  } catch (err) {
    if (!reported) {
      const kind = err instanceof SimulateError ? err.kind : 'failure';
      report({ ok: false, error: (err as Error).message, kind });
    }
    process.exitCode = 1;
  }
}

void main();
