import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { analyzeProfile } from '../../src/diagnose/profile/analyze.js';
import { resolveThresholds } from '../../src/diagnose/thresholds.js';
import { profileDocument } from '../../src/report/profile.js';
import { decodePprof, parseFolded, toFlameGraphSvg, toFolded, toPprof, toSpeedscope } from '../../src/report/profile-formats.js';

const frame = (name: string, module = 'app', kernel = false) => ({ name, module, kernel });
const doc = profileDocument(
  analyzeProfile(
    {
      mode: 'cpu',
      event: 'cpu-clock',
      hz: 49,
      intervalS: 10,
      stacks: [
        { pid: 1, comm: 'a', frames: [frame('main'), frame('work;odd <name>')], count: 70 },
        { pid: 1, comm: 'a', frames: [frame('main'), frame('read'), frame('do_syscall_64', 'kernel', true), frame('copy_to_user', 'kernel', true)], count: 20 },
        { pid: 2, comm: 'b', frames: [frame('[unknown: no frame pointers]', ''), frame('spin', 'libx.so')], count: 10 },
      ],
      method: {},
      coverage: [],
    },
    resolveThresholds(),
  ),
  'en',
);
const asSet = (xs: Array<{ frames: string[]; count: number }>): string[] => xs.map((s) => `${s.frames.join(';')} ${s.count}`).sort();

test('folded: one line per stack root first, kernel frames _[k], separators escaped; parses back', () => {
  const text = toFolded(doc);
  assert.ok(text.includes('main;read;do_syscall_64_[k];copy_to_user_[k] 20\n'));
  assert.ok(text.includes('main;work:odd <name> 70'));
  const back = parseFolded(text);
  assert.equal(back.reduce((a, s) => a + s.count, 0), 100);
  assert.equal(back.length, 3);
});

test('pprof: gzipped profile.proto that decodes back to the same stacks and sample types', () => {
  const bytes = toPprof(doc, 1_700_000_000_000);
  assert.equal(bytes[0], 0x1f);
  assert.equal(bytes[1], 0x8b);
  const d = decodePprof(bytes);
  assert.deepEqual(d.sampleTypes, ['samples/count', 'cpu/nanoseconds']);
  assert.deepEqual(asSet(d.stacks), asSet(doc.stacks));
  // And through the library's own decoder: leaf first, the cpu value is count × period.
  const p = Profile.decode(gunzipSync(bytes));
  const s0 = p.sample.find((s) => Number(s.value[0]) === 20)!;
  assert.equal(Number(s0.value[1]), 20 * Math.round(1e9 / 49));
  assert.equal(Number(p.durationNanos), 10e9);
  const fnName = (id: number | bigint): string => p.stringTable.strings[Number(p.function.find((f) => Number(f.id) === Number(p.location.find((l) => Number(l.id) === Number(id))!.line[0]!.functionId))!.name)]!;
  assert.equal(fnName(s0.locationId[0]!), 'copy_to_user');
});

test('speedscope: a sampled profile whose frames, samples and weights rebuild the stacks', () => {
  const s = toSpeedscope(doc);
  assert.equal(s.$schema, 'https://www.speedscope.app/file-format-schema.json');
  const p = s.profiles[0]!;
  assert.equal(p.type, 'sampled');
  assert.equal(p.samples.length, p.weights.length);
  assert.equal(p.endValue, 100);
  const rebuilt = p.samples.map((ids, i) => ({ frames: ids.map((id) => s.shared.frames[id]!.name), count: p.weights[i]! }));
  assert.deepEqual(asSet(rebuilt), asSet(doc.stacks));
  assert.equal(s.shared.frames.find((f) => f.name === 'spin')!.file, 'libx.so');
  JSON.parse(JSON.stringify(s));
});

test('svg: standalone, every frame drawn with its share, escaped names, click-to-zoom and search script', () => {
  const svg = toFlameGraphSvg(doc);
  assert.ok(svg.startsWith('<?xml'));
  assert.ok(svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes('<script type="text/ecmascript"><![CDATA['));
  assert.ok(!/<script[^>]+src=/.test(svg) && !svg.includes('href="http'), 'nothing is loaded from elsewhere');
  assert.ok(svg.includes('work;odd &lt;name&gt;'));
  assert.ok(svg.includes('copy_to_user [kernel] (20 samples, 20.00%)'));
  assert.ok(svg.includes("addEventListener('click'"));
  assert.ok(svg.includes('id="search"'));
  // one <g> per node of the tree: all, main, work, read, do_syscall_64, copy_to_user, unknown, spin
  assert.equal((svg.match(/<g class="f"/g) ?? []).length, 8);
});
