/**
 * Live tests: each scenario at a small size through runScenario(), checking the kernel objects it made
 * (sizes within 10 %), then cleanupRun() and a check that everything is gone. State files go to a
 * temporary OSCOPE_STATE_DIR; whatever a failing test leaves is removed in `after`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needsRoot } from '../helpers.js';
import { cleanupRun, runScenario, withScenario, type Resource, type RunResult } from '../../src/simulate/index.js';
import { listStates } from '../../src/simulate/state.js';
import { detectMemoryHierarchy, memoryCgroupProblem, type MemoryHierarchy } from '../../src/simulate/cgroup.js';
import { findPython } from '../../src/simulate/worker.js';
import { isSameProcessAlive } from '../../src/simulate/proc.js';

const STATE = mkdtempSync('/tmp/oscope-test-simstate-');
process.env.OSCOPE_STATE_DIR = STATE;

after(async () => {
  for (const s of listStates(STATE)) await cleanupRun(s.runId, STATE).catch(() => undefined);
  rmSync(STATE, { recursive: true, force: true });
});

const MiB = 1024 ** 2;
const hierarchy = detectMemoryHierarchy();
const noCgroups = needsRoot || memoryCgroupProblem(hierarchy) || false;
const noPython = needsRoot || (findPython() ? false : 'python3 is not installed');

function within(actual: number, expected: number, pct = 10, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= (expected * pct) / 100, `${what} ${actual} is not within ${pct} % of ${expected}`);
}

function ofKind<K extends Resource['kind']>(r: RunResult, kind: K): Extract<Resource, { kind: K }>[] {
  return r.resources.filter((x): x is Extract<Resource, { kind: K }> => x.kind === kind);
}

/** Allocated bytes of the files in a directory (st_blocks, what tmpfs really holds). */
function dirBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const n of readdirSync(dir)) {
    const st = statSync(join(dir, n));
    bytes += st.blocks * 512;
    files++;
  }
  return { bytes, files };
}

async function withRun(name: string, opts: Record<string, string | number>, body: (r: RunResult) => Promise<void> | void): Promise<RunResult> {
  const r = await runScenario(name, opts);
  try {
    await body(r);
  } finally {
    const rep = await cleanupRun(r.runId);
    assert.deepEqual(rep.problems, []);
  }
  assert.ok(!existsSync(r.stateFile), 'the state file is removed after cleanup');
  for (const p of ofKind(r, 'process')) assert.ok(!isSameProcessAlive(p), `process ${p.pid} is gone`);
  return r;
}

test('shm-leak fills a /dev/shm directory with small files, and cleanup removes it', { skip: needsRoot }, async () => {
  const r = await withRun('shm-leak', { size: '8MiB', fileSize: '16KiB' }, (r) => {
    const [dir] = ofKind(r, 'dir');
    assert.ok(dir && dir.path.startsWith('/dev/shm/oscope-sim-'));
    const got = dirBytes(dir.path);
    within(got.bytes, 8 * MiB, 10, 'bytes in the directory');
    assert.equal(got.files, 512);
    assert.equal(r.created.bytes, 8 * MiB);
    assert.equal(dir.files, 512);
  });
  assert.ok(!existsSync(ofKind(r, 'dir')[0]!.path));
});

interface ShmRow {
  key: number;
  id: number;
  size: number;
  nattch: number;
  rss: number;
}

function sysvSegments(): ShmRow[] {
  const lines = readFileSync('/proc/sysvipc/shm', 'utf8').split('\n');
  const head = lines[0]!.trim().split(/\s+/);
  const col = (n: string): number => head.indexOf(n);
  return lines
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.trim().split(/\s+/).map(Number);
      return { key: f[col('key')]! >>> 0, id: f[col('shmid')]!, size: f[col('size')]!, nattch: f[col('nattch')]!, rss: f[col('rss')] ?? -1 };
    });
}

test('sysv-orphan leaves filled segments with nattch 0, and cleanup removes them', { skip: noPython }, async () => {
  let ids: number[] = [];
  await withRun('sysv-orphan', { size: '8MiB', segments: 2 }, (r) => {
    const segs = ofKind(r, 'sysv-shm');
    assert.equal(segs.length, 2);
    ids = segs.map((s) => s.id!);
    const rows = sysvSegments();
    for (const s of segs) {
      const row = rows.find((x) => x.id === s.id);
      assert.ok(row, `segment ${s.id} is listed in /proc/sysvipc/shm`);
      assert.equal(row.key, s.key);
      assert.equal(row.size, 4 * MiB);
      assert.equal(row.nattch, 0);
      if (row.rss >= 0) within(row.rss, 4 * MiB, 10, 'segment rss');
    }
  });
  const left = sysvSegments().filter((x) => ids.includes(x.id));
  assert.deepEqual(left, []);
});

