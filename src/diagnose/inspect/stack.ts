/**
 * Call-trace handling: which lines are stack frames, and which frame names a report.
 *
 * A report's stable title names the first "meaningful" frame: the first one that is not noise
 * (sanitizer runtime, printk, locking primitives, list helpers, …; the `stackSkip` list of the rule files
 * plus the rule's own `skip`). Stalls and hung tasks use extractors that look for an anchor frame
 * (syscall entry, workqueue, rtnl_lock, synchronize_rcu) instead, because their top frames are random.
 */
import { demangleRust } from './demangle.js';
import type { CompiledStack } from './rules.js';

// `[<ffffffff81234567>] ` PCs (0–2 of them), an optional `? ` (unreliable frame), then `func+0x12/0x34`
// or an inline frame from a symbolized report (`func file.c:123 [inline]`).
const FRAME_RE =
  /^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\] ?){0,2}\s*(\? )?(?:[0-9]+:)?([a-zA-Z0-9_.]+?)(?:\.[a-z][a-z0-9_.]*)?(?:\+0x[0-9a-f]+\/0x[0-9a-f]+|\+[0-9a-fx]+ \/[0-9a-fx]+| [a-zA-Z0-9_\-/.]+\.[a-zA-Z]+:\d+)/;

/** Lines that start another stack (KASAN allocation/free stacks, kmemleak backtraces). */
const STACK_START_RE = /Call Trace|Call trace:|Allocated:|Allocated by task \d+:|Freed:|Freed by task \d+:|[^k] backtrace:/;
const OTHER_STACK_RE = /^(?:Allocated:|Allocated by task \d+:|Freed:|Freed by task \d+:|Last potentially related work creation:|Second to last potentially related)/;

export interface Frame {
  func: string;
  questionable: boolean;
}

/** The function a stack-frame line names, or undefined when the line is not a frame. */
// ARM32: `[<c0112e1c>] (dump_backtrace) from [<c0113018>] (show_stack+0x18/0x1c)` names the first.
const ARM_FRAME_RE = /^\s*\[<[0-9a-f]+>\] \(([a-zA-Z0-9_.]+?)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?\) from \[</;
/** Fault-injection frames mixed into a report make its stack unreliable. */
const CORRUPTED_FRAME_RE = /^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\] )?should_fail(?:slab|_ex)?(?:\.[a-z0-9.]+)?\+0x/;

export function parseFrame(line: string): Frame | undefined {
  const arm = line.includes(') from [<') ? ARM_FRAME_RE.exec(line) : null;
  if (arm) return { func: arm[1]!.split('.')[0]!, questionable: false };
  const m = FRAME_RE.exec(line);
  if (!m) return undefined;
  const func = m[2]!.split('.')[0]!;
  if (func === '' || /^[0-9a-f]{8,}$/.test(func)) return undefined;
  return { func, questionable: m[1] !== undefined };
}

/** Whether a report line starts a stack trace. */
export function isStackStart(line: string): boolean {
  return STACK_START_RE.test(line);
}

/**
 * Stall anchors: entry points that dispatch work. A stall's title names the frame just above the first
 * anchor (the syscall, the work function, the timer callback), not the random frame the loop was in.
 * Matched against frames with their syscall prefixes already stripped (see `stripFramePrefix`).
 */
const STALL_ANCHORS = new RegExp(
  [
    // work dispatchers and thread / interrupt entry points
    'process_one_work', 'do_syscall_', 'do_fast_syscall_', 'sysenter_dispatch', 'tracesys_phase2',
    'el0_svc_handler', 'invoke_syscall', 'ret_fast_syscall', 'netif_receive_skb', 'do_softirq',
    'call_timer_fn', '_run_timers', 'run_timer_softirq', 'hrtimer_run', 'run_ksoftirqd', 'smpboot_thread_fn',
    '^kthread$', 'start_secondary', 'cpu_startup_entry', 'ret_from_fork',
    // file operations: the frame above names the driver or filesystem
    'vfs_write', 'vfs_read', 'vfs_iter_read', 'vfs_iter_write', 'do_iter_read', 'do_iter_write',
    'call_read_iter', 'call_write_iter', 'new_sync_read', 'new_sync_write', 'vfs_ioctl', 'ksys_ioctl',
    'compat_ioctl', 'compat_sys_ioctl', 'blkdev_driver_ioctl', 'blkdev_ioctl', 'do_iter_readv_writev',
    '^call_mmap', 'mmap_region', 'do_mmap', 'do_dentry_open', 'vfs_open',
    // socket operations: the frame above names the protocol
    '^sock_sendmsg', '^sock_recvmsg', '^sock_release', '^__sock_release', '^setsockopt$', 'kernel_setsockopt',
    'sock_common_setsockopt', '^listen$', 'kernel_listen', 'sk_common_release', '^sock_mmap', '^accept$',
    'kernel_accept', '^sock_do_ioctl', '^sock_ioctl', '^compat_sock_ioctl', '^nfnetlink_rcv_msg',
    '^rtnetlink_rcv_msg', '^netlink_dump', '^(?:sys_)?(?:socketpair|connect|ioctl)',
    // page faults and the return-to-user work
    '__do_fault', 'do_page_fault', '^page_fault$', '__fput', 'task_work_run', 'exit_to_usermode',
    'smp_call_function', 'tasklet_action', 'tasklet_hi_action',
  ].join('|'),
);

