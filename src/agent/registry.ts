/**
 * The diagnosis registry: the only things an agent will run for a console (or for an alert rule).
 *
 * Each diagnosis is one entry: a stable name, a zod schema for its parameters (unknown keys refused,
 * defaults filled in), and `run(host, params, onProgress)` returning the same JSON document the CLI's
 * `--json` prints (a `schema` field such as `oscope.mem/v1`). A task naming anything else, or with
 * parameters the schema refuses, is rejected before anything runs: the console never sends a command
 * line, only a name and a validated object.
 *
 * Parameters are the diagnosis's own schema (src/diagnose/<area>/params.ts, the one the CLI validates
 * its flags with) plus `lang`. Where a task must cost less than a command a person runs, the entry adds
 * an explicit cap on top (`agentMax`, e.g. memleak's watch ≤ 600 s because tasks time out), exported as
 * a constant and tested; nothing else differs.
 *
 * Adding a diagnosis: write `src/agent/diagnoses/<name>.ts` exporting a `DiagnosisEntry` and add it to
 * the list in `src/agent/diagnoses/index.ts`.
 */
import { z } from 'zod';
import type { Host } from '../host/host.js';

/** Progress of a running diagnosis: a step name and done/total of that step. */
export type ProgressFn = (step: string, done: number, total: number) => void;

/** A diagnosis result: one JSON document with its schema name. */
export interface DiagnosisDocument {
  schema: string;
  [key: string]: unknown;
}

export interface DiagnosisEntry<P = unknown> {
  /** Stable name used by the API and the CLI (`mem`, `filecache`, `memleak`, `runlatency`, `inspect`). */
  name: string;
  /** One line for people (API listing, UI button tooltip). */
  description: string;
  /** The document schema it returns (`oscope.mem/v1`). */
  schema: string;
  /** Parameters: must be a strict object schema so unknown keys are refused. */
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Upper bound of the run time the console allows before it times the task out, ms. */
  timeoutMs: number;
  run(host: Host, params: P, onProgress: ProgressFn): Promise<DiagnosisDocument>;
}

export class DiagnosisRegistry {
  private readonly entries = new Map<string, DiagnosisEntry>();

  register<P>(entry: DiagnosisEntry<P>): this {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(entry.name)) throw new Error(`bad diagnosis name "${entry.name}"`);
    if (this.entries.has(entry.name)) throw new Error(`diagnosis "${entry.name}" is registered twice`);
    this.entries.set(entry.name, entry as DiagnosisEntry);
    return this;
  }

  get(name: string): DiagnosisEntry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  list(): DiagnosisEntry[] {
    return this.names().map((n) => this.entries.get(n)!);
  }

  /**
   * Validates a request: `{ ok: true, params }` with defaults filled in, or `{ ok: false, reason }` with
   * one sentence naming the bad field.
   */
  validate(name: string, params: unknown): { ok: true; entry: DiagnosisEntry; params: unknown } | { ok: false; reason: string } {
    const entry = this.entries.get(name);
    if (!entry) return { ok: false, reason: `unknown diagnosis "${name}" (known: ${this.names().join(', ')})` };
    const r = entry.params.safeParse(params ?? {});
    if (!r.success) return { ok: false, reason: `invalid parameters for ${name}: ${zodReason(r.error)}` };
    return { ok: true, entry, params: r.data };
  }
}

/**
 * The agent's cap on a numeric parameter, for `.superRefine`: refuses `field > max` with a sentence
 * that says it is the agent's limit (`unless` exempts requests the cap does not concern).
 */
export function agentMax<T extends Record<string, unknown>>(field: keyof T & string, max: number, what: string, unless?: (p: T) => boolean): (p: T, ctx: z.RefinementCtx) => void {
  return (p, ctx) => {
    const v = p[field];
    if (typeof v === 'number' && v > max && !(unless?.(p) ?? false)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: `at most ${max} ${what} (the agent's cap; the CLI allows more)` });
    }
  };
}

/** One sentence from a zod error: `path: message; path: message`. */
export function zodReason(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * A canonical string of validated parameters (keys sorted), so two requests for the same diagnosis with
 * the same parameters are recognised as duplicates whatever their key order.
 */
export function canonicalParams(params: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(norm(params ?? {}));
}
