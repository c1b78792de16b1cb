import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetDocumentSchema } from '../../../src/contract/net.js';
import { analyzeNet, snmpDelta } from '../../../src/diagnose/net/analyze.js';
import { NET_DROP_KEY_LAYOUT, NET_DROP_VAL_LAYOUT, NET_TCP_KEY_LAYOUT, NET_TCP_VAL_LAYOUT, decodeDrop, decodeTcpEvent, protoName } from '../../../src/diagnose/net/bpf.js';
import type { CapturedNamespace, NetCapture } from '../../../src/diagnose/net/collect.js';
import { netnsInode } from '../../../src/diagnose/net/collect.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { parseBtfEnums } from '../../../src/kernel/btf/enums.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { netDocument, renderNetText } from '../../../src/report/net.js';
import { plainStyle } from '../../../src/report/text.js';

const snmp = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));

function ns(over: Partial<CapturedNamespace> = {}): CapturedNamespace {
  return {
    inode: 4026531840,
    host: true,
    pid: 1,
    processes: 3,
    holder: 'init[1]',
    snmpBefore: snmp({ 'Tcp.OutSegs': 1000, 'Tcp.RetransSegs': 10, 'Tcp.CurrEstab': 3 }),
    snmpAfter: snmp({ 'Tcp.OutSegs': 2000, 'Tcp.RetransSegs': 110, 'Tcp.CurrEstab': 4 }),
    netstatBefore: snmp({ 'TcpExt.ListenOverflows': 5, 'TcpExt.ListenDrops': 5, 'TcpExt.TCPTimeouts': 0, 'IpExt.InOctets': 10 }),
    netstatAfter: snmp({ 'TcpExt.ListenOverflows': 25, 'TcpExt.ListenDrops': 25, 'TcpExt.TCPTimeouts': 4, 'IpExt.InOctets': 110 }),
    devBefore: [],
    devAfter: [],
    tcp: [
      { local: '0.0.0.0', localPort: 8080, remote: '0.0.0.0', remotePort: 0, state: 'LISTEN', txQueue: 0, rxQueue: 129, uid: 0, inode: 100 },
      { local: '10.0.0.1', localPort: 8080, remote: '10.0.0.2', remotePort: 40000, state: 'ESTABLISHED', txQueue: 0, rxQueue: 4 << 20, uid: 0, inode: 101 },
      { local: '10.0.0.1', localPort: 9, remote: '10.0.0.3', remotePort: 1, state: 'FIN_WAIT1', txQueue: 10, rxQueue: 0, uid: 0, inode: 0 },
    ],
    sockstatTcpMemPages: 100,
    sockstatOrphans: 1,
    ...over,
  };
}

function capture(): NetCapture {
  return {
    intervalS: 2,
    namespaces: [ns()],
    softnetBefore: [{ cpu: 0, processed: 1, dropped: 0, timeSqueeze: 0, receivedRps: 0, flowLimit: 0 }],
    softnetAfter: [{ cpu: 0, processed: 100, dropped: 7, timeSqueeze: 3, receivedRps: 0, flowLimit: 0, backlog: 0 }],
    processes: [{ pid: 42, comm: 'server', netns: 4026531840, cgroup: '/system.slice/app.service' }],
    socketOwners: new Map([
      [100, [42]],
      [101, [42]],
    ]),
    fdDenied: 0,
    tcpMem: { min: 1000, pressure: 2000, max: 3000 },
    maxOrphans: 4096,
    pageSizeBytes: 4096,
    drops: [
      { reason: 'NETFILTER_DROP', location: 'nft_do_chain+0x1', stack: ['nft_do_chain+0x1', 'nf_hook_slow+0x2'], cgroup: '', netns: 4026531840, count: 300, ifindex: 2, ifname: 'eth0', flow: { family: 4, src: '10.0.0.2', dst: '10.0.0.1', sport: 40000, dport: 8080, proto: 6, l3: 0x800 } },
      { reason: 'NO_SOCKET', location: 'tcp_v4_rcv+0x9', stack: [], cgroup: '', netns: 4026531840, count: 2, ifindex: 2, ifname: 'eth0', flow: { family: 4, src: '10.0.0.2', dst: '10.0.0.1', sport: 1, dport: 2, proto: 6, l3: 0x800 } },
    ],
    tcpEvents: [{ kind: 'retransmit', flow: { family: 4, src: '10.0.0.1', dst: '10.0.0.2', sport: 8080, dport: 40000, proto: 6, l3: 0x800 }, netns: 4026531840, reason: '', cgroup: '', count: 50, segs: 90, state: 1, caState: 4 }],
    lostEvents: 0,
    method: {},
    coverage: [],
  };
}