/** Stalls: the frame above the first anchor (`smp_call_function` itself when that is the anchor). */
export function stallFrame(frames: string[]): string | undefined {
  let prev = frames[0];
  for (const f of frames) {
    if (STALL_ANCHORS.test(f)) return f.includes('smp_call_function') ? 'smp_call_function' : prev;
    prev = f;
  }
  return undefined;
}

const HANG_ANCHORS: [string, string][] = [
  ['rtnl_lock', ''],
  ['synchronize_rcu', 'synchronize_rcu'],
  ['synchronize_srcu', 'synchronize_rcu'],
  ['synchronize_net', 'synchronize_rcu'],
  ['synchronize_sched', 'synchronize_rcu'],
];
const HANG_SKIP = [
  'sched', '_lock', '_slowlock', 'down', 'rwsem', 'completion', 'kthread', 'wait', 'synchronize',
  'context_switch', '__switch_to', 'cancel_delayed_work', 'rcu_barrier',
];

/** Hung tasks: group by rtnl_lock / synchronize_rcu waiters, else the first non-waiting frame. */
export function hangFrame(frames: string[]): string | undefined {
  for (const f of frames) {
    for (const [anchor, repl] of HANG_ANCHORS) {
      if (f.includes(anchor)) return repl || f;
    }
  }
  return frames.find((f) => !HANG_SKIP.some((s) => f.includes(s)));
}

/**
 * Syscall entry points carry architecture and wrapper prefixes (`__x64_sys_`, `__se_sys_`, `SyS_`,
 * `ksys_`, …) that differ between kernels and architectures for the same bug: titles use the shortest
 * name any one prefix leaves.
 */
const FRAME_PREFIXES = [
  'SYSC_', 'SyS_', 'sys_', '__x64_', '__ia32_', '__arm64_', '____sys_', '___sys_', '__sys_', '__se_',
  '__se_sys_', '__do_sys_', 'compat_SYSC_', 'compat_SyS_', 'ksys_',
];

export function stripFramePrefix(func: string): string {
  let best = func;
  for (const p of FRAME_PREFIXES) {
    if (func.startsWith(p) && func.length - p.length < best.length && func.length > p.length) best = func.slice(p.length);
  }
  return best;
}

