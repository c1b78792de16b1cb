/**
 * Kernel-log rules: data files (rules/inspect/*.json at the package root, plus any directory the user
 * names) that say which lines start a report, how to build its stable title, and which class, level
 * and finding it belongs to. This module validates them (zod) and compiles the regular expressions.
 *
 * Rule file shape (see rules/inspect/README.md):
 *   { "rules": [ { "header": "BUG:", "suppress": [re...], "formats": [ { "title": re, "report"?: re,
 *       "fmt": "BUG: soft lockup in {frame}", "stack"?: { "parts": [re | "@trace"], "parts2"?: [...],
 *       "skip"?: [re...], "extractor"?: "stall" | "hang" }, "noStack"?: bool, "kind"?: "...",
 *       "level"?: "...", "single"?: bool, "end"?: re } ], "event"?: bool } ],
 *     "stackSkip"?: [re...], "reportStartIgnores"?: [re...], "ignores"?: [re...],
 *     "kinds"?: [[titleRe, kind]...], "kindInfo"?: { KIND: { level, finding } } }
 *
 * Regexes may use the placeholders {{FUNC}} (a function name, captured), {{PC}} (an `[<addr>]`),
 * {{SRC}} (file.c:123, captured), {{ADDR}}, {{RIP}} (the faulting-instruction line of any architecture,
 * capturing its function), {{CALLTRACE}} (a call-trace heading) and {{TASK}} (a task name and pid).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NeedleScanner } from './needles.js';

import { ITEM_CLASSES, LevelSchema, type Level } from '../../contract/inspect.js';

export { ITEM_CLASSES, LEVELS, LevelSchema, type ItemClass, type Level } from '../../contract/inspect.js';

const StackSchema = z.object({
  parts: z.array(z.string()).min(1),
  parts2: z.array(z.string()).optional(),
  skip: z.array(z.string()).optional(),
  extractor: z.enum(['stall', 'hang']).optional(),
});

const FormatSchema = z.object({
  title: z.string(),
  report: z.string().optional(),
  fmt: z.string(),
  stack: StackSchema.optional(),
  noStack: z.boolean().optional(),
  kind: z.string().optional(),
  level: LevelSchema.optional(),
  /** The report is the header line alone (events such as an I/O error). */
  single: z.boolean().optional(),
  /** A line that ends the report (included). */
  end: z.string().optional(),
  /** Keep numbers in the captured text (device names, orders); by default they become NUM / ADDR. */
  keepNumbers: z.boolean().optional(),
});

const RuleSchema = z
  .object({
  header: z.string().min(1),
  /** The header is a regular expression rather than a literal … */
  headerRegex: z.boolean().optional(),
  /** … and then these literals (ASCII), one of which every header line contains, make scanning fast. */
  needles: z.array(z.string().min(3)).optional(),
  suppress: z.array(z.string()).optional(),
  /** Lines that, while a report of this rule is open in their context, belong to it (not new reports). */
  absorb: z.array(z.string()).optional(),
  /**
   * The rule's reports are events (an OOM kill, an I/O error) that may be printed in the middle of a
   * crash report: they are reported on their own and do not end the report they interrupt.
   */
  event: z.boolean().optional(),
  formats: z.array(FormatSchema).min(1),
  })
  .refine((r) => !r.headerRegex || (r.needles && r.needles.length > 0), { message: 'a headerRegex rule needs "needles"' });


export const KindInfoSchema = z.object({
  level: LevelSchema,
  /** The finding group: items of this kind become the finding `inspect.log.<finding>`. */
  finding: z.string().regex(/^[a-z0-9-]+$/),
  class: z.enum(ITEM_CLASSES).optional(),
  /** Report the kind only when it occurred at least this often (e.g. segfault storms). */
  minCount: z.number().int().positive().optional(),
});
export type KindInfo = z.infer<typeof KindInfoSchema>;

export const RuleFileSchema = z.object({
  description: z.string().optional(),
  rules: z.array(RuleSchema).default([]),
  stackSkip: z.array(z.string()).optional(),
  reportStartIgnores: z.array(z.string()).optional(),
  ignores: z.array(z.string()).optional(),
  kinds: z.array(z.tuple([z.string(), z.string()])).optional(),
  kindInfo: z.record(KindInfoSchema).optional(),
});
export type RuleFile = z.infer<typeof RuleFileSchema>;

export interface CompiledStack {
  parts: (RegExp | 'trace')[];
  parts2?: (RegExp | 'trace')[];
  skip?: RegExp;
  extractor?: 'stall' | 'hang';
}

export interface CompiledFormat {
  title: RegExp;
  report?: RegExp;
  fmt: string;
  stack?: CompiledStack;
  noStack: boolean;
  kind?: string;
  level?: Level;
  single: boolean;
  end?: RegExp;
  keepNumbers: boolean;
}

export interface CompiledRule {
  header: string;
  needles: string[];
  headerRe?: RegExp;
  suppress: RegExp[];
  absorb: RegExp[];
  event: boolean;
  formats: CompiledFormat[];
}

export interface RuleSet {
  rules: CompiledRule[];
  /** Any header's needle, for fast scanning of big inputs. */
  needles: NeedleScanner;
  stackSkip: RegExp;
  reportStartIgnores: RegExp[];
  ignores: RegExp[];
  kinds: [RegExp, string][];
  kindInfo: Record<string, KindInfo>;
  /** Which files the rules came from. */
  files: string[];
}

