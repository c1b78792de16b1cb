import type { Catalog } from '../index.js';

/**
 * Messages of `oscope profile` and `oscope profile diff`. Placeholders come from
 * src/diagnose/profile/analyze.ts and diff.ts (params of each finding).
 */
export const profile: Catalog = {
  findings: {
    'profile.function.hot': {
      title: '{function} takes {selfPct} of the CPU samples',
      conclusion: '{function} ({module}) is running in {selfPct} of all samples (self; {totalPct} with what it calls; threshold {thresholdPct}), mostly in {comm} [{pid}]: this is where the CPU time goes.',
      suggestions: [
        'Look at what calls {function} in the flame graph (`oscope profile --pid {pid} --format svg -o profile.svg`) and whether that much work is needed: a hot loop, a retry storm, a lock spun on, an inefficient algorithm.',
        'Compare with a profile from a good period (`oscope profile diff good.json now.json`) to see what got hotter.',
      ],
    },
    'profile.kernel.high': {
      title: 'The kernel takes {kernelPct} of the CPU samples',
      conclusion: '{kernelPct} of the samples are in the kernel (threshold {thresholdPct}); the hottest kernel function is {function} with {functionPct}: the system time comes from system calls, page faults, interrupts or locking the workload causes.',
      suggestions: [
        'Follow the kernel frames down to the user frames that entered the kernel in the flame graph: frequent small system calls, page faults on fresh memory, or a contended lock are the usual causes.',
        'Run `oscope load` for the sys/irq/softirq split and `oscope runlatency` when the kernel time comes with scheduling delays.',
      ],
    },
    'profile.offcpu.blocked': {
      title: 'Tasks block most in {function}: {blockedMs} ({sharePct})',
      conclusion: 'The stack that blocked longest waited {blockedMs} in {function}, {sharePct} of all {totalMs} off-CPU time, entered from {caller}: this is where the tasks wait rather than run.',
      suggestions: [
        'Read the whole stack (in `--format svg` or the text output) to see what the task waits for: I/O (io_schedule), a lock (futex, mutex), the network (poll, epoll_wait, sk_wait) or a timer (nanosleep, idle by design).',
        'For I/O waits run `oscope io`; for run-queue delays (time runnable but not running) run `oscope runlatency`, which off-CPU time does not include.',
      ],
    },
    'profile.symbols.missing': {
      title: '{unknownPct} of the samples have frames that could not be named',
      conclusion: '{unknownPct} of the samples have at least one frame oscope could not name (threshold {thresholdPct}); the most common reason is {reason}.',
      suggestions: [
        '`[unknown: no frame pointers]`: rebuild the program with `-fno-omit-frame-pointer` (or use a distribution that builds with frame pointers); for Node run it with `--perf-basic-prof`, for Java add a perf-map agent.',
        '`[unknown: stripped]`: install the debug symbols package (`apt install <package>-dbgsym`, `debuginfo-install <package>`), which puts files under /usr/lib/debug that oscope reads.',
      ],
    },
    'profile.samples.few': {
      title: 'Only {samples} samples: too few to conclude',
      conclusion: 'The profile has {samples} samples over {intervalS} s (fewer than {minSamples}): the workload was mostly idle in scope, or the interval was short.',
      suggestions: ['Profile for longer (`-i 30`), at a higher rate (`--hz 99`), or check the scope (--pid, --cgroup, --container) is the busy one.'],
    },
    'profile.diff.hotter': {
      title: '{function} got hotter: {beforePct} → {afterPct}',
      conclusion: '{function} ({module}) went from {beforePct} to {afterPct} of the samples (self), {deltaPoints} points more (threshold {thresholdPoints} points).',
      suggestions: ['Look at the callers of {function} in the later profile\'s flame graph: what changed there (a deployment, a configuration, the input) is what made it hotter.'],
    },
  },
  text: {
    'profile.title': 'CPU profile: {samples} samples over {intervalS} s at {hz} Hz ({event})',
    'profile.title.offcpu': 'Off-CPU profile: {samples} blocked over {intervalS} s (sched_switch)',
    'profile.section.functions': 'Top functions (self)',
    'profile.section.processes': 'Processes',
    'profile.section.stacks': 'Hottest stacks (innermost first)',
    'profile.formats': 'Flame graph: --format svg -o profile.svg; for other tools: --format folded|pprof|speedscope.',
    'profile.watching': 'Profiling for {intervalS} s… (Ctrl-C stops early and reports what was gathered)',
    'profile.diff.title': 'Profile diff: {beforeSamples} samples ({beforeS} s) → {afterSamples} samples ({afterS} s), shares in percent of each',
    'profile.diff.section.hotter': 'Hotter',
    'profile.diff.section.cooler': 'Cooler',
    'profile.written': 'Wrote {path} ({format}).',
  },
};
