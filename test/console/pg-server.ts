/**
 * A private PostgreSQL server for tests: initdb into /var/tmp/oscope-test-pg-*, listening only on a
 * Unix socket in that directory (no TCP), run as the `postgres` user (the server refuses root).
 * `start()` resolves to a connection URL, or throws with the reason it cannot run here.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export function postgresBinDir(): string | undefined {
  return BIN_DIRS.find((d) => existsSync(join(d, 'postgres')) && existsSync(join(d, 'initdb')));
}

export class PgServer {
  readonly dir: string;
  private running = false;
  private readonly asUser: string | undefined;
  private readonly bin: string;

  constructor() {
    const bin = postgresBinDir();
    if (!bin) throw new Error('PostgreSQL is not installed (run scripts/ensure-test-deps-console.sh)');
    this.bin = bin;
    this.dir = mkdtempSync('/var/tmp/oscope-test-pg-');
    this.asUser = userInfo().uid === 0 ? 'postgres' : undefined;
  }

  private run(cmd: string, args: string[]): void {
    const full = this.asUser ? ['runuser', ['-u', this.asUser, '--', join(this.bin, cmd), ...args]] as const : [join(this.bin, cmd), args] as const;
    const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`);
  }

  /** Starts the server; returns a postgres:// URL for database `oscope`. */
  start(): string {
    if (this.asUser) {
      const pw = spawnSync('id', ['-u', this.asUser], { encoding: 'utf8' });
      if (pw.status !== 0) throw new Error(`no "${this.asUser}" user to run PostgreSQL as`);
      const uid = Number(pw.stdout.trim());
      const gid = Number(spawnSync('id', ['-g', this.asUser], { encoding: 'utf8' }).stdout.trim());
      chownSync(this.dir, uid, gid);
    }
    const data = join(this.dir, 'data');
    this.run('initdb', ['-D', data, '-U', 'oscope', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = 20000 + (process.pid % 20000);
    this.run('pg_ctl', ['-D', data, '-l', join(this.dir, 'log'), '-w', '-t', '60', '-o', `-k ${this.dir} -c listen_addresses='' -p ${port} -c fsync=on`, 'start']);
    this.running = true;
    this.run('createdb', ['-h', this.dir, '-p', String(port), '-U', 'oscope', 'oscope']);
    return `postgresql://oscope@localhost/oscope?host=${encodeURIComponent(this.dir)}&port=${port}`;
  }

  stop(): void {
    try {
      if (this.running) this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } finally {
      this.running = false;
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
