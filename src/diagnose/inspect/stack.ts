/**
 * Call-trace handling: which lines are stack frames, and which frame names a report.
 *
 * A report's stable title names the first "meaningful" frame: the first one that is not noise
 * (sanitizer runtime, printk, locking primitives, list helpers, …; the `stackSkip` list of the rule files
 * plus the rule's own `skip`). Stalls and hung tasks use extractors that look for an anchor frame
 * (syscall entry, workqueue, rtnl_lock, synchronize_rcu) instead, because their top frames are random.
 */
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

/** Anchor frames for stalls: entry points that dispatch work (their caller names the bug). */
const STALL_ANCHORS = new RegExp(
  [
    'process_one_work', 'do_syscall_', 'do_fast_syscall_', 'sysenter_dispatch', 'tracesys_phase2',
    'netif_receive_skb', 'do_softirq', 'call_timer_fn', '_run_timers', 'run_timer_softirq', 'run_ksoftirqd',
    'smpboot_thread_fn', 'kthread', 'start_secondary', 'cpu_startup_entry', 'ret_from_fork',
    'vfs_write', 'vfs_read', 'vfs_iter_read', 'vfs_iter_write', 'do_iter_read', 'do_iter_write',
    'vfs_ioctl', 'ksys_ioctl', 'compat_ioctl', 'compat_sys_ioctl', 'blkdev_driver_ioctl', 'blkdev_ioctl',
    '^call_read_iter', '^call_write_iter', 'do_iter_readv_writev', '^call_mmap', 'mmap_region', 'do_mmap',
    'do_dentry_open', 'vfs_open', '^sock_sendmsg', '^sock_recvmsg', '^sock_release', '^__sock_release',
    '__sys_setsockopt', 'kernel_setsockopt', 'sock_common_setsockopt', '__sys_listen', 'kernel_listen',
    'sk_common_release', '^sock_mmap', '__sys_accept', 'kernel_accept', '^sock_do_ioctl', '^sock_ioctl',
    '^compat_sock_ioctl', '^nfnetlink_rcv_msg', '^rtnetlink_rcv_msg',
    '^(compat_)?(SYSC|SyS|__sys|___sys|__do_sys|__se_sys|__x64_sys)_(socketpair|connect|ioctl)',
    '__do_fault', 'handle_mm_fault', 'do_page_fault', '^page_fault$', '__fput', 'task_work_run',
    'exit_to_usermode', 'smp_call_function', 'el0_svc', 'invoke_syscall', 'do_el0_svc', 'tasklet_action', 'tasklet_hi_action', 'hrtimer_run_queues',
  ].join('|'),
);

/** The caller of the first anchor frame (syscall prefixes trimmed). */
export function stallFrame(frames: string[]): string | undefined {
  let prev = frames[0];
  for (const f of frames) {
    if (STALL_ANCHORS.test(f)) {
      if (f.includes('smp_call_function')) prev = 'smp_call_function';
      if (prev === undefined) return undefined;
      return prev.replace(/^(?:__x64_|__arm64_|SYSC_|SyS_|compat_SYSC_|compat_SyS_|__ia32_sys_|__do_sys_|__se_sys_)/, '');
    }
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
  'context_switch', '__switch_to', 'cancel_delayed_work', 'rcu_barrier', 'do_read_cache',
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
 * Finds the frame that names a report: walks `parts` in order (a regex must match a line, its first
 * capture is a candidate frame; `trace` reads frames), skipping noise frames; then tries `parts2`.
 */
export function extractFrame(lines: string[], stack: CompiledStack, globalSkip: RegExp): string | undefined {
  const first = walk(lines, stack.parts, stack, globalSkip);
  if (first !== undefined) return first;
  if (stack.parts2) return walk(lines, stack.parts2, stack, globalSkip);
  return undefined;
}

function skipped(func: string, stack: CompiledStack, globalSkip: RegExp): boolean {
  return globalSkip.test(func) || (stack.skip !== undefined && stack.skip.test(func));
}

function walk(lines: string[], parts: (RegExp | 'trace')[], stack: CompiledStack, globalSkip: RegExp): string | undefined {
  const frames: string[] = [];
  let pos = 0;
  for (let pi = 0; pi < parts.length; pi++) {
    const part = parts[pi]!;
    if (part === 'trace') {
      const next = parts[pi + 1];
      let i = pos;
      let seenFrame = false;
      for (; i < lines.length; i++) {
        const line = lines[i]!;
        if (next !== undefined && next !== 'trace' && next.test(line)) break;
        if (CORRUPTED_FRAME_RE.test(line)) return undefined;
        if (seenFrame && OTHER_STACK_RE.test(line.trimStart())) {
          i = lines.length;
          break;
        }
        const fr = parseFrame(line);
        if (!fr || fr.questionable) continue;
        seenFrame = true;
        if (skipped(fr.func, stack, globalSkip)) continue;
        if (!stack.extractor) return fr.func;
        frames.push(fr.func);
      }
      pos = i;
      if (i >= lines.length) break;
      continue;
    }
    let found = false;
    for (let i = pos; i < lines.length; i++) {
      const m = part.exec(lines[i]!);
      if (!m) continue;
      found = true;
      pos = i + 1;
      const cand = m[1];
      if (cand !== undefined && cand !== '' && !skipped(cand, stack, globalSkip)) {
        if (!stack.extractor) return cand;
        frames.push(cand);
      }
      break;
    }
    if (!found) {
      if (frames.length === 0) return undefined;
      break;
    }
  }
  if (stack.extractor === 'stall') return stallFrame(frames);
  if (stack.extractor === 'hang') return hangFrame(frames);
  return undefined;
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
