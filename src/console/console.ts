/**
 * `oscope console`: opens the store, creates the first admin account when there is none, serves the
 * API and UI, and runs the background sweeps (task timeouts every second, metrics/alert retention every
 * hour). With `localAgent`, it also registers this host as a node and runs `oscope agent` as a child
 * process with a fresh token (the agent exits when the console dies, even by SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { defaultRegistry } from '../agent/diagnoses/index.js';
import { newAgentToken } from './auth.js';
import { buildServer, type ConsoleTimings, ensureAdmin } from './server.js';
import { isPostgresUrl, openStore, type Store } from './store/index.js';

export interface ConsoleOptions {
  host: string;
  port: number;
  /** SQLite file path or postgres:// URL. */
  db: string;
  /** Where the first admin password file goes for a PostgreSQL store (default: the working directory). */
  stateDir?: string;
  timings?: Partial<ConsoleTimings>;
  retentionDays: number;
  alertRetentionDays?: number;
  /** Days of profile windows to keep (default: retentionDays) and the bound of one node's windows (bytes, default 256 MiB). */
  profileRetentionDays?: number;
  profileMaxBytesPerNode?: number;
  webDir?: string;
  /** Register this host and run an agent for it. */
  localAgent?: { listen?: string; intervalS?: number };
  sweepMs?: number;
  /** Serve https with this certificate and key (PEM files); cookies are then Secure. */
  tls?: { certFile: string; keyFile: string };
  log?: (line: string) => void;
}

export interface RunningConsole {
  url: string;
  app: FastifyInstance;
  store: Store;
  /** The admin password when it was created by this start. */
  adminPassword?: string;
  passwordFile: string;
  agent?: ChildProcess;
  close(): Promise<void>;
}

const ADMIN_NAME = 'admin';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_WEB_DIR = join(REPO, 'web', 'dist');
const BIN = join(REPO, 'bin', 'oscope');

export function passwordFileFor(db: string, stateDir?: string): string {
  if (isPostgresUrl(db)) return join(stateDir ?? process.cwd(), 'oscope-admin-password');
  return `${db}.admin-password`;
}

export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const store = await openStore(opts.db);
  const registry = defaultRegistry();
  const passwordFile = passwordFileFor(opts.db, opts.stateDir);
  const adminPassword = await ensureAdmin(store, ADMIN_NAME);
  if (adminPassword !== undefined) {
    writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
    chmodSync(passwordFile, 0o600);
  }
  let https: { cert: Buffer; key: Buffer } | undefined;
  try {
    https = opts.tls ? { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) } : undefined;
  } catch (err) {
    await store.close();
    throw err;
  }
  // The first password is for the first login only: the file goes once that admin has logged in.
  const onAdminLogin = (u: { username: string }): void => {
    if (u.username.toLowerCase() !== ADMIN_NAME) return;
    try {
      if (existsSync(passwordFile)) {
        unlinkSync(passwordFile);
        log(`removed ${passwordFile}: "${u.username}" has logged in (change the password under Account)`);
      }
    } catch (err) {
      log(`could not remove ${passwordFile}: ${(err as Error).message}`);
    }
  };
  const app = await buildServer({ store, registry, timings: opts.timings, webDir: opts.webDir ?? DEFAULT_WEB_DIR, https, onAdminLogin });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `${https ? 'https' : 'http'}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  const timers: NodeJS.Timeout[] = [];
  const sweep = (): void => {
    store.expireTasks(Date.now()).then(
      (expired) => {
        for (const t of expired) log(`task ${t.id} (${t.diagnosis}) ${t.error ?? 'timed out'}`);
      },
      (err: unknown) => log(`task sweep failed: ${(err as Error).message}`),
    );
  };
  const retain = (): void => {
    const n = Date.now();
    Promise.all([
      store.pruneSamples(n - opts.retentionDays * 86400_000),
      store.pruneProfiles(n - (opts.profileRetentionDays ?? opts.retentionDays) * 86400_000, opts.profileMaxBytesPerNode ?? 256 * 1024 * 1024),
      store.pruneAlerts(n - (opts.alertRetentionDays ?? 90) * 86400_000),
      // Login-throttle windows last minutes; a day-old one is dead.
      store.pruneLoginThrottles(n - 86400_000),
    ]).catch((err: unknown) =>
      log(`retention sweep failed: ${(err as Error).message}`),
    );
  };
  timers.push(setInterval(sweep, opts.sweepMs ?? 1000));
  timers.push(setInterval(retain, 3600_000));
  sweep();
  retain();
  for (const t of timers) t.unref();

  let agent: ChildProcess | undefined;
  if (opts.localAgent) {
    const name = hostname();
    let node = await store.getNodeByName(name);
    node ??= await store.createNode(name, '00', Date.now());
    const tok = newAgentToken(node.id);
    await store.setNodeToken(node.id, tok.hash);
    const args = [BIN, 'agent', '--console', url, '--exit-with-parent'];
    if (opts.localAgent.listen) args.push('--listen', opts.localAgent.listen);
    if (opts.localAgent.intervalS) args.push('--interval', `${opts.localAgent.intervalS}s`);
    // The token goes through the environment, not argv (which every user can read in ps).
    // Behind our own certificate (often self-signed) the local agent trusts that certificate too.
    const ca = opts.tls ? { NODE_EXTRA_CA_CERTS: resolve(opts.tls.certFile) } : {};
    agent = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...ca, OSCOPE_AGENT_TOKEN: tok.token } });
    agent.on('exit', (code, signal) => log(`local agent exited (${signal ?? code})`));
  }

  let closed = false;
  return {
    url,
    app,
    store,
    adminPassword,
    passwordFile,
    agent,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      if (agent && agent.exitCode === null) {
        const a = agent;
        const exited = new Promise<void>((r) => a.once('exit', () => r()));
        a.kill('SIGTERM');
        await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
      }
      await app.close();
      await store.close();
    },
  };
}
