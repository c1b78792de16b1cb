/**
 * `oscope inspect --log` over a 1 GB kernel log: MB/s, compared with a plain `grep -c` over the same
 * file in the same run (what a user would type to look for one pattern). The file is generated under
 * /var/tmp with an oscope-test- name and removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LiveHost } from '../src/host/live.js';
import { runInspect } from '../src/diagnose/inspect/inspect.js';
import type { Bench } from './benches.js';

const TARGET_BYTES = 1024 * 1024 * 1024;

const NOISE = [
  'audit: type=1400 audit(1700000000.123:2): apparmor="STATUS" operation="profile_load" profile="unconfined" name="lsb_release" pid=812 comm="apparmor_parser"',
  'IPv6: ADDRCONF(NETDEV_CHANGE): veth8c1d2e3: link becomes ready',
  'cni0: port 3(veth8c1d2e3) entered forwarding state',
  'EXT4-fs (dm-3): mounted filesystem with ordered data mode. Quota mode: none.',
  'systemd-journald[412]: Received client request to flush runtime journal.',
  'device veth8c1d2e3 entered promiscuous mode',
  'xfs filesystem being mounted at /var/lib/kubelet/pods supports timestamps until 2038',
  'overlayfs: upper fs does not support RENAME_WHITEOUT.',
  'br-3f2a1b0c9d8e: port 2(veth4a5b6c7) entered blocking state',
  'TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.',
  'nf_conntrack: default automatic helper assignment has been turned off for security reasons',
  'IPVS: rr: TCP 10.96.0.10:53 - no destination available',
  'kauditd_printk_skb: 12 callbacks suppressed',
  'usb 1-1: new high-speed USB device number 3 using xhci_hcd',
  'sd 0:0:0:0: [sda] Synchronize Cache(10) failed: Result: hostbyte=DID_OK driverbyte=DRIVER_OK',
  'perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate to 79750',
];

const REPORTS = [
  [
    'INFO: task kworker/u8:2:123 blocked for more than 122 seconds.',
    '      Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1',
    'task:kworker/u8:2    state:D stack:0     pid:123   ppid:2      flags:0x00004000',
    'Call Trace:',
    ' <TASK>',
    ' __schedule+0x351/0xa20',
    ' schedule+0x5d/0xe0',
    ' io_schedule+0x42/0x70',
    ' blk_mq_get_tag+0x11d/0x2a0',
    ' __blk_mq_alloc_requests+0x189/0x2b0',
    ' </TASK>',
  ],
  ['blk_update_request: I/O error, dev sdb, sector 123456 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0'],
  [
    'WARNING: CPU: 1 PID: 3214 at kernel/workqueue.c:2911 __flush_work+0x740/0x880',
    'RIP: 0010:__flush_work+0x740/0x880',
    'Call Trace:',
    ' __cancel_work_timer+0x3bf/0x520',
    ' blk_sync_queue+0x33/0x1c0',
    '---[ end trace 0123456789abcdef ]---',
  ],
];

function generate(file: string): number {
  const fd = openSync(file, 'w');
  let bytes = 0;
  let t = 1000;
  let n = 0;
  try {
    while (bytes < TARGET_BYTES) {
      const lines: string[] = [];
      for (let i = 0; i < 100_000; i++) {
        t += 0.000731;
        const stamp = `[${t.toFixed(6).padStart(12)}] `;
        if (++n % 20_000 === 0) for (const l of REPORTS[(n / 20_000) % REPORTS.length]!) lines.push(stamp + l);
        else lines.push(stamp + NOISE[n % NOISE.length]!);
      }
      const buf = Buffer.from(`${lines.join('\n')}\n`);
      writeSync(fd, buf);
      bytes += buf.length;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

export const inspectBench: Bench = {
  name: 'inspect',
  description: 'oscope inspect --log over a 1 GB kernel log vs grep -c',
  run: async () => {
    const s = statfsSync('/var/tmp');
    if (s.bavail * s.bsize < TARGET_BYTES * 1.5) throw new Error('less than 1.5 GB free in /var/tmp');
    const file = join('/var/tmp', `oscope-test-inspect-${process.pid}.log`);
    try {
      const bytes = generate(file);
      const mb = bytes / 1e6;
      spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] }); // same page-cache state for both
      let t0 = process.hrtime.bigint();
      const g = spawnSync('grep', ['-c', 'blocked for more than', file], { encoding: 'utf8' });
      const grepS = Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      const r = await runInspect(new LiveHost(), { logFiles: [file], checks: false });
      const oscopeS = Number(process.hrtime.bigint() - t0) / 1e9;
      const found = r.items.map((i) => `${i.title} ×${i.count}`).join('; ');
      console.log(`   file: ${mb.toFixed(0)} MB, grep -c found ${g.stdout.trim()} hung-task lines`);
      console.log(`   grep -c:        ${grepS.toFixed(2)} s  ${(mb / grepS).toFixed(0)} MB/s (one fixed pattern)`);
      console.log(`   oscope inspect: ${oscopeS.toFixed(2)} s  ${(mb / oscopeS).toFixed(0)} MB/s (all rules, multi-line reports)`);
      console.log(`   ratio oscope/grep: ${(grepS / oscopeS).toFixed(2)}x the throughput; found: ${found}`);
    } finally {
      rmSync(file, { force: true });
    }
  },
};
