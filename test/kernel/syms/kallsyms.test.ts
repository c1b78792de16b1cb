import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import {
  KALLSYMS_PATH,
  MAX_SYMBOL_SPAN,
  formatFrame,
  parseKallsyms,
  readKallsyms,
  symbolize,
} from '../../../src/kernel/syms/kallsyms.js';
import { fixture, fuzzParser, isRoot, prng } from '../../helpers.js';

test('kallsyms: real 6.18 sample parses, aliases resolve to the global text name', () => {
  const t = parseKallsyms(fixture('syms', 'kallsyms-6.18-sample'));
  assert.equal(t.restricted, false);
  assert.ok(t.count > 1000);
  // _stext, _text and srso_alias_untrain_ret share 0xffffffff81000000: a T name, first in file order.
  assert.equal(t.lookup(0xffffffff81000000n)?.name, 'srso_alias_untrain_ret');
  const exec = t.address('bprm_execve');
  assert.ok(exec !== undefined);
  assert.equal(t.format(exec + 0x42n), 'bprm_execve+0x42');
  assert.equal(t.format(exec), 'bprm_execve');
});

test('kallsyms: BPF programs and modules are named with their [module]', () => {
  const t = parseKallsyms(fixture('syms', 'kallsyms-modules'));
  const [a, b, c, d] = t.symbolize([0xffffffffc0201810n, 0xffffffffc0010cd0n, 0xffffffff81a0b9a5n, 0xffffffffc0300404n]);
  assert.equal(a!.text, 'xfs_iget+0x10 [xfs]');
  assert.equal(a!.module, 'xfs');
  assert.equal(b!.text, 'bpf_prog_399a68c1771300ff_oscope_st_btf+0x10 [bpf]');
  assert.equal(c!.text, 'do_execveat_common.isra.0+0x5');
  assert.equal(d!.text, 'nf_ct_get_tuple+0x4 [nf_conntrack]');
  // Global T wins over the local alias at the same address.
  assert.equal(t.lookup(0xffffffff81000000n)?.name, '_stext');
  // __pfx_ padding symbols own only their padding.
  assert.equal(t.format(0xffffffff81a0b2f8n), '__pfx_bprm_execve+0x8');
  assert.equal(t.format(0xffffffff81a0b300n), 'bprm_execve');
});

test('kallsyms: absolute symbols, addresses below the first symbol and far gaps stay unresolved', () => {
  const t = parseKallsyms(fixture('syms', 'kallsyms-modules'));
  assert.equal(t.lookup(0x1000n), undefined, 'per-CPU offsets (A) are not code');
  assert.equal(t.lookup(0xffffffff80000000n), undefined);
  const far = 0xffffffff82200000n + MAX_SYMBOL_SPAN + 1n; // past init_task by more than the span
  assert.equal(t.lookup(far), undefined);
  assert.equal(t.format(far), `0x${far.toString(16)}`);
  assert.equal(formatFrame({ address: 0x10n }), '0x0000000000000010');
});

test('kallsyms: zero addresses mean kptr_restrict hides them, and say so', () => {
  const t = parseKallsyms(fixture('syms', 'kallsyms-restricted'));
  assert.equal(t.restricted, true);
  assert.match(t.restrictedReason ?? '', /kptr_restrict/);
  assert.equal(t.size, 0);
  assert.equal(t.symbolize([0xffffffff81000010n])[0]!.symbol, undefined);
  assert.equal(parseKallsyms(fixture('syms', 'kallsyms-modules')).restrictedReason, undefined);
});

test('kallsyms: malformed lines name file and line', () => {
  assert.throws(
    () => parseKallsyms('ffffffff81000000 T _stext\nnot a symbol line\n'),
    (e: unknown) => e instanceof ParseError && e.line === 2 && e.file === KALLSYMS_PATH,
  );
  assert.throws(() => parseKallsyms(''), (e: unknown) => e instanceof ParseError && e.line === 1);
  assert.throws(() => parseKallsyms('ffffffff81000000 T _stext\tmodule-without-brackets\n'), ParseError);
  assert.throws(() => parseKallsyms('1ffffffff81000000 T toolong\n'), ParseError);
});

test('kallsyms: fuzzed input never crashes', () => {
  fuzzParser((t) => parseKallsyms(t), fixture('syms', 'kallsyms-modules'), KALLSYMS_PATH, 500);
  fuzzParser((t) => parseKallsyms(t), fixture('syms', 'kallsyms-6.18-sample').split('\n').slice(0, 80).join('\n'), KALLSYMS_PATH, 300);
});

test('kallsyms: lookup agrees with a linear scan on random addresses', () => {
  const text = fixture('syms', 'kallsyms-6.18-sample');
  const t = parseKallsyms(text);
  const syms = text
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((p) => p[1] !== 'A' && p[1] !== 'a')
    .map((p) => BigInt(`0x${p[0]!}`))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lo = syms[0]!;
  const hi = syms[syms.length - 1]!;
  const rnd = prng(7);
  for (let i = 0; i < 2000; i++) {
    const addr = lo - 16n + (BigInt(Math.floor(rnd() * 2 ** 32)) * (hi - lo + 32n)) / 2n ** 32n;
    let best: bigint | undefined;
    for (const s of syms) if (s <= addr) best = s;
    const got = t.lookup(addr);
    if (best === undefined || addr - best >= MAX_SYMBOL_SPAN) assert.equal(got, undefined);
    else assert.equal(got?.offset, addr - best, `address 0x${addr.toString(16)}`);
  }
});

test('kallsyms: live /proc/kallsyms symbolises its own symbols', async () => {
  const host = new LiveHost();
  const t = await readKallsyms(host);
  assert.ok(t.count > 1000);
  if (!isRoot || t.restricted) {
    assert.ok(t.restrictedReason || !isRoot);
    return;
  }
  const a = t.address('schedule');
  assert.ok(a !== undefined, 'schedule is in kallsyms');
  const [f] = await symbolize(host, [a + 4n]);
  assert.equal(f!.text, 'schedule+0x4');
});
