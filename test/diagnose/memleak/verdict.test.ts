/**
 * The verdict as a finding, made in src/diagnose/memleak/ (the console used to invent it):
 * memleak.verdict.leaking when leaking and nothing above info says so already, memleak.verdict.clean
 * otherwise when not leaking; worded in en and zh-CN, conclusion = the verdict's reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawFinding } from '../../../src/contract/common.js';
import { type MemleakAnalysis, checkVerdict, instantCheck, verdictFinding, withVerdictFinding } from '../../../src/diagnose/memleak/analyze.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { t } from '../../../src/report/i18n/index.js';
import { MemleakDocumentSchema, memleakDocument, renderMemleakText } from '../../../src/report/memleak.js';
import { plainStyle } from '../../../src/report/text.js';

const MiB = 1024 * 1024;
const th = resolveThresholds();

function analysis(over: Partial<MemleakAnalysis>): MemleakAnalysis {
  return { type: 'slab', durationS: 60, verdict: { leaking: false, kind: null, confidence: 'none', reason: { key: 'memleak.reason.no-growth', params: { durationS: 60, name: 'dentry', rateBytes: 0, type: 'slab' } } }, growth: [], callsites: [], findings: [], method: {}, coverage: [], ...over };
}

const leaking = (confidence: 'medium' | 'high') => ({
  leaking: true,
  kind: 'slab' as const,
  confidence,
  reason: { key: 'memleak.reason.confirmed', params: { name: 'eventpoll_epi (fib6_node)', rateBytes: MiB, growthBytes: 60 * MiB, durationS: 60, outstandingBytes: 5 * MiB, symbol: 'do_epoll_ctl+0x3dc', minAgeS: 20, fitPct: 99, monotonicPct: 100 } },
});

function noPlaceholders(s: string): void {
  assert.doesNotMatch(s, /\{\w+\}/, s);
}

test('verdict finding: leaking → memleak.verdict.leaking (warning, critical at high confidence), unless a finding says it', () => {
  const medium = verdictFinding(analysis({ verdict: leaking('medium') }), 'eventpoll_epi')!;
  assert.deepEqual([medium.id, medium.severity, medium.params.cache, medium.params.kind], ['memleak.verdict.leaking', 'warning', 'eventpoll_epi', 'slab']);
  assert.equal(medium.extraSuggestions?.[0]?.key, 'memleak.suggest.verdict.slab');
  assert.equal(verdictFinding(analysis({ verdict: leaking('high') }))!.severity, 'critical');
  const said: RawFinding = { id: 'mem.kernel.leak', severity: 'warning', params: {}, evidence: {} };
  assert.equal(verdictFinding(analysis({ verdict: leaking('high'), findings: [said] })), undefined);
  // An info finding does not say "leaking".
  assert.equal(verdictFinding(analysis({ verdict: leaking('high'), findings: [{ ...said, severity: 'info' }] }))?.id, 'memleak.verdict.leaking');
});

test('verdict finding: not leaking → memleak.verdict.clean (info), with the next command to run', () => {
  const watch = verdictFinding(analysis({}))!;
  assert.deepEqual([watch.id, watch.severity], ['memleak.verdict.clean', 'info']);
  assert.deepEqual([watch.extraSuggestions?.[0]?.key, watch.extraSuggestions?.[0]?.params.longerS], ['memleak.suggest.verdict.longer', 300]);
  const quiet = instantCheck({ memTotalBytes: 16 * 1024 * MiB, slabUnreclaimableBytes: 300 * MiB, vmallocBytes: 50 * MiB, unaccountedBytes: 100 * MiB }, th);
  const ok = withVerdictFinding(analysis({ type: 'check', durationS: 0, verdict: checkVerdict(quiet), findings: quiet.findings }));
  assert.deepEqual(ok.findings.map((f) => f.id), ['memleak.verdict.clean']);
  assert.equal(ok.findings[0]!.extraSuggestions?.[0]?.key, 'memleak.suggest.verdict.check');
  const high = instantCheck({ memTotalBytes: 1024 * MiB, slabUnreclaimableBytes: 512 * MiB, vmallocBytes: 0, unaccountedBytes: 0 }, th);
  const hi = withVerdictFinding(analysis({ type: 'check', durationS: 0, verdict: checkVerdict(high), findings: high.findings }));
  assert.deepEqual(hi.findings.map((f) => f.id), ['mem.kernel.leak-suspect', 'memleak.verdict.clean']);
  assert.equal(hi.findings[1]!.extraSuggestions?.[0]?.key, 'memleak.suggest.verdict.check-high');
});

test('verdict finding: both languages render it, the conclusion is the verdict reason, no missing key', () => {
  const cases: MemleakAnalysis[] = [
    withVerdictFinding(analysis({ verdict: leaking('high') }), 'eventpoll_epi'),
    withVerdictFinding(analysis({ type: 'vmalloc', verdict: { ...leaking('medium'), kind: 'vmalloc' } }), 'nf_ct_alloc_hashtable [nf_conntrack]'),
    withVerdictFinding(analysis({ type: 'page', verdict: { ...leaking('medium'), kind: 'page' } }), 'unaccounted'),
    withVerdictFinding(analysis({})),
  ];
  const high = instantCheck({ memTotalBytes: 1024 * MiB, slabUnreclaimableBytes: 512 * MiB, vmallocBytes: 0, unaccountedBytes: 0 }, th);
  cases.push(withVerdictFinding(analysis({ type: 'check', durationS: 0, verdict: checkVerdict(high), findings: high.findings })));
  const quiet = instantCheck({ memTotalBytes: 1024 * MiB, slabUnreclaimableBytes: 0, vmallocBytes: 0, unaccountedBytes: 0 }, th);
  cases.push(withVerdictFinding(analysis({ type: 'check', durationS: 0, verdict: checkVerdict(quiet), findings: quiet.findings })));
  for (const a of cases) {
    for (const lang of ['en', 'zh-CN'] as const) {
      const doc = MemleakDocumentSchema.parse(memleakDocument(a, lang));
      const f = doc.findings.find((x) => x.id.startsWith('memleak.verdict.'));
      assert.ok(f, `${a.type} ${lang}: no verdict finding`);
      assert.equal(f.conclusion, t(lang, a.verdict.reason.key, a.verdict.reason.params));
      assert.ok(f.suggestions.length >= 1, `${f.id} ${lang}: a suggestion`);
      for (const s of [f.title, f.conclusion, ...f.suggestions]) noPlaceholders(s);
      assert.ok(!f.suggestions.some((s) => /^memleak\.suggest\./.test(s)), 'every suggestion key is in the catalog');
      noPlaceholders(renderMemleakText(doc, lang, plainStyle));
    }
  }
  const vm = memleakDocument(cases[1]!, 'en').findings.find((x) => x.id === 'memleak.verdict.leaking')!;
  assert.match(vm.suggestions.join(' '), /oscope memleak -t vmalloc --cache "nf_ct_alloc_hashtable \[nf_conntrack\]" -i 300/);
});
