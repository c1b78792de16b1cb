import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Host } from '../../../src/host/host.js';
import { HostError } from '../../../src/host/host.js';
import { LiveHost } from '../../../src/host/live.js';
import { probeBpf } from '../../../src/kernel/bpf/index.js';
import { loadNative } from '../../../src/kernel/native.js';
import { isRoot } from '../../helpers.js';

/** A captured host that has only the files given. */
function bundleWith(files: string[]): Host {
  const missing = (p: string): never => {
    throw new HostError(p, 'ENOENT');
  };
  return {
    kind: 'bundle',
    live: undefined,
    info: () => ({ hostname: 'captured', kernel: '5.10.0', capturedAt: '2026-01-01T00:00:00.000Z', uid: 0 }),
    readText: (p) => Promise.resolve(missing(p)),
    tryReadText: () => Promise.resolve(undefined),
    readDir: (p) => Promise.resolve(missing(p)),
    readLink: (p) => Promise.resolve(missing(p)),
    stat: (p) => Promise.resolve(missing(p)),
    statfs: (p) => Promise.resolve(missing(p)),
    exists: (p) => Promise.resolve(files.includes(p)),
    scanFile: (p) => Promise.resolve(missing(p)),
  };
}

test('probeBpf: a captured host is judged from its files only', async () => {
  const c = await probeBpf(
    bundleWith(['/sys/kernel/btf/vmlinux', '/sys/kernel/tracing/events', '/sys/kernel/tracing/kprobe_events']),
  );
  assert.equal(c.btf.available, true);
  assert.equal(c.tracefs.available, true);
  assert.equal(c.kprobes.available, true);
  assert.equal(c.native.available, undefined);
  assert.match(c.native.detail, /bundle/);
  assert.equal(c.deep, false);
  const bare = await probeBpf(bundleWith([]));
  assert.equal(bare.btf.available, false);
  assert.equal(bare.tpBtf.available, false, 'no BTF: no tp_btf');
  assert.equal(bare.kprobes.available, false);
  assert.match(bare.tracepoints.detail, /tracefs is not mounted/);
});

const native = loadNative();
test(
  'probeBpf: the live host, with the self-test object loaded for real',
  { skip: !native.available ? `native addon unavailable: ${native.reason}` : !isRoot ? 'needs root' : false },
  async () => {
    const c = await probeBpf(new LiveHost());
    assert.equal(c.native.available, true);
    assert.equal(c.btf.available, existsSync('/sys/kernel/btf/vmlinux'));
    assert.equal(c.kprobes.available, existsSync('/sys/bus/event_source/devices/kprobe/type') || existsSync('/sys/kernel/tracing/kprobe_events'));
    assert.equal(c.tracefs.available, existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events'));
    assert.equal(c.bpfSyscall.available, true);
    if (c.btf.available && c.deep) {
      assert.equal(c.tpBtf.available, true, c.tpBtf.detail);
      assert.equal(c.iterators.available, true, c.iterators.detail);
      assert.equal(c.rawTracepoints.available, true);
      assert.equal(c.perfEvents.available, true, c.perfEvents.detail);
      assert.equal(c.tracepoints.available, c.tracefs.available, c.tracepoints.detail);
    }
    for (const [k, f] of Object.entries(c)) {
      if (typeof f === 'object' && f !== null) assert.ok((f as { detail: string }).detail.length > 0, `${k} says how it knows`);
    }
  },
);
