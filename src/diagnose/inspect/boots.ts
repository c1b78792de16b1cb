/**
 * `oscope inspect --boots`: what previous boots left behind, and why each ended.
 *
 * Sources:
 *   - the journal's earlier boots (`journalctl --list-boots`, then `journalctl -k -b ID` for the kernel
 *     messages and the last entries of the whole journal of that boot, for shutdown markers), when
 *     journald keeps persistent storage;
 *   - pstore (`/sys/fs/pstore/dmesg-*`): the kernel log tail the crashing kernel wrote to firmware or
 *     ramoops; one record may be split in parts (`dmesg-efi-<id><part>`), joined here in order;
 *   - kdump (`/var/crash/<dir>/vmcore-dmesg.txt`): the crashed kernel's log, extracted by kdump.
 *
 * The cause is decided by `classifyBoot` (pure): the `Kernel panic - not syncing:` line names why the
 * kernel gave up (hung tasks, a lockup watchdog, OOM, a machine check, or any other oops); without a
 * panic, a shutdown marker in the boot's last entries is a clean shutdown and its absence an unclean
 * end (power loss, reset, or a hang the kernel never reported). The title and stack of a crash are
 * inspect's own (the same rules, so the same titles as `oscope inspect`'s items).
 */
import type { Host } from '../../host/host.js';
import { type JournalBoot, parseJournalJson, parseListBoots, runJournalctl } from '../../kernel/log/journal.js';
import { type LogLine, parseLogPrefix } from '../../kernel/log/line.js';
import type { Boot, BootCause } from '../../contract/inspect.js';
import { createHash } from 'node:crypto';
import { type LogReport, LogScanner } from './engine.js';
import { parseFrame, stripFramePrefix } from './stack.js';
import type { RuleSet } from './rules.js';

export const PSTORE_DIR = '/sys/fs/pstore';
export const KDUMP_DIR = '/var/crash';
/** At most this many previous journal boots are read (newest first). */
export const MAX_JOURNAL_BOOTS = 20;

const PANIC = /Kernel panic - not syncing:\s*(.*)$/;
/** Markers of an orderly end, in the kernel log or the journal's last entries of the boot. */
const SHUTDOWN = /reboot: (Restarting system|Power down|System halted)|systemd-shutdown\[\d+\]|Journal stopped|Received SIGTERM from PID 1|Reached target (System Reboot|System Power Off|Shutdown)/;

function panicCause(reason: string, reports: LogReport[]): BootCause {
  // "softlockup: hung tasks" is the soft-lockup watchdog's panic; "hung_task: blocked tasks" khungtaskd's.
  if (/soft ?lockup|hard ?lockup|watchdog|NMI/i.test(reason)) return 'watchdog';
  if (/hung_task|blocked tasks/i.test(reason)) return 'hung-task-panic';
  if (/out of memory|deadlocked on memory|oom/i.test(reason)) return 'oom-panic';
  if (/machine check|MCE/i.test(reason)) return 'mce';
  const k = reports.find((r) => r.kind === 'MCE' || r.kind === 'MEMORY-FAILURE');
  if (k) return 'mce';
  return 'panic';
}

const LEVEL_ORDER = ['fatal', 'critical', 'error', 'warning', 'info'];