test('analyze: counters as deltas (gauges as read), drops grouped, retransmit segments, sockets and unowned', () => {
  const th = resolveThresholds();
  const a = analyzeNet(capture(), th);
  const n = a.counters.namespaces[0]!;
  assert.equal(n.snmp['Tcp.RetransSegs'], 100);
  assert.equal(n.snmp['Tcp.CurrEstab'], 4);
  assert.equal(n.tcpExt.ListenOverflows, 20);
  assert.equal(n.netstat['IpExt.InOctets'], 100);
  assert.equal(n.netns.name, 'host');
  assert.equal(a.counters.softnet[0]!.dropped, 7);
  assert.deepEqual(a.drops.map((d) => [d.reason, d.count, d.proto, d.iface]), [['NETFILTER_DROP', 300, 'tcp', 'eth0'], ['NO_SOCKET', 2, 'tcp', 'eth0']]);
  assert.equal(a.tcp.retransmits[0]!.count, 90);
  assert.equal(a.tcp.retransmits[0]!.caState, 'Loss');
  assert.equal(a.tcp.retransmits[0]!.state, 'ESTABLISHED');
  const p = a.sockets.byProcess[0]!;
  assert.deepEqual([p.pid, p.sockets, p.listeners, p.maxRecvQBytes, p.maxRecvQPort], [42, 2, 1, 4 << 20, 8080]);
  assert.deepEqual(a.sockets.unowned, [{ netns: 4026531840, sockets: 1, recvQBytes: 0, sendQBytes: 10, byState: { FIN_WAIT1: 1 } }]);
  assert.equal(a.sockets.tcpMemPressure!.pressurePct, 5);
  const ids = a.findings.map((f) => f.id).sort();
  assert.deepEqual(ids, ['net.drop.high', 'net.latency.app', 'net.latency.softirq', 'net.listen.overflow', 'net.retrans.high']);
  const drop = a.findings.find((f) => f.id === 'net.drop.high')!;
  assert.equal(drop.params.reason, 'NETFILTER_DROP');
  assert.equal(drop.params.location, 'nft_do_chain');
  const lo = a.findings.find((f) => f.id === 'net.listen.overflow')!;
  assert.equal(lo.params.port, '8080');
  assert.equal(lo.params.comm, 'server');
  // The document is the contract, in both languages, and renders as text.
  for (const lang of ['en', 'zh-CN'] as const) {
    const doc = NetDocumentSchema.parse(netDocument(a, lang));
    assert.ok(doc.findings.every((f) => !/\{\w+\}/.test(f.title + f.conclusion + f.suggestions.join(''))), 'every placeholder filled');
    assert.match(renderNetText(doc, lang, plainStyle), /NETFILTER_DROP/);
  }
});

test('analyze: thresholds gate the findings; the port scope keeps only its sockets', () => {
  const quiet = resolveThresholds({ 'net.dropMin': 1e6, 'net.dropPerS': 1e6, 'net.retransMin': 1e6, 'net.listenOverflowMin': 1e6, 'net.recvQBytes': 1e12 });
  const c = capture();
  c.softnetAfter = c.softnetBefore;
  assert.deepEqual(analyzeNet(c, quiet).findings, []);
  c.port = 9;
  const a = analyzeNet(c, quiet);
  assert.deepEqual(a.sockets.byProcess, []);
  assert.equal(a.sockets.unowned[0]!.sockets, 1);
  assert.equal(snmpDelta(snmp({ 'Tcp.InSegs': 10 }), snmp({ 'Tcp.InSegs': 5 }))['Tcp.InSegs'], 0, 'a counter that went back counts 0');
});