// Title frames are read the way the kernel prints them: up to two `[<pc>] `, then the function name
// directly followed by `+0x…` or a `.suffix` (`.isra.0`, `.cold`); inline frames of symbolized
// reports (`func file.c:12 [inline]`) are not frames of their own (the real frame follows them).
const TITLE_FRAME_RE = /^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\] ){0,2}([a-zA-Z0-9_]+)[.+]/;
// ARM32 prints caller and callee on one line: `[<c01>] (callee) from [<c02>] (caller+0x18/0x1c)`.
const TITLE_ARM_FRAME_RE = /^\s*\[<?(?:0x)?[0-9a-f]+>?\] \(([a-zA-Z0-9_.]+)\) from \[<?(?:0x)?[0-9a-f]+>?\] \(([a-zA-Z0-9_]+)[.+]/;
/** Unreliable frames (`? func+0x…`, powerpc's `(unreliable)`) are left out of reports entirely. */
const QUESTIONABLE_RE = /(?:\[<[0-9a-f]+>\])? \? |\(unreliable\)\s*$/;
/** Lines that start another stack: the current trace ends there. */
const TRACE_START_RE =
  /Call (?:T|t)race|Allocated:|Allocated by task [0-9]+:|Freed:|Freed by task [0-9]+:|[^k] backtrace(?: \(crc [0-9a-f]*\))?:|Backtrace:|Uninit was stored to memory at/;

/** Whether a line is an unreliable frame that titles never use. */
export function isQuestionable(line: string): boolean {
  return !line.includes('<EOI>') && QUESTIONABLE_RE.test(line);
}

export interface FrameResult {
  /** One name per trace the format reads (`corrupted` where none was found). */
  frames: string[];
  /** False when a frame was missing or a fault-injection frame was mixed into the report. */
  ok: boolean;
}

/**
 * Reads the frames that name a report. `parts` are consumed in order over the report's lines: a regular
 * expression advances to the first line it matches (its captures, unless skipped, are candidate frames);
 * `trace` reads frame lines until another stack starts (or the next part matches). Each trace yields one
 * frame: the first candidate, or the extractor's choice (stalls, hangs). When `parts` leave a frame
 * missing, `parts2` is tried. Frames are matched against the skip lists as printed, and named with their
 * syscall prefixes stripped.
 */
export function extractFrames(lines: string[], stack: CompiledStack, globalSkip: RegExp): FrameResult {
  const skip = (f: string): boolean => globalSkip.test(f) || (stack.skip !== undefined && stack.skip.test(f));
  const reliable = lines.filter((l) => !isQuestionable(l));
  const first = walkParts(reliable, stack.parts, stack, skip);
  if (first.ok || !stack.parts2) return first;
  return walkParts(reliable, stack.parts2, stack, skip);
}

/** The first frame of `extractFrames`, or undefined when there is none. */
export function extractFrame(lines: string[], stack: CompiledStack, globalSkip: RegExp): string | undefined {
  const f = extractFrames(lines, stack, globalSkip).frames[0];
  return f === undefined || f === 'corrupted' ? undefined : f;
}

function capture(into: string[], m: RegExpExecArray, skip: (f: string) => boolean): void {
  for (let g = 1; g < m.length; g++) {
    const f = m[g];
    if (f === undefined || f === '') continue;
    const name = demangleRust(f);
    if (!skip(name)) into.push(name);
  }
}

function keyFrame(raw: string[], stack: CompiledStack): string | undefined {
  if (raw.length === 0) return undefined;
  const names = raw.map(stripFramePrefix);
  if (stack.extractor === 'stall') return stallFrame(names);
  if (stack.extractor === 'hang') return hangFrame(names);
  return names[0];
}

function walkParts(lines: string[], parts: (RegExp | 'trace')[], stack: CompiledStack, skip: (f: string) => boolean): FrameResult {
  const frames: string[] = [];
  let raw: string[] = [];
  let ok = true;
  let traces = 0;
  let i = 0;
  for (let pi = 0; ; pi++) {
    if (pi === parts.length || (parts[pi] === 'trace' && traces > 0)) {
      const key = keyFrame(raw, stack);
      if (key === undefined) ok = false;
      frames.push(key ?? 'corrupted');
      raw = [];
    }
    if (pi === parts.length) break;
    const part = parts[pi]!;
    if (part === 'trace') {
      traces++;
      const next = parts[pi + 1];
      while (i < lines.length) {
        const line = lines[i++]!;
        if (CORRUPTED_FRAME_RE.test(line)) {
          ok = false;
          break;
        }
        if (TRACE_START_RE.test(line)) break;
        if (next !== undefined && next !== 'trace') {
          const m = next.exec(line);
          if (m) {
            capture(raw, m, skip);
            pi++;
            break;
          }
        }
        const m = TITLE_FRAME_RE.exec(line) ?? TITLE_ARM_FRAME_RE.exec(line);
        if (m) capture(raw, m, skip);
      }
      continue;
    }
    while (i < lines.length) {
      const line = lines[i++]!;
      if (CORRUPTED_FRAME_RE.test(line)) {
        ok = false;
        break;
      }
      const m = part.exec(line);
      if (m) {
        capture(raw, m, skip);
        break;
      }
    }
  }
  return { frames, ok };
}

/** The frames of a report for display: `func+0x12/0x34` (or `func`) lines of its first trace. */
export function displayStack(lines: string[], max = 48): string[] {
  const out: string[] = [];
  let started = false;
  for (const line of lines) {
    const t = line.trim();
    if (started && OTHER_STACK_RE.test(t)) break;
    const fr = parseFrame(line);
    if (!fr) {
      if (started && /^(?:Kernel Offset|---\[ end|Code:|Modules linked in)/.test(t)) break;
      continue;
    }
    if (fr.questionable) continue;
    started = true;
    out.push(t.replace(/^(?:\[<?(?:0x)?[0-9a-f]+>?\] ?){1,2}\s*/, ''));
    if (out.length >= max) break;
  }
  return out;
}
