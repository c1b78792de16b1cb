import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import {
  parseSockstat,
  readSocketBufferBytes,
  readSockstat,
  readSockstat6,
  SOCKSTAT6_PATH,
  SOCKSTAT_PATH,
  socketBufferBytes,
} from '../../../src/kernel/procfs/sockstat.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('sockstat: fixtures from this machine', () => {
  const s = parseSockstat(fixture('proc', 'sockstat'));
  assert.equal(s.get('sockets', 'used'), 9);
  assert.equal(s.get('TCP', 'mem'), 254);
  assert.equal(s.get('TCP', 'tw'), 0);
  assert.equal(s.get('FRAG', 'memory'), 0);
  assert.equal(s.get('UDPLITE', 'mem'), undefined);
  assert.equal(socketBufferBytes(s, 4096), (254 + 0) * 4096);
  const s6 = parseSockstat(fixture('proc', 'sockstat6'), SOCKSTAT6_PATH);
  assert.equal(s6.get('TCP6', 'inuse'), 0);
  assert.equal(s6.get('FRAG6', 'memory'), 0);
  assert.equal(socketBufferBytes(s6, 4096), undefined);
});

test('sockstat: malformed input', () => {
  assert.throws(() => parseSockstat('TCP: inuse\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === SOCKSTAT_PATH);
  assert.throws(() => parseSockstat('sockets: used 1\nTCP: inuse x\n'), (e: unknown) => e instanceof ParseError && e.line === 2);
  assert.throws(() => parseSockstat('TCP: inuse 1\nTCP: inuse 1\n'), ParseError);
});

test('sockstat: fuzzed input never crashes', () => {
  fuzzParser((t) => parseSockstat(t), fixture('proc', 'sockstat'), SOCKSTAT_PATH);
  fuzzParser((t) => parseSockstat(t, SOCKSTAT6_PATH), fixture('proc', 'sockstat6'), SOCKSTAT6_PATH);
});

test('sockstat: live host sees a TCP connection the test opens', async (t) => {
  const host = new LiveHost();
  const before = await readSockstat(host);
  assert.equal(typeof before.get('TCP', 'inuse'), 'number');
  const server = createServer();
  const sockets: Socket[] = [];
  server.on('connection', (c) => sockets.push(c));
  try {
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') return t.skip('no TCP address');
    const client = connect(addr.port, '127.0.0.1');
    sockets.push(client);
    await new Promise<void>((res, rej) => client.once('connect', res).once('error', rej));
    const during = await readSockstat(host);
    // listener + client + accepted socket, all in this network namespace
    assert.ok((during.get('TCP', 'inuse') ?? 0) >= 3, `TCP inuse ${during.get('TCP', 'inuse')}`);
    assert.ok(((await readSocketBufferBytes(host)) ?? -1) >= 0);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((res) => server.close(() => res()));
  }
  if (await host.exists(SOCKSTAT6_PATH)) assert.equal(typeof (await readSockstat6(host)).get('TCP6', 'inuse'), 'number');
});
