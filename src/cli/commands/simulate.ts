/**
 * `oscope simulate list | <scenario> [options] | cleanup [run-id...] [--all]`: reproduce memory problems
 * on purpose (see src/simulate/). Each scenario is a subcommand with its own options.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { RegisterCommand } from './index.js';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { formatBytes, formatCount, formatDurationMs } from '../../report/format.js';
import {
  type CleanupReport,
  type Progress,
  type Resource,
  type RunResult,
  type Scenario,
  SimulateError,
  cleanupRun,
  cleanupRuns,
  listRuns,
  listScenarios,
  runForeground,
  startDetached,
  stateDir,
} from '../../simulate/index.js';
import { DURATION_OPTION, type OptionSpec } from '../../simulate/framework.js';

const EXIT_INTERRUPTED = 130;

function toUserError(err: unknown): unknown {
  if (!(err instanceof SimulateError)) return err;
  const code = { usage: EXIT.usage, permission: EXIT.permission, unsupported: EXIT.unsupported, failure: EXIT.failure, interrupted: EXIT_INTERRUPTED }[err.kind];
  return new UserError(err.message, code);
}

function defaultText(spec: OptionSpec): string {
  if (spec.type === 'size') return spec.default === 0 ? '0' : formatBytes(spec.default);
  if (spec.type === 'seconds') return `${spec.default}`;
  // A port is a name, not an amount: 5201, not 5,201.
  if (spec.flag.startsWith('--port ')) return `${spec.default}`;
  return formatCount(spec.default);
}

function describeResource(r: Resource): string {
  switch (r.kind) {
    case 'dir':
      return `dir      ${r.path}${r.bytes ? `  ${formatBytes(r.bytes)}` : ''}${r.files ? `, ${formatCount(r.files)} files` : ''}`;
    case 'file':
      return `file     ${r.path}${r.bytes ? `  ${formatBytes(r.bytes)}` : ''}`;
    case 'cgroup':
      return `cgroup   ${r.path}${r.bytes ? `  ${formatBytes(r.bytes)}` : ''}`;
    case 'sysv-shm':
      return `sysv shm id ${r.id ?? '?'} key 0x${r.key.toString(16).padStart(8, '0')}  ${formatBytes(r.bytes)}`;
    case 'process':
      return `process  ${r.pid} (${r.role})`;
    case 'mount':
      return `mount    ${r.path}`;
    case 'bpf-pin':
      return `bpf pin  ${r.path}`;
    case 'loop':
      return `loop     ${r.device ?? '?'} on ${r.backing}`;
    case 'io-throttle':
      return `throttle ${r.majMin} in ${r.file}`;
    case 'netns':
      return `netns    ${r.name}`;
  }
}

/** Progress on one rewritten stderr line, at most 10 times a second; nothing off a TTY or with --json. */
function progressPrinter(c: CliContext, name: string): { update: (p: Progress) => void; done: () => void } {
  if (!c.tty || !process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  const t0 = Date.now();
  let last = 0;
  let shown = false;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const s = Math.max(0.001, (now - t0) / 1000);
      const rate = p.count / s;
      process.stderr.write(`\r\x1b[K${name}: ${formatCount(p.count)} ${p.unit}, ${formatBytes(p.bytes)} (${formatCount(Math.round(rate))} ${p.unit}/s)`);
      shown = true;
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function printStarted(c: CliContext, r: RunResult, holding: string | undefined): void {
  if (c.json) {
    c.out(JSON.stringify(r, null, 2));
    return;
  }
  const k = c.color;
  c.out(
    `${k.bold(r.scenario)}: created ${formatCount(r.created.count)} ${r.created.unit}, ${formatBytes(r.created.bytes)} in ${formatDurationMs(r.elapsedMs)} (run ${r.runId})`,
  );
  // Long lists (50 cgroups) show the first few of each kind.
  const shown = new Map<string, number>();
  for (const res of r.resources) {
    const n = (shown.get(res.kind) ?? 0) + 1;
    shown.set(res.kind, n);
    if (n <= 3) c.out(`  ${describeResource(res)}`);
  }
  for (const [kind, n] of shown) if (n > 3) c.out(k.dim(`  ... and ${n - 3} more ${kind} resources (--json lists them all)`));
  if (holding) c.out(k.dim(holding));
}

function addScenarioCommand(sim: Command, s: Scenario, ctx: () => CliContext): void {
  const cmd = sim.command(s.name).description(s.description);
  for (const spec of [...s.options, DURATION_OPTION]) {
    cmd.addOption(new Option(spec.flag, `${spec.description} (default: ${defaultText(spec)})`));
  }
  cmd
    .addOption(new Option('--detach', 'create, print the summary and leave it running in the background until the duration ends or `oscope simulate cleanup`'))
    .addOption(new Option('--force', 'allow up to 80 % of MemAvailable instead of 50 %'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const c = ctx();
      // A reader that goes away (`| head`) must not crash us before we clean up.
      process.stdout.on('error', () => undefined);
      const input: Record<string, string | undefined> = {};
      for (const spec of [...s.options, DURATION_OPTION]) input[spec.key] = typeof o[spec.key] === 'string' ? (o[spec.key] as string) : undefined;
      let durationS = 0;
      try {
        const d = o.duration;
        if (typeof d === 'string') {
          const { parseSeconds } = await import('../../simulate/units.js');
          durationS = parseSeconds(d);
        }
      } catch (err) {
        throw new UserError(`--duration: ${(err as Error).message}`, EXIT.usage);
      }
      const force = o.force === true;
      try {
        if (o.detach === true) {
          const r = await startDetached(s.name, input, { force, durationS });
          printStarted(c, r, durationS > 0 ? `running in the background for ${durationS} s; stop it earlier with: oscope simulate cleanup ${r.runId}` : `running in the background; remove it with: oscope simulate cleanup ${r.runId}`);
          return;
        }
        const progress = progressPrinter(c, s.name);
        const outcome = await runForeground(s.name, input, {
          durationS,
          force,
          onProgress: progress.update,
          onStarted: (r) => {
            progress.done();
            printStarted(c, r, durationS > 0 ? `holding for ${durationS} s (Ctrl-C to stop now), then cleaning up` : 'holding until Ctrl-C, then cleaning up');
          },
          onCleanup: () => {
            if (!c.json) c.err('cleaning up...');
          },
        });
        progress.done();
        if (!outcome.result) {
          c.err(`${s.name}: interrupted; removed what had been created`);
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (outcome.problems.length > 0) {
          for (const p of outcome.problems) c.err(`could not remove ${describeResource(p.resource)}: ${p.error}`);
          throw new UserError(
            `${outcome.problems.length} resources of run ${outcome.result.runId} are left; run \`oscope simulate cleanup ${outcome.result.runId}\``,
            EXIT.failure,
          );
        }
        if (!c.json) c.err(`removed the ${outcome.result.resources.length} resources of run ${outcome.result.runId}`);
        if (outcome.interrupted) process.exitCode = EXIT.ok;
      } catch (err) {
        throw toUserError(err);
      }
    });
}

function printCleanup(c: CliContext, reports: CleanupReport[], skipped: string[]): void {
  if (c.json) {
    c.out(JSON.stringify({ schema: 'oscope.simulate.cleanup/v1', cleaned: reports, skipped }, null, 2));
  } else {
    if (reports.length === 0 && skipped.length === 0) c.out('nothing to clean up');
    for (const r of reports) {
      const how = r.owner === 'stopped' ? ' (stopped the running run)' : r.owner === 'killed' ? ' (killed the running run)' : '';
      c.out(`cleaned ${r.runId}: ${r.resources} resources${how}`);
      for (const p of r.problems) c.err(`  could not remove ${describeResource(p.resource)}: ${p.error}`);
    }
    for (const id of skipped) c.out(`left ${id}: it is still running in the foreground (add --all to stop it)`);
  }
  const bad = reports.filter((r) => r.problems.length > 0).length;
  if (bad > 0) throw new UserError(`${bad} runs could not be fully cleaned up; their state files are kept`, EXIT.failure);
}

export const registerSimulate: RegisterCommand = (program, ctx) => {
  const sim = program
    .command('simulate')
    .description('reproduce memory, kernel-leak, latency, load, I/O and network problems on purpose (size, rate, duration), with cleanup on exit and Ctrl-C');

  sim
    .command('list')
    .description('list the scenarios and the runs that are still active')
    .action(() => {
      const c = ctx();
      const scenarios = listScenarios();
      const runs = listRuns();
      if (c.json) {
        c.out(
          JSON.stringify(
            {
              schema: 'oscope.simulate.list/v1',
              scenarios: scenarios.map((s) => ({
                name: s.name,
                area: s.area,
                description: s.description,
                options: [...s.options, DURATION_OPTION].map((o) => ({ flag: o.flag.split(' ')[0], type: o.type, default: o.default, description: o.description })),
              })),
              runs: runs.map((r) => ({ runId: r.state.runId, scenario: r.state.scenario, createdAt: r.state.createdAt, detached: r.state.detached, ownerAlive: r.ownerAlive, resources: r.state.resources })),
              stateDir: stateDir(),
            },
            null,
            2,
          ),
        );
        return;
      }
      const w = Math.max(...scenarios.map((s) => s.name.length));
      for (const s of scenarios) {
        c.out(`${c.color.bold(s.name.padEnd(w))}  ${s.area.padEnd(6)}  ${s.description}`);
        c.out(c.color.dim(`${' '.repeat(w + 2)}${s.options.map((o) => `${o.flag.split(' ')[0]} ${defaultText(o)}`).join('  ')}`));
      }
      if (runs.length > 0) {
        c.out('\nruns:');
        for (const r of runs) {
          const st = r.ownerAlive ? (r.state.detached ? 'running (detached)' : 'running') : 'crashed: run `oscope simulate cleanup`';
          c.out(`  ${r.state.runId}  ${r.state.createdAt}  ${r.state.resources.length} resources  ${st}`);
        }
      }
    });

  sim
    .command('cleanup')
    .description('remove what crashed or detached runs left (from their state files); --all also stops foreground runs')
    .argument('[run-id...]', 'only these runs')
    .addOption(new Option('--all', 'also stop runs still running in the foreground elsewhere'))
    .action(async (ids: string[], o: { all?: boolean }) => {
      const c = ctx();
      if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
        throw new UserError('oscope simulate cleanup needs root: run it with sudo', EXIT.permission);
      }
      try {
        if (ids.length > 0) {
          const reports: CleanupReport[] = [];
          for (const id of ids) reports.push(await cleanupRun(id));
          printCleanup(c, reports, []);
        } else {
          const { cleaned, skipped } = await cleanupRuns(o.all === true);
          printCleanup(c, cleaned, skipped);
        }
      } catch (err) {
        throw toUserError(err);
      }
    });

  for (const s of listScenarios()) addScenarioCommand(sim, s, ctx);
};
