/**
 * One loader per command name, so that `oscope load …` imports the load command alone and not every
 * diagnosis, the agent, the console and the MCP SDK (a second of start-up on a busy 2-CPU host, most
 * of `oscope load -i 1`'s time beyond its interval). `oscope --help` and anything that names no known
 * command still register them all (./index.js), in its order.
 */
import type { RegisterCommand } from './index.js';

export const commandLoaders: Record<string, () => Promise<RegisterCommand>> = {
  mem: async () => (await import('./mem.js')).registerMem,
  capture: async () => (await import('./capture.js')).registerCapture,
  doctor: async () => (await import('./doctor.js')).registerDoctor,
  simulate: async () => (await import('./simulate.js')).registerSimulate,
  inspect: async () => (await import('./inspect.js')).registerInspect,
  memleak: async () => (await import('./memleak.js')).registerMemleak,
  filecache: async () => (await import('./filecache.js')).registerFilecache,
  agent: async () => (await import('./agent.js')).registerAgent,
  console: async () => (await import('./console.js')).registerConsole,
  runlatency: async () => (await import('./runlatency.js')).registerRunlatency,
  io: async () => (await import('./io.js')).registerIo,
  load: async () => (await import('./load.js')).registerLoad,
  profile: async () => (await import('./profile.js')).registerProfile,
  net: async () => (await import('./net.js')).registerNet,
  health: async () => (await import('./health.js')).registerHealth,
  'config-diff': async () => (await import('./config-diff.js')).registerConfigDiff,
  mcp: async () => (await import('./mcp.js')).registerMcp,
};

/** Global options that take a value (their value is not a command name). */
const GLOBAL_WITH_VALUE = new Set(['--lang', '--from']);

/** The command an argv names (process.argv: node, script, …), or undefined (help, version, a typo). */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return Object.hasOwn(commandLoaders, a) ? a : undefined;
  }
  return undefined;
}
