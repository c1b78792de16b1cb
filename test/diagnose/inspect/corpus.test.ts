/**
 * The regression corpus: real console logs with their expected title and type (../shared/fixtures/
 * kernel-logs/syzkaller, see its README). With `--log FILE`, the first log item's title must equal the
 * file's TITLE or an ALT line, and its kind the file's TYPE; files without a report give no log item.
 *
 * The title algorithm was tuned by 2-fold cross-validation (see README, `oscope inspect`): on the
 * even-numbered files with the odd ones held out, then on the odd ones. Each half is measured and
 * held to >= 95 % titles and >= 98 % kinds on its own, so that a rule fitted to one file shows up as a
 * drop in one half rather than hiding in the total.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanLog } from '../../../src/diagnose/inspect/engine.js';
import { foldReports, sortItems } from '../../../src/diagnose/inspect/items.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { CORPUS_DIR, corpusAvailable, corpusNames, readCorpusCase } from './corpus.js';

const skip = corpusAvailable() ? false : `the corpus is not at ${CORPUS_DIR} (a sibling shared/ of the clone)`;

interface Tally {
  withTitle: number;
  titleOk: number;
  withType: number;
  typeOk: number;
  misses: string[];
}

const pct = (n: number, d: number): number => (d === 0 ? 100 : (100 * n) / d);

test('syzkaller corpus: titles and kinds on each half, and silence on clean logs', { skip }, () => {
  const rules = loadRules();
  const halves: Record<'even' | 'odd', Tally> = {
    even: { withTitle: 0, titleOk: 0, withType: 0, typeOk: 0, misses: [] },
    odd: { withTitle: 0, titleOk: 0, withType: 0, typeOk: 0, misses: [] },
  };
  const noisy: string[] = [];
  for (const name of corpusNames()) {
    const c = readCorpusCase(name);
    const { items, order } = foldReports(scanLog(c.log, rules), rules);
    const first = sortItems(items, order).find((it) => it.class === 'log');
    if (c.title === undefined) {
      if (first) noisy.push(`${name}: ${first.title}`);
      continue;
    }
    const h = halves[Number(name) % 2 === 0 ? 'even' : 'odd'];
    h.withTitle++;
    if (first && (first.title === c.title || c.alts.includes(first.title))) h.titleOk++;
    else h.misses.push(`${name}: want ${JSON.stringify(c.title)}, got ${JSON.stringify(first?.title)}`);
    if (c.type !== undefined) {
      h.withType++;
      if (first?.kind === c.type) h.typeOk++;
      else h.misses.push(`${name}: want kind ${c.type}, got ${String(first?.kind)}`);
    }
  }
  const all: Tally = {
    withTitle: halves.even.withTitle + halves.odd.withTitle,
    titleOk: halves.even.titleOk + halves.odd.titleOk,
    withType: halves.even.withType + halves.odd.withType,
    typeOk: halves.even.typeOk + halves.odd.typeOk,
    misses: [...halves.even.misses, ...halves.odd.misses],
  };
  for (const [label, t] of [['even', halves.even], ['odd', halves.odd], ['all', all]] as const) {
    console.log(
      `corpus ${label}: titles ${t.titleOk}/${t.withTitle} (${pct(t.titleOk, t.withTitle).toFixed(1)}%), ` +
        `kinds ${t.typeOk}/${t.withType} (${pct(t.typeOk, t.withType).toFixed(1)}%)`,
    );
  }
  assert.ok(all.withTitle >= 400, `the corpus has files (${all.withTitle})`);
  for (const [label, t] of [['even', halves.even], ['odd', halves.odd]] as const) {
    const tp = pct(t.titleOk, t.withTitle);
    const kp = pct(t.typeOk, t.withType);
    assert.ok(tp >= 95, `${label} half: titles ${tp.toFixed(1)}% < 95%; misses:\n${t.misses.join('\n')}`);
    assert.ok(kp >= 98, `${label} half: kinds ${kp.toFixed(1)}% < 98%; misses:\n${t.misses.join('\n')}`);
  }
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
