import type { Catalog } from '../index.js';

/**
 * Messages of `oscope load`. Placeholders come from src/diagnose/load/analyze.ts (params of each finding).
 */
export const load: Catalog = {
  findings: {
    'load.runnable.high': {
      title: '{meanRunnable} threads want a CPU on {cpus} CPUs',
      conclusion:
        'Over the interval {meanRunnable} threads were runnable on average ({perCpu} per CPU, threshold {thresholdPerCpu}; load1 {load1}): the CPUs are oversubscribed and threads wait for one. The biggest contributor is {top} (runnable {topRunnablePct} of the samples, {sharePct} of the demand, in {cgroup}); CPU time is {userPct} user, {sysPct} system.',
      suggestions: [
        'See what {top} does: `top -H -p {pid}` for its busy threads, `oscope profile --pid {pid}` for where it spends its CPU.',
        'If the demand is legitimate, add CPUs or spread the work; otherwise cap it with a CPU quota on its cgroup (cgroup v2 cpu.max, v1 cpu.cfs_quota_us) or lower its priority (`renice +10 -p {pid}`).',
        'How long the waiting threads wait for a CPU: `oscope runlatency`.',
      ],
    },
    'load.uninterruptible.high': {
      title: '{dTasks} threads blocked in D state, {tasks} of them in {waitIn}',
      conclusion:
        'On average {meanUninterruptible} threads were in uninterruptible sleep (threshold {threshold}): they count in the load average without using a CPU. The largest group, {tasks} threads ({comms}; pids {pids}), is blocked in {waitIn}, the longest for {maxWaitMs}; {groups} distinct stacks in all; lock owner: {owner}; iowait {iowaitPct} of CPU time.',
      suggestions: [
        'The stack says what they wait for: block I/O (io_schedule, blk_*: `oscope io`), a network file system (nfs_*, fuse_*: check the server and `mount` options), or a lock held by another task.',
        'D threads cannot be killed while they wait (killable ones with SIGKILL only): fix what they wait for. `cat /proc/<pid>/stack` on one of them (pids {pids}) shows it live; `echo w > /proc/sysrq-trigger` logs every blocked task.',
      ],
    },
    'load.fork-storm': {
      title: '{perS} new processes per second',
      conclusion:
        'The kernel created {perS} processes and threads per second (threshold {thresholdPerS}), {execPerS} execs per second; the parent that forks most is {parent} ({parentPerS} forks/s, {parentExecPerS} execs/s of its children, in {cgroup}); system time is {sysPct}.',
      suggestions: [
        'Look at what {parent} starts: `ps --ppid {pid} -o pid,etime,args`, or `execsnoop` for the commands; a script that spawns a process per item, a crash-looping child or a health check run too often are the usual causes.',
        'Cap it while you fix it: a pids limit on its cgroup (pids.max), or a longer restart back-off for a crash-looping service (systemd RestartSec).',
      ],
    },
    'load.cpu.throttled': {
      title: '{who} is CPU-throttled in {throttledPct} of its periods',
      conclusion:
        'The cgroup {cgroup} hit its CPU quota ({quota} CPUs) in {throttledPeriods} of {periods} periods ({throttledPct}, threshold {thresholdPct}) and its tasks were held back for {throttledMs} in all, while it used {usage} CPUs: its threads wait for the next period even when CPUs are idle.',
      suggestions: [
        'Raise the quota ({file} in {cgroup}; for Kubernetes the container\'s CPU limit) or remove it and rely on CPU weights (shares) instead.',
        'If the work is bursty, a longer period or cpu.cfs_burst_us / cpu.max.burst lets it borrow unused quota; a process with more threads than its quota in CPUs is throttled early in each period (fewer worker threads help).',
      ],
    },
    'load.cpu.imbalance': {
      title: 'CPU {busyCpu} is overloaded while CPU {idleCpu} is idle {idlePct}',
      conclusion:
        'CPU {busyCpu} had {meanRunnable} runnable threads on average (threshold {thresholdRunnable}) while CPU {idleCpu} was idle {idlePct} of the time (threshold {thresholdIdlePct}): the scheduler could not spread the work. {pinned} of the threads on CPU {busyCpu} may only run on a subset of CPUs (e.g. {pinnedTask}, {allowedCpus} CPUs allowed).',
      suggestions: [
        'Check the affinity of the pinned threads: `taskset -pc {pid}`, the cpuset of their cgroup (cpuset.cpus) or isolcpus/nohz_full on the kernel command line.',
        'Widen the affinity (`taskset -pc 0-N {pid}`) or move the work to CPUs that are free; irqbalance and RPS settings can also pile work on one CPU.',
      ],
    },
    'load.sys.high': {
      title: 'The kernel takes {sysPct} of the CPU time',
      conclusion:
        'System (kernel) time was {sysPct} of all CPU time (threshold {thresholdPct}), next to {userPct} user, {irqPct} irq and {softirqPct} softirq; {forksPerS} new processes per second; the busiest task is {top}.',
      suggestions: [
        'Find where the kernel spends the time: `oscope profile` (kernel stacks), or `perf top -g`.',
        'Common causes: many small syscalls (strace -c -p {pid}), forking and exec (see forks), page faults and memory reclaim (`oscope mem`), lock contention in the kernel.',
      ],
    },
  },
  text: {
    'load.uninterruptible.owner': 'They wait for a lock held by {owner}: look at what it does (`cat /proc/{pid}/stack`, `cat /proc/{pid}/wchan`).',
    'load.title': 'Load over {intervalS} s ({samples} samples)',
    'load.loadavg': 'load average {load1} {load5} {load15} on {cpus} CPUs ({trend}); {meanRunnable} runnable and {meanUninterruptible} D threads on average',
    'load.cpu': 'CPU: user {userPct}, system {sysPct}, irq {irqPct}, softirq {softirqPct}, iowait {iowaitPct}, steal {stealPct}, idle {idlePct}',
    'load.section.tasks': 'Who is runnable or blocked (share of the samples)',
    'load.section.dstacks': 'Threads in D state, by kernel stack',
    'load.section.forks': 'Forks: {perS}/s, execs: {execPerS}/s',
    'load.section.throttled': 'CPU-throttled cgroups',
    'load.section.cpus': 'Run queues per CPU',
    'load.watching': 'sampling the load for {intervalS} s: Ctrl-C to stop early',
  },
};
