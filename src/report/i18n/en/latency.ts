import type { Catalog } from '../index.js';

/**
 * Messages of `oscope runlatency`. Placeholders (src/diagnose/latency/analyze.ts): count, maxMs,
 * thresholdMs, totalMs, victim, victimPid, culprit, culpritPid, cpus, frame.
 */
export const latency: Catalog = {
  findings: {
    // Always present (src/diagnose/latency/analyze.ts summaryFinding).
    'lat.summary': {
      title: 'Latency over {durationS} s on {cpus} CPUs',
      conclusion:
        'In {durationS} s on {cpus} CPUs, {wakeups} wakeups waited for a CPU: run-queue p99 {p99Ms} (worst on CPU {worstCpu}), longest {maxMs}; {events} event(s) went over their thresholds.',
      suggestions: [
        'Look closer or longer: `oscope runlatency -i 60 --cpu {worstCpu}`, or lower a threshold (`--threshold runqueue=10ms`) to list the events under the defaults.',
      ],
    },
    'lat.runqueue.high': {
      title: 'Tasks waited {maxMs} on the run queue',
      conclusion:
        '{count} wakeups waited longer than {thresholdMs} to run (worst {maxMs}, CPUs {cpus}); {victim} [{victimPid}] suffered most, and {culprit} [{culpritPid}] held the CPU meanwhile.',
      suggestions: [
        'Check what {culprit} [{culpritPid}] runs: a real-time (SCHED_FIFO/RR) busy loop or a CPU-bound task on the same CPU starves others; `chrt -p {culpritPid}` and `taskset -p {culpritPid}` show its policy and CPUs.',
        'Give the latency-sensitive task its own CPUs (cpuset, `taskset`), or lower the culprit\'s priority (`renice`, `chrt -o -p 0 {culpritPid}`), or cap it with a cgroup cpu.max.',
      ],
    },
    'lat.irqoff': {
      title: 'Interrupts were off for {maxMs}',
      conclusion:
        'A CPU ran with hard interrupts disabled for up to {maxMs} ({count} times over {thresholdMs}, CPUs {cpus}), in {culprit} [{culpritPid}] near {frame}; nothing else can run or be interrupted on that CPU meanwhile.',
      suggestions: [
        'Read the stack (near {frame}): with the hardware NMI watchdog it was taken inside the irq-off section, with cpu-clock samples where interrupts came back on (its end); either way the code that held interrupts off is on it. Search the kernel changelog for fixes to it.',
        'On a VM, a stolen vCPU looks the same: gaps with hypervisor steal time were already left out; if events persist, check the host for CPU overcommit.',
      ],
    },
    'lat.softirq.slow': {
      title: 'Softirqs delayed or ran for {maxMs}',
      conclusion:
        '{count} softirqs waited or ran longer than {thresholdMs} (worst {maxMs}, CPUs {cpus}); most affected: {victim}, most to blame: {culprit}.',
      suggestions: [
        'Heavy network softirq load (NET_RX/NET_TX) calls for spreading interrupts (RPS/RFS, irqbalance, more queues) or reducing net.core.netdev_budget_usecs.',
        'A delayed softirq under a busy task means bottom halves were disabled or ksoftirqd could not run: check the culprit\'s priority and CPU.',
      ],
    },
    'lat.hardirq.slow': {
      title: 'An interrupt handler ran for {maxMs}',
      conclusion: '{count} hard interrupt handlers ran longer than {thresholdMs} (worst {maxMs}, CPUs {cpus}), mostly {culprit}, interrupting {victim}.',
      suggestions: [
        'A slow handler is a driver issue: update the driver or firmware of the device behind {culprit}, or move its IRQ to another CPU (/proc/irq/N/smp_affinity).',
      ],
    },
    'lat.nosched': {
      title: '{culprit} ran in the kernel for {maxMs} without scheduling',
      conclusion:
        '{culprit} [{culpritPid}] stayed in kernel mode without scheduling for up to {maxMs} ({count} times over {thresholdMs}, CPUs {cpus}) while other tasks waited, near {frame}.',
      suggestions: [
        'The stack names the long kernel path (near {frame}): a loop without cond_resched(); find what the process asks the kernel to do there (a huge munmap, close of many files, a big /proc read) and split the work.',
        'On kernels with PREEMPT_DYNAMIC, booting with preempt=voluntary or preempt=full lets waiting tasks in sooner.',
      ],
    },
  },
  text: {
    'lat.title': 'Scheduling and interrupt latency ({durationS} s, {cpus} CPUs)',
    'lat.thresholds': 'thresholds',
    'lat.section.summary': 'Summary per kind',
    'lat.section.events': 'Worst events',
    'lat.section.hist': 'Run-queue latency (wakeup to run) per CPU and cgroup',
    'lat.steal': '{count} cpu-clock gaps were hypervisor steal time (the vCPU was not running), not irq-off.',
    'lat.timerGaps': '{count} late cpu-clock samples found the CPU idle or in user mode, or interrupts were taken during the gap (interrupts were on: a delayed timer or a vCPU the host did not run), not irq-off.',
    'lat.lost': '{count} events were lost (ring buffer full).',
    'lat.watching': 'tracing latency for {durationS} s: Ctrl-C to stop early',
    'lat.monitor.started': 'runlatency monitor started in a detached process (pid {pid}); state in {file}',
    'lat.monitor.stopped': 'runlatency monitor stopped (detached process, pid {pid}); nothing stays attached',
    'lat.monitor.startedAgent': 'runlatency monitor started in the running agent (pid {pid}, {socket})',
    'lat.monitor.stoppedAgent': 'runlatency monitor stopped in the agent (pid {pid}); nothing stays attached',
    'lat.monitor.none': 'no runlatency monitor is running',
    'lat.monitor.written': 'wrote {json} and {text}',
    'lat.monitor.from.agent': 'from the runlatency monitor in the agent (pid {pid})',
    'lat.monitor.from.process': 'from the runlatency monitor in a detached process (pid {pid})',
  },
};
