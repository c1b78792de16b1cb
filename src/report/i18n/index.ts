/**
 * Message catalogs. Each language is a module exporting a Catalog; `en` is the reference and the
 * test suite checks that every other catalog has exactly the same keys and placeholders.
 *
 * Templates use `{name}` placeholders. A param whose name ends in `Bytes` is rendered as a size, `Pct`
 * as a percent, `Ms` as a duration, an identifier (`pid`, `culpritPid`, `cpu`, `shmid`...) as a plain
 * number, any other number with digit grouping.
 */
import { formatBytes, formatCount, formatDurationMs, formatPct } from '../format.js';
import { en } from './en.js';
import { zhCN } from './zh-CN.js';

export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

export interface FindingMessages {
  title: string;
  conclusion: string;
  suggestions: string[];
}

export interface Catalog {
  /** Finding id → its messages. */
  findings: Record<string, FindingMessages>;
  /** Any other text: section headings, labels, extra suggestions. */
  text: Record<string, string>;
}

const CATALOGS: Record<Lang, Catalog> = { en, 'zh-CN': zhCN };

export function messages(lang: Lang): Catalog {
  return CATALOGS[lang];
}

export function isLang(s: string): s is Lang {
  return (LANGS as readonly string[]).includes(s);
}

/** Picks the language from LC_ALL / LC_MESSAGES / LANG: zh_* → zh-CN, anything else → en. */
export function langFromEnv(env: NodeJS.ProcessEnv = process.env): Lang {
  const loc = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh/i.test(loc) ? 'zh-CN' : 'en';
}

/** Params that name things (pids, ids, CPUs, IRQ numbers, shmids) print as plain numbers, never grouped. */
const IDENTIFIER = /(?:^|[a-z])(?:pid|Pid|id|Id|ids|Ids|cpu|Cpu|irq|Irq|shmid|Shmid|inode|Inode|uid|Uid)$/;

export function formatParam(name: string, value: string | number): string {
  if (typeof value === 'string') return value;
  if (IDENTIFIER.test(name)) return String(value);
  if (/Bytes$/.test(name)) return formatBytes(value);
  if (/Pct$/.test(name)) return formatPct(value);
  if (/Ms$/.test(name)) return formatDurationMs(value);
  return Number.isInteger(value) ? formatCount(value) : value.toFixed(2);
}

export function formatMessage(template: string, params: Record<string, string | number>, _lang: Lang): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined ? whole : formatParam(name, v);
  });
}

/** Text lookup with a fallback to English, then to the key itself. */
export function t(lang: Lang, key: string, params: Record<string, string | number> = {}): string {
  const tmpl = CATALOGS[lang].text[key] ?? CATALOGS.en.text[key] ?? key;
  return formatMessage(tmpl, params, lang);
}
