/**
 * Network scenarios in network namespaces of their own (never the host's interfaces): two named
 * namespaces, `oscope-sim-<run>-s` (the server) and `oscope-sim-<run>-c` (the client), joined by a veth
 * pair created directly inside them (`ip link add ... netns`), 10.255.251.1 (server) and .2 (client).
 * Everything a scenario adds (addresses, nftables rules, qdiscs) lives in those namespaces, so deleting
 * them (the `netns` resources) removes it all; the helpers run inside with `ip netns exec`.
 *
 *   net-drop --pct P --port N   an nftables rule in the server namespace drops P % of the packets to
 *                               port N (`numgen random mod 100 < P counter drop`) while a client sends
 *                               1 KiB messages to a server on that port: drops with reason
 *                               NETFILTER_DROP in nf_hook_slow, and retransmits on the client.
 *   net-listen-overflow         a listener with backlog 1 that never accepts, and a client that keeps
 *                               connecting: ListenOverflows/ListenDrops and TCP_LISTEN_OVERFLOW drops.
 *   net-delay --ms N            a netem qdisc on the client's veth (`netem delay N ms`) where the
 *                               kernel has sch_netem, else a tbf qdisc (rate 8 Mbit/s, burst 1600 B,
 *                               latency N ms: a queue of N ms worth of bytes) and a client that sends
 *                               UDP above that rate; either way every packet waits about N ms in the
 *                               qdisc (the development VM has no netem, fq or EDT: tbf's full queue is
 *                               the hold there; Debian's 6.1 in test/kernels/ has netem).
 *   net-slow-reader             a server that accepts and then never reads (8 MiB receive buffer) and
 *                               a client that sends as fast as it can: the server's Recv-Q fills.
 */
import { spawnSync } from 'node:child_process';
import { type Scenario, type ScenarioContext, type ScenarioResult, SimulateError } from '../framework.js';
import { hasCommand, startHelper } from './runq-hog.js';

export const NET_SERVER = 'osc-net-server';
export const NET_CLIENT = 'osc-net-client';
export const NET_SERVER_ADDR = '10.255.251.1';
export const NET_CLIENT_ADDR = '10.255.251.2';
/** The nftables table the net-drop rule lives in (inside the server namespace). */
export const NET_NFT_TABLE = 'oscope_sim';

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new SimulateError(`${cmd} ${args.join(' ')} failed: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`, 'failure');
  return r.stdout;
}

function netCheck(needNft = false): string | undefined {
  if (!hasCommand('ip')) return 'this scenario needs ip (apt install iproute2)';
  if (needNft && !hasCommand('nft')) return 'this scenario needs nft (apt install nftables; scripts/ensure-test-deps-net.sh installs it)';
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return 'this scenario needs root (it creates network namespaces)';
  return undefined;
}

interface Pair {
  server: string;
  client: string;
}

