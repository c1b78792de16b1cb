/**
 * Live: `oscope net`'s per-process socket counts (TCP, UDP, UNIX) and queues against `ss` on real sockets
 * that the test's own helper process opens (a TCP listener and a connected pair with unread bytes, UDP
 * sockets with unread datagrams, UNIX socket pairs with unread bytes), in a network namespace the test
 * creates (oscope-test-sockets-<pid>) and removes. The helper only sleeps once set up, so both reads see
 * the same sockets.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { NetDocumentSchema } from '../../../src/contract/net.js';
import { analyzeNet } from '../../../src/diagnose/net/analyze.js';
import { collectNet } from '../../../src/diagnose/net/collect.js';
import { NetParamsSchema } from '../../../src/diagnose/net/params.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { netDocument } from '../../../src/report/net.js';
import { needsRoot } from '../../helpers.js';

const HELPER = `
import socket, sys, time
keep = []
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8); keep.append(l)
c = socket.create_connection(l.getsockname()); s, _ = l.accept(); keep += [c, s]
c.sendall(b"x" * 3000)                         # Recv-Q of s: 3000
for i in range(3):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); keep.append(u)
u.sendto(b"y" * 500, u.getsockname())            # one unread datagram on the last UDP socket
for i in range(2):
    a, b = socket.socketpair(); keep += [a, b]
    a.sendall(b"z" * 100)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(120)
`;

const hasSs = spawnSync('sh', ['-c', 'command -v ss && command -v ip && command -v python3'], { stdio: 'ignore' }).status === 0;

interface SsRow {
  netid: string;
  state: string;
  recvQ: number;
  sendQ: number;
}

/** `ss -H -tuxanp` in the namespace: the rows of one pid. */
function ssOf(ns: string, pid: number): SsRow[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-H', '-tuxanp'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => new RegExp(`pid=${pid},`).test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { netid: f[0]!, state: f[1]!, recvQ: Number(f[2]), sendQ: Number(f[3]) };
    });
}

test('sockets: per-process TCP, UDP and UNIX counts and queues match ss on sockets the test opens', { skip: needsRoot || (!hasSs && 'needs ss, ip and python3') }, async () => {
  const ns = `oscope-test-sockets-${process.pid}`;
  let child: ChildProcess | undefined;
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', HELPER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`helper exited ${code}`)));
    });
    const pid = child.pid!; // ip netns exec execs python3: same pid
    const th = resolveThresholds();
    const cap = await collectNet(new LiveHost(), NetParamsSchema.parse({ intervalS: 0.2, netns: `/run/netns/${ns}`, bpf: false }), th);
    const doc = NetDocumentSchema.parse(netDocument(analyzeNet(cap, th, 1000), 'en'));
    const p = doc.sockets.byProcess.find((x) => x.pid === pid);
    assert.ok(p, `the helper ${pid} among ${doc.sockets.byProcess.map((x) => x.pid).join(', ')}`);
    const ss = ssOf(ns, pid);
    const tcp = ss.filter((r) => r.netid === 'tcp');
    const udp = ss.filter((r) => r.netid === 'udp');
    const unix = ss.filter((r) => r.netid.startsWith('u_'));
    const sum = (rows: SsRow[], k: 'recvQ' | 'sendQ'): number => rows.reduce((a, r) => a + r[k], 0);
    const est = tcp.filter((r) => r.state !== 'LISTEN');
    assert.deepEqual(
      { tcp: p.sockets, listeners: p.listeners, recvQ: p.recvQBytes, sendQ: p.sendQBytes, udp: p.udpSockets, udpRecv: p.udpRecvBytes, udpSend: p.udpSendBytes, unix: p.unixSockets },
      { tcp: tcp.length, listeners: tcp.length - est.length, recvQ: sum(est, 'recvQ'), sendQ: sum(est, 'sendQ'), udp: udp.length, udpRecv: sum(udp, 'recvQ'), udpSend: sum(udp, 'sendQ'), unix: unix.length },
    );
    // What the helper opened, so the comparison is not empty on both sides.
    assert.deepEqual([p.sockets, p.listeners, p.recvQBytes, p.udpSockets, p.unixSockets], [3, 1, 3000, 3, 4]);
    assert.ok(p.udpRecvBytes >= 500, `UDP buffer bytes ${p.udpRecvBytes} hold the unread 500-byte datagram`);
  } finally {
    child?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
