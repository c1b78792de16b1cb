#!/usr/bin/env node
// Rebuilds the fixture bundles of the golden tests (test/fixtures/bundles/fixture-*.tar.gz) from the
// specs in test/support/fixture-bundles.ts. Build first (npx tsc -p tsconfig.json); afterwards
// regenerate the goldens: OSCOPE_UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden
// Optional arguments: bundle names to rebuild (default: all).
import { FIXTURE_BUNDLES, writeFixtureBundle } from '../dist/test/support/fixture-bundles.js';

const want = process.argv.slice(2);
for (const spec of FIXTURE_BUNDLES) {
  if (want.length > 0 && !want.includes(spec.name)) continue;
  const out = await writeFixtureBundle(spec, 'test/fixtures/bundles');
  console.log(`wrote ${out}`);
}