/** Zombie memory cgroups now: v1 /proc/cgroups count minus live directories; v2 nr_dying_descendants. */
function zombieCount(h: MemoryHierarchy): number {
  if (h.version === 2) {
    const m = /^nr_dying_descendants (\d+)$/m.exec(readFileSync(join(h.mount, 'cgroup.stat'), 'utf8'));
    return Number(m?.[1] ?? 0);
  }
  const line = readFileSync('/proc/cgroups', 'utf8').split('\n').find((l) => l.startsWith('memory\t'));
  const total = Number(line?.split('\t')[2]);
  const walk = (d: string): number => 1 + readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).reduce((a, e) => a + walk(join(d, e.name)), 0);
  return total - walk(h.mount);
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

test('memcg-zombie leaves N dying memory cgroups that cleanup lets the kernel free', { skip: noCgroups || noPython }, async () => {
  const h = hierarchy!;
  const N = 20;
  const before = zombieCount(h);
  let peak = 0;
  await withRun('memcg-zombie', { count: N, size: '20MiB' }, (r) => {
    const cgs = ofKind(r, 'cgroup');
    assert.equal(cgs.length, N);
    for (const c of cgs) assert.ok(!existsSync(c.path), `${c.path} was removed`);
    peak = zombieCount(h);
    // /proc/cgroups drifts by itself on this host: allow a quarter of N either way.
    assert.ok(peak - before >= N * 0.75, `zombies went from ${before} to ${peak}, expected about +${N}`);
    const [dir] = ofKind(r, 'dir');
    const got = dirBytes(dir!.path);
    within(got.bytes, 20 * MiB, 10, 'bytes of page-cache files');
    assert.equal(got.files, N);
  });
  // Deleting the files frees the pages; the kernel then frees the dying cgroups (asynchronously).
  assert.ok(await waitFor(() => peak - zombieCount(h) >= N * 0.75, 15_000), `zombies did not go away after cleanup (${zombieCount(h)})`);
});

function negativeDentries(): number {
  return Number(readFileSync('/proc/sys/fs/dentry-state', 'utf8').trim().split(/\s+/)[4]);
}

test('dentry-bloat creates negative dentries, and removing its directory drops them', { skip: noPython }, async () => {
  const N = 100_000;
  const before = negativeDentries();
  let peak = 0;
  const r = await withRun('dentry-bloat', { count: N }, (r) => {
    peak = negativeDentries();
    assert.ok(peak - before >= N * 0.8, `nr_negative went from ${before} to ${peak}, expected +${N}`);
    assert.equal(r.created.count, N);
    assert.ok(existsSync(ofKind(r, 'dir')[0]!.path));
  });
  assert.ok(!existsSync(ofKind(r, 'dir')[0]!.path));
  assert.ok(peak - negativeDentries() >= N * 0.8, `nr_negative only fell from ${peak} to ${negativeDentries()}`);
});

test('filecache: a process in its own cgroup holds a log file in page cache until cleanup', { skip: noCgroups || noPython }, async () => {
  const h = hierarchy!;
  const r = await withRun('filecache', { size: '32MiB' }, (r) => {
    const [cg] = ofKind(r, 'cgroup');
    const [proc] = ofKind(r, 'process');
    const [file] = ofKind(r, 'file');
    assert.ok(cg && proc && file);
    assert.ok(isSameProcessAlive(proc), 'the holder keeps running');
    assert.ok(readFileSync(join(cg.path, 'cgroup.procs'), 'utf8').split('\n').includes(String(proc.pid)));
    assert.equal(statSync(file.path).size, 32 * MiB);
    const stat = readFileSync(join(cg.path, 'memory.stat'), 'utf8');
    const key = h.version === 1 ? 'cache' : 'file';
    const cache = Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(stat)?.[1]);
    within(cache, 32 * MiB, 10, `memory.stat ${key}`);
    // The holder has app.log open.
    const fds = readdirSync(`/proc/${proc.pid}/fd`).map((fd) => {
      try {
        return statSync(`/proc/${proc.pid}/fd/${fd}`).ino;
      } catch {
        return -1;
      }
    });
    assert.ok(fds.includes(statSync(file.path).ino), 'the holder keeps app.log open');
  });
  assert.ok(!existsSync(ofKind(r, 'cgroup')[0]!.path));
  assert.ok(!existsSync(ofKind(r, 'file')[0]!.path));
});

test('withScenario cleans up also when the body throws', { skip: needsRoot }, async () => {
  let dir = '';
  await assert.rejects(
    withScenario('shm-leak', { size: '64KiB' }, (run) => {
      dir = ofKind(run, 'dir')[0]!.path;
      assert.ok(existsSync(dir));
      throw new Error('body failed');
    }),
    /body failed/,
  );
  assert.ok(dir !== '' && !existsSync(dir));
});
