/**
 * The regression corpus: real console logs with their expected title and type (../shared/fixtures/
 * kernel-logs/syzkaller, see its README). Acceptance: with `--log FILE`, the first item's title equals
 * the file's TITLE or an ALT line for >= 90 % of the files that have one, its kind equals TYPE for
 * >= 95 %, and files without a report give no log item.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanLog } from '../../../src/diagnose/inspect/engine.js';
import { foldReports, sortItems } from '../../../src/diagnose/inspect/items.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { CORPUS_DIR, corpusAvailable, corpusNames, readCorpusCase } from './corpus.js';

const skip = corpusAvailable() ? false : `the corpus is not at ${CORPUS_DIR} (a sibling shared/ of the clone)`;

test('syzkaller corpus: titles, kinds, and silence on clean logs', { skip }, () => {
  const rules = loadRules();
  let withTitle = 0;
  let titleOk = 0;
  let withType = 0;
  let typeOk = 0;
  const noisy: string[] = [];
  const misses: string[] = [];
  for (const name of corpusNames()) {
    const c = readCorpusCase(name);
    const { items, order } = foldReports(scanLog(c.log, rules), rules);
    const first = sortItems(items, order).find((it) => it.class === 'log');
    if (c.title === undefined) {
      if (first) noisy.push(`${name}: ${first.title}`);
      continue;
    }
    withTitle++;
    if (first && (first.title === c.title || c.alts.includes(first.title))) titleOk++;
    else misses.push(`${name}: want ${JSON.stringify(c.title)}, got ${JSON.stringify(first?.title)}`);
    if (c.type !== undefined) {
      withType++;
      if (first?.kind === c.type) typeOk++;
    }
  }
  const titlePct = (100 * titleOk) / withTitle;
  const typePct = (100 * typeOk) / withType;
  console.log(`corpus: titles ${titleOk}/${withTitle} (${titlePct.toFixed(1)}%), kinds ${typeOk}/${withType} (${typePct.toFixed(1)}%)`);
  assert.ok(withTitle >= 400, `the corpus has files (${withTitle})`);
  assert.ok(titlePct >= 90, `titles ${titlePct.toFixed(1)}% < 90%; misses:\n${misses.join('\n')}`);
  assert.ok(typePct >= 95, `kinds ${typePct.toFixed(1)}% < 95%`);
  assert.deepEqual(noisy, [], 'files without a report give no log item');
});

test('syzkaller corpus: every report has a call trace when the log has one', { skip }, () => {
  const rules = loadRules();
  let withStack = 0;
  let total = 0;
  for (const name of corpusNames()) {
    const c = readCorpusCase(name);
    if (!c.type || !/Call Trace:|Call trace:/.test(c.log)) continue;
    const reps = scanLog(c.log, rules);
    if (reps.length === 0) continue;
    total++;
    if (reps[0]!.stack.length > 0) withStack++;
  }
  assert.ok(withStack / total >= 0.9, `stacks extracted for ${withStack}/${total}`);
});
