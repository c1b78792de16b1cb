import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LANGS, formatMessage, langFromEnv, messages } from '../../src/report/i18n/index.js';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

test('i18n: every catalog has the same keys and placeholders as English', () => {
  const en = messages('en');
  for (const lang of LANGS) {
    const c = messages(lang);
    assert.deepEqual(Object.keys(c.findings).sort(), Object.keys(en.findings).sort(), `${lang} finding ids`);
    assert.deepEqual(Object.keys(c.text).sort(), Object.keys(en.text).sort(), `${lang} text keys`);
    for (const [id, f] of Object.entries(en.findings)) {
      const g = c.findings[id]!;
      assert.deepEqual(placeholders(g.title), placeholders(f.title), `${lang} ${id} title`);
      assert.deepEqual(placeholders(g.conclusion), placeholders(f.conclusion), `${lang} ${id} conclusion`);
      assert.equal(g.suggestions.length, f.suggestions.length, `${lang} ${id} suggestions`);
      g.suggestions.forEach((s, i) => assert.deepEqual(placeholders(s), placeholders(f.suggestions[i]!), `${lang} ${id} suggestion ${i}`));
    }
    for (const [k, v] of Object.entries(en.text)) assert.deepEqual(placeholders(c.text[k]!), placeholders(v), `${lang} text ${k}`);
  }
});

test('i18n: no template repeats the unit its formatter prints (Pct → %, Ms → ms)', () => {
  const doubled = /\{\w+Pct\}\s*%|\{\w+Ms\}\s*ms\b|\{\w+Bytes\}\s*(?:B|bytes|KiB|MiB|GiB)\b/;
  for (const lang of LANGS) {
    const c = messages(lang);
    const all: Array<[string, string]> = Object.entries(c.text);
    for (const [id, f] of Object.entries(c.findings)) all.push([`${id} title`, f.title], [`${id} conclusion`, f.conclusion], ...f.suggestions.map((s, i): [string, string] => [`${id} suggestion ${i}`, s]));
    for (const [where, text] of all) assert.doesNotMatch(text, doubled, `${lang} ${where}`);
  }
});

test('i18n: params are formatted by their name', () => {
  assert.equal(formatMessage('{sizeBytes} {ratePct} {n} {latMs}', { sizeBytes: 1536, ratePct: 12.5, n: 1234567, latMs: 12.3 }, 'en'), '1.50 KiB 13% 1,234,567 12.3 ms');
  assert.equal(formatMessage('{missing}', {}, 'en'), '{missing}');
  assert.equal(formatMessage('chrt -p {culpritPid}; cpu {cpu}; pid {pid}; {count}', { culpritPid: 14928, cpu: 1, pid: 12345, count: 12345 }, 'en'), 'chrt -p 14928; cpu 1; pid 12345; 12,345');
});

test('i18n: language from the locale', () => {
  assert.equal(langFromEnv({ LANG: 'zh_CN.UTF-8' }), 'zh-CN');
  assert.equal(langFromEnv({ LANG: 'en_US.UTF-8' }), 'en');
  assert.equal(langFromEnv({ LC_ALL: 'zh_TW.UTF-8', LANG: 'en_US.UTF-8' }), 'zh-CN');
  assert.equal(langFromEnv({}), 'en');
});
