/** `oscope console`: the web console and API server for a fleet. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT, UserError } from '../errors.js';
import { parseListen } from './agent.js';
import type { RegisterCommand } from './index.js';

interface ConsoleFlags {
  listen: string;
  db?: string;
  retentionDays: string;
  localAgent?: boolean;
  agentListen: string;
  agentInterval?: string;
  web?: string;
}

export const defaultDbPath = (): string => join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'oscope', 'console.db');

export const registerConsole: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('console')
    .description('web console and API for a fleet of agents (see src/console/API.md)')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:8420')
    .option('--db <path|url>', 'SQLite file, or postgres://user@host/db (default ~/.local/share/oscope/console.db)')
    .option('--retention-days <n>', 'days of metrics history to keep', '14')
    .option('--local-agent', 'register this host and run an agent for it')
    .option('--agent-listen <host:port>', 'metrics address of the local agent', '127.0.0.1:9464')
    .option('--agent-interval <duration>', 'collection interval of the local agent', '15s')
    .option('--web <dir>', 'directory of the built web UI (default web/dist)')
    .action(async (flags: ConsoleFlags) => {
      const c = ctx();
      const listen = parseListen(flags.listen);
      const retentionDays = Number(flags.retentionDays);
      if (!Number.isFinite(retentionDays) || retentionDays <= 0) throw new UserError(`--retention-days takes a positive number, got "${flags.retentionDays}"`, EXIT.usage);
      const db = flags.db ?? defaultDbPath();
      const intervalS = flags.agentInterval ? Number(/^(\d+)s?$/.exec(flags.agentInterval)?.[1]) : undefined;
      if (intervalS !== undefined && !(intervalS >= 1)) throw new UserError(`--agent-interval takes whole seconds such as 15s, got "${flags.agentInterval}"`, EXIT.usage);
      // The console (fastify, the SQL drivers) loads only when this command runs: other commands start faster.
      const { startConsole } = await import('../../console/console.js');
      const { isPostgresUrl } = await import('../../console/store/index.js');
      let running;
      try {
        running = await startConsole({
          host: listen.host,
          port: listen.port,
          db,
          retentionDays,
          webDir: flags.web,
          localAgent: flags.localAgent ? { listen: flags.agentListen, intervalS } : undefined,
          log: (l) => c.err(`oscope console: ${l}`),
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${flags.listen}: the address is in use`, EXIT.usage);
        if (code === 'ECONNREFUSED' || code === '28P01' || code === '3D000') throw new UserError(`cannot open the database ${isPostgresUrl(db) ? db.replace(/:[^:@/]*@/, ':***@') : db}: ${(err as Error).message}`, EXIT.failure);
        if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') throw new UserError(`cannot open the database ${db}: ${(err as Error).message}`, EXIT.failure);
        throw err;
      }
      c.err(`oscope console: listening on ${running.url} (store: ${running.store.kind}${isPostgresUrl(db) ? '' : ` ${db}`})`);
      if (running.adminPassword !== undefined) {
        c.err(`oscope console: created user "admin" with password ${running.adminPassword} (also in ${running.passwordFile}, mode 0600); it is shown only this once`);
      } else if (existsSync(running.passwordFile)) {
        c.err(`oscope console: log in at ${running.url} as "admin"; the first password is in ${running.passwordFile}`);
      }
      if (running.agent) c.err(`oscope console: the agent for this host is starting (metrics on http://${flags.agentListen}/metrics)`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await running.close();
    });
};
