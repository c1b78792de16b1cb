/**
 * Errors a user can cause. The CLI prints their message as one sentence and exits with the code;
 * anything else is a bug and prints a stack trace (with OSCOPE_DEBUG=1) or a short line.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and found at least one critical finding (only with --fail-on). */
  findings: 1,
  usage: 2,
  /** Needs root or a capability. */
  permission: 3,
  /** The kernel lacks a file or feature the command needs. */
  unsupported: 4,
  /** Anything else that went wrong at run time (I/O, a malformed kernel file, ...). */
  failure: 5,
} as const;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
