import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOCUMENT_SCHEMA_BY_NAME, DOCUMENT_SCHEMAS } from '../../../src/contract/index.js';
import { ProfileDiffDocumentSchema, ProfileDocumentSchema } from '../../../src/contract/profile.js';
import { analyzeProfile } from '../../../src/diagnose/profile/analyze.js';
import type { CapturedFrame, CapturedStack, ProfileCapture } from '../../../src/diagnose/profile/collect.js';
import { cgroupMatcher, userFrames } from '../../../src/diagnose/profile/collect.js';
import { diffProfiles } from '../../../src/diagnose/profile/diff.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { profileDiffDocument, profileDocument, renderProfileDiffText, renderProfileText } from '../../../src/report/profile.js';
import { plainStyle } from '../../../src/report/text.js';

const u = (name: string, module = 'app'): CapturedFrame => ({ name, module, kernel: false });
const k = (name: string): CapturedFrame => ({ name, module: 'kernel', kernel: true });
const st = (pid: number, comm: string, frames: CapturedFrame[], count: number): CapturedStack => ({ pid, comm, frames, count });

export function capture(stacks: CapturedStack[], over: Partial<ProfileCapture> = {}): ProfileCapture {
  return { mode: 'cpu', event: 'cpu-clock', hz: 49, intervalS: 10, stacks, method: { sampling: 'test' }, coverage: [], ...over };
}

const base = [
  st(10, 'app', [u('main'), u('a')], 500),
  st(10, 'app', [u('main'), u('b')], 300),
  st(11, 'app2', [u('main'), u('rec'), u('rec'), u('c')], 150),
  st(11, 'app2', [u('main'), u('b'), k('do_syscall_64'), k('clear_page')], 50),
];

test('analyze: self and total shares, recursion counted once, stacks merged across processes, sorted', () => {
  const a = analyzeProfile(capture(base), resolveThresholds());
  assert.equal(a.samples, 1000);
  const fn = new Map(a.functions.map((f) => [f.name, f]));
  assert.deepEqual(a.functions.slice(0, 3).map((f) => f.name), ['a', 'b', 'c']);
  assert.equal(fn.get('a')!.selfPct, 50);
  assert.equal(fn.get('b')!.selfPct, 30);
  assert.equal(fn.get('b')!.totalPct, 35);
  assert.equal(fn.get('main')!.totalPct, 100);
  assert.equal(fn.get('main')!.selfSamples, 0);
  assert.equal(fn.get('rec')!.totalPct, 15, 'a recursive function counts once per sample');
  assert.equal(fn.get('clear_page')!.module, 'kernel');
  assert.deepEqual(a.processes.map((p) => [p.pid, p.samples]), [[10, 800], [11, 200]]);
  assert.deepEqual(a.stacks[0], { frames: ['main', 'a'], count: 500 });
  const ids = a.findings.map((f) => f.id);
  assert.ok(ids.includes('profile.function.hot'));
  assert.ok(!ids.includes('profile.kernel.high'), '5 % in the kernel is below the threshold');
  const hot = a.findings.find((f) => f.id === 'profile.function.hot')!;
  assert.equal(hot.params.function, 'a');
  assert.equal(hot.params.pid, 10);
});

test('analyze: kernel-heavy, unknown frames, few samples, off-CPU', () => {
  const t = resolveThresholds();
  const kernel = analyzeProfile(capture([st(1, 'x', [u('main'), k('do_syscall_64'), k('copy_user')], 400), st(1, 'x', [u('[unknown: no frame pointers]', ''), u('f')], 600)]), t);
  const ids = kernel.findings.map((f) => f.id);
  assert.ok(ids.includes('profile.kernel.high'));
  assert.ok(ids.includes('profile.symbols.missing'));
  assert.equal(kernel.findings.find((f) => f.id === 'profile.symbols.missing')!.params.reason, '[unknown: no frame pointers]');
  const few = analyzeProfile(capture([st(1, 'x', [u('f')], 5)]), t);
  assert.deepEqual(few.findings.map((f) => f.id), ['profile.samples.few']);
  const off = analyzeProfile(capture([st(1, 'x', [u('main'), u('read'), k('ksys_read'), k('io_schedule'), k('schedule'), k('__schedule')], 900_000), st(1, 'x', [u('main'), k('do_nanosleep')], 100_000)], { mode: 'off-cpu', hz: 0, event: 'sched_switch' }), t);
  assert.equal(off.unit, 'us');
  const b = off.findings.find((f) => f.id === 'profile.offcpu.blocked')!;
  assert.equal(b.params.function, 'io_schedule');
  assert.equal(b.params.blockedMs, 900);
});

