/**
 * The syzkaller console-log corpus (../shared/fixtures/kernel-logs/syzkaller, see its README): each
 * file has header lines (TITLE, ALT, TYPE, CORRUPTED, …), a blank line, then the raw log. A missing or
 * empty TITLE means the log holds no report.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../helpers.js';

export interface CorpusCase {
  name: string;
  title?: string;
  alts: string[];
  type?: string;
  corrupted: boolean;
  log: string;
}

export const CORPUS_DIR = resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'kernel-logs', 'syzkaller');

export function corpusAvailable(): boolean {
  return existsSync(CORPUS_DIR);
}

export function readCorpusCase(name: string): CorpusCase {
  const raw = readFileSync(join(CORPUS_DIR, name), 'utf8');
  const c: CorpusCase = { name, alts: [], corrupted: false, log: '' };
  let pos = 0;
  while (pos < raw.length) {
    let nl = raw.indexOf('\n', pos);
    if (nl < 0) nl = raw.length;
    const line = raw.slice(pos, nl);
    pos = nl + 1;
    if (line.trim() === '') break;
    const m = /^([A-Z]+): ?(.*)$/.exec(line);
    if (line.startsWith('#') || !m) continue;
    const [, key, value] = m;
    // An empty TITLE means the log holds no report (syzkaller's convention).
    if (key === 'TITLE') c.title = value === '' ? undefined : value;
    else if (key === 'ALT') c.alts.push(value!);
    else if (key === 'TYPE') c.type = value;
    else if (key === 'CORRUPTED') c.corrupted = value === 'Y';
  }
  c.log = raw.slice(pos);
  return c;
}

export function corpusNames(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((n) => /^\d+$/.test(n))
    .sort((a, b) => Number(a) - Number(b));
}
