/**
 * Golden documents, node_exporter's end-to-end style: for every committed bundle in
 * test/fixtures/bundles/ and every command below, `oscope <command> --from <bundle> --json` (run as a
 * user runs it, through bin/oscope → dist/src/cli/main.js) must equal
 * test/fixtures/golden/<bundle>.<command>.json field for field, after normalising what changes from run
 * to run or from checkout to checkout (see `normalize`). And every *.json under test/fixtures/golden/
 * (whoever added it) must pass the zod schema its `schema` field names (DOCUMENT_SCHEMA_BY_NAME).
 *
 * The bundles: `vm-*` captured from the development VM with `oscope capture -o … --no-kpage`;
 * `fixture-*` built from test/fixtures by test/support/fixture-bundles.ts (other kernels and cgroup
 * layouts; rebuild them with `node scripts/fixture-bundles.mjs`).
 *
 * A change in behaviour shows here as a diff of the golden. When the change is intended, regenerate
 * the goldens and review the diff before committing it:
 *
 *   npx tsc -p tsconfig.json && OSCOPE_UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden
 *   git diff test/fixtures/golden/
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCUMENT_SCHEMA_BY_NAME } from '../../src/contract/index.js';
import { REPO_ROOT, fixturePath } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'oscope');
const BUNDLES_DIR = fixturePath('bundles');
const GOLDEN_DIR = fixturePath('golden');
const UPDATE = process.env.OSCOPE_UPDATE_GOLDEN === '1';

/** The commands pinned by a golden per bundle (filecache adds its own goldens next to these). */
/**
 * Host bundles (`vm-*`, `fixture-*`) hold what mem and inspect read; both are compared here. Other
 * bundles belong to one area's own golden test (filecache-golden: test/diagnose/filecache/golden.test.ts,
 * run with thresholds that make every finding fire); their goldens are still schema-checked below.
 */
const COMMANDS = ['mem', 'inspect'] as const;
const isHostBundle = (b: string): boolean => b.startsWith('vm-') || b.startsWith('fixture-');

/** Keys whose value differs on every run: replaced by a fixed value of the same type. */
const VOLATILE: Record<string, unknown> = { generatedAt: '1970-01-01T00:00:00.000Z', durationMs: 0 };

/** Volatile fields fixed, paths inside this checkout made relative (rule files are listed by path). */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k in VOLATILE && v !== null ? VOLATILE[k] : normalize(v);
    return out;
  }
  if (typeof value === 'string' && value.startsWith(`${REPO_ROOT}/`)) return value.slice(REPO_ROOT.length + 1);
  return value;
}

function oscope(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const bundles = existsSync(BUNDLES_DIR) ? readdirSync(BUNDLES_DIR).filter((f) => f.endsWith('.tar.gz')).sort() : [];

test('golden: there are bundles of this VM and of fixture hosts (cgroup v1 and v2), and the io capture bundle', () => {
  assert.ok(bundles.includes('io-golden.tar.gz'), 'io-golden.tar.gz (test/support/make-io-bundle.ts)');
  assert.ok(bundles.some((b) => b.startsWith('vm-')), `a bundle captured from the VM in ${BUNDLES_DIR}`);
  assert.ok(bundles.some((b) => b.includes('cgroup-v1')) && bundles.some((b) => b.includes('cgroup-v2')), 'fixture bundles of both cgroup versions');
});

/** The (bundle, command) pairs to compare: every host bundle's mem and inspect. */
const pairs: { bundle: string; name: string; command: string }[] = [];
for (const bundle of bundles) {
  const name = bundle.slice(0, -'.tar.gz'.length);
  for (const command of COMMANDS) {
    if (isHostBundle(bundle)) pairs.push({ bundle, name, command });
  }
}

/** Bundles that hold one area's capture only, with the command that analyses it (its golden: <bundle>.<command>.json). */
const CAPTURE_BUNDLES: Record<string, string> = { 'io-golden.tar.gz': 'io' };
for (const [bundle, command] of Object.entries(CAPTURE_BUNDLES)) {
  if (bundles.includes(bundle)) pairs.push({ bundle, name: bundle.slice(0, -'.tar.gz'.length), command });
}

for (const { bundle, name, command } of pairs) {
  {
    test(`golden: oscope ${command} --from ${bundle} --json equals ${name}.${command}.json`, () => {
      const r = oscope([command, '--from', join(BUNDLES_DIR, bundle), '--json', '--lang', 'en']);
      assert.equal(r.code, 0, r.stderr);
      const got = normalize(JSON.parse(r.stdout));
      const file = join(GOLDEN_DIR, `${name}.${command}.json`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, `${JSON.stringify(got, null, 2)}\n`);
        return;
      }
      assert.ok(existsSync(file), `no golden ${file}: run OSCOPE_UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden`);
      assert.deepEqual(got, JSON.parse(readFileSync(file, 'utf8')));
    });
  }
}

test('golden: every committed golden document passes the schema it names', () => {
  const files = existsSync(GOLDEN_DIR) ? readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json')).sort() : [];
  assert.ok(files.length >= pairs.length, `goldens in ${GOLDEN_DIR}`);
  for (const f of files) {
    const doc = JSON.parse(readFileSync(join(GOLDEN_DIR, f), 'utf8')) as { schema?: unknown };
    const schema = typeof doc.schema === 'string' ? (DOCUMENT_SCHEMA_BY_NAME as Record<string, (typeof DOCUMENT_SCHEMA_BY_NAME)[keyof typeof DOCUMENT_SCHEMA_BY_NAME] | undefined>)[doc.schema] : undefined;
    assert.ok(schema, `${f}: unknown document schema ${JSON.stringify(doc.schema)}`);
    const parsed = schema.safeParse(doc);
    assert.ok(parsed.success, `${f}: ${parsed.success ? '' : parsed.error.message}`);
  }
});
