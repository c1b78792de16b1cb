/**
 * How crash titles are made (rules/inspect/README.md, "How titles are made"): frame reading, syscall
 * prefixes, Rust names, and the report text a title is read from.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demangleRust } from '../../../src/diagnose/inspect/demangle.js';
import { scanLog } from '../../../src/diagnose/inspect/engine.js';
import { compileRegex, loadRules } from '../../../src/diagnose/inspect/rules.js';
import { extractFrames, stripFramePrefix } from '../../../src/diagnose/inspect/stack.js';

const rules = loadRules();
const at = (t: number, ctx: string, lines: string[]): string[] => lines.map((l, i) => `[  ${(t + i / 1e6).toFixed(6)}][${ctx}] ${l}`);

test('titles: Rust v0 symbols demangle to paths; other names stay as they are', () => {
  assert.equal(demangleRust('_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind'), '__rustc::rust_begin_unwind');
  assert.equal(demangleRust('_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref'), '<rust_binder::process::Process>::update_ref');
  assert.equal(
    demangleRust('_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmt'),
    '<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt',
  );
  assert.equal(demangleRust('tcp_sendmsg'), 'tcp_sendmsg');
  assert.equal(demangleRust('_RNvB99_3foo'), '_RNvB99_3foo', 'a bad back-reference leaves the name as it is');
  assert.equal(demangleRust('_RNv'), '_RNv');
});

test('titles: syscall wrappers lose their shortest-leaving prefix', () => {
  assert.equal(stripFramePrefix('__x64_sys_recvmmsg'), 'sys_recvmmsg');
  assert.equal(stripFramePrefix('__do_sys_clock_adjtime'), 'clock_adjtime');
  assert.equal(stripFramePrefix('__se_sys_ioctl'), 'ioctl');
  assert.equal(stripFramePrefix('ksys_write'), 'write');
  assert.equal(stripFramePrefix('tcp_sendmsg'), 'tcp_sendmsg');
  assert.equal(stripFramePrefix('sys_'), 'sys_');
});

test('titles: parts, traces and skips read frames as the kernel prints them', () => {
  const skip = compileRegex('dump_stack|kmalloc', 'test');
  const stack = { parts: [compileRegex('Call Trace:', 't'), 'trace' as const, compileRegex('Uninit was created at:', 't'), 'trace' as const] };
  const r = extractFrames(
    [
      'BUG: something',
      'Call Trace:',
      ' dump_stack+0x10/0x20',
      ' ? unreliable_frame+0x1/0x2',
      ' __inline_helper include/linux/x.h:12 [inline]',
      ' __x64_sys_sendmsg+0x33/0x40',
      'Uninit was created at:',
      ' kfree_it.isra.0+0x1/0x2',
    ],
    stack,
    skip,
  );
  assert.deepEqual(r, { frames: ['sys_sendmsg', 'kfree_it'], ok: true });
  // A fault-injection frame marks the report corrupted but the frame found is kept.
  const f = extractFrames(['x', 'Call Trace:', ' should_failslab+0x1/0x2', ' foo+0x1/0x2'], { parts: [compileRegex('x', 't'), 'trace'] }, skip);
  assert.equal(f.ok, false);
  // Nothing left: `corrupted`.
  const c = extractFrames(['x', 'Call Trace:', ' dump_stack+0x1/0x2'], { parts: [compileRegex('Call Trace:', 't'), 'trace'] }, skip);
  assert.deepEqual(c, { frames: ['corrupted'], ok: false });
});

test('titles: an OOM kill printed inside an oops is its own report and does not cut the oops', () => {
  const log = [
    '[  201.0] Kernel panic - not syncing: corrupted stack end detected inside scheduler',
    '[  201.1] Workqueue: writeback wb_workfn (flush-8:0)',
    '[  201.2] Call Trace:',
    '[  201.3]  dump_stack+0x1d3/0x2c6',
    '[  201.4]  panic+0x2ad/0x55f',
    '[  201.5]  __schedule+0x1ec6/0x1ed0',
    '[  201.6]  add_to_page_cache_lru+0x355/0xdb0',
    '[  201.7] syz-executor invoked oom-killer: gfp_mask=0x6202c2(GFP_HIGHUSER|__GFP_NOWARN), nodemask=(null), order=0, oom_score_adj=1000',
    '[  201.8]  ext4_writepages+0x2573/0x4180',
    '[  201.9]  do_writepages+0x9a/0x1a0',
    '[  202.0]  wb_workfn+0x2f3/0x1130',
    '[  202.1]  process_one_work+0xc90/0x1c40',
    '[  202.2]  worker_thread+0x17f/0x1390',
    '[  202.3]  kthread+0x35a/0x440',
  ].join('\n');
  const reps = scanLog(log, rules);
  assert.deepEqual(
    reps.map((r) => [r.kind, r.title]),
    [
      ['DoS', 'kernel panic: corrupted stack end in wb_workfn'],
      ['OOM', reps[1]?.title],
    ],
  );
  assert.equal(reps[1]!.kind, 'OOM');
});

test('titles: with caller ids, a stall whose CPU hits a WARNING is titled from what that CPU printed next', () => {
  const log = [
    ...at(611, '    C1', [
      'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      '------------[ cut here ]------------',
      'WARNING: CPU: 1 PID: 4737 at kernel/sched/core.c:2698 try_invoke_on_locked_down_task+0x18b/0x320',
      'Call Trace:',
      ' <IRQ>',
      ' dump_stack+0x1f0/0x31e',
      ' __warn+0x227/0x250',
      'RIP: 0010:try_invoke_on_locked_down_task+0x18b/0x320',
      ' rcu_sched_clock_irq+0x12ec/0x1eb0',
      ' __sysvec_apic_timer_interrupt+0xf0/0x260',
      ' </IRQ>',
      ' asm_sysvec_apic_timer_interrupt+0x12/0x20',
      'RIP: 0010:smp_call_function_single+0x311/0x450',
      ' on_each_cpu+0x4d/0x1f0',
      ' clock_was_set+0x18/0x20',
      ' __x64_sys_clock_adjtime+0x17e/0x210',
      ' do_syscall_64+0x73/0xe0',
    ]),
  ].join('\n');
  const titles = scanLog(log, rules).map((r) => r.title);
  assert.deepEqual(titles, ['INFO: rcu detected stall in smp_call_function', 'WARNING in try_invoke_on_locked_down_task']);
});

test('titles: without caller ids, an interleaved fault-injection stack ends the text a title is read from', () => {
  const log = [
    '[   63.728898] WARNING: suspicious RCU usage',
    '[   63.733060] 4.15.0+ #222 Not tainted',
    '[   63.733438] FAULT_INJECTION: forcing a failure.',
    '[   63.736798] -----------------------------',
    '[   63.736809] ./include/linux/rcupdate.h:302 Illegal context switch in RCU read-side critical section!',
    '[   63.810519] Call Trace:',
    '[   63.813099]  dump_stack+0x194/0x257',
    '[   63.825946]  should_fail+0x8c0/0xa40',
    '[   63.865814]  __kmalloc+0x63/0x760',
    '[   63.869254]  rds_conn_create+0x63/0x760',
  ].join('\n');
  const [r] = scanLog(log, rules);
  assert.equal(r?.title, 'WARNING: suspicious RCU usage');
  assert.equal(r?.kind, 'WARNING');
  assert.equal(r?.corrupted, true);
});

test('titles: a Rust panic names the first Rust frame that is not the unwinder', () => {
  const log = at(23, '  T298', [
    'rust_kernel: panicked at drivers/android/binder/node.rs:877:13:',
    'attempt to subtract with overflow',
    'Call Trace:',
    ' <TASK>',
    ' _RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind+0x15b/0x160',
    ' ? _RNvMs0_NtCshgDM7dBCdno_11rust_binder4nodeNtB5_4Node22update_refcount_locked+0x401/0x810',
    ' _RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref+0x17e5/0x1860',
  ]).join('\n');
  assert.equal(scanLog(log, rules)[0]?.title, 'attempt to subtract with overflow in <rust_binder::process::Process>::update_ref');
});
