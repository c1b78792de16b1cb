import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerAgent } from './agent.js';
import { registerCapture } from './capture.js';
import { registerConsole } from './console.js';
import { registerDoctor } from './doctor.js';
import { registerFilecache } from './filecache.js';
import { registerInspect } from './inspect.js';
import { registerMem } from './mem.js';
import { registerMemleak } from './memleak.js';
import { registerSimulate } from './simulate.js';
import { registerRunlatency } from './runlatency.js';
import { registerIo } from './io.js';
import { registerLoad } from './load.js';
import { registerProfile } from './profile.js';
import { registerNet } from './net.js';
import { registerMcp } from './mcp.js';
import { registerHealth } from './health.js';
import { registerConfigDiff } from './config-diff.js';

/** A command module adds its subcommand to the program; `ctx()` resolves the global options. */
export type RegisterCommand = (program: Command, ctx: () => CliContext) => void;

/** Every command, in the order `oscope --help` lists them. */
export const commands: RegisterCommand[] = [registerMem, registerCapture, registerDoctor, registerSimulate, registerInspect, registerMemleak, registerFilecache, registerAgent, registerConsole, registerRunlatency, registerIo, registerLoad, registerProfile, registerNet, registerHealth, registerConfigDiff, registerMcp];
