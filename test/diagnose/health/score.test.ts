/**
 * The health score, pure: from recorded data with known faults (kernel logs of real OOM kills and hung
 * tasks, read with inspect's rules), a faulty node scores lower than a quiet one and the explanation
 * names both faults with the diagnosis to run; gauges ramp between their thresholds; weights are
 * configuration; the document matches its schema in both languages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logCounts } from '../../../src/diagnose/health/collect.js';
import { type HealthCapture, levelOf, rampPts, scoreHealth } from '../../../src/diagnose/health/score.js';
import { scanLogSources } from '../../../src/diagnose/inspect/inspect.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { HealthDocumentSchema } from '../../../src/contract/health.js';
import { healthDocument, renderHealthText } from '../../../src/report/health.js';
import { plainStyle } from '../../../src/report/text.js';
import { fixturePath } from '../../helpers.js';

const GiB = 1024 ** 3;
const quiet: HealthCapture = {
  cpus: 8,
  load5: 2,
  psi: { cpuSome: 1, memSome: 0, memFull: 0, ioFull: 0 },
  memTotalBytes: 32 * GiB,
  memAvailableBytes: 20 * GiB,
  runqueueP99Ms: 0.5,
  mounts: [{ mount: '/', usedPct: 40, inodesUsedPct: 5 }],
  fileNr: { allocated: 3000, max: 1_000_000 },
  threads: 800,
  pidMax: 4_194_304,
  threadsMax: 250_000,
  log: [],
  cgroups: [],
};
const host = { hostname: 'oscope-test-node', kernel: '6.1.0', capturedAt: '2026-12-07T00:00:00.000Z' };

async function logOf(...files: string[]): Promise<HealthCapture['log']> {
  const { reports } = await scanLogSources(new LiveHost(), loadRules([]), { logFiles: files.map((f) => fixturePath('inspect', f)) });
  return logCounts(reports);
}

test('health: a node with an OOM kill and a hung task scores lower than a quiet one, and the reasons name both', async () => {
  const t = resolveThresholds();
  const q = scoreHealth(quiet, t);
  assert.equal(q.score, 100);
  assert.equal(q.level, 'healthy');
  assert.deepEqual(q.reasons, []);
  assert.deepEqual(q.missing, []);

  const log = await logOf('oom-6.1-shmem.log', 'hung-task-6.1.log');
  assert.ok(log && log.some((l) => l.kind === 'OOM') && log.some((l) => l.kind === 'HANG'), JSON.stringify(log));
  const bad = scoreHealth({ ...quiet, log }, t);
  assert.ok(bad.score < q.score, `${bad.score} < ${q.score}`);
  assert.notEqual(bad.level, 'healthy');
  assert.ok(bad.subscores.errors < 100);
  assert.equal(bad.subscores.saturation, 100);
  const oom = bad.reasons.find((r) => r.signal === 'log-oom');
  const hang = bad.reasons.find((r) => r.signal === 'log-hang');
  assert.ok(oom && hang, JSON.stringify(bad.reasons));
  assert.equal(oom.suggestedDiagnosis, 'mem');
  assert.equal(hang.subscore, 'errors');
  const doc = healthDocument(bad, host, 'one-shot', 'en');
  HealthDocumentSchema.parse(doc);
  assert.equal(Object.keys(doc)[0], 'schema');
  const text = renderHealthText(doc, 'en', plainStyle);
  assert.match(text, /OOM/);
  assert.match(text, /HANG/);
  assert.match(text, /run: oscope mem/);
  const zh = healthDocument(bad, host, 'one-shot', 'zh-CN');
  assert.match(zh.reasons.find((r) => r.signal === 'log-oom')!.detail, /内核日志/);
});

test('health: gauges ramp between warning and critical; one failing area is not averaged away; weights are configuration', () => {
  assert.equal(rampPts(5, 10, 20, 20, 60), 0);
  assert.equal(rampPts(10, 10, 20, 20, 60), 20);
  assert.equal(rampPts(15, 10, 20, 20, 60), 40);
  assert.equal(rampPts(99, 10, 20, 20, 60), 60);
  const t = resolveThresholds();
  // Memory 99% used: saturation loses critPts, the score is capped at the worst sub-score + maxGapPts.
  const full = scoreHealth({ ...quiet, memAvailableBytes: 0.01 * 32 * GiB }, t);
  assert.equal(full.subscores.saturation, 100 - t['health.critPts']);
  assert.equal(full.score, Math.min(Math.round((35 * 100 + 20 * 100 + 15 * 100 + 30 * 40) / 100), 40 + t['health.maxGapPts']));
  assert.equal(full.reasons[0]!.signal, 'mem-used');
  assert.equal(full.reasons[0]!.suggestedDiagnosis, 'mem');
  // Weights from the threshold table change the score.
  const heavy = scoreHealth({ ...quiet, memAvailableBytes: 0.01 * 32 * GiB }, resolveThresholds({ 'health.weightSaturation': 300, 'health.maxGapPts': 100 }));
  assert.ok(heavy.score < full.score);
  assert.equal(levelOf(95, t), 'healthy');
  assert.equal(levelOf(75, t), 'at-risk');
  assert.equal(levelOf(50, t), 'warning');
  assert.equal(levelOf(10, t), 'error');
  // What could not be read lowers nothing and is named.
  const blind = scoreHealth({ psi: {} }, t);
  assert.equal(blind.score, 100);
  assert.ok(blind.missing.includes('kernel-log') && blind.missing.includes('mem-used'));
  // A container near its limit gets its own score.
  const cg = scoreHealth({ ...quiet, cgroups: [{ path: '/kubepods/pod1', container: 'pod web', usageBytes: 99, limitBytes: 100 }, { path: '/a', container: null, usageBytes: 1, limitBytes: 100 }] }, t);
  assert.equal(cg.containers[0]!.path, '/kubepods/pod1');
  assert.notEqual(cg.containers[0]!.level, 'healthy');
  assert.equal(cg.containers[1]!.level, 'healthy');
});
