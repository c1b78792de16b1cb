import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseNetDev, readNetDev } from '../../../../src/kernel/procfs/net/dev.js';
import { NETSTAT_PATH, SNMP_PATH, parseSnmp, parseSnmp6, readNetstat, readSnmp } from '../../../../src/kernel/procfs/net/snmp.js';
import { parseSoftnetStat, readSoftnetStat } from '../../../../src/kernel/procfs/net/softnet.js';
import { decodeProcAddress, ipv6Text, parseProcNetTcp, readProcNetTcp } from '../../../../src/kernel/procfs/net/tcp.js';
import { parseProcNetUnix, readProcNetUnix } from '../../../../src/kernel/procfs/net/unix.js';
import { fixture, fuzzParser } from '../../../helpers.js';

test('snmp/netstat: header and value line pairs, Proto.Field names, signed values', () => {
  const s = parseSnmp(fixture('proc', 'net', 'snmp'));
  assert.equal(s.get('Tcp.MaxConn'), -1);
  assert.equal(s.get('Tcp.RtoMin'), 200);
  assert.ok(s.has('Tcp.RetransSegs') && s.has('Udp.RcvbufErrors') && s.has('Ip.InDiscards'));
  const n = parseSnmp(fixture('proc', 'net', 'netstat'), NETSTAT_PATH);
  for (const k of ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops', 'TcpExt.TCPBacklogDrop', 'TcpExt.TCPRcvQDrop', 'TcpExt.PruneCalled', 'TcpExt.TCPTimeouts']) assert.ok(n.has(k), k);
  assert.ok([...n.keys()].some((k) => k.startsWith('IpExt.')));
});

test('snmp: malformed input is a ParseError naming file and line', () => {
  assert.throws(() => parseSnmp(''), ParseError);
  assert.throws(() => parseSnmp('Tcp: A B\nTcp: 1\n'), /Tcp has 2 fields but 1 values/);
  assert.throws(() => parseSnmp('Tcp: A B\nUdp: 1 2\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
  assert.throws(() => parseSnmp('Tcp: A\nTcp: x\n'), /integer for Tcp.A/);
  assert.throws(() => parseSnmp('Tcp: A\n'), /missing the value line/);
  fuzzParser((t) => parseSnmp(t), fixture('proc', 'net', 'snmp'), SNMP_PATH);
  fuzzParser((t) => parseSnmp(t, NETSTAT_PATH), fixture('proc', 'net', 'netstat'), NETSTAT_PATH);
  assert.deepEqual([...parseSnmp6('Ip6InReceives   12\nUdp6InErrors 0\n')], [['Ip6InReceives', 12], ['Udp6InErrors', 0]]);
  assert.throws(() => parseSnmp6('Ip6InReceives x\n'), ParseError);
});

test('softnet_stat: hex columns; the cpu column (5.10+) and backlog; older 11-column lines', () => {
  const s = parseSoftnetStat(fixture('proc', 'net', 'softnet_stat'));
  assert.equal(s.length, 2);
  assert.deepEqual(s.map((x) => x.cpu), [0, 1]);
  assert.equal(s[0]!.processed, 0x21);
  assert.equal(s[1]!.processed, 0x4b97);
  assert.equal(s[1]!.backlog, 0);
  const old = parseSoftnetStat('0000000a 00000002 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000005\n');
  assert.deepEqual(old[0], { cpu: 0, processed: 10, dropped: 2, timeSqueeze: 3, receivedRps: 4, flowLimit: 5 });
  assert.throws(() => parseSoftnetStat('0000000a zz'), ParseError);
  assert.throws(() => parseSoftnetStat(''), /empty/);
  fuzzParser((t) => parseSoftnetStat(t), fixture('proc', 'net', 'softnet_stat'), '/proc/net/softnet_stat');
});

test('net/dev: 16 counters per interface after the two header lines', () => {
  const d = parseNetDev(fixture('proc', 'net', 'dev'));
  const lo = d.find((x) => x.name === 'lo')!;
  assert.equal(lo.rxBytes, 165674);
  assert.equal(lo.rxPackets, 106);
  assert.equal(lo.txBytes, 165674);
  assert.ok(d.some((x) => x.name === 'ifb0'));
  assert.throws(() => parseNetDev('lo: 1 2\n'), /header/);
  assert.throws(() => parseNetDev('Inter-|\n face |\n  lo: 1 2 3\n'), (e: unknown) => e instanceof ParseError && e.line === 3);
  fuzzParser((t) => parseNetDev(t), fixture('proc', 'net', 'dev'), '/proc/net/dev');
});

test('net/tcp and tcp6: addresses, ports, states, queues, inodes', () => {
  const t = parseProcNetTcp(fixture('proc', 'net', 'tcp'), '/proc/net/tcp', true);
  assert.deepEqual(t[0], { local: '0.0.0.0', localPort: 2024, remote: '0.0.0.0', remotePort: 0, state: 'LISTEN', txQueue: 0, rxQueue: 0, uid: 0, inode: 1170 });
  assert.deepEqual(t[1], { local: '127.0.0.1', localPort: 8080, remote: '127.0.0.1', remotePort: 0xd432, state: 'ESTABLISHED', txQueue: 0x20, rxQueue: 0xffff, uid: 1000, inode: 0 });
  const t6 = parseProcNetTcp(fixture('proc', 'net', 'tcp6'), '/proc/net/tcp6', true);
  assert.equal(t6[0]!.local, '::1');
  assert.equal(t6[0]!.rxQueue, 3);
  assert.equal(t6[1]!.local, '::ffff:127.0.0.1');
  assert.equal(decodeProcAddress('0100007F', false), '1.0.0.127');
  assert.equal(ipv6Text([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), '2001:db8::1');
  assert.throws(() => parseProcNetTcp('  sl  local_address\n   0: zz\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
  assert.throws(() => parseProcNetTcp('nope\n'), ParseError);
  fuzzParser((x) => parseProcNetTcp(x), fixture('proc', 'net', 'tcp'), '/proc/net/tcp');
});

test('live: every parser reads this machine (own namespace and /proc/self/net)', async () => {
  const h = new LiveHost();
  assert.ok((await readSnmp(h)).has('Tcp.RetransSegs'));
  assert.ok((await readNetstat(h, process.pid)).has('TcpExt.ListenOverflows'));
  assert.ok((await readSoftnetStat(h)).length >= 1);
  assert.ok((await readNetDev(h)).some((d) => d.name === 'lo'));
  assert.ok(Array.isArray(await readProcNetTcp(h, process.pid)));
});

test('parseProcNetUnix: type, state, listener flag, inode and path (abstract, none); a bad line names the file and line', () => {
  const text = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '00000000a8babb39: 00000002 00000000 00010000 0001 01 590608 /run/systemd/notify',
    '00000000f87d6f9c: 00000003 00000000 00000000 0001 03 590120',
    '00000000ac3ed2ea: 00000002 00000000 00000000 0002 01 590594 @/tmp/.X11-unix/X0',
    '',
  ].join('\n');
  assert.deepEqual(parseProcNetUnix(text), [
    { refCount: 2, listening: true, type: 'stream', state: 1, inode: 590608, path: '/run/systemd/notify' },
    { refCount: 3, listening: false, type: 'stream', state: 3, inode: 590120, path: '' },
    { refCount: 2, listening: false, type: 'dgram', state: 1, inode: 590594, path: '@/tmp/.X11-unix/X0' },
  ]);
  assert.throws(() => parseProcNetUnix('Num       RefCount Protocol Flags    Type St Inode Path\nnonsense\n', '/proc/7/net/unix'), /\/proc\/7\/net\/unix:2/);
  assert.throws(() => parseProcNetUnix('garbage\n'), ParseError);
});

test('readProcNetUnix: this host\'s /proc/net/unix parses', async () => {
  const rows = await readProcNetUnix(new LiveHost());
  assert.ok(rows.every((r) => Number.isInteger(r.inode)));
});
