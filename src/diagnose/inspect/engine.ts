/**
 * The kernel-log rule engine: finds reports in a stream of log lines, captures multi-line reports
 * whole (following the printk caller context when the log has one, so interleaved output from other
 * CPUs/tasks stays out), gives each a stable title, kind and level from the rules, and folds repeats.
 *
 * A report of one context ends where the next report of that context starts, except that events (rules
 * with `event`: an OOM kill, an I/O error) printed inside a crash report are reported on their own
 * without ending it, and that with printk caller ids the first report of a task or CPU keeps reading
 * what that task or CPU prints after another report's header (as syzkaller reads reports).
 *
 * It is pure: lines in, reports out. `LogScanner.pushBytes` takes big chunks of a file and jumps from
 * one candidate header to the next with a multi-pattern byte scan (./needles.ts), decoding only the
 * candidate lines and open reports: that is what makes a 1 GB log fast to inspect. Folding into items
 * is ./items.ts; the agent can use `new LogScanner(rules, {}, onReport)` for live alerts.
 */
import { type LogLine, type PrefixOptions, parseLogPrefix } from '../../kernel/log/line.js';
import { type CompiledFormat, type CompiledRule, type Level, type RuleSet } from './rules.js';
import { displayStack, extractFrames, isQuestionable } from './stack.js';
import { classifyOom, type OomAnalysis } from './oom.js';

/** One report found in the log. */
export interface LogReport {
  title: string;
  kind: string;
  level: Level;
  /** The finding group (`inspect.log.<finding>`). */
  finding: string;
  /** The report was cut or its title could not be completed. */
  corrupted: boolean;
  /** The kernel panicked in this report (panic_on_warn, panic_on_oops, …). */
  panicked: boolean;
  /** The report's lines (message text, prefixes removed). */
  lines: string[];
  stack: string[];
  header: LogLine;
  /** Position of the header in the input (order of appearance). */
  seq: number;
  /** Input line numbers (0-based, counting every line seen) of the header and of the report's end. */
  startLine: number;
  endLine: number;
  oom?: OomAnalysis;
  container?: string;
  /** The log source it came from (a file name, /dev/kmsg, journalctl -k). */
  source?: string;
}

/** Stack overflows and recursive lock chains print several hundred frames; the title may be at the bottom. */
const MAX_REPORT_LINES = 1000;
/** A report still open after this many further input lines is closed (streams, huge logs). */
const MAX_REPORT_SPAN = 4000;
const END_MARKER = /^-+\[ (?:end trace|end Kernel panic|cut here \]-+$)/;
const KASAN_DELIM = /^={20,}$/;
const PANIC_RE = /Kernel panic - not syncing/;
/** A panic line this close after a report belongs to it. */
const PANIC_ATTACH_LINES = 300;
/** The key suffix of an event report open inside a crash report of the same context. */
const NESTED = '\u0000event';
/** The key suffix of the first report of a context whose task or CPU went on with another report. */
const EARLIER = '\u0000earlier';
/** A printk caller id: a task (`T123`) or a CPU in interrupt context (`C1`). */
const CALLER_CTX = /^[TC]\d+$/;

interface OpenReport {
  rule: CompiledRule;
  header: LogLine;
  lines: string[];
  ctx: string;
  seq: number;
  startedAt: number;
  cpuTraceback: boolean;
  singleFormat: CompiledFormat | undefined;
  endRe: RegExp | undefined;
  done: boolean;
}

export interface ScanOptions extends PrefixOptions {
  /** Drop reports whose header is older than this (ms since the epoch); lines without a time are kept. */
  sinceMs?: number;
}

export class LogScanner {
  private open = new Map<string, OpenReport>();
  private seq = 0;
  private lineCount = 0;
  private carryBytes: Buffer | undefined;
  private last: { report: LogReport; at: number } | undefined;
  private lastCtx = '';
  readonly reports: LogReport[] = [];

  constructor(
    private readonly rules: RuleSet,
    private readonly opts: ScanOptions = {},
    private readonly onReport?: (r: LogReport) => void,
  ) {}

  /** Which rule a line starts, if any. */
  matchHeader(text: string): CompiledRule | undefined {
    for (const rule of this.rules.rules) {
      if (rule.headerRe ? !rule.headerRe.test(text) : !text.includes(rule.header)) continue;
      if (rule.suppress.some((re) => re.test(text))) continue;
      if (this.rules.ignores.some((re) => re.test(text))) continue;
      // The line must look like one of the rule's reports, not just contain the word.
      if (!rule.formats.some((f) => f.title.test(text))) continue;
      return rule;
    }
    return undefined;
  }