test('decoders mirror bpf/net.h; netns links; protocol names', () => {
  const k = Buffer.alloc(NET_DROP_KEY_LAYOUT.size);
  k.writeBigUInt64LE(0xffffffff81000000n, 0);
  k.writeUInt32LE(12, 8);
  k.writeUInt32LE(4026531840, 12);
  const v = Buffer.alloc(NET_DROP_VAL_LAYOUT.size);
  v.writeBigUInt64LE(5n, 0);
  v.set([10, 0, 0, 2], 8);
  v.set([10, 0, 0, 1], 24);
  v.writeUInt16LE(40000, 40);
  v.writeUInt16LE(80, 42);
  v.writeUInt8(4, 44);
  v.writeUInt8(6, 45);
  v.writeInt32LE(-1, 48);
  v.write('eth0', 56);
  const d = decodeDrop(k, v);
  assert.deepEqual([d.reason, d.netns, d.count, d.flow.src, d.flow.dst, d.flow.sport, d.flow.dport, d.ifname, d.stackId], [12, 4026531840, 5, '10.0.0.2', '10.0.0.1', 40000, 80, 'eth0', -1]);
  assert.equal(protoName(d.flow), 'tcp');
  const tk = Buffer.alloc(NET_TCP_KEY_LAYOUT.size);
  tk.writeUInt8(6, 36);
  tk.writeUInt32LE(1, 44);
  const tv = Buffer.alloc(NET_TCP_VAL_LAYOUT.size);
  tv.writeBigUInt64LE(3n, 0);
  tv.writeUInt32LE(7, 16);
  tv.writeUInt32LE(255, 20);
  const e = decodeTcpEvent(tk, tv)!;
  assert.deepEqual([e.kind, e.count, e.state, e.caState, e.flow.family], ['reset-sent', 3, 7, null, 6]);
  tk.writeUInt32LE(9, 44);
  assert.equal(decodeTcpEvent(tk, tv), undefined);
  assert.throws(() => decodeDrop(Buffer.alloc(4), v));
  assert.equal(netnsInode('net:[4026531840]'), 4026531840);
  assert.equal(netnsInode('mnt:[1]'), undefined);
});

/** A BTF blob with one INT and one ENUM named `e` (values 1 → A, 2 → B). */
function btf(): Buffer {
  const strs = Buffer.from('\0int\0e\0A\0B\0', 'latin1');
  const types = Buffer.alloc(16 + 12 + 16);
  let o = 0;
  types.writeUInt32LE(1, o); // "int"
  types.writeUInt32LE(1 << 24, o + 4); // INT
  types.writeUInt32LE(4, o + 8);
  types.writeUInt32LE(32, o + 12);
  o += 16;
  types.writeUInt32LE(5, o); // "e"
  types.writeUInt32LE((6 << 24) | 2, o + 4); // ENUM, vlen 2
  types.writeUInt32LE(4, o + 8);
  o += 12;
  types.writeUInt32LE(7, o);
  types.writeInt32LE(1, o + 4);
  types.writeUInt32LE(9, o + 8);
  types.writeInt32LE(2, o + 12);
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h.writeUInt8(1, 2);
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(types.length, 12);
  h.writeUInt32LE(types.length, 16);
  h.writeUInt32LE(strs.length, 20);
  return Buffer.concat([h, types, strs]);
}

test('BTF enums: names by value; bad magic and truncation are ParseErrors', () => {
  const m = parseBtfEnums(btf(), ['e', 'missing']);
  assert.deepEqual([...m.get('e')!], [[1, 'A'], [2, 'B']]);
  assert.equal(m.has('missing'), false);
  const bad = btf();
  bad.writeUInt16LE(0x1234, 0);
  assert.throws(() => parseBtfEnums(bad, ['e']), ParseError);
  assert.throws(() => parseBtfEnums(btf().subarray(0, 30), ['e']), ParseError);
  assert.throws(() => parseBtfEnums(Buffer.alloc(3), ['e']), ParseError);
});
