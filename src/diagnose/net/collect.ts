/**
 * `oscope net`, the collection: every read, through the Host. The network namespaces are found from
 * /proc/PID/ns/net (every namespace some process holds; the host's is PID 1's), and each is read through
 * /proc/PID/net/* of one of its processes, which shows that process's namespace (no setns needed).
 * The counters (snmp, netstat, dev; softnet_stat per CPU) are read twice, `intervalS` apart, with the
 * BPF tracer (src/diagnose/net/bpf.ts) running in between when the host is live and the kernel allows
 * it; the socket tables (/proc/PID/net/tcp{,6}, /proc/PID/fd, sockstat, tcp_mem) at the end.
 */
import { identifyContainer } from '../../containers/identify.js';
import type { ContainerRef, Coverage } from '../../contract/common.js';
import { HostError, type Host } from '../../host/host.js';
import { readKernelEnums } from '../../kernel/btf/enums.js';
import { type NetDevStat, readNetDev } from '../../kernel/procfs/net/dev.js';
import { type SnmpCounters, readNetstat, readSnmp } from '../../kernel/procfs/net/snmp.js';
import { type SoftnetStat, readSoftnetStat } from '../../kernel/procfs/net/softnet.js';
import { type TcpSocketLine, readProcNetTcp, readProcNetUdp } from '../../kernel/procfs/net/tcp.js';
import { type UnixSocketLine, readProcNetUnix } from '../../kernel/procfs/net/unix.js';
import { readProcCgroup } from '../../kernel/procfs/pid/cgroup.js';
import { readFds } from '../../kernel/procfs/pid/fd.js';
import { readProcStat } from '../../kernel/procfs/pid/stat.js';
import { parseSockstat } from '../../kernel/procfs/sockstat.js';
import { pageSize } from '../../kernel/procfs/vmstat.js';
import { type KallsymsTable, readKallsyms } from '../../kernel/syms/kallsyms.js';
import { abortableSleep } from '../../util/sleep.js';
import { cgroup2Mount, walkCgroup2 } from '../latency/run.js';
import type { Thresholds } from '../thresholds.js';
import { type NetTracer, type NetTracerOptions, type RawDrop, type RawLatency, type RawTcpEvent, startNetTracer } from './bpf.js';
import type { NetParams } from './params.js';

export class NetScopeError extends Error {
  constructor(
    message: string,
    /** usage: a pid/cgroup/container/pod/namespace that does not exist; unsupported: the kernel lacks something. */
    readonly kind: 'usage' | 'unsupported' = 'usage',
  ) {
    super(message);
    this.name = 'NetScopeError';
  }
}

/** Why nothing is traced on a kernel without BTF (the CO-RE programs cannot relocate). */
export const NET_NO_BTF = 'this kernel has no BTF (/sys/kernel/btf/vmlinux), so drops, retransmits, resets and latency by stage are not traced; the counters and sockets are measured without it';

export interface NetProcess {
  pid: number;
  comm: string;
  netns: number;
  cgroup: string;
  container?: ContainerRef;
}

export interface CapturedNamespace {
  inode: number;
  host: boolean;
  /** The process whose /proc/PID/net was read. */
  pid: number;
  processes: number;
  container?: ContainerRef;
  holder: string;
  snmpBefore: SnmpCounters;
  snmpAfter: SnmpCounters;
  netstatBefore: SnmpCounters;
  netstatAfter: SnmpCounters;
  devBefore: NetDevStat[];
  devAfter: NetDevStat[];
  /** TCP sockets at the end. */
  tcp: TcpSocketLine[];
  /** UDP sockets (same columns; the queues are buffer bytes) and UNIX sockets at the end (absent: not read). */
  udp?: TcpSocketLine[];
  unix?: UnixSocketLine[];
  /** TCP socket pages and orphans of /proc/PID/net/sockstat at the end (mem is host-wide). */
  sockstatTcpMemPages?: number;
  sockstatOrphans?: number;
}

export interface CapturedDrop extends Omit<RawDrop, 'location' | 'reason' | 'stackId' | 'cgroupId'> {
  reason: string;
  location: string;
  stack: string[];
  cgroup: string;
}

export interface CapturedTcpEvent extends Omit<RawTcpEvent, 'reason' | 'cgroupId'> {
  reason: string;
  cgroup: string;
}

