/**
 * What io, net and load share on the command line: a diagnosis that measures the live host over an
 * interval. Ctrl-C (or SIGTERM) ends the interval early through an AbortSignal, so what was gathered is
 * still reported; and the errors a user can cause become one sentence with the documented exit code.
 */
import { HostError } from '../host/host.js';
import { ParseError } from '../kernel/errors.js';
import { EXIT, UserError } from './errors.js';

/** A diagnosis's own scope error: `usage` for a disk/cgroup/container/pod that is not there, else the kernel lacks something. */
interface ScopeErrorLike extends Error {
  kind: 'usage' | 'unsupported';
}

export async function runInterval<T>(
  command: string,
  scopeError: abstract new (...args: never[]) => ScopeErrorLike,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    return await run(ac.signal);
  } catch (err) {
    if (err instanceof scopeError) throw new UserError(err.message, err.kind === 'usage' ? EXIT.usage : EXIT.unsupported);
    if (err instanceof HostError && err.denied) throw new UserError(`oscope ${command} needs root to read ${err.path}: run it with sudo`, EXIT.permission);
    if (err instanceof HostError && err.notFound) throw new UserError(`${err.path} is missing: this kernel does not provide it`, EXIT.unsupported);
    if (err instanceof ParseError) throw new UserError(err.message, EXIT.failure);
    throw err;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
