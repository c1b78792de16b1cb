/**
 * OOM-kill root cause. The kernel's OOM report (mm/oom_kill.c: dump_header + oom_kill_process) says
 * which constraint fired and what memory looked like at the time; from it we tell apart:
 *
 *   cgroup-limit        the victim's own memory cgroup hit its limit (CONSTRAINT_MEMCG, oom_memcg = task_memcg)
 *   parent-cgroup-limit a parent cgroup's limit fired (oom_memcg is an ancestor of task_memcg)
 *   cpuset-numa         CONSTRAINT_CPUSET / CONSTRAINT_MEMORY_POLICY: memory left elsewhere, not on the allowed nodes
 *   fragmentation       a high-order allocation failed while plenty of memory was free
 *   shmem               shmem/tmpfs holds most of memory (it cannot be freed by killing processes)
 *   fork-storm          thousands of tasks in the task dump
 *   host-memory         the whole machine ran out (CONSTRAINT_NONE)
 *
 * Formats handled: 2.6.32–4.x ("Out of memory: Kill process N (comm) score S or sacrifice child",
 * "Task in /a killed as a result of limit of /b"), 4.19+ ("oom-kill:constraint=...,oom_memcg=...,
 * task_memcg=..."), 5.x/6.x ("Out of memory: Killed process N (comm) total-vm:...").
 */

export const OOM_CAUSES = [
  'cgroup-limit',
  'parent-cgroup-limit',
  'cpuset-numa',
  'fragmentation',
  'shmem',
  'fork-storm',
  'host-memory',
  'unknown',
] as const;
export type OomCause = (typeof OOM_CAUSES)[number];

export interface OomAnalysis {
  cause: OomCause;
  /** CONSTRAINT_NONE / CONSTRAINT_MEMCG / CONSTRAINT_CPUSET / CONSTRAINT_MEMORY_POLICY, when printed. */
  constraint?: string;
  /** The allocation order from "gfp_mask=..., order=N". */
  order?: number;
  invoker?: string;
  killedPid?: number;
  killedComm?: string;
  /** Resident memory of the victim (anon + file + shmem rss), bytes. */
  killedRssBytes?: number;
  /** The cgroup whose limit fired, and the victim's cgroup. */
  oomMemcg?: string;
  taskMemcg?: string;
  /** Memory cgroup usage and limit (v1 "memory: usage 1024kB, limit 1024kB"), bytes. */
  memcgUsageBytes?: number;
  memcgLimitBytes?: number;
  /** From Mem-Info, bytes. */
  freeBytes?: number;
  shmemBytes?: number;
  anonBytes?: number;
  fileBytes?: number;
  /** Tasks listed in the task dump. */
  tasks?: number;
  /** The victim's container / pod from its cgroup path. */
  container?: string;
}

const PAGE = 4096;

function kb(s: string | undefined): number | undefined {
  return s === undefined ? undefined : Number(s) * 1024;
}

/** Container or pod named by a cgroup path (kubepods, docker, containerd, cri-o, systemd scopes). */
export function containerFromCgroup(path: string | undefined): string | undefined {
  if (!path || path === '/') return undefined;
  const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(path);
  const ctr = /(?:docker|cri-containerd|crio|containerd|libpod)[-:/]?([0-9a-f]{12,64})(?:\.scope)?/.exec(path) ??
    /\/([0-9a-f]{64})(?:\.scope)?$/.exec(path);
  if (pod) return `pod ${pod[1]!.replace(/_/g, '-')}${ctr ? ` container ${ctr[1]!.slice(0, 12)}` : ''}`;
  if (ctr) return `container ${ctr[1]!.slice(0, 12)}`;
  return undefined;
}

