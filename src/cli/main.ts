/**
 * The `oscope` command line. Commands live in ./commands/, one module each, registered below.
 * Global options (--json, --lang, --from, --no-color) are read once into a CliContext.
 */
import { Command, CommanderError, Option } from 'commander';
import { HostError } from '../host/host.js';
import { ParseError } from '../kernel/errors.js';
import { type CliContext, type GlobalOptions, makeContext } from './context.js';
import { EXIT, UserError } from './errors.js';
import { VERSION } from '../version.js';
import type { RegisterCommand } from './commands/index.js';
import { commandLoaders, commandOf } from './commands/lazy.js';

/** The program with the given commands (every command when none are given: help lists them all). */
export async function buildProgram(only?: RegisterCommand[]): Promise<Command> {
  const registers = only ?? (await import('./commands/index.js')).commands;
  const program = new Command('oscope');
  program
    .description('Operating-system diagnosis: memory panorama, kernel leaks, latency jitter, inspection')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--json', 'print one JSON document instead of text'))
    .addOption(new Option('--lang <lang>', 'language of conclusions: en or zh-CN (default: from the locale)'))
    .addOption(new Option('--from <bundle>', 'analyse a bundle written by `oscope capture` instead of this host'))
    .addOption(new Option('--no-color', 'no colours (also: NO_COLOR=1)'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  const ctx = (): CliContext => makeContext(program.opts<GlobalOptions>());
  for (const register of registers) register(program, ctx);
  // Options given after the subcommand are accepted too (`oscope mem --json`).
  program.enablePositionalOptions(false);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  let program: Command;
  try {
    // Only the command named on the line is loaded; help, version and typos get all of them.
    const name = commandOf(argv);
    program = await buildProgram(name !== undefined ? [await commandLoaders[name]!()] : undefined);
  } catch (err) {
    process.exitCode = handleError(err);
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = handleError(err);
  }
}

function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" in exitOverride mode; commander already printed the message.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof UserError) {
    process.stderr.write(`oscope: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof HostError) {
    process.stderr.write(`oscope: ${err.message}\n`);
    if (err.denied) return EXIT.permission;
    if (err.notFound) return EXIT.unsupported;
    return EXIT.failure;
  }
  if (err instanceof ParseError) {
    process.stderr.write(`oscope: could not parse ${err.message}\n`);
    return EXIT.failure;
  }
  const e = err as Error;
  process.stderr.write(`oscope: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.OSCOPE_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('oscope: set OSCOPE_DEBUG=1 for details and report this as a bug\n');
  return EXIT.failure;
}
