/**
 * Shared test helpers. Tests run from dist/test/ (compiled); fixtures stay in the source tree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseError } from '../src/kernel/errors.js';

/** The repository root (dist/test/helpers.js → ../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixturePath(...parts: string[]): string {
  return join(REPO_ROOT, 'test', 'fixtures', ...parts);
}

export function fixture(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}

/**
 * `make unit` (OSCOPE_TEST_GROUP=unit) runs the pure tests only: parsers, analyses on fixtures and
 * bundles, rendering, contracts. Every test that needs root (live kernel scenarios, BPF, containers,
 * PostgreSQL, the browser) then skips, saying where it runs; `make test` runs everything.
 */
export const unitOnly = process.env.OSCOPE_TEST_GROUP === 'unit';

export const isRoot = !unitOnly && typeof process.geteuid === 'function' && process.geteuid() === 0;

/** `skip` option for node:test: a reason string when not root, else false. */
export const needsRoot: string | false = unitOnly ? 'a live test: `make unit` runs pure tests only (`make test` runs it)' : isRoot ? false : 'needs root';

/** A unique name with the prefix every test artefact carries. */
export function testName(what: string): string {
  return `oscope-test-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A small deterministic PRNG (mulberry32) so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mutations of a valid sample: truncation, digits → letters, dropped/duplicated tokens and lines, junk. */
export function mutations(sample: string, count = 300, seed = 1): string[] {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: string[] = ['', '\n', ' ', 'garbage', '\0\0\0', sample.slice(0, Math.floor(sample.length / 2))];
  const junk = ['x', '-', ':', '  ', '\t', '99999999999999999999999', 'NaN', '\u00ff', '\n', '(', ')'];
  for (let i = 0; i < count; i++) {
    const lines = sample.split('\n');
    const li = Math.floor(rnd() * lines.length);
    const line = lines[li] ?? '';
    switch (Math.floor(rnd() * 7)) {
      case 0:
        lines[li] = line.slice(0, Math.floor(rnd() * line.length));
        break;
      case 1:
        lines[li] = line.replace(/\d/g, (d) => (rnd() < 0.3 ? 'z' : d));
        break;
      case 2: {
        const toks = line.split(/(\s+)/);
        toks.splice(Math.floor(rnd() * toks.length), 1);
        lines[li] = toks.join('');
        break;
      }
      case 3:
        lines.splice(li, 1);
        break;
      case 4:
        lines.splice(li, 0, line, line);
        break;
      case 5: {
        const at = Math.floor(rnd() * (line.length + 1));
        lines[li] = line.slice(0, at) + pick(junk) + line.slice(at);
        break;
      }
      default:
        return [...out, ...mutationsTail(sample, rnd, count - i)];
    }
    out.push(lines.join('\n'));
  }
  return out;
}

function mutationsTail(sample: string, rnd: () => number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.from(sample, 'utf8');
    for (let k = 0; k < 4; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
    out.push(bytes.toString('latin1'));
  }
  return out;
}

/**
 * Fuzzes a parser with mutations of a valid sample: every input must either parse or throw a
 * ParseError naming `file` with a line number within the input. Anything else fails the test.
 */
export function fuzzParser(parse: (text: string) => unknown, sample: string, file: string, count = 300): void {
  for (const input of mutations(sample, count)) {
    try {
      parse(input);
    } catch (err) {
      if (!(err instanceof ParseError)) {
        assert.fail(`parser threw ${String(err)} instead of a ParseError for input:\n${input.slice(0, 500)}`);
      }
      assert.equal(err.file, file, 'ParseError names the file');
      assert.ok(err.line >= 1 && err.line <= input.split('\n').length + 1, `line ${err.line} is within the input`);
    }
  }
}