/** Classifies one OOM report (the lines from "invoked oom-killer" to "Killed process"). */
export function classifyOom(lines: string[]): OomAnalysis {
  const text = lines.join('\n');
  const a: OomAnalysis = { cause: 'unknown' };
  let m = /^(\S.*?) invoked oom-killer: gfp_mask=0x[0-9a-f]+(?:\([^)]*\))?, (?:nodemask=\S+, )?order=(-?\d+)/m.exec(text);
  if (m) {
    a.invoker = m[1];
    a.order = Number(m[2]);
  }
  m = /oom-kill:constraint=(CONSTRAINT_\w+)(?:,nodemask=[^,]*)?(?:,cpuset=[^,]*)?(?:,mems_allowed=[^,]*)?(?:,oom_memcg=([^,]*))?(?:,task_memcg=([^,]*))?/.exec(text);
  if (m) {
    a.constraint = m[1];
    a.oomMemcg = m[2];
    a.taskMemcg = m[3];
  }
  // 4.x: "Task in /a/b killed as a result of limit of /a"
  m = /Task in (\S+) killed as a result of limit of (\S+)/.exec(text);
  if (m) {
    a.taskMemcg ??= m[1];
    a.oomMemcg ??= m[2];
    a.constraint ??= 'CONSTRAINT_MEMCG';
  }
  if (!a.constraint && /Memory cgroup out of memory/.test(text)) a.constraint = 'CONSTRAINT_MEMCG';
  m = /Killed process (\d+) \(([^)]*)\)(?: total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?)?/.exec(text);
  if (m) {
    a.killedPid = Number(m[1]);
    a.killedComm = m[2];
    if (m[4] !== undefined) a.killedRssBytes = (Number(m[4]) + Number(m[5] ?? 0) + Number(m[6] ?? 0)) * 1024;
  } else if ((m = /Kill(?:ed)? process (\d+) \(([^)]*)\)/.exec(text))) {
    a.killedPid = Number(m[1]);
    a.killedComm = m[2];
  }
  m = /memory: usage (\d+)kB, limit (\d+)kB/.exec(text);
  if (m) {
    a.memcgUsageBytes = kb(m[1]);
    a.memcgLimitBytes = kb(m[2]);
  }
  // Mem-Info: "active_anon:1 inactive_anon:2 isolated_anon:0\n active_file:... free:123 ... shmem:45"
  const pages = (name: string): number | undefined => {
    const r = new RegExp(`(?:^|\\s)${name}:(\\d+)(?=\\s|$)`, 'm').exec(text);
    return r ? Number(r[1]) * PAGE : undefined;
  };
  if (/Mem-Info:/.test(text)) {
    a.freeBytes = pages('free');
    a.shmemBytes = pages('shmem');
    const aa = pages('active_anon');
    const ia = pages('inactive_anon');
    const af = pages('active_file');
    const iF = pages('inactive_file');
    if (aa !== undefined && ia !== undefined) a.anonBytes = aa + ia;
    if (af !== undefined && iF !== undefined) a.fileBytes = af + iF;
  }
  const taskRows = text.match(/^\[ *\d+\] +\d+ +\d+ +\d+ /gm);
  if (taskRows) a.tasks = taskRows.length;
  a.container = containerFromCgroup(a.taskMemcg);
  a.cause = decide(a, text);
  return a;
}

function decide(a: OomAnalysis, text: string): OomCause {
  if (a.constraint === 'CONSTRAINT_CPUSET' || a.constraint === 'CONSTRAINT_MEMORY_POLICY') return 'cpuset-numa';
  if (a.constraint === 'CONSTRAINT_MEMCG') {
    if (a.oomMemcg && a.taskMemcg && a.oomMemcg !== a.taskMemcg && a.taskMemcg.startsWith(a.oomMemcg)) return 'parent-cgroup-limit';
    return 'cgroup-limit';
  }
  if (a.tasks !== undefined && a.tasks >= 2000) return 'fork-storm';
  const total = (a.anonBytes ?? 0) + (a.fileBytes ?? 0) + (a.freeBytes ?? 0) + (a.shmemBytes ?? 0);
  if (a.shmemBytes !== undefined && total > 0 && a.shmemBytes / total >= 0.4) return 'shmem';
  if (a.order !== undefined && a.order >= 2 && a.freeBytes !== undefined && total > 0 && a.freeBytes / total >= 0.1) return 'fragmentation';
  if (a.constraint === 'CONSTRAINT_NONE' || /Mem-Info:|Out of memory/.test(text)) return 'host-memory';
  return 'unknown';
}
