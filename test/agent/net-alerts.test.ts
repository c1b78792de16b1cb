/**
 * The agent's net metrics and alert rules: net-drops-high, net-retrans-high and net-listen-overflow fire
 * from two snapshots of the host's network counters and run `net`; the metrics carry the counters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULES, AlertEvaluator } from '../../src/agent/alerts.js';
import { type NetSnapshot, type Snapshot, readNetSnapshot } from '../../src/agent/collect.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { LiveHost } from '../../src/host/live.js';

const GiB = 1024 ** 3;
const net = (o: Partial<NetSnapshot> = {}): NetSnapshot => ({
  drops: { 'TcpExt.ListenDrops': 0, 'Ip.InDiscards': 0 },
  retransSegs: 0,
  outSegs: 0,
  listenOverflows: 0,
  listenDrops: 0,
  softnetDropped: 0,
  softnetSqueezed: 0,
  interfaces: [{ name: 'eth0', rxErrors: 1, txErrors: 2, rxDropped: 3, txDropped: 4 }],
  tcpMemBytes: 4096,
  tcpSockets: 7,
  ...o,
});
const snap = (ts: number, n: NetSnapshot): Snapshot => ({
  ts,
  memory: { totalBytes: 16 * GiB, availableBytes: 8 * GiB, freeBytes: 4 * GiB, components: { anon: 0, file: 0, shmem: 0, slab_reclaimable: 0, slab_unreclaimable: 0, kernel_stack: 0, page_tables: 0, vmalloc: 0, percpu: 0, hugetlb: 0 } },
  cgroups: [],
  psi: [],
  net: n,
  errors: {},
  durationMs: 1,
});

const netRules = DEFAULT_RULES.filter((r) => r.id.startsWith('net-'));

test('net rules: the three defaults exist and run `net`', () => {
  assert.deepEqual(netRules.map((r) => r.id).sort(), ['net-drops-high', 'net-listen-overflow', 'net-retrans-high']);
  for (const r of netRules) assert.equal(r.autoDiagnose?.diagnosis, 'net');
});

test('net rules: quiet counters fire nothing; drops, retransmits and overflows over the interval fire', () => {
  const ev = new AlertEvaluator(netRules.map((r) => ({ ...r, forS: 0 })));
  assert.deepEqual(ev.evaluate(snap(0, net())), [], 'no previous snapshot');
  assert.deepEqual(ev.evaluate(snap(10_000, net({ outSegs: 1000, retransSegs: 1 }))), [], 'below every threshold');
  const fired = ev.evaluate(
    snap(20_000, net({ drops: { 'TcpExt.ListenDrops': 50, 'Ip.InDiscards': 400 }, outSegs: 2000, retransSegs: 101, listenOverflows: 50, listenDrops: 50 })),
  );
  const ids = fired.filter((e) => e.state === 'firing').map((e) => e.rule).sort();
  assert.deepEqual(ids, ['net-drops-high', 'net-listen-overflow', 'net-retrans-high']);
  const drops = fired.find((e) => e.rule === 'net-drops-high')!;
  assert.match(drops.message, /45 packets dropped per second/);
  assert.match(drops.message, /Ip\.InDiscards: 400/);
  assert.match(fired.find((e) => e.rule === 'net-retrans-high')!.message, /10% of its segments|10 ?% of its segments/);
  assert.ok(fired.every((e) => e.messages['zh-CN'].length > 0));
});

test('net metrics: drops by counter, retransmits, overflows, softnet, interface errors, socket memory', async () => {
  const m = new AgentMetrics();
  m.update(snap(0, net({ drops: { 'Ip.InDiscards': 5 }, retransSegs: 9, listenOverflows: 2, softnetDropped: 3, softnetSqueezed: 4 })));
  const text = await m.registry.metrics();
  assert.match(text, /oscope_net_drops_total\{reason="Ip.InDiscards"\} 5/);
  assert.match(text, /oscope_net_drops_total\{reason="softnet.backlog"\} 3/);
  assert.match(text, /oscope_net_tcp_retransmits_total 9/);
  assert.match(text, /oscope_net_listen_overflows_total 2/);
  assert.match(text, /oscope_net_softnet_squeezed_total 4/);
  assert.match(text, /oscope_net_interface_errors_total\{interface="eth0",direction="tx"\} 2/);
  assert.match(text, /oscope_net_tcp_memory_bytes 4096/);
});

test('net snapshot: read from this host /proc', async () => {
  const n = await readNetSnapshot(new LiveHost());
  assert.ok(n.outSegs >= 0 && n.retransSegs >= 0);
  assert.ok('Ip.InDiscards' in n.drops);
  assert.ok(n.interfaces.every((i) => i.name !== 'lo'));
});
