/**
 * Indicator, configuration and hardware checks of `oscope inspect`.
 *
 * `collectCheckData(host)` reads what the checks need through the Host (every read is optional: a kernel
 * without PSI or EDAC simply skips those checks); `evaluateChecks(data, thresholds)` is pure and turns the
 * data into items. Thresholds: the inspect.* keys of src/diagnose/thresholds.ts.
 */
import type { Host } from '../../host/host.js';
import { type Buddyinfo, readBuddyinfo } from '../../kernel/procfs/buddyinfo.js';
import { type Cgroups, readCgroups } from '../../kernel/procfs/cgroups.js';
import { type DentryState, readDentryState } from '../../kernel/procfs/dentry-state.js';
import { type Loadavg, readLoadavg } from '../../kernel/procfs/loadavg.js';
import { type Meminfo, readMeminfo } from '../../kernel/procfs/meminfo.js';
import { type Psi, readPsi } from '../../kernel/procfs/psi.js';
import { type Vmstat, readVmstat } from '../../kernel/procfs/vmstat.js';
import { readUptime } from '../../kernel/log/uptime.js';
import { countMemcgZombies } from '../../kernel/cgroup/zombie.js';
import type { Thresholds } from '../thresholds.js';
import type { InspectItem } from './items.js';
import type { ItemClass, Level } from './rules.js';

export interface MountUsage {
  mountpoint: string;
  fstype: string;
  device: string;
  sizeBytes: number;
  usedPct: number;
  inodesUsedPct: number | undefined;
}

export interface TaskStates {
  total: number;
  dstate: { pid: number; comm: string }[];
  zombie: { pid: number; comm: string; ppid: number }[];
}

/** Everything the checks look at; every field is optional (not every kernel has every file). */
export interface CheckData {
  meminfo?: Meminfo;
  vmstat?: Vmstat;
  psi: Partial<Record<'cpu' | 'memory' | 'io', Psi>>;
  buddy?: Buddyinfo;
  loadavg?: Loadavg;
  cpus?: number;
  dentry?: DentryState;
  cgroups?: Cgroups;
  /** Dying (zombie) memory cgroups (kernel/cgroup/zombie.ts): v2 cgroup.stat, or v1 /proc/cgroups count − live cgroups. */
  zombieMemcgs?: { count: number; method: 'cgroup.stat' | 'proc-cgroups-minus-dirs' };
  tasks?: TaskStates;
  fileNr?: { allocated: number; max: number };
  pidMax?: number;
  threadsMax?: number;
  mounts: MountUsage[];
  /** sysctl name (dotted) → value as read. */
  sysctl: Record<string, string>;
  thp?: { enabled?: string; defrag?: string };
  uptimeS?: number;
  edac: { mc: string; ce: number; ue: number }[];
  /** Machine-check exceptions counted in /proc/interrupts (MCE row), summed over CPUs. */
  mceCount?: number;
  /** true: a time-sync daemon reports sync; false: none found; undefined: cannot tell. */
  clockSynced?: boolean;
  pageSizeBytes: number;
}

const SYSCTLS = [
  'vm.panic_on_oom',
  'kernel.softlockup_panic',
  'kernel.hung_task_panic',
  'kernel.panic_on_oops',
  'vm.min_free_kbytes',
  'vm.overcommit_memory',
  'vm.overcommit_ratio',
  'vm.swappiness',
  'kernel.pid_max',
  'kernel.threads-max',
  'kernel.panic',
];

const REAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'zfs', 'jfs', 'reiserfs', 'vfat', 'exfat', 'ntfs3', 'bcachefs']);

async function opt<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch {
    return undefined;
  }
}

/** "[always] madvise never" → "always". */
export function selectedMode(text: string | undefined): string | undefined {
  return text === undefined ? undefined : /\[([^\]]+)\]/.exec(text)?.[1];
}

/** Counts of the "0-3,5" CPU list format. */
export function cpuListCount(text: string): number | undefined {
  let n = 0;
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    n += m[2] !== undefined ? Number(m[2]) - Number(m[1]) + 1 : 1;
  }
  return n;
}

/** The MCE row of /proc/interrupts, summed over CPUs. */
export function mceFromInterrupts(text: string): number | undefined {
  const m = /^\s*MCE:((?:\s+\d+)+)/m.exec(text);
  if (!m) return undefined;
  return m[1]!.trim().split(/\s+/).reduce((a, b) => a + Number(b), 0);
}