export interface NetCapture {
  intervalS: number;
  /** The port the run is about. */
  port?: number;
  namespaces: CapturedNamespace[];
  softnetBefore: SoftnetStat[];
  softnetAfter: SoftnetStat[];
  processes: NetProcess[];
  /** socket inode → pids holding it (per namespace inode: inode numbers are unique host-wide for sockfs). */
  socketOwners: Map<number, number[]>;
  /** Processes whose fds could not be read (not root). */
  fdDenied: number;
  tcpMem?: { min: number; pressure: number; max: number };
  maxOrphans?: number;
  pageSizeBytes: number;
  drops?: CapturedDrop[];
  tcpEvents?: CapturedTcpEvent[];
  /** Latency by stage from the tracer. */
  latency?: RawLatency;
  lostEvents: number;
  method: Record<string, string>;
  coverage: Coverage[];
}

export interface CollectOptions {
  signal?: AbortSignal;
  startTracer?: (o: NetTracerOptions) => { tracer: NetTracer } | { unavailable: string };
}

const monoNs = (): bigint => process.hrtime.bigint();

/** net:[4026531840] → 4026531840. */
export function netnsInode(link: string): number | undefined {
  const m = /^net:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

export function containerOfPath(path: string): ContainerRef | undefined {
  const c = identifyContainer(path);
  if (!c || c.runtime === 'unknown') return undefined;
  return { runtime: c.runtime, id: c.containerId, ...(c.serviceName ? { name: c.serviceName } : {}), ...(c.podUid ? { podUid: c.podUid } : {}) };
}

async function listProcesses(host: Host): Promise<{ rows: NetProcess[]; denied: number }> {
  const out: NetProcess[] = [];
  let denied = 0;
  for (const n of await host.readDir('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const pid = Number(n);
    try {
      const netns = netnsInode(await host.readLink(`/proc/${pid}/ns/net`));
      if (netns === undefined) continue;
      const st = await readProcStat(host, pid);
      const cg = await readProcCgroup(host, pid).catch(() => []);
      const v2 = cg.find((e) => e.hierarchyId === 0)?.path;
      const cgroup = v2 ?? cg[0]?.path ?? '/';
      let container: ContainerRef | undefined;
      for (const e of [...cg].sort((a, b) => a.hierarchyId - b.hierarchyId)) {
        container = containerOfPath(e.path);
        if (container) break;
      }
      out.push({ pid, comm: st.comm, netns, cgroup, ...(container ? { container } : {}) });
    } catch (err) {
      if (!(err instanceof HostError)) throw err;
      if (err.denied) denied++;
      // gone, a kernel thread without ns links, or not ours to read
    }
  }
  return { rows: out, denied };
}

function inScope(p: NetProcess, params: NetParams, cgroupRel?: string): boolean {
  if (params.pid !== undefined && p.pid !== params.pid) return false;
  if (cgroupRel !== undefined && cgroupRel !== '/' && p.cgroup !== cgroupRel && !p.cgroup.startsWith(`${cgroupRel}/`)) return false;
  if (params.container !== undefined && !(p.container && (p.container.id.startsWith(params.container) || p.container.name === params.container))) return false;
  if (params.pod !== undefined) {
    const [name, ns] = params.pod.split('/');
    const c = p.container;
    if (!c) return false;
    const byName = c.podName === name && (ns === undefined || c.podNamespace === ns);
    const byUid = c.podUid !== undefined && (c.podUid === params.pod || c.podUid.replace(/_/g, '-') === params.pod);
    if (!byName && !byUid) return false;
  }
  return true;
}

async function readTcpMem(host: Host): Promise<{ min: number; pressure: number; max: number } | undefined> {
  const t = await host.tryReadText('/proc/sys/net/ipv4/tcp_mem');
  const v = t?.trim().split(/\s+/).map(Number);
  if (!v || v.length !== 3 || v.some((x) => !Number.isFinite(x))) return undefined;
  return { min: v[0]!, pressure: v[1]!, max: v[2]! };
}

async function readNs(host: Host, pid: number): Promise<{ snmp: SnmpCounters; netstat: SnmpCounters; dev: NetDevStat[] }> {
  const [snmp, netstat, dev] = await Promise.all([readSnmp(host, pid), readNetstat(host, pid), readNetDev(host, pid)]);
  return { snmp, netstat, dev };
}

const enumName = (names: Map<number, string> | undefined, v: number, prefix: string): string => {
  const n = names?.get(v);
  if (n) return n.startsWith(prefix) ? n.slice(prefix.length) : n;
  // Subsystem reasons keep the subsystem id in the upper 16 bits (SKB_DROP_REASON_SUBSYS_SHIFT).
  if (v >>> 16) return `SUBSYS_${v >>> 16}:${v & 0xffff}`;
  return `${prefix}${v}`;
};

export async function collectNet(host: Host, params: NetParams, _thresholds: Thresholds, o: CollectOptions = {}): Promise<NetCapture> {
  const coverage: Coverage[] = [];
  const method: Record<string, string> = {
    counters: 'two reads, intervalS apart, of /proc/PID/net/{snmp,netstat,dev} of one process per network namespace (every namespace some /proc/PID/ns/net names; the host is PID 1\'s) and /proc/net/softnet_stat',
    sockets: '/proc/PID/net/tcp{,6}, udp{,6} and unix per namespace at the end (Recv-Q/Send-Q, UDP buffer bytes, state, inode), socket inodes mapped to processes through /proc/PID/fd, TCP memory from sockstat against /proc/sys/net/ipv4/tcp_mem',
  };
  if (params.pid !== undefined && !(await host.exists(`/proc/${params.pid}/stat`))) throw new NetScopeError(`no process ${params.pid}`);
  let cgroupRel: string | undefined;
  if (params.cgroup !== undefined) {
    cgroupRel = params.cgroup.replace(/^[a-z_,]+:/, '').replace(/^\/sys\/fs\/cgroup(\/unified)?/, '') || '/';
    if (!cgroupRel.startsWith('/')) cgroupRel = `/${cgroupRel}`;
  }
  let wantNetns: number | undefined;
  if (params.netns !== 'all') {
    let link: string | undefined;
    try {
      link = await host.readLink(params.netns);
    } catch {
      link = undefined;
    }
    wantNetns = link ? netnsInode(link) : undefined;
    const kind = link ? /^(\w+):\[\d+\]$/.exec(link)?.[1] : undefined;
    if (kind !== undefined && kind !== 'net') throw new NetScopeError(`${params.netns} is a ${kind} namespace, not a network namespace: give /proc/PID/ns/net, /run/netns/NAME or "all"`);
    if (wantNetns === undefined) {
      // A bind-mounted namespace (/run/netns/NAME): its inode is the namespace's.
      let st;
      try {
        st = await host.stat(params.netns, { follow: true });
      } catch {
        throw new NetScopeError(`${params.netns} does not exist: give a network namespace file (/proc/PID/ns/net or /run/netns/NAME) or "all"`);
      }
      // Namespace files live on nsfs (the device of /proc/1/ns/net, or of this process's own link).
      const nsfs = await host.stat('/proc/self/ns/net', { follow: true }).catch(() => undefined);
      if (nsfs && st.dev !== nsfs.dev) throw new NetScopeError(`${params.netns} is not a network namespace (a namespace file is /proc/PID/ns/net or a bind mount of one, such as /run/netns/NAME)`);
      wantNetns = st.ino;
    }
  }
  const listed = await listProcesses(host);
  const all = listed.rows;
  if (listed.denied > 0) coverage.push({ section: 'counters', status: 'partial', reason: `${listed.denied} processes' /proc/PID/ns/net could not be read (needs root): their namespaces and sockets are left out` });
  const hostNs = all.find((p) => p.pid === 1)?.netns ?? (host.live ? all.find((p) => p.pid === host.live!.selfPid)?.netns : undefined);
  const scoped = all.filter((p) => inScope(p, params, cgroupRel));
  if (params.cgroup !== undefined && scoped.length === 0) throw new NetScopeError(`no process in cgroup ${cgroupRel}`);
  if (params.container !== undefined && scoped.length === 0) throw new NetScopeError(`no process of container ${params.container}`);
  if (params.pod !== undefined && scoped.length === 0) throw new NetScopeError(`no process of pod ${params.pod} (pods are named by their cgroup's pod UID; give NAME/NAMESPACE only where the runtime labels them)`);
  const scopedNs = new Set(scoped.map((p) => p.netns));
  if (wantNetns !== undefined && !all.some((p) => p.netns === wantNetns)) {
    throw new NetScopeError(`${params.netns} is not a network namespace that a process holds (oscope reads a namespace through /proc/PID/net of one of its processes)`);
  }
  const byNs = new Map<number, NetProcess[]>();
  for (const p of all) {
    if (wantNetns !== undefined && p.netns !== wantNetns) continue;
    if (!scopedNs.has(p.netns)) continue;
    const l = byNs.get(p.netns) ?? [];
    l.push(p);
    byNs.set(p.netns, l);
  }

  const before = new Map<number, { pid: number; r: Awaited<ReturnType<typeof readNs>> }>();
  let nsDenied = 0;
  for (const [ns, ps] of byNs) {
    for (const p of ps.slice(0, 5)) {
      try {
        before.set(ns, { pid: p.pid, r: await readNs(host, p.pid) });
        break;
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        if (err.denied) nsDenied++;
      }
    }
  }
  const softnetBefore = await readSoftnetStat(host);

  let tracer: NetTracer | undefined;
  if (!params.bpf) coverage.push({ section: 'drops', status: 'unavailable', reason: 'BPF turned off (--no-bpf)' });
  else if (!host.live) coverage.push({ section: 'drops', status: 'unavailable', reason: 'not a live host (a bundle): drops and TCP events need tracing' });
  else if (host.info().uid !== 0) coverage.push({ section: 'drops', status: 'unavailable', reason: 'BPF tracing needs root: drops, retransmits and resets are not traced (the counters still are)' });
  else if (!(await host.exists('/sys/kernel/btf/vmlinux'))) coverage.push({ section: 'drops', status: 'unavailable', reason: NET_NO_BTF });
  else {
    const start = o.startTracer ?? startNetTracer;
    const single = wantNetns ?? (scopedNs.size === 1 && (params.pid !== undefined || params.container !== undefined || params.pod !== undefined) ? [...scopedNs][0] : undefined);
    const r = start({ ...(params.port !== undefined ? { port: params.port } : {}), ...(single !== undefined ? { netns: single } : {}) });
    if ('unavailable' in r) coverage.push({ section: 'drops', status: 'unavailable', reason: r.unavailable });
    else tracer = r.tracer;
  }
  if (!tracer) coverage.push({ section: 'tcp', status: 'unavailable', reason: 'needs the BPF tracer (tcp tracepoints); the Tcp.RetransSegs and TcpExt counters are in counters[]' });
  const t0 = monoNs();
  try {
    await abortableSleep(params.intervalS * 1000, o.signal).catch(() => undefined);
    const intervalS = Number(monoNs() - t0) / 1e9;
    let drops: CapturedDrop[] | undefined;
    let tcpEvents: CapturedTcpEvent[] | undefined;
    let lostEvents = 0;
    let latency: RawLatency | undefined;
    if (tracer) {
      latency = tracer.latency();
      const rawDrops = tracer.drops();
      const rawTcp = tracer.tcp();
      lostEvents = tracer.lostEvents();
      let enums = new Map<string, Map<number, string>>();
      try {
        enums = await readKernelEnums(host, ['skb_drop_reason', 'sk_rst_reason']);
      } catch (err) {
        coverage.push({ section: 'drops', status: 'partial', reason: `cannot read the kernel's BTF enums (${err instanceof Error ? err.message : String(err)}): reasons are numbers` });
      }
      let syms: KallsymsTable | undefined;
      try {
        syms = await readKallsyms(host);
      } catch {
        coverage.push({ section: 'drops', status: 'partial', reason: 'cannot read /proc/kallsyms: locations are addresses' });
      }
      const sym = (a: bigint): string => (syms ? (syms.symbolize([a])[0]?.text ?? `0x${a.toString(16)}`) : `0x${a.toString(16)}`);
      const cgNames = new Map<bigint, string>();
      const cgName = (id: bigint): string => cgNames.get(id) ?? (id === 0n ? '' : id === 1n ? '/' : `id:${id}`);
      try {
        const mount = await cgroup2Mount(host);
        if (mount) for (const [p, id] of await walkCgroup2(host, mount)) cgNames.set(id, p);
      } catch {
        /* cgroup names stay ids */
      }
      drops = rawDrops.map((d) => {
        const { location, reason, stackId, cgroupId, ...rest } = d;
        const stack = stackId >= 0 ? tracer!.stack(stackId).map((a) => sym(a)).filter((f, i) => i > 0 || !/^(bpf_|__bpf)/.test(f)) : [];
        let i = 0;
        while (i < stack.length && /^(bpf_|__bpf|kfree_skb|sk_skb_reason_drop|__traceiter|trace_)/.test(stack[i]!)) i++;
        return { ...rest, reason: enumName(enums.get('skb_drop_reason'), reason, 'SKB_DROP_REASON_'), location: sym(location), stack: stack.slice(i), cgroup: cgName(cgroupId) };
      });
      tcpEvents = rawTcp.map((e) => {
        const { reason, cgroupId, ...rest } = e;
        return { ...rest, reason: e.kind === 'reset-sent' ? enumName(enums.get('sk_rst_reason'), reason, 'SK_RST_REASON_') : '', cgroup: cgName(cgroupId) };
      });
      Object.assign(method, tracer.method);
      coverage.push(...tracer.coverage);
    }
    const namespaces: CapturedNamespace[] = [];
    for (const [ns, b] of before) {
      const ps = byNs.get(ns)!;
      let after: Awaited<ReturnType<typeof readNs>> | undefined;
      let tcp: TcpSocketLine[] = [];
      let udp: TcpSocketLine[] | undefined;
      let unix: UnixSocketLine[] | undefined;
      let sockstat: ReturnType<typeof parseSockstat> | undefined;
      try {
        after = await readNs(host, b.pid);
        tcp = await readProcNetTcp(host, b.pid);
        udp = await readProcNetUdp(host, b.pid);
        unix = await readProcNetUnix(host, b.pid).catch((err: unknown) => {
          if (err instanceof HostError && err.notFound) return undefined; // a kernel without AF_UNIX's proc file
          throw err;
        });
        const ss = await host.tryReadText(`/proc/${b.pid}/net/sockstat`);
        sockstat = ss !== undefined ? parseSockstat(ss, `/proc/${b.pid}/net/sockstat`) : undefined;
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        continue; // the process left (and maybe the namespace with it)
      }
      const withContainer = ps.find((p) => p.container);
      const first = ps.find((p) => p.pid === b.pid)!;
      namespaces.push({
        inode: ns,
        host: ns === hostNs,
        pid: b.pid,
        processes: ps.length,
        ...(withContainer?.container && ns !== hostNs ? { container: withContainer.container } : {}),
        holder: `${first.comm}[${first.pid}]`,
        snmpBefore: b.r.snmp,
        snmpAfter: after.snmp,
        netstatBefore: b.r.netstat,
        netstatAfter: after.netstat,
        devBefore: b.r.dev,
        devAfter: after.dev,
        tcp,
        udp,
        ...(unix ? { unix } : {}),
        ...(sockstat?.get('TCP', 'mem') !== undefined ? { sockstatTcpMemPages: sockstat.get('TCP', 'mem')! } : {}),
        ...(sockstat?.get('TCP', 'orphan') !== undefined ? { sockstatOrphans: sockstat.get('TCP', 'orphan')! } : {}),
      });
    }
    const softnetAfter = await readSoftnetStat(host);
    const socketOwners = new Map<number, number[]>();
    let fdDenied = 0;
    for (const p of all) {
      if (!byNs.has(p.netns)) continue;
      try {
        for (const fd of await readFds(host, p.pid)) {
          if (fd.kind !== 'socket' || fd.inode === undefined) continue;
          const l = socketOwners.get(fd.inode) ?? [];
          if (!l.includes(p.pid)) l.push(p.pid);
          socketOwners.set(fd.inode, l);
        }
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        if (err.denied) fdDenied++;
      }
    }
    if (nsDenied > 0) coverage.push({ section: 'counters', status: 'partial', reason: `${nsDenied} network namespaces could not be read through /proc/PID/net (needs root)` });
    if (fdDenied > 0) coverage.push({ section: 'sockets', status: 'partial', reason: `${fdDenied} processes' /proc/PID/fd could not be read (needs root): their sockets count as unowned` });
    if (!tracer) coverage.push({ section: 'latency', status: 'unavailable', reason: 'latency by stage needs the BPF tracer (net, tcp and skb tracepoints)' });
    else if (latency) coverage.push({ section: 'latency.rx.socket', status: 'partial', reason: 'the socket stage is TCP only (tcp:tcp_probe); UDP packets go from netif_receive_skb straight to the app stage, which then includes their protocol processing; qdisc_dequeue is not separated from the qdisc stage' });
    coverage.push({ section: 'sockets.memory', status: 'partial', reason: 'TCP figures are the queues (Recv-Q/Send-Q) of /proc/PID/net/tcp, not the buffer memory behind them (ss -m skmem, sock_diag); UDP figures are buffer bytes (sk_rmem_alloc/sk_wmem_alloc); UNIX sockets are counted without queues' });
    const tcpMem = await readTcpMem(host);
    const mo = Number((await host.tryReadText('/proc/sys/net/ipv4/tcp_max_orphans'))?.trim());
    return {
      intervalS,
      ...(params.port !== undefined ? { port: params.port } : {}),
      namespaces,
      softnetBefore,
      softnetAfter,
      processes: scoped,
      socketOwners,
      fdDenied,
      ...(tcpMem ? { tcpMem } : {}),
      ...(Number.isFinite(mo) ? { maxOrphans: mo } : {}),
      pageSizeBytes: await pageSize(host),
      ...(drops ? { drops } : {}),
      ...(tcpEvents ? { tcpEvents } : {}),
      ...(latency ? { latency } : {}),
      lostEvents,
      method,
      coverage,
    };
  } finally {
    tracer?.close();
  }
}
