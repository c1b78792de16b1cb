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
  tlsCert?: string;
  tlsKey?: string;
}

export const defaultDbPath = (): string => join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'oscope', 'console.db');

export const registerConsole: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  const consoleCmd = program
    .command('console')
    .description('web console and API for a fleet of agents (see src/console/API.md)')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:8420')
    .option('--db <path|url>', 'SQLite file, or postgres://user@host/db (default ~/.local/share/oscope/console.db)')
    .option('--retention-days <n>', 'days of metrics history to keep', '14')
    .option('--local-agent', 'register this host and run an agent for it')
    .option('--agent-listen <host:port>', 'metrics address of the local agent', '127.0.0.1:9464')
    .option('--agent-interval <duration>', 'collection interval of the local agent', '15s')
    .option('--web <dir>', 'directory of the built web UI (default web/dist)')
    .option('--tls-cert <file>', 'serve https with this certificate (PEM; with --tls-key); cookies are then Secure')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .action(async (flags: ConsoleFlags) => {
      const c = ctx();
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UserError('--tls-cert and --tls-key go together: give both, or neither', EXIT.usage);
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
          tls: flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined,
          localAgent: flags.localAgent ? { listen: flags.agentListen, intervalS } : undefined,
          log: (l) => c.err(`oscope console: ${l}`),
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${flags.listen}: the address is in use`, EXIT.usage);
        if (code === 'ECONNREFUSED' || code === '28P01' || code === '3D000') throw new UserError(`cannot open the database ${isPostgresUrl(db) ? db.replace(/:[^:@/]*@/, ':***@') : db}: ${(err as Error).message}`, EXIT.failure);
        if ((code === 'ENOENT' || code === 'EACCES') && flags.tlsCert !== undefined && /tls|cert|key|pem/i.test((err as Error).message + String((err as { path?: string }).path ?? ''))) {
          throw new UserError(`cannot read the TLS certificate or key: ${(err as Error).message}`, EXIT.usage);
        }
        if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') throw new UserError(`cannot open the database ${db}: ${(err as Error).message}`, EXIT.failure);
        throw err;
      }
      c.err(`oscope console: listening on ${running.url} (store: ${running.store.kind}${isPostgresUrl(db) ? '' : ` ${db}`})`);
      if (running.adminPassword !== undefined) {
        c.err(`oscope console: created user "admin" with password ${running.adminPassword} (also in ${running.passwordFile}, mode 0600, until admin first logs in); it is shown only this once`);
      } else if (existsSync(running.passwordFile)) {
        c.err(`oscope console: log in at ${running.url} as "admin"; the first password is in ${running.passwordFile} (removed after the first login)`);
      }
      if (running.agent) c.err(`oscope console: the agent for this host is starting (metrics on http://${flags.agentListen}/metrics)`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await running.close();
    });

  // `oscope console user ...`: administration on the store directly (the console may be running or not).
  const userCmd = consoleCmd.command('user').description('manage console accounts on the database directly');
  userCmd
    .command('unlock <name>')
    .description('end the login throttling of a user name, from every address (after guessing attacks on it)')
    .option('--db <path|url>', 'SQLite file, or postgres://user@host/db (default ~/.local/share/oscope/console.db)')
    .action(async (name: string, flags: { db?: string }) => {
      const c = ctx();
      // `--db` after the subcommand may be taken by `oscope console` itself: look there too.
      const db = flags.db ?? (consoleCmd.opts<ConsoleFlags>().db) ?? defaultDbPath();
      if (!isPostgresUrlLike(db) && !existsSync(db)) throw new UserError(`no console database at ${db} (give --db)`, EXIT.usage);
      const { openStore } = await import('../../console/store/index.js');
      const store = await openStore(db);
      try {
        const u = await store.getUserByName(name);
        if (!u) throw new UserError(`no user "${name}" in ${isPostgresUrlLike(db) ? 'the database' : db}`, EXIT.usage);
        const n = await store.clearUserLoginThrottles(u.username);
        c.out(`unlocked "${u.username}": ${n} login throttle${n === 1 ? '' : 's'} cleared; they can log in from every address now`);
      } finally {
        await store.close();
      }
    });
};

const isPostgresUrlLike = (db: string): boolean => /^postgres(ql)?:\/\//.test(db);