async function readTasks(host: Host): Promise<TaskStates | undefined> {
  let pids: string[];
  try {
    pids = (await host.readDir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const out: TaskStates = { total: 0, dstate: [], zombie: [] };
  for (const pid of pids) {
    const stat = await host.tryReadText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const close = stat.lastIndexOf(')');
    const open = stat.indexOf('(');
    if (close < 0 || open < 0) continue;
    out.total++;
    const comm = stat.slice(open + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const state = rest[0];
    if (state === 'D') out.dstate.push({ pid: Number(pid), comm });
    else if (state === 'Z') out.zombie.push({ pid: Number(pid), comm, ppid: Number(rest[1]) });
  }
  return out;
}

export async function readMountUsage(host: Host): Promise<MountUsage[]> {
  const text = await host.tryReadText('/proc/self/mounts');
  if (!text) return [];
  const seen = new Set<string>();
  const out: MountUsage[] = [];
  for (const line of text.split('\n')) {
    const [device, mp, fstype] = line.split(' ');
    if (!device || !mp || !fstype || !REAL_FS.has(fstype) || seen.has(device)) continue;
    seen.add(device);
    const mountpoint = mp.replace(/\\040/g, ' ');
    const s = await opt(host.statfs(mountpoint));
    if (!s || s.blocks === 0) continue;
    const used = s.blocks - s.bfree;
    // Like df: used / (used + available to users).
    const usedPct = (used / (used + s.bavail)) * 100;
    const inodesUsedPct = s.files > 0 ? ((s.files - s.ffree) / s.files) * 100 : undefined;
    out.push({ mountpoint, fstype, device, sizeBytes: s.blocks * s.bsize, usedPct, inodesUsedPct });
  }
  return out;
}

async function readEdac(host: Host): Promise<{ mc: string; ce: number; ue: number }[]> {
  const dir = '/sys/devices/system/edac/mc';
  const names = await opt(host.readDir(dir));
  if (!names) return [];
  const out: { mc: string; ce: number; ue: number }[] = [];
  for (const mc of names.filter((n) => /^mc\d+$/.test(n)).sort()) {
    const ce = Number((await host.tryReadText(`${dir}/${mc}/ce_count`))?.trim());
    const ue = Number((await host.tryReadText(`${dir}/${mc}/ue_count`))?.trim());
    if (Number.isFinite(ce) && Number.isFinite(ue)) out.push({ mc, ce, ue });
  }
  return out;
}

/** Dying (zombie) memory cgroups, counted the one way mem and the agent count them (kernel/cgroup/zombie.ts). */
async function readZombieMemcgs(host: Host): Promise<CheckData['zombieMemcgs']> {
  const z = await opt(countMemcgZombies(host));
  if (z?.zombies === undefined) return undefined;
  return { count: z.zombies, method: z.version === 2 ? 'cgroup.stat' : 'proc-cgroups-minus-dirs' };
}

async function readClockSync(host: Host): Promise<boolean | undefined> {
  if (await host.exists('/run/systemd/timesync/synchronized')) return true;
  // chronyd / ntpd / systemd-timesyncd running?
  const pids = await opt(host.readDir('/proc'));
  if (!pids) return undefined;
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = (await host.tryReadText(`/proc/${pid}/comm`))?.trim();
    if (comm && /^(?:chronyd|ntpd|systemd-timesyn|ptp4l|phc2sys|openntpd|timesyncd)$/.test(comm)) return true;
  }
  return false;
}

/** Reads what the checks need. Never throws: what cannot be read is left out. */
export async function collectCheckData(host: Host): Promise<CheckData> {
  const sysctl: Record<string, string> = {};
  for (const name of SYSCTLS) {
    const v = await host.tryReadText(`/proc/sys/${name.replace(/\./g, '/')}`);
    if (v !== undefined) sysctl[name] = v.trim();
  }
  const fileNrText = await host.tryReadText('/proc/sys/fs/file-nr');
  const fileNrM = fileNrText ? /^(\d+)\s+\d+\s+(\d+)/.exec(fileNrText.trim()) : null;
  const online = await host.tryReadText('/sys/devices/system/cpu/online');
  const interrupts = await host.tryReadText('/proc/interrupts');
  const cgroups = await opt(readCgroups(host));
  const psi: CheckData['psi'] = {};
  for (const r of ['cpu', 'memory', 'io'] as const) {
    const p = await opt(readPsi(host, r));
    if (p) psi[r] = p;
  }
  return {
    meminfo: await opt(readMeminfo(host)),
    vmstat: await opt(readVmstat(host)),
    psi,
    buddy: await opt(readBuddyinfo(host)),
    loadavg: await opt(readLoadavg(host)),
    cpus: online ? cpuListCount(online) : undefined,
    dentry: await opt(readDentryState(host)),
    cgroups,
    zombieMemcgs: await readZombieMemcgs(host),
    tasks: await readTasks(host),
    fileNr: fileNrM ? { allocated: Number(fileNrM[1]), max: Number(fileNrM[2]) } : undefined,
    pidMax: sysctl['kernel.pid_max'] !== undefined ? Number(sysctl['kernel.pid_max']) : undefined,
    threadsMax: sysctl['kernel.threads-max'] !== undefined ? Number(sysctl['kernel.threads-max']) : undefined,
    mounts: await readMountUsage(host),
    sysctl,
    thp: {
      enabled: selectedMode(await host.tryReadText('/sys/kernel/mm/transparent_hugepage/enabled')),
      defrag: selectedMode(await host.tryReadText('/sys/kernel/mm/transparent_hugepage/defrag')),
    },
    uptimeS: (await opt(readUptime(host)))?.uptimeS,
    edac: await readEdac(host),
    mceCount: interrupts ? mceFromInterrupts(interrupts) : undefined,
    clockSynced: await readClockSync(host),
    pageSizeBytes: 4096,
  };
}

/** One check result, before it becomes an item. `check` is the stable name (`mem-available-low`). */
export interface CheckResult {
  class: Exclude<ItemClass, 'log'>;
  check: string;
  level: Level;
  /** English, stable: the item title. */
  title: string;
  /** Numbers for the message catalog (`inspect.<class>.<check>`). */
  params: Record<string, string | number>;
  evidence: string[];
  source: string;
}

const pct = (a: number, b: number): number => (b > 0 ? (a / b) * 100 : 0);
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Evaluates every check whose data is present. Pure. */
export function evaluateChecks(d: CheckData, t: Thresholds): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (r: CheckResult): void => {
    out.push(r);
  };
  const mi = d.meminfo;
  const total = mi?.bytes('MemTotal');
  // Memory available.
  const avail = mi?.bytes('MemAvailable');
  if (total && avail !== undefined) {
    const p = pct(avail, total);
    if (p < t['inspect.memAvailableLowPct']) {
      add({
        class: 'indicator', check: 'mem-available-low', level: p < t['inspect.memAvailableCriticalPct'] ? 'critical' : 'warning',
        title: 'MemAvailable low', params: { availableBytes: avail, totalBytes: total, availablePct: r1(p) },
        evidence: [`MemAvailable: ${avail} bytes of MemTotal ${total} (${r1(p)}%)`], source: '/proc/meminfo',
      });
    }
  }
  // Allocation stalls (direct reclaim), per hour of uptime.
  if (d.vmstat && d.uptimeS && d.uptimeS > 0) {
    let stalls = 0;
    for (const [k, v] of d.vmstat.fields) if (k.startsWith('allocstall')) stalls += v;
    const direct = d.vmstat.getOr0('pgscan_direct');
    const perHour = stalls / (d.uptimeS / 3600);
    if (stalls > 0 && perHour >= t['inspect.allocStallPerHour']) {
      add({
        class: 'indicator', check: 'alloc-stall', level: 'warning', title: 'allocation stalls in direct reclaim',
        params: { stalls, perHour: Math.round(perHour), pgscanDirect: direct },
        evidence: [`allocstall total ${stalls} (${Math.round(perHour)}/h since boot), pgscan_direct ${direct}`], source: '/proc/vmstat',
      });
    }
  }
  // PSI.
  for (const res of ['memory', 'io', 'cpu'] as const) {
    const p = d.psi[res];
    if (!p) continue;
    const full = p.full?.avg60 ?? 0;
    const some = p.some?.avg60 ?? 0;
    const fullHit = res !== 'cpu' && full >= t['inspect.psiFullAvg60Pct'];
    if (fullHit || some >= t['inspect.psiSomeAvg60Pct']) {
      add({
        class: 'indicator', check: `psi-${res}`, level: full >= t['inspect.psiFullCriticalPct'] ? 'critical' : 'warning',
        title: `${res} pressure (PSI)`, params: { resource: res, someAvg60Pct: some, fullAvg60Pct: full },
        evidence: [`/proc/pressure/${res}: some avg60=${some} full avg60=${full}`], source: `/proc/pressure/${res}`,
      });
    }
  }
  // Fragmentation: little free memory in high-order blocks while plenty is free.
  if (d.buddy) {
    const order = t['inspect.fragOrder'];
    let free = 0;
    let high = 0;
    for (const z of d.buddy.zones) {
      z.freeBlocks.forEach((n, k) => {
        const bytes = n * 2 ** k * d.pageSizeBytes;
        free += bytes;
        if (k >= order) high += bytes;
      });
    }
    const p = pct(high, free);
    if (free >= t['inspect.fragMinFreeBytes'] && p < t['inspect.fragHighOrderPct']) {
      add({
        class: 'indicator', check: 'fragmentation', level: 'warning', title: 'memory fragmented',
        params: { freeBytes: free, highOrderBytes: high, order, highOrderPct: r1(p) },
        evidence: [`free ${free} bytes, of which ${high} in blocks of order >= ${order} (${r1(p)}%)`], source: '/proc/buddyinfo',
      });
    }
  }
  // Cgroups.
  const memcg = d.cgroups?.controllers.get('memory');
  if (memcg && memcg.num_cgroups >= t['inspect.cgroupsMax']) {
    add({
      class: 'indicator', check: 'cgroups-many', level: 'warning', title: 'many memory cgroups',
      params: { cgroups: memcg.num_cgroups, max: t['inspect.cgroupsMax'] },
      evidence: [`/proc/cgroups memory num_cgroups=${memcg.num_cgroups}`], source: '/proc/cgroups',
    });
  }
  if (d.zombieMemcgs && d.zombieMemcgs.count >= t['inspect.zombieMemcgs']) {
    add({
      class: 'indicator', check: 'zombie-memcgs', level: 'warning', title: 'zombie memory cgroups',
      params: { zombies: d.zombieMemcgs.count, max: t['inspect.zombieMemcgs'] },
      evidence: [`${d.zombieMemcgs.count} dying memory cgroups (${d.zombieMemcgs.method})`], source: '/proc/cgroups',
    });
  }
  // Dentries.
  if (d.dentry && d.dentry.nr_dentry >= t['inspect.dentryMax']) {
    add({
      class: 'indicator', check: 'dentry-high', level: 'warning', title: 'many dentries',
      params: { dentries: d.dentry.nr_dentry, negative: d.dentry.nr_negative ?? -1 },
      evidence: [`nr_dentry=${d.dentry.nr_dentry} nr_negative=${d.dentry.nr_negative ?? 'n/a'}`], source: '/proc/sys/fs/dentry-state',
    });
  }
  // SUnreclaim.
  const sun = mi?.bytes('SUnreclaim');
  if (total && sun !== undefined && pct(sun, total) >= t['inspect.sunreclaimPct']) {
    add({
      class: 'indicator', check: 'sunreclaim-high', level: 'warning', title: 'unreclaimable slab large',
      params: { sunreclaimBytes: sun, totalBytes: total, sunreclaimPct: r1(pct(sun, total)) },
      evidence: [`SUnreclaim: ${sun} bytes (${r1(pct(sun, total))}% of MemTotal)`], source: '/proc/meminfo',
    });
  }
  // Load versus CPUs.
  if (d.loadavg && d.cpus) {
    const per = d.loadavg.load5 / d.cpus;
    if (per >= t['inspect.loadPerCpu']) {
      add({
        class: 'indicator', check: 'load-high', level: per >= t['inspect.loadPerCpuCritical'] ? 'critical' : 'warning', title: 'load above CPU count',
        params: { load5: d.loadavg.load5, cpus: d.cpus, perCpu: r1(per) },
        evidence: [`load average ${d.loadavg.load1} ${d.loadavg.load5} ${d.loadavg.load15} on ${d.cpus} CPUs`], source: '/proc/loadavg',
      });
    }
  }
  // D-state and zombie tasks.
  if (d.tasks) {
    if (d.tasks.dstate.length >= t['inspect.dstateTasks']) {
      add({
        class: 'indicator', check: 'dstate-tasks', level: 'warning', title: 'tasks in uninterruptible sleep (D)',
        params: { tasks: d.tasks.dstate.length },
        evidence: d.tasks.dstate.slice(0, 8).map((x) => `${x.pid} ${x.comm}`), source: '/proc/*/stat',
      });
    }
    if (d.tasks.zombie.length >= t['inspect.zombies']) {
      const parents = new Map<number, number>();
      for (const z of d.tasks.zombie) parents.set(z.ppid, (parents.get(z.ppid) ?? 0) + 1);
      const top = [...parents.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
      add({
        class: 'indicator', check: 'zombies', level: 'warning', title: 'zombie processes',
        params: { zombies: d.tasks.zombie.length, topParent: top[0]?.[0] ?? 0 },
        evidence: top.map(([ppid, n]) => `${n} zombies with parent ${ppid}`), source: '/proc/*/stat',
      });
    }
  }
  // Disk and inode space.
  for (const m of d.mounts) {
    for (const [check, used, what] of [['disk-full', m.usedPct, 'space'], ['inode-full', m.inodesUsedPct, 'inodes']] as const) {
      if (used === undefined || used < t['inspect.diskUsedPct']) continue;
      add({
        class: 'indicator', check, level: used >= t['inspect.diskUsedCriticalPct'] ? 'critical' : 'warning',
        title: `${what} nearly full on ${m.mountpoint}`, params: { mountpoint: m.mountpoint, usedPct: r1(used), device: m.device },
        evidence: [`${m.device} on ${m.mountpoint} (${m.fstype}): ${r1(used)}% of ${what} used`], source: 'statfs',
      });
    }
  }
  // File descriptors and pids.
  if (d.fileNr && d.fileNr.max > 0 && pct(d.fileNr.allocated, d.fileNr.max) >= t['inspect.limitUsedPct']) {
    add({
      class: 'indicator', check: 'fd-exhaustion', level: 'critical', title: 'file handles nearly exhausted',
      params: { allocated: d.fileNr.allocated, max: d.fileNr.max, usedPct: r1(pct(d.fileNr.allocated, d.fileNr.max)) },
      evidence: [`/proc/sys/fs/file-nr: ${d.fileNr.allocated} of ${d.fileNr.max}`], source: '/proc/sys/fs/file-nr',
    });
  }
  const threads = d.loadavg?.total;
  const limit = Math.min(d.pidMax ?? Infinity, d.threadsMax ?? Infinity);
  if (threads !== undefined && Number.isFinite(limit) && limit > 0 && pct(threads, limit) >= t['inspect.limitUsedPct']) {
    add({
      class: 'indicator', check: 'pid-exhaustion', level: 'critical', title: 'pids nearly exhausted',
      params: { threads, limit, usedPct: r1(pct(threads, limit)) },
      evidence: [`${threads} threads, pid_max ${d.pidMax ?? 'n/a'}, threads-max ${d.threadsMax ?? 'n/a'}`], source: '/proc/sys/kernel/pid_max',
    });
  }
  if (d.clockSynced === false) {
    add({
      class: 'indicator', check: 'clock-unsynced', level: 'warning', title: 'clock not synchronised',
      params: {}, evidence: ['no chronyd, ntpd, ptp4l or systemd-timesyncd synchronisation found'], source: '/proc/*/comm',
    });
  }
  // Risky settings.
  const sc = d.sysctl;
  const num = (k: string): number | undefined => (sc[k] !== undefined && /^-?\d+$/.test(sc[k]!) ? Number(sc[k]) : undefined);
  if ((num('vm.panic_on_oom') ?? 0) > 0) {
    add({
      class: 'config', check: 'panic-on-oom', level: 'warning', title: 'vm.panic_on_oom is set',
      params: { value: num('vm.panic_on_oom')! }, evidence: [`vm.panic_on_oom = ${sc['vm.panic_on_oom']}`], source: '/proc/sys/vm/panic_on_oom',
    });
  }
  for (const [k, check] of [['kernel.softlockup_panic', 'softlockup-panic'], ['kernel.hung_task_panic', 'hung-task-panic']] as const) {
    if ((num(k) ?? 0) > 0) {
      add({
        class: 'config', check, level: 'info', title: `${k} is set`, params: { name: k, value: num(k)! },
        evidence: [`${k} = ${sc[k]}`], source: `/proc/sys/${k.replace(/\./g, '/')}`,
      });
    }
  }
  const mfk = num('vm.min_free_kbytes');
  if (mfk !== undefined && total) {
    const p = pct(mfk * 1024, total);
    if (p < t['inspect.minFreeLowPct'] || p > t['inspect.minFreeHighPct']) {
      add({
        class: 'config', check: 'min-free-kbytes', level: 'warning', title: `vm.min_free_kbytes is too ${p < t['inspect.minFreeLowPct'] ? 'low' : 'high'}`,
        params: { minFreeBytes: mfk * 1024, minFreePct: r1(p), direction: p < t['inspect.minFreeLowPct'] ? 'low' : 'high' },
        evidence: [`vm.min_free_kbytes = ${mfk} (${r1(p)}% of RAM)`], source: '/proc/sys/vm/min_free_kbytes',
      });
    }
  }
  const oc = num('vm.overcommit_memory');
  if (oc === 2 || oc === 1) {
    add({
      class: 'config', check: 'overcommit', level: oc === 2 ? 'warning' : 'info', title: `vm.overcommit_memory = ${oc}`,
      params: { mode: oc, ratio: num('vm.overcommit_ratio') ?? -1 },
      evidence: [`vm.overcommit_memory = ${oc}, vm.overcommit_ratio = ${sc['vm.overcommit_ratio'] ?? 'n/a'}`], source: '/proc/sys/vm/overcommit_memory',
    });
  }
  const swap = mi?.bytes('SwapTotal');
  const swappiness = num('vm.swappiness');
  if (swap === 0 && swappiness !== undefined && swappiness >= 60) {
    add({
      class: 'config', check: 'swappiness-no-swap', level: 'info', title: 'vm.swappiness set but no swap',
      params: { swappiness }, evidence: [`vm.swappiness = ${swappiness}, SwapTotal = 0`], source: '/proc/sys/vm/swappiness',
    });
  }
  if (d.thp?.enabled === 'always' && (d.thp.defrag === 'always' || d.thp.defrag === undefined)) {
    add({
      class: 'config', check: 'thp-always', level: 'warning', title: 'transparent hugepages: always with synchronous defrag',
      params: { enabled: d.thp.enabled, defrag: d.thp.defrag ?? 'n/a' },
      evidence: [`transparent_hugepage/enabled = ${d.thp.enabled}, defrag = ${d.thp.defrag ?? 'n/a'}`], source: '/sys/kernel/mm/transparent_hugepage/enabled',
    });
  }
  if (d.pidMax !== undefined && d.pidMax <= 32768 && (d.cpus ?? 0) >= 32) {
    add({
      class: 'config', check: 'pid-max-low', level: 'info', title: 'kernel.pid_max is low for this machine',
      params: { pidMax: d.pidMax, cpus: d.cpus ?? 0 }, evidence: [`kernel.pid_max = ${d.pidMax} with ${d.cpus} CPUs`], source: '/proc/sys/kernel/pid_max',
    });
  }
  // Hardware error counters.
  for (const e of d.edac) {
    if (e.ue > 0 || e.ce > 0) {
      add({
        class: 'hardware', check: 'edac', level: e.ue > 0 ? 'critical' : 'warning', title: `memory errors on ${e.mc} (EDAC)`,
        params: { mc: e.mc, ce: e.ce, ue: e.ue }, evidence: [`${e.mc}: ce_count=${e.ce} ue_count=${e.ue}`], source: `/sys/devices/system/edac/mc/${e.mc}`,
      });
    }
  }
  if (d.mceCount !== undefined && d.mceCount > 0) {
    add({
      class: 'hardware', check: 'mce', level: 'warning', title: 'machine check exceptions', params: { count: d.mceCount },
      evidence: [`/proc/interrupts MCE: ${d.mceCount}`], source: '/proc/interrupts',
    });
  }
  return out;
}

/** A check result as an item (`<class>.<check>`). */
export function checkItem(r: CheckResult): InspectItem {
  const instance = r.params.mountpoint ?? r.params.mc;
  return {
    id: `${r.class}.${r.check}${instance !== undefined ? `:${instance}` : ''}`,
    class: r.class,
    kind: r.check.toUpperCase(),
    level: r.level,
    title: r.title,
    count: 1,
    firstAt: null,
    lastAt: null,
    firstUptimeS: null,
    lastUptimeS: null,
    evidence: r.evidence,
    stack: [],
    container: null,
    suggestion: `inspect.suggest.${r.check}`,
    source: r.source,
    details: { params: r.params },
  };
}