  /** Feeds one decoded line. */
  push(line: LogLine): void {
    this.lineCount++;
    // An indented line without a timestamp continues the previous line (dmesg prints the lines of a
    // multi-line printk, such as Mem-Info, that way).
    if (line.ctx === '' && this.lastCtx !== '' && /^\s/.test(line.text)) line = { ...line, ctx: this.lastCtx };
    this.lastCtx = line.ctx;
    const rule = this.matchHeader(line.text);
    const cur = this.open.get(line.ctx);
    const nested = this.open.get(line.ctx + NESTED);
    if (nested && !(rule && cur && rule.event && !cur.rule.event)) this.append(nested, line);
    const earlier = this.open.get(line.ctx + EARLIER);
    if (earlier) this.append(earlier, line);
    if (rule) {
      const continues =
        cur !== undefined && (this.rules.reportStartIgnores.some((re) => re.test(line.text)) || cur.rule.absorb.some((re) => re.test(line.text)));
      if (continues) {
        this.append(cur, line);
        return;
      }
      if (cur && rule.event && !cur.rule.event) {
        // An event printed inside a crash report (an OOM kill, an I/O error): reported on its own,
        // while the crash report goes on.
        this.append(cur, line);
        if (nested) this.close(nested);
        this.start(rule, line, line.ctx + NESTED);
        return;
      }
      if (!cur && this.open.size > 0 && PANIC_RE.test(line.text)) {
        // A panic line from another context belongs to an open report (it ends the machine anyway).
        const any = [...this.open.values()][0]!;
        any.lines.push(line.text);
        return;
      }
      if (!cur && PANIC_RE.test(line.text) && this.last && this.lineCount - this.last.at <= PANIC_ATTACH_LINES) {
        // "Kernel panic - not syncing: Fatal exception" right after an oops: the oops panicked the machine.
        const prev = this.last.report;
        prev.panicked = true;
        prev.level = 'fatal';
        prev.lines.push(line.text);
        return;
      }
      if (cur && !earlier && !cur.rule.event && !rule.event && CALLER_CTX.test(line.ctx)) {
        // With printk caller ids, what one task or CPU prints next belongs to its report even when
        // it is another report (a WARNING inside an RCU stall dump, a panic_on_warn oops): the first
        // report keeps reading its context (its title may name a frame printed after the second
        // header), and the second is reported too.
        this.open.delete(cur.ctx);
        cur.ctx = line.ctx + EARLIER;
        this.open.set(cur.ctx, cur);
        this.append(cur, line);
      } else if (cur) {
        this.close(cur);
      }
      if (nested) this.close(nested);
      this.start(rule, line);
      return;
    }
    if (cur) {
      this.append(cur, line);
    } else if (/^C\d+$/.test(line.ctx)) {
      for (const r of this.open.values()) if (r.cpuTraceback) this.append(r, line);
    }
    if (this.open.size > 0) this.expire();
  }

  /** Feeds a chunk of raw text (any line prefixes); a partial last line is kept for the next chunk. */
  pushText(chunk: string, final = false): void {
    this.pushBytes(Buffer.from(chunk, 'utf8'), final);
  }

  /** Closes every open report (the input went quiet); scanning can go on afterwards. */
  flush(): void {
    for (const r of [...this.open.values()]) this.close(r);
  }

