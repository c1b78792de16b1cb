/**
 * Building blocks of the diagnoses' parameter schemas (src/diagnose/<area>/params.ts). Each schema is
 * the one definition of a diagnosis's parameters, their defaults and bounds: the agent validates a
 * task's parameters with it (src/agent/diagnoses/), the CLI maps its flags onto the same object and
 * validates it with the same schema (src/cli/commands/), so the two cannot drift apart.
 *
 * Every issue on a field carries one message that reads after the field's name or flag ("-i takes …",
 * "durationS: …"), whichever check failed (type, range, integer).
 */
import { z } from 'zod';

/** A number from min to max (whole when `int`), every failure worded by `what` ("a number of seconds from 1 to 86400"). */
export function numberIn(min: number, max: number, what: string, opts: { int?: boolean; minExclusive?: boolean } = {}): z.ZodNumber {
  let n = z.number({ invalid_type_error: what, required_error: what }).finite(what);
  n = opts.minExclusive ? n.gt(min, what) : n.gte(min, what);
  n = n.lte(max, what);
  return opts.int ? n.int(what) : n;
}

/** Field name → the CLI flag it comes from, so a zod issue can name the flag the user typed. */
export type FlagMap<T> = Partial<Record<keyof T & string, string>>;
