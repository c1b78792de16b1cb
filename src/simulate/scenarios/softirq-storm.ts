/**
 * softirq-storm: UDP traffic on loopback at a chosen rate (packets per second, 0 = as fast as possible)
 * from a sender pinned to one CPU to a receiver that drains it. Every packet raises NET_RX on the
 * sender's CPU (loopback delivers through the backlog), so softirq work piles up there: `oscope
 * runlatency --threshold softirq=...` should report softirq events for NET_RX on that CPU.
 */
import { availableParallelism } from 'node:os';
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../framework.js';
import { startHelper } from './runq-hog.js';

export const SOFTIRQ_STORM_SENDER = 'osc-sirq-send';
export const SOFTIRQ_STORM_RECEIVER = 'osc-sirq-recv';

const RECEIVER = String.raw`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", 0)); s.settimeout(0.5)
out({"ready": True, "pid": os.getpid(), "port": s.getsockname()[1]})
while True:
    try: s.recv(65536)
    except socket.timeout: pass
    check()
`;

const SENDER = String.raw`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("127.0.0.1", int(cfg["port"])); payload = b"\x5a" * int(cfg["bytes"]); rate = float(cfg["rate"])
out({"ready": True, "pid": os.getpid()})
t0 = time.monotonic(); n = 0
while True:
    for _ in range(64):
        try: s.sendto(payload, dst)
        except OSError: pass
        n += 1
    if rate > 0:
        d = t0 + n / rate - time.monotonic()
        if d > 0: time.sleep(d)
    if n % 6400 == 0: check()
`;

export const softirqStorm: Scenario = {
  name: 'softirq-storm',
  area: 'latency',
  description: `UDP on loopback at a rate (${SOFTIRQ_STORM_SENDER} → ${SOFTIRQ_STORM_RECEIVER}): NET_RX softirq load on one CPU`,
  sizeFlag: '--rate',
  options: [
    { key: 'cpu', flag: '--cpu <n>', type: 'count', description: 'the CPU the sender is pinned to (default: the last one)', default: Math.max(0, availableParallelism() - 1) },
    { key: 'rate', flag: '--rate <packets/s>', type: 'count', description: 'packets per second (0 = as fast as possible)', default: 200_000 },
    { key: 'bytes', flag: '--bytes <n>', type: 'count', description: 'payload bytes per packet', default: 1024 },
  ],
  memoryBytes: () => 16 * 1024 * 1024,
  check: (o) => (o.bytes! < 1 || o.bytes! > 65000 ? '--bytes must be between 1 and 65000' : undefined),
  start: async (ctx: ScenarioContext): Promise<ScenarioResult> => {
    const o = ctx.opts;
    const recv = await startHelper(ctx, 'receiver', [], RECEIVER, { comm: SOFTIRQ_STORM_RECEIVER });
    const send = await startHelper(ctx, 'sender', ['taskset', '-c', String(o.cpu)], SENDER, { comm: SOFTIRQ_STORM_SENDER, port: Number(recv.port), bytes: o.bytes!, rate: o.rate! });
    return { count: 2, unit: 'processes', bytes: 0, details: { cpu: o.cpu!, rate: o.rate!, port: Number(recv.port), senderPid: Number(send.pid), receiverPid: Number(recv.pid), sender: SOFTIRQ_STORM_SENDER } };
  },
};
