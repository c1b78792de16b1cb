/**
 * The one pure format module (src/report/format.ts), as the CLI, the message catalogs and the web console
 * use it: percent takes a percent, share takes a fraction, sizes are binary, containers have one label.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  MISSING,
  containerLabel,
  formatAgeS,
  formatBytes,
  formatCount,
  formatDurationMs,
  formatDurationMsShort,
  formatPct,
  formatShare,
  formatSignedBytes,
} from '../../src/report/format.js';
import { containerLabel as reportFilecacheContainerLabel } from '../../src/report/filecache.js';
import { REPO_ROOT } from '../helpers.js';

test('format: formatPct takes a percent (0‥100), formatShare a fraction (0‥1), and they agree', () => {
  assert.equal(formatPct(42), '42%');
  assert.equal(formatPct(3.5), '3.5%');
  assert.equal(formatPct(0), '0%');
  assert.equal(formatPct(100), '100%');
  assert.equal(formatPct(Number.NaN), MISSING);
  assert.equal(formatShare(0.42), '42%');
  assert.equal(formatShare(0.035), '3.5%');
  assert.equal(formatShare(1), '100%');
  for (const f of [0, 0.001, 0.05, 0.099, 0.1, 0.5, 0.999, 1]) assert.equal(formatShare(f), formatPct(f * 100), `share ${f}`);
});

test('format: sizes in binary units with three significant digits; missing values print as a dash', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.00 KiB');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(15 * 2 ** 20 + 2 ** 19), '15.5 MiB');
  assert.equal(formatBytes(300 * 2 ** 30), '300 GiB');
  assert.equal(formatBytes(-1536), '-1.50 KiB');
  assert.equal(formatBytes(null), MISSING);
  assert.equal(formatBytes(undefined), MISSING);
  assert.equal(formatBytes(Number.NaN), MISSING);
  assert.equal(formatBytes(null, 'n/a'), 'n/a');
  assert.equal(formatSignedBytes(1536), '+1.50 KiB');
  assert.equal(formatSignedBytes(-1536), '-1.50 KiB');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(null), MISSING);
});

test('format: durations, long and short, and ages', () => {
  assert.equal(formatDurationMs(0.25), '250 µs');
  assert.equal(formatDurationMs(12.3), '12.3 ms');
  assert.equal(formatDurationMs(4200), '4.20 s');
  // The short form, for chart axes and tight cells (the node page's run-queue line uses it).
  assert.equal(formatDurationMsShort(0.006), '6 µs');
  assert.equal(formatDurationMsShort(1.5), '1.5 ms');
  assert.equal(formatDurationMsShort(3), '3 ms');
  assert.equal(formatDurationMsShort(33.4), '33 ms');
  assert.equal(formatDurationMsShort(1234), '1.2 s');
  assert.equal(formatDurationMsShort(null), MISSING);
  assert.equal(formatAgeS(12), '12 s');
  assert.equal(formatAgeS(300), '5 min');
  assert.equal(formatAgeS(3 * 3600), '3 h');
  assert.equal(formatAgeS(2 * 86400), '2 d');
});

test('format: containerLabel names a pod container namespace/pod/container, another container runtime:name', () => {
  const pod = { runtime: 'containerd', id: 'a'.repeat(64), name: 'app', podName: 'web-1', podNamespace: 'shop', podUid: 'u' };
  assert.equal(containerLabel(pod), 'shop/web-1/app');
  assert.equal(containerLabel({ ...pod, name: undefined }), 'shop/web-1');
  assert.equal(containerLabel({ ...pod, podNamespace: undefined }), 'web-1/app');
  assert.equal(containerLabel({ runtime: 'docker', id: '0123456789abcdef0123', name: 'redis' }), 'docker:redis');
  assert.equal(containerLabel({ runtime: 'docker', id: '0123456789abcdef0123' }), 'docker:0123456789ab', 'the id shortened to 12 characters');
  assert.equal(containerLabel(null), '');
  assert.equal(containerLabel(undefined), '');
  // report/'s file-cache renderer re-exports the same function rather than having its own.
  assert.equal(reportFilecacheContainerLabel, containerLabel);
});

test('format: the module imports nothing at run time (the web console bundles it as it is)', () => {
  const js = readFileSync(join(REPO_ROOT, 'dist', 'src', 'report', 'format.js'), 'utf8');
  assert.doesNotMatch(js, /^\s*import\s|require\(|import\(/m, 'dist/src/report/format.js has no import');
});
