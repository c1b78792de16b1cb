/**
 * `oscope doctor`: from the probed features to the method each command will use, best first, and
 * what it will not see. Pure.
 */
import type { Feature } from '../kernel/features.js';

export interface CommandPlan {
  command: string;
  method: string;
  /** What the chosen method cannot see on this host, and what would fix it. */
  limits: string[];
}

export function planCommands(features: Feature[]): CommandPlan[] {
  const has = (id: string): boolean => features.find((f) => f.id === id)?.available === true;
  const plans: CommandPlan[] = [];
  const root = has('root');
  const bpf = has('btf') && has('bpf') && root;
  // Tracepoint programs attach as tp_btf or raw_tp without tracefs; classic ones need it mounted.
  const tracing = bpf && (has('tp_btf') || has('raw-tracepoints') || has('tracepoints'));

  {
    const limits: string[] = [];
    if (!root) limits.push('not root: slab, vmalloc, kpageflags and other users\' processes are hidden');
    if (!has('kpageflags')) limits.push('no /proc/kpageflags: the unaccounted figure is not cross-checked');
    if (!has('memcg-v1') && !has('memcg-v2')) limits.push('no memory cgroup hierarchy: no cgroup, container or zombie figures');
    if (!has('allocinfo')) limits.push('no /proc/allocinfo: unaccounted kernel memory is not named by call site');
    const m = ['meminfo', has('kpageflags') ? 'kpageflags cross-check' : null, has('memcg-v2') ? 'cgroup v2' : has('memcg-v1') ? 'cgroup v1' : null]
      .filter(Boolean)
      .join(' + ');
    plans.push({ command: 'mem', method: m, limits });
  }
  {
    const limits: string[] = [];
    let method: string;
    // The in-core inode walk (bpf/filecache.bpf.c) needs a task_file iterator and bpf_loop; the iterator
    // probe loads the self-test object, which `make build` builds with the filecache object.
    const measureWith = has('cachestat') ? 'cachestat(2)' : 'mincore(2)';
    if (bpf && has('bpf-iter') && has('bpf-loop')) {
      method = `BPF in-core inode walk (every super block's cached inodes, named from the dentry cache) + open/mapped files for holders, measured with ${measureWith}`;
    } else {
      method = `open/mapped files + tmpfs + file system walk, measured with ${measureWith}`;
      const why = !root ? 'needs root' : !has('btf') ? 'needs kernel BTF' : !has('bpf-iter') ? 'needs BPF iterators (5.8+) and the built object (make build)' : !has('bpf-loop') ? 'needs bpf_loop (5.17+)' : 'needs BPF';
      limits.push(`files nobody has open are found only by walking the file systems (the BPF in-core inode walk ${why})`);
    }
    if (!has('kpagecgroup')) limits.push('no /proc/kpagecgroup: pages are not attributed to cgroups');
    plans.push({ command: 'filecache', method, limits });
  }
  {
    const limits: string[] = [];
    let method = 'slabinfo/vmallocinfo growth watch';
    if (tracing) method += ` + BPF outstanding-allocation tracing on kmem tracepoints (${has('tp_btf') ? 'tp_btf' : has('raw-tracepoints') ? 'raw_tp' : 'tracepoint'})`;
    else limits.push('no BPF tracing (needs root, BTF and the native addon): no call stacks, counters only');
    if (has('allocinfo')) method += ' + allocinfo';
    // vmalloc before 6.3 (no vmap-area tracepoints): fentry/fexit on the functions the tracepoints later
    // went into, else a kprobe/kretprobe pair (src/diagnose/memleak/trace.ts).
    const pre63 = [has('fentry') ? 'fexit alloc_vmap_area + fentry free_vmap_area_noflush' : null, has('kprobes') ? 'a kprobe/kretprobe pair on __vmalloc_node_range' : null].filter(Boolean);
    if (tracing && pre63.length > 0) method += `; vmalloc through ${pre63.join(', else ')} where the vmap-area tracepoints are missing (before 6.3)`;
    plans.push({ command: 'memleak', method, limits });
  }
  {
    const limits: string[] = [];
    let method: string;
    if (tracing) {
      const perf = !has('perf-events') ? '' : has('nmi-watchdog') ? ' + hardware NMI watchdog (a cycles perf event per CPU) for irq-off + per-CPU cpu-clock perf events for nosched' : ' + per-CPU cpu-clock perf events for irq-off and nosched';
      method = `BPF on sched/irq tracepoints (${has('tp_btf') ? 'tp_btf' : 'raw_tp'})${perf}`;
      if (!has('perf-events')) limits.push('no perf events: no irq-off or nosched detection');
      else if (!has('nmi-watchdog')) limits.push('no hardware NMI watchdog (no CPU PMU that samples): irq-off is found from late cpu-clock samples, with the stack where the section ended rather than inside it');
    } else {
      method = has('osnoise') || has('timerlat') ? 'osnoise/timerlat tracers' : 'unavailable';
      limits.push('needs BTF and BPF (root) for all detectors');
    }
    plans.push({ command: 'runlatency', method, limits });
  }
  {
    const limits: string[] = [];
    const src = [has('kmsg') ? '/dev/kmsg' : null, 'journal or /var/log files when present', '--log files'].filter(Boolean).join(' + ');
    if (!root) limits.push('not root: /dev/kmsg may be restricted (kernel.dmesg_restrict)');
    plans.push({ command: 'inspect', method: src, limits });
  }
  const tp = has('tp_btf') ? 'tp_btf' : 'raw_tp';
  {
    const limits: string[] = [];
    let method = '/proc/diskstats + /sys/block (iostat -x) + /proc/PID/io + cgroup io counters';
    if (tracing) method += ` + BPF on block, writeback and sched tracepoints (${tp}): latency by stage, per-file traffic, hangs, iowait`;
    else limits.push('no BPF tracing (needs root, BTF and the native addon): no latency by stage, no per-file traffic, no iowait');
    if (!has('psi')) limits.push('no /proc/pressure: no PSI io');
    plans.push({ command: 'io', method, limits });
  }
  {
    const limits: string[] = [];
    let method = '/proc/net/{snmp,netstat,softnet_stat,dev,tcp,tcp6} per network namespace (through /proc/PID/net)';
    if (tracing) method += ` + BPF on skb:kfree_skb and tcp tracepoints (${tp}): drops with their reason (names from BTF), retransmits, resets`;
    else limits.push('no BPF tracing: counters only, no drop reasons or per-flow retransmits');
    plans.push({ command: 'net', method, limits });
  }
  {
    const limits: string[] = [];
    let method = '/proc/loadavg + /proc/stat + cgroup cpu.stat';
    if (bpf && has('bpf-iter')) method += ` + BPF task iterator (runnable and D threads with stacks) + ${tp} sched_process_fork/exec`;
    else {
      method += ' + /proc task walk';
      limits.push('no BPF task iterator (needs root, BTF, 5.8+): runnable and D threads sampled from /proc, slower and coarser');
    }
    plans.push({ command: 'load', method, limits });
  }
  {
    const limits: string[] = [];
    let method: string;
    if (bpf && has('perf-events')) {
      method = `BPF on perf events (${has('nmi-watchdog') ? 'cycles' : 'cpu-clock'}), kernel and user stacks aggregated in the kernel; symbols from ELF, debug files, perf maps and kallsyms`;
      if (!has('nmi-watchdog')) limits.push('no hardware PMU: sampled on the cpu-clock software event (interrupt-disabled code is not sampled)');
    } else {
      method = 'unavailable';
      limits.push('needs root, BTF and perf events');
    }
    plans.push({ command: 'profile', method, limits });
  }
  return plans;
}
