import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  C,
  KPF,
  PAGE_CLASSES,
  type PageClass,
  classifyChunk,
  finishClassify,
  newClassifyState,
} from '../../../src/kernel/kpage/kpageflags.js';
import { flags, words } from './fake-host.js';

const F = KPF;

function classify(values: bigint[]): { r: ReturnType<typeof finishClassify>; out: Uint8Array } {
  const s = newClassifyState();
  const out = new Uint8Array(values.length);
  classifyChunk(words(values), s, { classOut: out });
  return { r: finishClassify(s), out };
}

function only(expected: Partial<Record<PageClass, number>>, got: Record<PageClass, number>): void {
  for (const c of PAGE_CLASSES) assert.equal(got[c], expected[c] ?? 0, `class ${c}`);
}

test('kpageflags: one page of every class', () => {
  const cases: [bigint, PageClass][] = [
    [flags(F.LRU, F.ACTIVE, F.UPTODATE, F.MMAP), 'lruActiveFile'],
    [flags(F.LRU, F.UPTODATE, F.DIRTY), 'lruInactiveFile'],
    [flags(F.LRU, F.ACTIVE, F.ANON, F.SWAPBACKED, F.MMAP), 'lruActiveAnon'],
    [flags(F.LRU, F.ANON, F.SWAPBACKED), 'lruInactiveAnon'],
    [flags(F.LRU, F.SWAPBACKED, F.UPTODATE), 'shmem'],
    [flags(F.LRU, F.UNEVICTABLE, F.MLOCKED, F.ANON), 'unevictable'],
    [flags(F.ANON, F.SWAPBACKED), 'offLru'],
    // The kernel can report ANON/KSM on slab pages (slab data in the mapping word): still slab.
    [flags(F.SLAB, F.ANON, F.KSM), 'slab'],
    [flags(F.BUDDY), 'buddy'],
    [flags(F.PGTABLE), 'pageTable'],
    [flags(F.HUGE), 'hugetlb'],
    [flags(F.RESERVED), 'reserved'],
    [flags(F.NOPAGE), 'nopage'],
    [flags(F.OFFLINE), 'offline'],
    [flags(F.ZERO_PAGE, F.RESERVED), 'zeroPage'],
    [flags(F.HWPOISON, F.LRU), 'hwpoison'],
    [flags(F.PRIVATE), 'flaggedOther'],
    [0n, 'other'],
  ];
  // Covers every class exactly once.
  assert.deepEqual(new Set(cases.map((c) => c[1])), new Set(PAGE_CLASSES));
  const { r, out } = classify(cases.map((c) => c[0]));
  assert.equal(r.pfns, cases.length);
  const expected: Partial<Record<PageClass, number>> = {};
  for (const [, c] of cases) expected[c] = 1;
  only(expected, r.classes);
  cases.forEach(([, c], i) => assert.equal(out[i], C[c], `classOut[${i}] is ${c}`));
  assert.equal(r.counters.mlocked, 1);
  assert.equal(r.counters.ksm, 0, 'KSM on a slab page is not counted');
  assert.equal(r.counters.anon, 4, 'anon counter: the four non-slab pages with ANON');
  assert.equal(r.counters.dirty, 1);
  assert.equal(r.counters.mmap, 2);
});

