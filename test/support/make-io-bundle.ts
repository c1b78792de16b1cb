/**
 * Makes test/fixtures/bundles/io-golden.tar.gz: a bundle holding only an `oscope.io-capture/v1`
 * capture of a real run on this VM (`sudo node dist/test/support/make-io-bundle.js [OUT]`).
 *
 * During a 4-second `oscope io` collection (BPF on), a writer (`oscope-test-gw`) writes 24 MiB through
 * the page cache to /var/tmp/oscope-test-golden-io-w.bin, and a reader (`oscope-test-gr`) reads a
 * 12 MiB file whose cache was dropped first (`dd iflag=nocache count=0`). Both start once the tracer
 * is attached and stay alive until the second read of /proc/PID/io. The capture is then cut down to
 * what the golden pins and that does not name the machine's other users: the two children's process
 * rows, the scenario's files, and the disks; the rest of the machine's traffic, slow requests,
 * iowait and D-state tasks are left out (the method and coverage say what the run did).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { RecordingHost, recordCapture } from '../../src/host/bundle.js';
import { LiveHost } from '../../src/host/live.js';
import { startIoTracer } from '../../src/diagnose/io/bpf.js';
import { IoCaptureSchema, type IoCapture } from '../../src/diagnose/io/capture.js';
import { collectIo } from '../../src/diagnose/io/collect.js';
import { IoParamsSchema } from '../../src/diagnose/io/params.js';
import { resolveThresholds } from '../../src/diagnose/thresholds.js';
import { VERSION } from '../../src/version.js';

const MiB = 1024 * 1024;
const W = '/var/tmp/oscope-test-golden-io-w.bin';
const R = '/var/tmp/oscope-test-golden-io-r.bin';

function child(title: string, script: string): ChildProcess {
  const code = `process.title = ${JSON.stringify(title)};
    const fs = require('node:fs');
    process.stdin.on('data', (d) => { if (String(d).includes('go')) { ${script}; process.stdout.write('done\\n'); } });
    process.stdin.on('end', () => process.exit(0));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? 'test/fixtures/bundles/io-golden.tar.gz';
  const fd = openSync(R, 'w');
  for (let i = 0; i < 12; i++) writeSync(fd, Buffer.alloc(MiB, 5));
  fsyncSync(fd);
  closeSync(fd);
  spawnSync('dd', [`if=${R}`, 'iflag=nocache', 'count=0', 'status=none']);
  const kids = [
    child('oscope-test-gw', `const f = fs.openSync(${JSON.stringify(W)}, 'w'); for (let i = 0; i < 24; i++) fs.writeSync(f, Buffer.alloc(1 << 20, 7)); globalThis.k = f`),
    child('oscope-test-gr', `const f = fs.openSync(${JSON.stringify(R)}, 'r'); const b = Buffer.alloc(1 << 20); while (fs.readSync(f, b) > 0); globalThis.k = f`),
  ];
  try {
    const done = kids.map((k) => new Promise<void>((resolve) => k.stdout!.on('data', (d) => String(d).includes('done') && resolve())));
    const capture = await collectIo(new LiveHost(), IoParamsSchema.parse({ intervalS: 4 }), resolveThresholds(), {
      startTracer: (o) => {
        const r = startIoTracer(o);
        for (const k of kids) k.stdin!.write('go\n');
        return r;
      },
    });
    await Promise.all(done);
    const pids = new Set(kids.map((k) => k.pid!));
    const mine = (p: { pid: number }): boolean => pids.has(p.pid);
    const files = (capture.trace?.files ?? []).filter((f) => f.path === W || f.path === R);
    const cut: IoCapture = {
      ...capture,
      processesBefore: capture.processesBefore.filter(mine),
      processesAfter: capture.processesAfter.filter(mine),
      cgroupIo: [],
      dTasks: [],
      ...(capture.trace
        ? {
            trace: {
              ...capture.trace,
              slow: capture.trace.slow.filter(mine),
              inflight: [],
              waits: capture.trace.waits.filter(mine),
              files: files.map((f) => ({ ...f, tasks: f.tasks.filter(mine) })),
              dirtiers: capture.trace.dirtiers?.filter(mine) ?? null,
            },
          }
        : {}),
    };
    IoCaptureSchema.parse(cut);
    const rec = new RecordingHost(new LiveHost());
    recordCapture(rec, 'io', cut);
    await rec.writeBundle(out, VERSION);
    writeFileSync(1, `wrote ${out}: ${cut.processesAfter.length} processes, ${files.length} files\n`);
  } finally {
    for (const k of kids) k.stdin!.end();
    await Promise.all(kids.map((k) => once(k, 'exit').catch(() => undefined)));
    rmSync(W, { force: true });
    rmSync(R, { force: true });
  }
}

await main();
