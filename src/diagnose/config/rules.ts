/**
 * What matters in a configuration difference, in one table. Each rule names an area, the settings it
 * covers (glob patterns: `*` stands for any run of characters) and a severity; its reason — why this
 * difference changes what oscope diagnoses (memory pressure, reclaim, hung tasks, panics, latency,
 * listen overflows, socket memory) — is the catalog text `config.reason.<id>` in en and zh-CN. The first
 * rule that matches a difference marks it; a difference no rule matches is listed, not marked.
 *
 * NOISE is the other table: settings never compared, because they differ between any two nodes (or
 * between two reads of the same node) without being configuration. README "Configuration drift" lists both.
 */
import type { ConfigArea } from '../../contract/config.js';
import type { Thresholds } from '../thresholds.js';

export type Severity = 'info' | 'warning' | 'critical';

export interface DriftRule {
  id: string;
  area: ConfigArea;
  keys: readonly string[];
  severity: Severity;
  /** Marks only when this holds (e.g. memory size differs by more than a threshold). */
  when?: (a: string | null, b: string | null, t: Thresholds) => boolean;
}

const memTotalDiffers = (a: string | null, b: string | null, t: Thresholds): boolean => {
  if (a === null || b === null) return true;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return true;
  const big = Math.max(x, y);
  return big > 0 && (Math.abs(x - y) / big) * 100 >= t['configDiff.memTotalDiffPct'];
};