test('kpageflags: compound tails belong to their head', () => {
  const thpHead = flags(F.COMPOUND_HEAD, F.LRU, F.ACTIVE, F.ANON, F.SWAPBACKED, F.THP, F.MMAP);
  const thpTail = flags(F.COMPOUND_TAIL, F.THP);
  const slabHead = flags(F.COMPOUND_HEAD, F.SLAB);
  const slabTail = flags(F.COMPOUND_TAIL, F.SLAB, F.ANON); // ANON noise on a slab tail
  const hugeHead = flags(F.COMPOUND_HEAD, F.HUGE);
  const hugeTail = flags(F.COMPOUND_TAIL, F.HUGE);
  const kmallocHead = flags(F.COMPOUND_HEAD);
  const bareTail = flags(F.COMPOUND_TAIL);
  const values = [
    thpHead, ...Array<bigint>(511).fill(thpTail),
    slabHead, ...Array<bigint>(7).fill(slabTail),
    hugeHead, ...Array<bigint>(3).fill(hugeTail),
    kmallocHead, ...Array<bigint>(3).fill(bareTail),
    flags(F.NOPAGE),
    bareTail, // a tail with no head before it: classified by its own flags
  ];
  const { r } = classify(values);
  only({ lruActiveAnon: 512, slab: 8, hugetlb: 4, other: 4, nopage: 1, flaggedOther: 1 }, r.classes);
  assert.equal(r.counters.compoundHead, 4);
  assert.equal(r.counters.compoundTail, 511 + 7 + 3 + 3 + 1);
  assert.equal(r.counters.thp, 512);
  assert.equal(r.counters.anon, 1, 'slab tails do not count as anon');
});

test('kpageflags: compound state carries across chunks', () => {
  const head = flags(F.COMPOUND_HEAD, F.LRU, F.UPTODATE);
  const tail = flags(F.COMPOUND_TAIL);
  const values = [head, tail, tail, tail];
  const s = newClassifyState();
  const w = words(values);
  classifyChunk(w, s, { start: 0, count: 1 });
  classifyChunk(w, s, { start: 2, count: 3 });
  const r = finishClassify(s);
  only({ lruInactiveFile: 4 }, r.classes);
});

test('kpageflags: head-only BUDDY marking — free block tails inferred from alignment', () => {
  const used = flags(F.LRU, F.UPTODATE);
  const v: bigint[] = [];
  // PFN 0: an order-10 free block (1024 pages), only its first page marked.
  v.push(flags(F.BUDDY), ...Array<bigint>(1023).fill(0n));
  // PFN 1024..1027: used pages.
  v.push(used, used, used, used);
  // PFN 1028: a BUDDY head aligned to 4, then 5 flagless pages: only 3 can be in its block (1028..1031).
  v.push(flags(F.BUDDY), 0n, 0n, 0n, 0n, 0n);
  // PFN 1034: used, then PFN 1035 (odd): an order-0 free page followed by a flagless allocated page.
  v.push(used, flags(F.BUDDY), 0n);
  // PFN 1037: used; PFN 1038: BUDDY head, 1 flagless page, then a used page (order-1 block).
  v.push(used, flags(F.BUDDY), 0n, used);
  const { r } = classify(v);
  assert.equal(r.pfns, v.length);
  assert.equal(r.buddy.marking, 'head-only');
  assert.equal(r.buddy.flaggedPages, 4);
  assert.equal(r.buddy.inferredTailPages, 1023 + 3 + 1);
  only({ buddy: 4 + 1027, lruInactiveFile: 7, other: 2 + 1 }, r.classes);
});

test('kpageflags: all-pages BUDDY marking — flagless neighbours stay other', () => {
  const v: bigint[] = [
    ...Array<bigint>(64).fill(flags(F.BUDDY)), // one order-6 free block, every page marked
    0n, 0n, 0n, // allocated pages with no flags right after it
    flags(F.LRU),
    ...Array<bigint>(8).fill(flags(F.BUDDY)),
    0n,
  ];
  const { r } = classify(v);
  assert.equal(r.buddy.marking, 'all-pages');
  assert.equal(r.buddy.inferredTailPages, 0);
  only({ buddy: 72, other: 4, lruInactiveFile: 1 }, r.classes);
});

test('kpageflags: no free pages at all', () => {
  const { r } = classify([0n, flags(F.SLAB)]);
  assert.equal(r.buddy.marking, 'none');
  only({ other: 1, slab: 1 }, r.classes);
});

test('kpageflags: classifyChunk rejects counts beyond the words', () => {
  const s = newClassifyState();
  assert.throws(() => classifyChunk(new Uint32Array(4), s, { count: 3 }), RangeError);
  assert.throws(() => classifyChunk(new Uint32Array(4), s, { classOut: new Uint8Array(1) }), RangeError);
});
