/**
 * The CLI's side of the shared parameter schemas (src/diagnose/<area>/params.ts): a command maps its
 * flags onto the diagnosis's parameter object and validates it here with the very schema the agent
 * uses; the first zod issue becomes the CLI's one-sentence usage error, naming the flag the user typed.
 */
import type { z } from 'zod';
import type { FlagMap } from '../../diagnose/params.js';
import { EXIT, UserError } from '../errors.js';

/** A flag's number: NaN when it is not one, so the schema words the error. */
export function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' || !/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(t) ? Number.NaN : Number(t);
}

/**
 * Validates `input` with `schema`; a failure is a UserError (EXIT.usage): `<flag> takes <what>, got "<raw>"`
 * when the issue is on a field the user set, else the issue's message.
 */
export function cliParams<O>(schema: z.ZodType<O, z.ZodTypeDef, unknown>, input: Record<string, unknown>, flags: FlagMap<O>, raw: Record<string, string | undefined> = {}): O {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  const flag = field !== undefined ? (flags as Record<string, string | undefined>)[field] : undefined;
  // Cross-field and key checks are whole sentences already.
  if (!flag || issue.code === 'custom') throw new UserError(issue.message, EXIT.usage);
  if (issue.path.length > 1) throw new UserError(`${flag}: ${issue.message}`, EXIT.usage);
  const given = raw[field!] ?? (typeof input[field!] === 'string' || typeof input[field!] === 'number' ? String(input[field!] as string | number) : undefined);
  throw new UserError(given !== undefined ? `${flag} takes ${issue.message}, got "${given}"` : `${flag} takes ${issue.message}`, EXIT.usage);
}