  /**
   * Feeds a chunk of a UTF-8 file (the buffer may be reused by the caller afterwards). Lines are only
   * decoded where a header may start or a report is open: the fast path for big files.
   */
  pushBytes(chunk: Uint8Array, final = false): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.carryBytes) {
      // Finish the line cut at the end of the previous chunk, without copying the whole chunk.
      const nl = buf.indexOf(10);
      if (nl < 0 && !final) {
        this.carryBytes = Buffer.concat([this.carryBytes, buf]);
        return;
      }
      const head = Buffer.concat([this.carryBytes, buf.subarray(0, nl < 0 ? buf.length : nl + 1)]);
      this.carryBytes = undefined;
      this.scanBytes(head, head.length);
      buf = nl < 0 ? buf.subarray(buf.length) : buf.subarray(nl + 1);
    }
    let n = buf.length;
    if (!final) {
      const nl = buf.lastIndexOf(10);
      if (nl < 0) {
        if (n > 0) this.carryBytes = Buffer.from(buf);
        return;
      }
      if (nl + 1 < n) this.carryBytes = Buffer.from(buf.subarray(nl + 1));
      n = nl + 1;
    }
    this.scanBytes(buf, n);
  }

  private scanBytes(buf: Buffer, n: number): void {
    const needles = this.rules.needles;
    let pos = 0;
    while (pos < n) {
      if (this.open.size === 0) {
        const ls = needles.findBytes(buf, pos, n);
        this.lineCount += needles.newlines;
        if (ls < 0) break;
        pos = ls;
      }
      let le = buf.indexOf(10, pos);
      if (le < 0 || le > n) le = n;
      const raw = buf.toString('utf8', pos, le);
      pos = le + 1;
      this.push(parseLogPrefix(raw, this.opts));
    }
  }

  /** Ends the input: closes every open report. */
  finish(): LogReport[] {
    if (this.carryBytes) this.pushBytes(new Uint8Array(0), true);
    for (const r of [...this.open.values()]) this.close(r);
    return this.reports;
  }

  private start(rule: CompiledRule, line: LogLine, key = line.ctx): void {
    const single = rule.formats.length === 1 && rule.formats[0]!.single ? rule.formats[0] : undefined;
    const r: OpenReport = {
      rule,
      header: line,
      lines: [line.text],
      ctx: key,
      seq: this.seq++,
      startedAt: this.lineCount,
      cpuTraceback: false,
      singleFormat: single,
      endRe: rule.formats.length === 1 ? rule.formats[0]!.end : undefined,
      done: false,
    };
    if (single) {
      this.emit(r);
      return;
    }
    this.open.set(key, r);
  }

  private append(r: OpenReport, line: LogLine): void {
    const t = line.text;
    r.lines.push(t);
    if (t.includes('Sending NMI from CPU')) r.cpuTraceback = true;
    if (r.endRe?.test(t) || END_MARKER.test(t) || (KASAN_DELIM.test(t) && r.lines.length > 3)) {
      if (!/cut here/.test(t)) {
        this.close(r);
        return;
      }
    }
    if (r.lines.length >= MAX_REPORT_LINES) this.close(r);
  }

  private expire(): void {
    for (const r of [...this.open.values()]) {
      if (this.lineCount - r.startedAt > MAX_REPORT_SPAN) this.close(r);
    }
  }

  private close(r: OpenReport): void {
    if (r.done) return;
    r.done = true;
    if (this.open.get(r.ctx) === r) this.open.delete(r.ctx);
    this.emit(r);
  }

  private emit(r: OpenReport): void {
    if (this.opts.sinceMs !== undefined && r.header.wallMs !== undefined && r.header.wallMs < this.opts.sinceMs) return;
    const rep = describe(r.rule, r.lines, r.header, r.seq, this.rules);
    if (!rep) return;
    rep.startLine = r.startedAt;
    rep.endLine = this.lineCount;
    this.last = { report: rep, at: this.lineCount };
    if (this.onReport) this.onReport(rep);
    else this.reports.push(rep);
  }
}

/** Numbers and addresses in captured text vary between occurrences: NUM / ADDR keep titles stable. */
export function sanitizeTitlePart(s: string): string {
  return s.replace(/\b0x[0-9a-f]+\b/g, 'ADDR').replace(/\b[0-9a-f]{12,}\b/g, 'ADDR').replace(/(?<!\w)\d+\b/g, 'NUM');
}

/** `{1}`…`{9}`: groups of the title or report expression; `{frame}`, `{frame2}`: the frames read. */
function fill(fmt: string, args: (string | undefined)[], frames: string[], keepNumbers = false): string {
  return fmt
    .replace(/\{(\d)\}/g, (_w, d: string) => (keepNumbers ? (args[Number(d)] ?? '') : sanitizeTitlePart(args[Number(d)] ?? '')))
    .replace(/\{frame(\d?)\}/g, (_w, d: string) => frames[d === '' ? 0 : Number(d) - 1] ?? 'corrupted');
}

/**
 * The lines a title is read from: unreliable (`? func`) frames and the taint notice left out, and, once
 * the report has enough lines of its own, nothing from a following panic (panic_on_warn prints the same
 * stack again) or from a lockdep splat the oops printing itself caused.
 */