/** The two namespaces and the veth between them. */
function buildPair(ctx: ScenarioContext): Pair {
  const server = ctx.track({ kind: 'netns', name: ctx.name('s') }).name;
  run('ip', ['netns', 'add', server]);
  const client = ctx.track({ kind: 'netns', name: ctx.name('c') }).name;
  run('ip', ['netns', 'add', client]);
  run('ip', ['link', 'add', 'osc-c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'osc-s0', 'netns', server]);
  for (const [ns, dev, addr] of [
    [server, 'osc-s0', NET_SERVER_ADDR],
    [client, 'osc-c0', NET_CLIENT_ADDR],
  ] as const) {
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  return { server, client };
}

/** kind sink: accept and read everything; noaccept: listen(backlog) and never accept; slow: accept, never read. */
const SERVER = String.raw`
import socket, threading
if cfg["kind"] == "udpsink":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((cfg["addr"], cfg["port"]))
    u.settimeout(0.5)
    out({"ready": True, "pid": os.getpid()})
    while True:
        try: u.recv(65536)
        except socket.timeout: pass
        check()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if cfg["rcvbuf"]: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cfg["rcvbuf"])
s.bind((cfg["addr"], cfg["port"]))
s.listen(cfg["backlog"])
out({"ready": True, "pid": os.getpid()})
held = []
def drain(c):
    while True:
        try:
            if not c.recv(65536): return
        except OSError: return
while True:
    if cfg["kind"] == "noaccept":
        time.sleep(0.5); check(); continue
    s.settimeout(0.5)
    try: c, _ = s.accept()
    except socket.timeout: check(); continue
    if cfg["kind"] == "sink": threading.Thread(target=drain, args=(c,), daemon=True).start()
    else: held.append(c)
    check()
`;

/** kind stream: 1 KiB messages every gapMs on one connection (reconnecting); flood: send as fast as possible; connect: a new connection every gapMs. */
const CLIENT = String.raw`
import socket, errno
out({"ready": True, "pid": os.getpid()})
buf = b"x" * cfg["msg"]
conns = []
sock = None
if cfg["kind"] == "udp":
    # cfg["pps"] datagrams a second in small batches every 2 ms: above the shaped rate and often enough
    # that the qdisc's queue never drains between batches, so every packet waits about its full length.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    batch = max(1, cfg["pps"] // 500)
    while True:
        check()
        for _ in range(batch):
            try: u.sendto(buf, (cfg["addr"], cfg["port"]))
            except OSError: pass
        time.sleep(0.002)
while True:
    check()
    if cfg["kind"] == "connect":
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.setblocking(False)
        try: c.connect_ex((cfg["addr"], cfg["port"]))
        except OSError: pass
        conns.append(c)
        if len(conns) > 200: conns.pop(0).close()
        time.sleep(cfg["gapMs"] / 1000.0); continue
    if sock is None:
        try:
            sock = socket.create_connection((cfg["addr"], cfg["port"]), timeout=5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(2)
        except OSError:
            sock = None; time.sleep(0.2); continue
    try:
        sock.sendall(buf)
    except socket.timeout:
        continue
    except OSError:
        sock.close(); sock = None; continue
    if cfg["gapMs"]: time.sleep(cfg["gapMs"] / 1000.0)
`;

async function startPair(ctx: ScenarioContext, p: Pair, server: Record<string, string | number>, client: Record<string, string | number>): Promise<{ serverPid: number; clientPid: number }> {
  const s = await startHelper(ctx, 'server', ['ip', 'netns', 'exec', p.server], SERVER, { comm: NET_SERVER, addr: NET_SERVER_ADDR, rcvbuf: 0, backlog: 128, ...server });
  const c = await startHelper(ctx, 'client', ['ip', 'netns', 'exec', p.client], CLIENT, { comm: NET_CLIENT, addr: NET_SERVER_ADDR, msg: 1024, gapMs: 2, ...client });
  return { serverPid: Number(s.pid), clientPid: Number(c.pid) };
}

/** The packets the net-drop rule has dropped so far (its own counter). */
export function nftDropCounter(serverNs: string): number {
  const text = run('ip', ['netns', 'exec', serverNs, 'nft', 'list', 'table', 'inet', NET_NFT_TABLE]);
  const m = /counter packets (\d+) bytes \d+ drop/.exec(text);
  if (!m) throw new SimulateError(`no counter in the ${NET_NFT_TABLE} table of ${serverNs}`, 'failure');
  return Number(m[1]);
}

export const netDrop: Scenario = {
  name: 'net-drop',
  area: 'net',
  description: `an nftables rule in a namespace of its own drops a share of one port's packets while a client (${NET_CLIENT}) talks to a server (${NET_SERVER})`,
  sizeFlag: '--pct',
  options: [
    { key: 'pct', flag: '--pct <percent>', type: 'count', description: 'the share of the packets to the port that the rule drops (1 to 100)', default: 10 },
    { key: 'port', flag: '--port <n>', type: 'count', description: 'the server port (1 to 65535)', default: 5201 },
  ],
  memoryBytes: () => 0,
  check: (o) => {
    if (!Number.isInteger(o.pct) || o.pct! < 1 || o.pct! > 100) return '--pct must be a whole percentage from 1 to 100';
    if (!Number.isInteger(o.port) || o.port! < 1 || o.port! > 65535) return '--port must be a port number from 1 to 65535';
    return netCheck(true);
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const p = buildPair(ctx);
    const { pct, port } = ctx.opts as { pct: number; port: number };
    run('ip', ['netns', 'exec', p.server, 'nft', '-f', '-'], `table inet ${NET_NFT_TABLE} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport ${port} numgen random mod 100 < ${pct} counter drop\n  }\n}\n`);
    const pids = await startPair(ctx, p, { kind: 'sink', port }, { kind: 'stream', port });
    return { count: 1, unit: 'rule', bytes: 0, details: { serverNetns: p.server, clientNetns: p.client, port, pct, ...pids, nftTable: `inet ${NET_NFT_TABLE}` } };
  },
};

export const netListenOverflow: Scenario = {
  name: 'net-listen-overflow',
  area: 'net',
  description: `a listener (${NET_SERVER}) with backlog 1 that never accepts, and a client (${NET_CLIENT}) that keeps connecting, in namespaces of their own`,
  sizeFlag: '--port',
  options: [
    { key: 'port', flag: '--port <n>', type: 'count', description: 'the listening port (1 to 65535)', default: 5202 },
    { key: 'gapMs', flag: '--gap-ms <ms>', type: 'count', description: 'time between two connection attempts', default: 20 },
  ],
  memoryBytes: () => 0,
  check: (o) => {
    if (!Number.isInteger(o.port) || o.port! < 1 || o.port! > 65535) return '--port must be a port number from 1 to 65535';
    if (!Number.isInteger(o.gapMs) || o.gapMs! < 1) return '--gap-ms must be a whole number of milliseconds, at least 1';
    return netCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const p = buildPair(ctx);
    const port = ctx.opts.port!;
    // Without syncookies' rescue the overflow is visible as such (the namespace's own sysctl).
    run('ip', ['netns', 'exec', p.server, 'sysctl', '-q', '-w', 'net.ipv4.tcp_syncookies=0']);
    const pids = await startPair(ctx, p, { kind: 'noaccept', port, backlog: 1 }, { kind: 'connect', port, gapMs: ctx.opts.gapMs! });
    return { count: 1, unit: 'listener', bytes: 0, details: { serverNetns: p.server, clientNetns: p.client, port, backlog: 1, ...pids } };
  },
};

export const netSlowReader: Scenario = {
  name: 'net-slow-reader',
  area: 'net',
  description: `a server (${NET_SERVER}) that accepts and never reads, and a client (${NET_CLIENT}) that sends as fast as it can: the server's Recv-Q fills`,
  sizeFlag: '--rcvbuf',
  options: [
    { key: 'port', flag: '--port <n>', type: 'count', description: 'the server port (1 to 65535)', default: 5203 },
    { key: 'rcvbuf', flag: '--rcvbuf <size>', type: 'size', description: 'SO_RCVBUF of the server socket (the kernel doubles it)', default: 4 * 1024 * 1024 },
  ],
  memoryBytes: (o) => 2 * (o.rcvbuf ?? 0),
  check: (o) => {
    if (!Number.isInteger(o.port) || o.port! < 1 || o.port! > 65535) return '--port must be a port number from 1 to 65535';
    return netCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const p = buildPair(ctx);
    const port = ctx.opts.port!;
    const pids = await startPair(ctx, p, { kind: 'slow', port, rcvbuf: ctx.opts.rcvbuf! }, { kind: 'stream', port, msg: 65536, gapMs: 0 });
    return { count: 1, unit: 'connection', bytes: 2 * ctx.opts.rcvbuf!, details: { serverNetns: p.server, clientNetns: p.client, port, ...pids } };
  },
};

/** tbf's rate for net-delay: 8 Mbit/s = 1 MB/s, so N ms of queue is N KB (with 1000-byte datagrams, N packets). */
export const NET_DELAY_RATE_BPS = 1_000_000;

export const netDelay: Scenario = {
  name: 'net-delay',
  area: 'net',
  description: `a netem (else tbf) qdisc on a veth in a namespace of its own holds every packet of a UDP client (${NET_CLIENT}) about N ms before the driver takes it`,
  sizeFlag: '--ms',
  options: [
    { key: 'ms', flag: '--ms <n>', type: 'count', description: 'the time each packet waits in the qdisc (5 to 1000 ms)', default: 20 },
    { key: 'port', flag: '--port <n>', type: 'count', description: 'the UDP port the client sends to (1 to 65535)', default: 5204 },
  ],
  memoryBytes: () => 0,
  check: (o) => {
    if (!Number.isInteger(o.ms) || o.ms! < 5 || o.ms! > 1000) return '--ms must be a whole number of milliseconds from 5 to 1000';
    if (!Number.isInteger(o.port) || o.port! < 1 || o.port! > 65535) return '--port must be a port number from 1 to 65535';
    if (!hasCommand('tc')) return 'this scenario needs tc (apt install iproute2)';
    return netCheck();
  },
  start: async (ctx): Promise<ScenarioResult> => {
    const p = buildPair(ctx);
    const { ms, port } = ctx.opts as { ms: number; port: number };
    // netem where the kernel has it: the hold is exact and needs no saturating sender (a few hundred
    // packets a second are plenty). tc loads sch_netem itself when modules can load; when the kernel
    // has no netem, tbf's full queue holds the packets instead.
    const netem = spawnSync('ip', ['netns', 'exec', p.client, 'tc', 'qdisc', 'add', 'dev', 'osc-c0', 'root', 'netem', 'delay', `${ms}ms`, 'limit', '10000'], { encoding: 'utf8' });
    let qdisc: string;
    let pps: number;
    if (netem.status === 0) {
      qdisc = `netem delay ${ms}ms on osc-c0`;
      pps = 250;
    } else {
      run('ip', ['netns', 'exec', p.client, 'tc', 'qdisc', 'add', 'dev', 'osc-c0', 'root', 'tbf', 'rate', `${NET_DELAY_RATE_BPS * 8}bit`, 'burst', '1600', 'latency', `${ms}ms`]);
      qdisc = `tbf rate ${NET_DELAY_RATE_BPS * 8}bit burst 1600 latency ${ms}ms on osc-c0`;
      pps = 2 * (NET_DELAY_RATE_BPS / 1000);
    }
    const pids = await startPair(ctx, p, { kind: 'udpsink', port }, { kind: 'udp', port, msg: 1000, pps });
    return { count: 1, unit: 'qdisc', bytes: 0, details: { serverNetns: p.server, clientNetns: p.client, port, ms, qdisc, ...pids } };
  },
};
