/**
 * Live: `oscope load` against the load scenarios it ships (root, BPF). Each test starts a scenario
 * through runScenario() (resources named oscope-sim-, state in a temporary OSCOPE_STATE_DIR), samples
 * with collectLoad(), checks the document for its own tasks/cgroup only (other people run tests on this
 * host at the same time) and cleans up in `finally`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { LoadDocumentSchema } from '../../../src/contract/load.js';
import { analyzeLoad } from '../../../src/diagnose/load/analyze.js';
import { collectLoad } from '../../../src/diagnose/load/collect.js';
import { LoadParamsSchema } from '../../../src/diagnose/load/params.js';
import { resolveThresholds } from '../../../src/diagnose/thresholds.js';
import { LiveHost } from '../../../src/host/live.js';
import { loadDocument } from '../../../src/report/load.js';
import { cleanupRun, runScenario, type RunResult } from '../../../src/simulate/index.js';
import { cpuCgroupRoot } from '../../../src/simulate/scenarios/load.js';
import { listStates } from '../../../src/simulate/state.js';
import { findPython } from '../../../src/simulate/worker.js';
import { findBpfObject } from '../../../src/kernel/bpf/index.js';
import { needsRoot } from '../../helpers.js';

const STATE = mkdtempSync('/tmp/oscope-test-loadstate-');
process.env.OSCOPE_STATE_DIR = STATE;
after(async () => {
  for (const s of listStates(STATE)) await cleanupRun(s.runId, STATE).catch(() => undefined);
  rmSync(STATE, { recursive: true, force: true });
});

const bpfObj = findBpfObject('load');
const noBpf = needsRoot || ('missing' in bpfObj ? bpfObj.missing : false) || (findPython() ? false : 'python3 is not installed');
const th = resolveThresholds();

async function withRun<T>(name: string, opts: Record<string, string | number>, body: (r: RunResult) => Promise<T>): Promise<T> {
  const r = await runScenario(name, opts);
  try {
    return await body(r);
  } finally {
    const rep = await cleanupRun(r.runId);
    assert.deepEqual(rep.problems, []);
  }
}

async function load(intervalS: number, over: Record<string, unknown> = {}) {
  const params = LoadParamsSchema.parse({ intervalS, ...over });
  const c = await collectLoad(new LiveHost(), params);
  const doc = loadDocument(analyzeLoad(c, th, 1000), 'en');
  LoadDocumentSchema.parse(doc);
  return { c, doc };
}

test('load-d-state: the blocked tasks are counted, grouped under their FUSE stack, with their wait', { skip: noBpf || (!existsSync('/dev/fuse') && 'no /dev/fuse') }, async () => {
  await withRun('load-d-state', { tasks: 4 }, async (r) => {
    const pids = String(r.created.details!.blockedPids).split(' ').map(Number);
    assert.equal(pids.length, 4);
    const since = Number(r.created.details!.since);
    await new Promise((res) => setTimeout(res, 1000));
    const { doc } = await load(1.5);
    const mine = doc.dStacks.filter((g) => g.pids.some((p) => pids.includes(p)));
    assert.equal(mine.length, 1, `one stack group for the four tasks: ${JSON.stringify(mine.map((g) => g.stack.slice(0, 3)))}`);
    const g = mine[0]!;
    assert.deepEqual(pids.filter((p) => g.pids.includes(p)).sort(), [...pids].sort());
    assert.ok(g.tasks >= 4);
    assert.ok(g.stack.some((f) => f.startsWith('fuse_')), `a fuse frame in ${g.stack.join(' < ')}`);
    assert.match(g.waitIn, /fuse/);
    // Blocked since `since` (before oscope attached): the wait covers at least the time oscope watched.
    const heldMs = (Date.now() - since * 1000);
    assert.ok(g.maxWaitMs >= 1500 && g.maxWaitMs <= heldMs + 500, `maxWaitMs ${g.maxWaitMs} within [1500, ${heldMs + 500}]`);
    for (const p of pids) {
      const t = doc.tasks.find((x) => x.pid === p);
      assert.ok(t && t.uninterruptiblePct >= 90, `task ${p} in D in ≥ 90 % of the samples (${t?.uninterruptiblePct})`);
    }
  });
  // Released: the children exit once the server is gone.
  await new Promise((res) => setTimeout(res, 300));
});

test('fork-storm --rate 200: the fork rate within 10 % and the parent named', { skip: noBpf }, async () => {
  await withRun('fork-storm', { rate: 200 }, async (r) => {
    const parentPid = Number(r.created.details!.parentPid);
    await new Promise((res) => setTimeout(res, 500));
    const { doc } = await load(3);
    const p = doc.forks.topParents.find((x) => x.pid === parentPid);
    assert.ok(p, `the parent ${parentPid} is among ${JSON.stringify(doc.forks.topParents.slice(0, 3))}`);
    assert.equal(p.comm, 'osc-fork-storm');
    assert.ok(Math.abs(p.forksPerS - 200) <= 20, `forksPerS ${p.forksPerS} within 10 % of 200`);
    // The host-wide rate includes everybody's forks: at least ours.
    assert.ok(doc.forks.perS >= 180);
  });
});

const cpuRoot = cpuCgroupRoot();
test('cpu-throttle: the quota-limited cgroup is found throttled, nr_throttled growing', { skip: noBpf || (typeof cpuRoot === 'string' && cpuRoot) }, async () => {
  await withRun('cpu-throttle', { quotaPct: 20 }, async (r) => {
    const path = String(r.created.details!.path);
    const file = `${String(r.created.details!.cgroup)}/cpu.stat`;
    const nr = (): number => Number(/nr_throttled (\d+)/.exec(readFileSync(file, 'utf8'))![1]);
    const first = nr();
    const { doc } = await load(2, { cgroup: path });
    const g = doc.throttled.find((x) => x.cgroup === path);
    assert.ok(g, `${path} in ${JSON.stringify(doc.throttled)}`);
    assert.ok(g.throttledPeriods >= 5, `throttled in ${g.throttledPeriods} periods`);
    assert.ok(g.nrThrottled > first && nr() > first, 'nr_throttled grows');
    assert.equal(g.quotaCpus, 0.2);
    assert.ok(doc.findings.some((f) => f.id === 'load.cpu.throttled' && f.evidence.cgroup !== undefined));
    // The scope keeps the hog and leaves everybody else out.
    assert.ok(doc.tasks.every((t) => t.cgroup === path), JSON.stringify(doc.tasks.map((t) => t.cgroup)));
    assert.equal(doc.scope, `cgroup:${path}`);
  });
});
