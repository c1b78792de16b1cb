/**
 * The files in deploy/ match the agent: every metric the Prometheus alert rules and the Grafana
 * dashboard query is one the agent exports, and the systemd unit and DaemonSet give it a state directory.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../../src/agent/agent.js';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import type { KmsgReader } from '../../src/agent/kernel-log.js';
import type { CpuCumulative } from '../../src/agent/runqueue.js';
import type { DiskStageCumulative } from '../../src/agent/iolat.js';
import { LiveHost } from '../../src/host/live.js';
import { REPO_ROOT } from '../helpers.js';

const deploy = (...p: string[]): string => readFileSync(join(REPO_ROOT, 'deploy', ...p), 'utf8');

/** Metric families the text exposes (`# TYPE name type`). */
function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

function referenced(text: string): Set<string> {
  return new Set([...text.matchAll(/\boscope_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')));
}

test('every metric in the alert rules and the dashboard is exported by the agent', async () => {
  // Every collector on, whatever this host allows: a stub histogram and a stub kernel log.
  const cpu: CpuCumulative = { cpu: 0, slots: [1, 2, 3], count: 6, sumNs: 1000, maxNs: 8000 };
  const quiet: KmsgReader = { read: () => '', close: () => undefined };
  const hist: DiskStageCumulative = { dev: (253 << 20) | 0, stage: 'device', slots: [0, 4, 2], count: 6, sumNs: 20_000, maxNs: 7000 };
  const agent = await startAgent({
    host: new LiveHost(),
    registry: defaultRegistry(),
    intervalMs: 3_600_000,
    listen: { host: '127.0.0.1', port: 0 },
    rules: [],
    log: () => undefined,
    runqueue: () => Promise.resolve({ perCpu: () => [cpu], close: () => undefined }),
    kernelLog: quiet,
    ioLatency: () => Promise.resolve({ method: 'stub', histograms: () => [hist], close: () => undefined }),
  });
  try {
    const have = families(await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text());
    assert.ok(have.has('oscope_runqueue_latency_seconds') && have.has('oscope_kernel_log_anomalies_total') && have.has('oscope_collector_up'));
    for (const m of ['oscope_disk_latency_seconds', 'oscope_disk_iops', 'oscope_disk_read_bytes_total', 'oscope_disk_written_bytes_total', 'oscope_disk_await_seconds', 'oscope_disk_util_ratio', 'oscope_disk_inflight_requests', 'oscope_cgroup_io_read_bytes_total']) {
      assert.ok(have.has(m), `the agent exports ${m}`);
    }
    const rules = deploy('prometheus', 'oscope-alerts.yml');
    const dash = deploy('grafana', 'oscope-memory.json');
    const ioDash = deploy('grafana', 'oscope-io.json');
    const netDash = deploy('grafana', 'oscope-net.json');
    JSON.parse(dash);
    JSON.parse(ioDash);
    JSON.parse(netDash);
    for (const [file, text] of [
      ['oscope-alerts.yml', rules],
      ['oscope-memory.json', dash],
      ['oscope-io.json', ioDash],
      ['oscope-net.json', netDash],
    ] as const) {
      for (const m of referenced(text)) assert.ok(have.has(m), `${file} uses ${m}, which the agent does not export`);
    }
    for (const m of ['oscope_runqueue_latency_seconds', 'oscope_kernel_log_anomalies_total', 'oscope_collector_up']) {
      assert.ok(referenced(rules).has(m), `an alert rule on ${m}`);
      assert.ok(referenced(dash).has(m), `a dashboard panel on ${m}`);
    }
    for (const m of ['oscope_disk_latency_seconds', 'oscope_disk_await_seconds', 'oscope_disk_stalled_seconds', 'oscope_disk_io_time_seconds_total']) assert.ok(referenced(rules).has(m), `an alert rule on ${m}`);
    for (const m of ['oscope_disk_latency_seconds', 'oscope_disk_ios_total', 'oscope_disk_read_bytes_total', 'oscope_disk_written_bytes_total', 'oscope_disk_await_seconds', 'oscope_disk_inflight_requests', 'oscope_cgroup_io_read_bytes_total']) {
      assert.ok(referenced(ioDash).has(m), `an I/O dashboard panel on ${m}`);
    }
    // Network: the counters the net alert rules and the network dashboard read.
    const netMetrics = ['oscope_net_drops_total', 'oscope_net_tcp_retransmits_total', 'oscope_net_tcp_out_segments_total', 'oscope_net_listen_overflows_total', 'oscope_net_softnet_dropped_total', 'oscope_net_softnet_squeezed_total', 'oscope_net_interface_errors_total', 'oscope_net_tcp_memory_bytes'];
    for (const m of netMetrics) {
      assert.ok(have.has(m), `the agent exports ${m}`);
      assert.ok(referenced(netDash).has(m), `a network dashboard panel on ${m}`);
    }
    for (const m of ['oscope_net_drops_total', 'oscope_net_tcp_retransmits_total', 'oscope_net_listen_overflows_total', 'oscope_net_softnet_dropped_total']) assert.ok(referenced(rules).has(m), `an alert rule on ${m}`);
    for (const a of ['OscopeNetDropsHigh', 'OscopeNetRetransHigh', 'OscopeNetListenOverflow']) assert.match(rules, new RegExp(`alert: ${a}$`, 'm'));
    // The stage histogram, from the (stub) BPF map, with disk and stage labels.
    const body = await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text();
    assert.match(body, /^oscope_disk_latency_seconds_count\{disk="[^"]+",stage="device"\} 6$/m);
    for (const a of ['OscopeIoLatencyHigh', 'OscopeIoHang', 'OscopeDiskSaturated']) assert.match(rules, new RegExp(`alert: ${a}$`, 'm'));
    // The kernel-log series exist at 0 from the start (so the first report is an increase).
    const text = await (await fetch(`http://127.0.0.1:${agent.address!.port}/metrics`)).text();
    assert.match(text, /^oscope_kernel_log_anomalies_total\{rule="OOM",severity="critical"\} 0$/m);
  } finally {
    await agent.stop();
  }
});

test('the systemd unit and the DaemonSet give the agent its state directory', () => {
  const unit = deploy('oscope-agent.service');
  assert.match(unit, /^RuntimeDirectory=oscope$/m);
  assert.match(unit, /^RuntimeDirectoryMode=0700$/m);
  assert.match(unit, /^RuntimeDirectoryPreserve=yes$/m);
  assert.match(unit, /--state-dir \/run\/oscope/);
  assert.doesNotMatch(unit, /^ProtectKernelLogs=yes/m, '/dev/kmsg must stay readable');
  const ds = deploy('kubernetes', 'oscope-agent.yaml');
  assert.match(ds, /"--state-dir", "\/run\/oscope"/);
  assert.match(ds, /hostPath: \{ path: \/run\/oscope, type: DirectoryOrCreate \}/);
});
