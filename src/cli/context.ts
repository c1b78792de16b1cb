import { createColors } from 'picocolors';
import type { Host } from '../host/host.js';
import { LiveHost } from '../host/live.js';
import { BundleHost } from '../host/bundle.js';
import { HostError } from '../host/host.js';
import { type Lang, isLang, langFromEnv } from '../report/i18n/index.js';
import { EXIT, UserError } from './errors.js';

export type Colors = ReturnType<typeof createColors>;

/** What every command gets: the global options resolved once. */
export interface CliContext {
  json: boolean;
  lang: Lang;
  /** Colour and progress bars only on a TTY, never with --json, never with NO_COLOR. */
  color: Colors;
  tty: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves --from (a bundle) or the live host. */
  host: () => Promise<Host>;
  from: string | undefined;
}

export interface GlobalOptions {
  json?: boolean;
  lang?: string;
  from?: string;
  color?: boolean;
}

export function makeContext(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CliContext {
  const json = opts.json === true;
  let lang: Lang;
  if (opts.lang !== undefined) {
    if (!isLang(opts.lang)) throw new UserError(`unknown language "${opts.lang}" (use en or zh-CN)`, EXIT.usage);
    lang = opts.lang;
  } else lang = langFromEnv(env);
  const tty = process.stdout.isTTY === true && !json;
  const colorOn = tty && opts.color !== false && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  let hostPromise: Promise<Host> | undefined;
  return {
    json,
    lang,
    color: createColors(colorOn),
    tty,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    from: opts.from,
    host: () => {
      hostPromise ??= opts.from ? loadBundle(opts.from) : Promise.resolve(new LiveHost());
      return hostPromise;
    },
  };
}

async function loadBundle(file: string): Promise<Host> {
  try {
    return await BundleHost.load(file);
  } catch (err) {
    if (err instanceof HostError) {
      if (err.code === 'ENOENT') throw new UserError(`bundle ${file} does not exist`, EXIT.usage);
      throw new UserError(err.message, EXIT.usage);
    }
    throw err;
  }
}

export function requireRoot(what: string): void {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new UserError(`${what} needs root: run it with sudo`, EXIT.permission);
  }
}