export const DRIFT_RULES: readonly DriftRule[] = [
  // kernel
  { id: 'kernel-release', area: 'kernel', keys: ['release', 'arch'], severity: 'warning' },
  { id: 'kernel-build', area: 'kernel', keys: ['version'], severity: 'info' },
  // sysctl: memory and reclaim
  { id: 'swappiness', area: 'sysctl', keys: ['vm.swappiness'], severity: 'warning' },
  { id: 'watermarks', area: 'sysctl', keys: ['vm.min_free_kbytes', 'vm.watermark_scale_factor', 'vm.watermark_boost_factor', 'vm.lowmem_reserve_ratio', 'vm.extra_free_kbytes'], severity: 'warning' },
  { id: 'dirty', area: 'sysctl', keys: ['vm.dirty_*', 'vm.dirtytime_expire_seconds'], severity: 'warning' },
  { id: 'overcommit', area: 'sysctl', keys: ['vm.overcommit_*'], severity: 'warning' },
  { id: 'panic', area: 'sysctl', keys: ['vm.panic_on_oom', 'kernel.panic*', 'kernel.*_panic', 'kernel.hung_task_panic'], severity: 'critical' },
  { id: 'oom-policy', area: 'sysctl', keys: ['vm.oom_kill_allocating_task', 'vm.oom_dump_tasks'], severity: 'info' },
  { id: 'zone-reclaim', area: 'sysctl', keys: ['vm.zone_reclaim_mode'], severity: 'warning' },
  { id: 'vfs-cache-pressure', area: 'sysctl', keys: ['vm.vfs_cache_pressure'], severity: 'info' },
  { id: 'hugepages', area: 'sysctl', keys: ['vm.nr_hugepages', 'vm.nr_overcommit_hugepages'], severity: 'warning' },
  { id: 'compaction', area: 'sysctl', keys: ['vm.compaction_proactiveness', 'vm.extfrag_threshold', 'vm.compact_unevictable_allowed'], severity: 'info' },
  { id: 'max-map-count', area: 'sysctl', keys: ['vm.max_map_count'], severity: 'info' },
  // sysctl: hangs, lockups, scheduling
  { id: 'hung-task', area: 'sysctl', keys: ['kernel.hung_task_*'], severity: 'warning' },
  { id: 'watchdog', area: 'sysctl', keys: ['kernel.watchdog*', 'kernel.nmi_watchdog', 'kernel.soft_watchdog', 'kernel.hardlockup_all_cpu_backtrace', 'kernel.softlockup_all_cpu_backtrace'], severity: 'warning' },
  { id: 'sched-rt', area: 'sysctl', keys: ['kernel.sched_rt_runtime_us', 'kernel.sched_rt_period_us'], severity: 'warning' },
  { id: 'numa-balancing', area: 'sysctl', keys: ['kernel.numa_balancing*'], severity: 'info' },
  { id: 'limits', area: 'sysctl', keys: ['kernel.pid_max', 'kernel.threads-max', 'fs.file-max', 'fs.nr_open', 'fs.inotify.max_user_*'], severity: 'warning' },
  { id: 'tainted', area: 'sysctl', keys: ['kernel.tainted'], severity: 'info' },
  { id: 'observability', area: 'sysctl', keys: ['kernel.kptr_restrict', 'kernel.perf_event_paranoid', 'kernel.unprivileged_bpf_disabled', 'kernel.ftrace_enabled', 'kernel.bpf_stats_enabled', 'kernel.dmesg_restrict', 'kernel.perf_event_mlock_kb'], severity: 'info' },
  // sysctl: network
  { id: 'listen-backlog', area: 'sysctl', keys: ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_syncookies', 'net.ipv4.tcp_abort_on_overflow'], severity: 'warning' },
  { id: 'socket-memory', area: 'sysctl', keys: ['net.ipv4.tcp_mem', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.udp_mem', 'net.core.rmem_*', 'net.core.wmem_*', 'net.core.optmem_max'], severity: 'warning' },
  { id: 'netdev-backlog', area: 'sysctl', keys: ['net.core.netdev_max_backlog', 'net.core.netdev_budget*', 'net.core.dev_weight*'], severity: 'info' },
  { id: 'conntrack', area: 'sysctl', keys: ['net.netfilter.nf_conntrack_max', 'net.nf_conntrack_max', 'net.netfilter.nf_conntrack_buckets'], severity: 'warning' },
  { id: 'ports', area: 'sysctl', keys: ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_max_tw_buckets', 'net.ipv4.tcp_fin_timeout'], severity: 'info' },
  { id: 'tcp-behaviour', area: 'sysctl', keys: ['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_retries2', 'net.ipv4.tcp_syn_retries', 'net.ipv4.tcp_synack_retries', 'net.core.default_qdisc'], severity: 'info' },
  // kernel command line
  { id: 'thp-enabled', area: 'cmdline', keys: ['transparent_hugepage', 'transparent_hugepage_shmem', 'thp_anon'], severity: 'warning' },
  { id: 'hugepages', area: 'cmdline', keys: ['hugepages', 'hugepagesz', 'default_hugepagesz', 'hugetlb_cma'], severity: 'warning' },
  { id: 'cgroup-version', area: 'cmdline', keys: ['cgroup_no_v1', 'systemd.unified_cgroup_hierarchy', 'systemd.legacy_systemd_cgroup_controller', 'cgroup_disable', 'cgroup_enable', 'cgroup.memory', 'swapaccount'], severity: 'warning' },
  { id: 'cpu-isolation', area: 'cmdline', keys: ['isolcpus', 'nohz_full', 'nohz', 'rcu_nocbs', 'rcu_nocb_poll', 'irqaffinity'], severity: 'warning' },
  { id: 'preemption', area: 'cmdline', keys: ['preempt', 'threadirqs'], severity: 'warning' },
  { id: 'panic', area: 'cmdline', keys: ['panic', 'softlockup_panic', 'hung_task_panic', 'oops', 'crashkernel', 'panic_on_warn'], severity: 'critical' },
  { id: 'watchdog', area: 'cmdline', keys: ['nmi_watchdog', 'nowatchdog', 'nosoftlockup', 'watchdog_thresh'], severity: 'warning' },
  { id: 'memory-layout', area: 'cmdline', keys: ['mem', 'memmap', 'numa', 'numa_balancing', 'movablecore', 'kernelcore'], severity: 'warning' },
  { id: 'mitigations', area: 'cmdline', keys: ['mitigations', 'spectre_v2', 'spectre_v1', 'pti', 'nopti', 'mds', 'retbleed', 'spec_store_bypass_disable', 'tsx', 'nospectre_v2'], severity: 'info' },
  { id: 'cpu-power', area: 'cmdline', keys: ['intel_idle.max_cstate', 'processor.max_cstate', 'idle', 'intel_pstate', 'cpufreq.default_governor', 'amd_pstate'], severity: 'info' },
  { id: 'debug-alloc', area: 'cmdline', keys: ['slub_debug', 'slab_debug', 'page_owner', 'init_on_alloc', 'init_on_free', 'kfence.sample_interval', 'page_poison'], severity: 'info' },
  // kernel build configuration
  { id: 'preemption', area: 'kernel-config', keys: ['CONFIG_PREEMPT*'], severity: 'warning' },
  { id: 'hz', area: 'kernel-config', keys: ['CONFIG_HZ', 'CONFIG_HZ_*', 'CONFIG_NO_HZ*'], severity: 'info' },
  { id: 'thp-enabled', area: 'kernel-config', keys: ['CONFIG_TRANSPARENT_HUGEPAGE*'], severity: 'warning' },
  { id: 'cgroup-version', area: 'kernel-config', keys: ['CONFIG_MEMCG*', 'CONFIG_CGROUP*'], severity: 'info' },
  { id: 'hung-task', area: 'kernel-config', keys: ['CONFIG_DETECT_HUNG_TASK', 'CONFIG_DEFAULT_HUNG_TASK_TIMEOUT', 'CONFIG_BOOTPARAM_HUNG_TASK_PANIC'], severity: 'warning' },
  { id: 'watchdog', area: 'kernel-config', keys: ['CONFIG_SOFTLOCKUP_DETECTOR', 'CONFIG_HARDLOCKUP_DETECTOR*', 'CONFIG_BOOTPARAM_SOFTLOCKUP_PANIC', 'CONFIG_BOOTPARAM_HARDLOCKUP_PANIC'], severity: 'warning' },
  { id: 'panic', area: 'kernel-config', keys: ['CONFIG_PANIC_ON_OOPS*', 'CONFIG_PANIC_TIMEOUT'], severity: 'critical' },
  { id: 'observability', area: 'kernel-config', keys: ['CONFIG_KPROBES', 'CONFIG_DEBUG_INFO_BTF*', 'CONFIG_BPF*', 'CONFIG_FTRACE', 'CONFIG_FUNCTION_TRACER', 'CONFIG_PROC_KCORE', 'CONFIG_IKCONFIG*', 'CONFIG_KALLSYMS*', 'CONFIG_PERF_EVENTS', 'CONFIG_UPROBES', 'CONFIG_MEM_ALLOC_PROFILING*', 'CONFIG_CACHESTAT_SYSCALL', 'CONFIG_PAGE_IDLE_FLAG', 'CONFIG_IDLE_PAGE_TRACKING'], severity: 'info' },
  { id: 'numa-balancing', area: 'kernel-config', keys: ['CONFIG_NUMA', 'CONFIG_NUMA_BALANCING*'], severity: 'info' },
  { id: 'debug-alloc', area: 'kernel-config', keys: ['CONFIG_SLUB_DEBUG*', 'CONFIG_KFENCE*', 'CONFIG_KASAN*', 'CONFIG_PAGE_OWNER', 'CONFIG_INIT_ON_*'], severity: 'info' },
  // transparent hugepages
  { id: 'thp-enabled', area: 'thp', keys: ['enabled', 'hugepages-*/enabled'], severity: 'warning' },
  { id: 'thp-defrag', area: 'thp', keys: ['defrag', 'khugepaged/defrag'], severity: 'warning' },
  { id: 'thp-shmem', area: 'thp', keys: ['shmem_enabled'], severity: 'info' },
  { id: 'thp-khugepaged', area: 'thp', keys: ['khugepaged/*', 'use_zero_page'], severity: 'info' },
  // cgroups
  { id: 'cgroup-version', area: 'cgroup', keys: ['mode', 'memory.version', 'memory.mountPoint'], severity: 'warning' },
  { id: 'cgroup-controllers', area: 'cgroup', keys: ['controller.*', 'v2.controllers'], severity: 'info' },
  // modules
  { id: 'conntrack', area: 'modules', keys: ['nf_conntrack'], severity: 'info' },
  // topology
  { id: 'mem-size', area: 'topology', keys: ['memTotalBytes'], severity: 'warning', when: memTotalDiffers },
  { id: 'swap', area: 'topology', keys: ['swapTotalBytes'], severity: 'warning' },
  { id: 'cpus', area: 'topology', keys: ['cpusOnlineCount', 'cpusPossible', 'smtActive'], severity: 'warning' },
  { id: 'numa', area: 'topology', keys: ['numaNodes'], severity: 'warning' },
  { id: 'hugepages', area: 'topology', keys: ['hugepages.*'], severity: 'warning' },
  { id: 'cpu-model', area: 'topology', keys: ['cpuModel'], severity: 'info' },
];

/** Every rule id (the catalogs have `config.reason.<id>` for each; a test checks it). */
export const DRIFT_RULE_IDS: readonly string[] = [...new Set(DRIFT_RULES.map((r) => r.id))];

export interface NoiseEntry {
  area: ConfigArea;
  /** As the README lists it. */
  pattern: string;
  /** Why it is not configuration. */
  why: string;
  /** Overrides the glob (per-interface sysctls). */
  re?: RegExp;
}

const IFACE = '(?!all\\.|default\\.|lo\\.)[^.]+';

export const NOISE: readonly NoiseEntry[] = [
  { area: 'sysctl', pattern: 'kernel.random.boot_id', why: 'random per boot' },
  { area: 'sysctl', pattern: 'kernel.random.uuid', why: 'a new random UUID at every read' },
  { area: 'sysctl', pattern: 'kernel.random.entropy_avail', why: 'a counter' },
  { area: 'sysctl', pattern: 'kernel.hostname', why: "the node's name (differs by definition)" },
  { area: 'sysctl', pattern: 'kernel.domainname', why: "the node's NIS domain name" },
  { area: 'sysctl', pattern: 'kernel.osrelease', why: "shown in the kernel area as 'release'" },
  { area: 'sysctl', pattern: 'kernel.version', why: "shown in the kernel area as 'version'" },
  { area: 'sysctl', pattern: 'kernel.arch', why: "shown in the kernel area as 'arch'" },
  { area: 'sysctl', pattern: 'kernel.ns_last_pid', why: 'the last pid allocated (a counter)' },
  { area: 'sysctl', pattern: 'kernel.pty.nr', why: 'ptys in use (a counter)' },
  { area: 'sysctl', pattern: 'kernel.sched_domain.*', why: 'derived from the CPU topology (compared in topology)' },
  { area: 'sysctl', pattern: 'kernel.perf_event_max_sample_rate', why: 'lowered by the kernel itself when a perf interrupt takes too long' },
  { area: 'sysctl', pattern: 'fs.dentry-state', why: 'dentry counters' },
  { area: 'sysctl', pattern: 'fs.inode-nr', why: 'inode counters' },
  { area: 'sysctl', pattern: 'fs.inode-state', why: 'inode counters' },
  { area: 'sysctl', pattern: 'fs.file-nr', why: 'open file handles (a counter; fs.file-max is compared)' },
  { area: 'sysctl', pattern: 'fs.aio-nr', why: 'AIO events in use (a counter)' },
  { area: 'sysctl', pattern: 'fs.quota.*', why: 'quota statistics counters' },
  { area: 'sysctl', pattern: 'fs.xfs.stats_clear', why: 'a trigger, not a setting' },
  { area: 'sysctl', pattern: 'net.netfilter.nf_conntrack_count', why: 'connections tracked now (a counter)' },
  { area: 'sysctl', pattern: 'net.core.netdev_rss_key', why: 'random per boot' },
  { area: 'sysctl', pattern: 'dev.cdrom.info', why: 'drive inventory' },
  { area: 'sysctl', pattern: 'net.ipv4.conf.<interface>.*', why: 'per-interface (interfaces differ between nodes; all and default are compared)', re: new RegExp(`^net\\.ipv4\\.conf\\.${IFACE}\\.`) },
  { area: 'sysctl', pattern: 'net.ipv6.conf.<interface>.*', why: 'per-interface', re: new RegExp(`^net\\.ipv6\\.conf\\.${IFACE}\\.`) },
  { area: 'sysctl', pattern: 'net.ipv4.neigh.<interface>.*', why: 'per-interface', re: new RegExp(`^net\\.ipv4\\.neigh\\.${IFACE}\\.`) },
  { area: 'sysctl', pattern: 'net.ipv6.neigh.<interface>.*', why: 'per-interface', re: new RegExp(`^net\\.ipv6\\.neigh\\.${IFACE}\\.`) },
  { area: 'cmdline', pattern: 'BOOT_IMAGE', why: 'the kernel image path (the release is compared)' },
  { area: 'cmdline', pattern: 'initrd', why: 'the initrd path' },
  { area: 'cmdline', pattern: 'root', why: "the node's own root device" },
  { area: 'cmdline', pattern: 'resume', why: "the node's own swap device" },
  { area: 'cmdline', pattern: 'rd.lvm.lv', why: "the node's own volumes" },
  { area: 'cmdline', pattern: 'rd.luks.uuid', why: "the node's own volumes" },
  { area: 'topology', pattern: 'numaNode*.memTotalBytes', why: 'per-node sizes (the total is compared)' },
];

/** Glob (`*` = any run of characters) → anchored regex. */
export function globRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

const compiledRules = DRIFT_RULES.map((r) => ({ rule: r, res: r.keys.map(globRe) }));
const compiledNoise = NOISE.map((n) => ({ area: n.area, re: n.re ?? globRe(n.pattern) }));

export function isNoise(area: ConfigArea, key: string): boolean {
  return compiledNoise.some((n) => n.area === area && n.re.test(key));
}

/** The rule that marks this difference, if any. */
export function ruleFor(area: ConfigArea, key: string, a: string | null, b: string | null, t: Thresholds): DriftRule | undefined {
  for (const { rule, res } of compiledRules) {
    if (rule.area !== area || !res.some((re) => re.test(key))) continue;
    if (rule.when && !rule.when(a, b, t)) return undefined;
    return rule;
  }
  return undefined;
}