const PLACEHOLDERS: Record<string, string> = {
  '{{FUNC}}': '([a-zA-Z0-9_]+)(?:\\.|\\+)',
  '{{PC}}': '\\[<?(?:0x)?[0-9a-f]+>?\\]',
  '{{SRC}}': '([a-zA-Z0-9\\-_/.]+\\.[a-z]+:[0-9]+)',
  '{{ADDR}}': '(?:0x)?[0-9a-f]+',
  // The faulting instruction line of an oops: x86 `RIP: 0010:func+0x1/0x2`, powerpc `NIP`, arm64 `pc : func`,
  // arm `PC is at func`; user-space and unknown PCs (`RIP: 0033:0x4a1b`, `(null)`) match without a frame.
  '{{RIP}}':
    '(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\\[< *\\(null\\)>\\] +\\(null\\)|[0-9]+: +\\(null\\))',
  '{{CALLTRACE}}': '(?:Call (?:T|t)race:|Backtrace:)',
  // A task name and pid in a hung-task line (names may hold spaces and brackets).
  '{{TASK}}': '[\\s\\S]{0,100}?',
};

export function compileRegex(src: string, where: string, flags = ''): RegExp {
  let s = src;
  // Composite placeholders first ({{RIP}} holds {{PC}} and {{FUNC}}).
  for (const k of ['{{RIP}}', '{{CALLTRACE}}', '{{TASK}}']) s = s.split(k).join(PLACEHOLDERS[k]!);
  for (const [k, v] of Object.entries(PLACEHOLDERS)) s = s.split(k).join(v);
  try {
    return new RegExp(s, flags);
  } catch (err) {
    throw new Error(`${where}: bad regular expression ${JSON.stringify(src)}: ${(err as Error).message}`);
  }
}

/** The package root: the directory holding package.json, found from this module (src/ or dist/src/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'rules'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('cannot find the oscope package root (rules/ next to package.json)');
}

/** The built-in rules directory. */
export function builtinRulesDir(): string {
  return join(packageRoot(), 'rules', 'inspect');
}

/** Reads and validates every *.json in the directories, in name order. Throws naming the bad file. */
export function readRuleFiles(dirs: string[]): { file: string; data: RuleFile }[] {
  const out: { file: string; data: RuleFile }[] = [];
  for (const dir of dirs) {
    const names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    for (const name of names) {
      const file = join(dir, name);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
      }
      const r = RuleFileSchema.safeParse(json);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      out.push({ file, data: r.data });
    }
  }
  return out;
}

function compileStack(s: z.infer<typeof StackSchema>, where: string): CompiledStack {
  const part = (p: string, i: number): RegExp | 'trace' => (p === '@trace' ? 'trace' : compileRegex(p, `${where}.parts[${i}]`));
  return {
    parts: s.parts.map(part),
    parts2: s.parts2?.map(part),
    skip: s.skip && s.skip.length ? compileRegex(s.skip.join('|'), `${where}.skip`) : undefined,
    extractor: s.extractor,
  };
}

/** Compiles rule files (in order) into one rule set. */
export function compileRules(files: { file: string; data: RuleFile }[]): RuleSet {
  const rules: CompiledRule[] = [];
  const skip: string[] = [];
  const startIgnores: RegExp[] = [];
  const ignores: RegExp[] = [];
  const kinds: [RegExp, string][] = [];
  const kindInfo: Record<string, KindInfo> = {};
  for (const { file, data } of files) {
    data.rules.forEach((r, ri) => {
      const where = `${file}: rules[${ri}]`;
      rules.push({
        header: r.header,
        needles: r.headerRegex ? (r.needles ?? []) : [r.header],
        headerRe: r.headerRegex ? compileRegex(r.header, `${where}.header`) : undefined,
        suppress: (r.suppress ?? []).map((s, i) => compileRegex(s, `${where}.suppress[${i}]`)),
        absorb: (r.absorb ?? []).map((s, i) => compileRegex(s, `${where}.absorb[${i}]`)),
        event: r.event === true,
        formats: r.formats.map((f, fi) => {
          const fw = `${where}.formats[${fi}]`;
          return {
            title: compileRegex(f.title, `${fw}.title`, 'm'),
            report: f.report !== undefined ? compileRegex(f.report, `${fw}.report`, 'm') : undefined,
            fmt: f.fmt,
            stack: f.stack ? compileStack(f.stack, `${fw}.stack`) : undefined,
            noStack: f.noStack === true,
            kind: f.kind,
            level: f.level,
            single: f.single === true,
            end: f.end !== undefined ? compileRegex(f.end, `${fw}.end`, 'm') : undefined,
            keepNumbers: f.keepNumbers === true,
          };
        }),
      });
    });
    skip.push(...(data.stackSkip ?? []));
    (data.reportStartIgnores ?? []).forEach((s, i) => startIgnores.push(compileRegex(s, `${file}: reportStartIgnores[${i}]`)));
    (data.ignores ?? []).forEach((s, i) => ignores.push(compileRegex(s, `${file}: ignores[${i}]`)));
    (data.kinds ?? []).forEach(([re, kind], i) => kinds.push([compileRegex(re, `${file}: kinds[${i}]`), kind]));
    Object.assign(kindInfo, data.kindInfo ?? {});
  }
  return {
    rules,
    needles: new NeedleScanner(rules.flatMap((r) => r.needles)),
    stackSkip: skip.length ? compileRegex(skip.join('|'), 'stackSkip') : /(?!)/,
    reportStartIgnores: startIgnores,
    ignores,
    kinds,
    kindInfo,
    files: files.map((f) => f.file),
  };
}

let builtin: RuleSet | undefined;

/** The built-in rules plus the rule files in `extraDirs` (users' own rules), compiled. */
export function loadRules(extraDirs: string[] = []): RuleSet {
  if (extraDirs.length === 0 && builtin) return builtin;
  const set = compileRules(readRuleFiles([builtinRulesDir(), ...extraDirs]));
  if (extraDirs.length === 0) builtin = set;
  return set;
}