const LINUX_VERSION = /^Linux version (\S+)/;
const TAINT_LINE = /(?:Not tainted|Tainted: [A-Z ]*?)\s+(\d+\.\d+[^\s#]*)\s+#/;

/** The kernel release a boot ran, from its `Linux version` banner or an oops's `Not tainted 6.1.0-18-amd64 #1` line. */
export function bootKernel(lines: LogLine[]): string | undefined {
  for (const l of lines) {
    const m = LINUX_VERSION.exec(l.text.trim());
    if (m) return m[1];
  }
  for (const l of lines) {
    const m = TAINT_LINE.exec(l.text);
    if (m) return m[1];
  }
  return undefined;
}

/** Frames a crash signature leaves out: the printing and panic machinery every oops shares. */
const SIGNATURE_SKIP = /^(dump_stack|dump_stack_lvl|show_stack|show_trace_log_lvl|panic|__warn|warn_slowpath|report_bug|handle_bug|exc_invalid_op|asm_exc_|nmi_|watchdog_|check_hung_|khungtaskd|kthread|ret_from_fork|entry_SYSCALL|do_syscall_64|__schedule|schedule$|schedule_timeout)/;

/**
 * A crash's stack signature: the first 8 frames that are not marked `?`, with offsets, modules and
 * syscall-wrapper prefixes gone and the shared printing/panic frames left out, hashed to 12 hex digits.
 * Two nodes that crashed in the same place get the same signature even on different kernel builds
 * (addresses and offsets differ; function names do not). Empty stack: empty signature.
 */
export function crashSignature(stack: readonly string[] | undefined): string {
  const frames: string[] = [];
  for (const line of stack ?? []) {
    const f = parseFrame(line);
    if (!f || f.questionable) continue;
    // `__x64_sys_write` → `sys_write`, `__se_sys_write` → `write`: one name for both.
    const func = stripFramePrefix(f.func).replace(/^sys_/, '');
    if (SIGNATURE_SKIP.test(func)) continue;
    frames.push(func);
    if (frames.length === 8) break;
  }
  if (frames.length === 0) return '';
  return createHash('sha256').update(frames.join('|')).digest('hex').slice(0, 12);
}

/**
 * Why a boot ended, from its kernel log lines (oldest first) and the last entries of its whole log
 * (`tail`, for shutdown markers; empty for pstore and kdump, which exist only because of a crash).
 */
export function classifyBoot(lines: LogLine[], rules: RuleSet, tail: string[] = [], crashDump = false): { cause: BootCause; title?: string; stack?: string[]; kernel?: string } {
  const kernel = bootKernel(lines);
  return { ...classifyEnd(lines, rules, tail, crashDump), ...(kernel ? { kernel } : {}) };
}

function classifyEnd(lines: LogLine[], rules: RuleSet, tail: string[], crashDump: boolean): { cause: BootCause; title?: string; stack?: string[] } {
  const reports: LogReport[] = [];
  const scanner = new LogScanner(rules, {}, (r) => reports.push(r));
  for (const l of lines) scanner.push(l);
  scanner.finish();
  let panicReason: string | undefined;
  for (const l of lines) {
    const m = PANIC.exec(l.text);
    if (m) panicReason ??= m[1]!.trim();
  }
  const worst = [...reports].sort((a, b) => LEVEL_ORDER.indexOf(a.level) - LEVEL_ORDER.indexOf(b.level) || a.seq - b.seq)[0];
  const crash = worst && (worst.level === 'fatal' || worst.level === 'critical') ? worst : undefined;
  const withTitle = (cause: BootCause, r: LogReport | undefined, fallback?: string): { cause: BootCause; title?: string; stack?: string[] } => {
    const title = r?.title ?? fallback;
    return { cause, ...(title ? { title } : {}), ...(r && r.stack.length > 0 ? { stack: r.stack.slice(0, 32) } : {}) };
  };
  if (panicReason !== undefined) {
    const cause = panicCause(panicReason, reports);
    const r = crash ?? reports.find((x) => x.panicked);
    return withTitle(cause, r, `Kernel panic - not syncing: ${panicReason}`);
  }
  if (crashDump) return withTitle(crash && (crash.kind === 'MCE' || crash.kind === 'MEMORY-FAILURE') ? 'mce' : 'panic', crash);
  const end = [...lines.slice(-50).map((l) => l.text), ...tail];
  if (end.some((t) => SHUTDOWN.test(t))) return { cause: 'clean-shutdown' };
  return { cause: 'unclean' };
}

/** Lines of a plain kernel log text (pstore, vmcore-dmesg), with their prefixes decoded. */
export function textLines(text: string): LogLine[] {
  return text.split('\n').filter((l) => l !== '').map((l) => parseLogPrefix(l));
}

/** pstore file names → records: `dmesg-<backend>-<id>` where parts of one record share the id's prefix. */
export function pstoreRecords(names: string[]): { id: string; files: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const m = /^dmesg-([a-z0-9_]+)-(\d+)$/.exec(n);
    if (!m) continue;
    // efi-pstore: <timestamp-ish id><part digit(s)> … ramoops: one file per record.
    const key = m[1] === 'efi' && m[2]!.length > 3 ? `${m[1]}-${m[2]!.slice(0, -3)}` : `${m[1]}-${m[2]}`;
    const g = groups.get(key) ?? [];
    g.push(n);
    groups.set(key, g);
  }
  return [...groups.entries()].map(([id, files]) => ({ id, files: files.sort() }));
}

/** Joins pstore parts: each starts with a header `Oops#1 Part2` / `Panic#3 Part1`; part N is older than part N-1. */
export function joinPstore(texts: { name: string; text: string }[]): string {
  const parts = texts.map(({ text }) => {
    const lines = text.split('\n');
    const m = /^(?:Oops|Panic|Emergency|Restart|Halt|Poweroff|Unknown)#\d+ Part(\d+)/.exec(lines[0] ?? '');
    return { part: m ? Number(m[1]) : 1, body: m ? lines.slice(1).join('\n') : text };
  });
  return parts.sort((a, b) => b.part - a.part).map((p) => p.body).join('\n');
}

export interface BootSourcesOptions {
  /** journalctl stand-in (tests): given args, returns stdout or undefined. */
  journal?: (args: string[]) => Promise<string | undefined>;
}

/** Reads every source of previous boots on the host; newest first by end time. */
export async function collectBoots(host: Host, rules: RuleSet, opts: BootSourcesOptions = {}): Promise<Boot[]> {
  const boots: Boot[] = [];
  const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString());
  const journal = opts.journal ?? (host.live ? (args: string[]) => runJournalctl(args) : undefined);
  if (journal) {
    const listText = await journal(['--list-boots', '-o', 'json', '--no-pager']);
    let list: JournalBoot[] = [];
    try {
      list = listText ? parseListBoots(listText) : [];
    } catch {
      list = [];
    }
    const previous = list.filter((b) => b.index < 0).sort((a, b) => b.index - a.index).slice(0, MAX_JOURNAL_BOOTS);
    for (const b of previous) {
      const kText = await journal(['-k', '-b', b.bootId, '-o', 'json', '--no-pager', '-q']);
      const tailText = await journal(['-b', b.bootId, '-n', '30', '-o', 'json', '--no-pager', '-q']);
      let lines: LogLine[] = [];
      let tail: string[] = [];
      try {
        lines = kText ? parseJournalJson(kText) : [];
        tail = tailText ? parseJournalJson(tailText).map((l) => l.text) : [];
      } catch {
        /* a corrupt journal file: classify what was read */
      }
      boots.push({ id: b.bootId, startedAt: iso(b.firstMs), endedAt: iso(b.lastMs), ...classifyBoot(lines, rules, tail), source: 'journal', from: `journalctl -k -b ${b.bootId}` });
    }
  }
  let pstoreNames: string[] = [];
  try {
    pstoreNames = await host.readDir(PSTORE_DIR);
  } catch {
    pstoreNames = [];
  }
  for (const rec of pstoreRecords(pstoreNames)) {
    const texts: { name: string; text: string }[] = [];
    for (const f of rec.files) {
      const text = await host.tryReadText(`${PSTORE_DIR}/${f}`);
      if (text !== undefined) texts.push({ name: f, text });
    }
    if (texts.length === 0) continue;
    let endedMs: number | null = null;
    try {
      endedMs = (await host.stat(`${PSTORE_DIR}/${rec.files[0]!}`)).mtimeMs ?? null;
    } catch {
      endedMs = null;
    }
    boots.push({ id: `pstore:${rec.id}`, startedAt: null, endedAt: iso(endedMs), ...classifyBoot(textLines(joinPstore(texts)), rules, [], true), source: 'pstore', from: `${PSTORE_DIR}/${rec.files[0]!}` });
  }
  let crashDirs: string[] = [];
  try {
    crashDirs = (await host.readDir(KDUMP_DIR)).sort();
  } catch {
    crashDirs = [];
  }
  for (const d of crashDirs) {
    const path = `${KDUMP_DIR}/${d}/vmcore-dmesg.txt`;
    const text = await host.tryReadText(path);
    if (text === undefined) continue;
    // kdump names the directory after the crash time: 127.0.0.1-2026-12-01-10:22:33 or 202612011022.
    const m = /(\d{4})-?(\d\d)-?(\d\d)[-T]?(\d\d):?(\d\d):?(\d\d)?/.exec(d);
    const ended = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) : null;
    boots.push({ id: `kdump:${d}`, startedAt: null, endedAt: iso(ended), ...classifyBoot(textLines(text), rules, [], true), source: 'kdump', from: path });
  }
  return boots.sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''));
}