test('document: validates against oscope.profile/v1, renders in en and zh-CN', () => {
  assert.ok((DOCUMENT_SCHEMAS as readonly string[]).includes('oscope.profile/v1'));
  const a = analyzeProfile(capture(base, { coverage: [{ section: 'event', status: 'partial', reason: 'no PMU here' }] }), resolveThresholds());
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = profileDocument(a, lang);
    ProfileDocumentSchema.parse(doc);
    DOCUMENT_SCHEMA_BY_NAME['oscope.profile/v1'].parse(doc);
    const text = renderProfileText(doc, lang, plainStyle);
    assert.ok(text.includes('clear_page'));
    assert.ok(text.includes('no PMU here'));
  }
  // The contract's field names, exactly.
  const doc = profileDocument(a, 'en');
  assert.deepEqual(Object.keys(doc.functions[0]!).sort(), ['module', 'name', 'selfPct', 'selfSamples', 'totalPct']);
  assert.deepEqual(Object.keys(doc.stacks[0]!).sort(), ['count', 'frames']);
  assert.deepEqual(Object.keys(doc.processes[0]!).sort(), ['comm', 'pid', 'samples']);
});

test('diff: what got hotter is on top, with a finding; shares not counts are compared', () => {
  const t = resolveThresholds();
  const before = profileDocument(analyzeProfile(capture(base), t), 'en');
  const after = profileDocument(
    analyzeProfile(capture([st(10, 'app', [u('main'), u('a')], 100), st(10, 'app', [u('main'), u('b')], 100), st(11, 'app2', [u('main'), u('c')], 200)], { intervalS: 5 }), t),
    'en',
  );
  const d = diffProfiles(before, after, t);
  assert.equal(d.doc.functions[0]!.name, 'c');
  assert.equal(d.doc.functions[0]!.deltaSelfPct, 35);
  assert.equal(d.doc.functions[d.doc.functions.length - 1]!.name, 'a');
  assert.equal(d.doc.functions.find((f) => f.name === 'a')!.deltaSelfPct, -25);
  assert.equal(d.findings[0]!.id, 'profile.diff.hotter');
  assert.equal(d.findings[0]!.params.function, 'c');
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = profileDiffDocument(d, lang);
    ProfileDiffDocumentSchema.parse(doc);
    assert.ok(renderProfileDiffText(doc, lang, plainStyle).includes('c'));
  }
});

test('user frames: an unwound chain that stops short gets [unknown: no frame pointers]; garbage past the entry is dropped', () => {
  const f = (name: string, known = true) => ({ name, module: 'x', known });
  assert.deepEqual(userFrames([f('work'), f('main'), f('__libc_start_call_main')]).map((x) => x.name), ['work', 'main', '__libc_start_call_main']);
  assert.deepEqual(userFrames([f('work'), f('main'), f('__libc_start_call_main'), f('[unknown: unmapped]', false)]).map((x) => x.name), ['work', 'main', '__libc_start_call_main']);
  assert.deepEqual(userFrames([f('work')]).map((x) => x.name), ['work', '[unknown: no frame pointers]']);
});

test('cgroup matcher: plain paths, controller prefixes and mount paths', () => {
  const entries = [
    { hierarchyId: 4, controllers: ['memory'], path: '/process_api/x' },
    { hierarchyId: 1, controllers: ['cpu'], path: '/' },
    { hierarchyId: 0, controllers: [], path: '/system.slice/a.service' },
  ];
  assert.equal(cgroupMatcher('/process_api')(entries), true);
  assert.equal(cgroupMatcher('memory:/process_api/x')(entries), true);
  assert.equal(cgroupMatcher('cpu:/process_api')(entries), false);
  assert.equal(cgroupMatcher('/sys/fs/cgroup/memory/process_api')(entries), true);
  assert.equal(cgroupMatcher('/sys/fs/cgroup/system.slice')(entries), true);
  assert.equal(cgroupMatcher('/elsewhere')(entries), false);
});