function titleLines(lines: string[], ctx: string): string[] {
  const min = lines[0]?.includes('BUG: KMSAN:') ? 16 : 22;
  // Without caller ids, another message that prints a stack (fault injection, a vmalloc failure) may be
  // interleaved from here on: the frames after it cannot be told apart.
  const interleaved = !CALLER_CTX.test(ctx);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (i > 0 && interleaved && INFO_WITH_STACK_RE.test(l)) break;
    if (i > 0 && isQuestionable(l)) continue;
    if (i > 0 && l.includes('Disabling lock debugging due to kernel taint')) continue;
    if (i > 0 && out.length >= min && SECONDARY_RE.test(l)) break;
    out.push(l);
  }
  return out;
}
const SECONDARY_RE = /Kernel panic - not syncing|WARNING: possible circular locking dependency detected/;
const INFO_WITH_STACK_RE = /vmalloc: allocation failure:|FAULT_INJECTION: forcing a failure|FAULT_FLAG_ALLOW_RETRY missing/;

interface Chosen {
  f: CompiledFormat;
  at: number;
  args: (string | undefined)[];
}

/**
 * The format a report follows: of the formats whose title matches, the one matching earliest in the
 * report (the rule's list order breaks ties) whose `report` expression, if any, matches too.
 * `undefined` with `matched` when titles matched at that place but no report expression did.
 */
function chooseFormat(rule: CompiledRule, text: string): { chosen?: Chosen; at: number } {
  let best: { f: CompiledFormat; m: RegExpExecArray }[] = [];
  let at = Infinity;
  for (const f of rule.formats) {
    const m = f.title.exec(text);
    if (!m || m.index > at) continue;
    if (m.index < at) {
      at = m.index;
      best = [];
    }
    best.push({ f, m });
  }
  for (const { f, m } of best) {
    if (!f.report) return { chosen: { f, at: m.index, args: [...m] }, at };
    const rm = f.report.exec(text.slice(m.index));
    if (rm) return { chosen: { f, at: m.index, args: [...rm] }, at };
  }
  return { at };
}

/** Builds the title, kind and level of a captured report; undefined when no format matches. */
export function describe(rule: CompiledRule, lines: string[], header: LogLine, seq: number, rules: RuleSet): LogReport | undefined {
  const tl = titleLines(lines, header.ctx);
  const text = tl.join('\n');
  const { chosen, at } = chooseFormat(rule, text);
  if (!Number.isFinite(at)) return undefined;
  let title: string;
  let kind: string;
  let level: Level | undefined;
  let corrupted = false;
  if (chosen) {
    const f = chosen.f;
    let frames: string[] = [];
    if (f.stack) {
      // The stack is read from the title line on (a report may carry a few lines before it).
      const from = text.slice(0, chosen.at).split('\n').length - 1;
      const r = extractFrames(tl.slice(from), f.stack, rules.stackSkip);
      frames = r.frames;
      corrupted = !r.ok;
    }
    title = fill(f.fmt, chosen.args, frames, f.keepNumbers).replace(/\s+/g, ' ').trim();
    kind = f.kind ?? kindOf(title, rules);
    level = f.level;
  } else {
    // A title matched but not the rest of its format: the report is cut; its header line names it.
    const line = text.slice(at).split('\n')[0]!;
    const h = rule.headerRe ? (rule.headerRe.exec(line)?.index ?? 0) : Math.max(0, line.indexOf(rule.header));
    title = sanitizeTitlePart(line.slice(h)).replace(/\s+/g, ' ').trim();
    kind = kindOf(title, rules);
    corrupted = true;
  }
  const info = rules.kindInfo[kind];
  const panicked = lines.some((l) => PANIC_RE.test(l));
  let lvl: Level = level ?? info?.level ?? 'error';
  if (panicked) lvl = 'fatal';
  const rep: LogReport = {
    title,
    kind,
    level: lvl,
    finding: info?.finding ?? 'other',
    corrupted,
    panicked,
    lines,
    stack: displayStack(lines),
    header,
    seq,
    startLine: 0,
    endLine: 0,
  };
  if (kind === 'OOM') {
    const oom = classifyOom(lines);
    rep.oom = oom;
    rep.title = title.replace('{cause}', oom.cause);
    rep.container = oom.container;
  }
  return rep;
}

export function kindOf(title: string, rules: RuleSet): string {
  for (const [re, kind] of rules.kinds) {
    const m = re.exec(title);
    if (m) return kind.replace(/\$(\d)/g, (_w, d: string) => (m[Number(d)] ?? '').toUpperCase());
  }
  return 'UNKNOWN';
}

/** Scans a whole text (a file's content) and returns its reports in order of appearance. */
export function scanLog(text: string, rules: RuleSet, opts: ScanOptions = {}): LogReport[] {
  const s = new LogScanner(rules, opts);
  s.pushBytes(Buffer.from(text, 'utf8'), true);
  return s.finish().sort((a, b) => a.seq - b.seq);
}
