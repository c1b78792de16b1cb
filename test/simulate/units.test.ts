import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCount, parseSeconds, parseSize } from '../../src/simulate/units.js';
import { parseProcStat } from '../../src/simulate/proc.js';
import { findMemoryHierarchy } from '../../src/simulate/cgroup.js';
import { SimulateError, checkSafetyCap, getScenario, resolveOptions } from '../../src/simulate/framework.js';
import { carriesPrefix, parseState } from '../../src/simulate/state.js';
import '../../src/simulate/scenarios/index.js';

test('parseSize reads binary units and rejects junk', () => {
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('16K'), 16384);
  assert.equal(parseSize('16KiB'), 16384);
  assert.equal(parseSize('512M'), 512 * 1024 ** 2);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('1gb'), 1024 ** 3);
  for (const bad of ['', 'x', '-1', '1Q', '1..2M', '1 K B']) assert.throws(() => parseSize(bad), RangeError, bad);
});

test('parseCount and parseSeconds', () => {
  assert.equal(parseCount('1,000,000'), 1e6);
  assert.equal(parseCount('10k'), 10_000);
  assert.equal(parseCount('1e6'), 1e6);
  assert.equal(parseCount('2m'), 2e6);
  assert.throws(() => parseCount('ten'), RangeError);
  assert.equal(parseSeconds('30'), 30);
  assert.equal(parseSeconds('5m'), 300);
  assert.equal(parseSeconds('1h'), 3600);
  assert.throws(() => parseSeconds('soon'), RangeError);
});

test('parseProcStat reads state and starttime after a comm with spaces and parentheses', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[22 - 3] = '123456789';
  const st = parseProcStat(`42 (a (weird) name) ${fields.join(' ')}\n`);
  assert.deepEqual(st, { state: 'S', startTime: '123456789' });
  assert.equal(parseProcStat('42 no-paren'), undefined);
  assert.equal(parseProcStat('42 (x) S 1 2'), undefined);
});

const V1_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2_MOUNTINFO = `25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

test('findMemoryHierarchy picks the v1 memory mount, never a cgroup2 mount without memory', () => {
  const h = findMemoryHierarchy(V1_MOUNTINFO, () => 'cpu io pids');
  assert.deepEqual(h, { version: 1, mount: '/sys/fs/cgroup/memory' });
  // Hybrid host where the v1 memory controller is not mounted and cgroup2 lacks memory: nothing.
  const noMem = V1_MOUNTINFO.split('\n').filter((l) => !l.endsWith('rw,memory')).join('\n');
  assert.equal(findMemoryHierarchy(noMem, () => 'cpu io pids'), undefined);
});

test('findMemoryHierarchy picks a cgroup2 mount whose cgroup.controllers lists memory', () => {
  assert.deepEqual(findMemoryHierarchy(V2_MOUNTINFO, () => 'cpuset cpu io memory hugetlb pids rdma misc\n'), {
    version: 2,
    mount: '/sys/fs/cgroup',
  });
  assert.equal(findMemoryHierarchy(V2_MOUNTINFO, () => undefined), undefined);
  assert.equal(findMemoryHierarchy('garbage\n\n - \n', () => 'memory'), undefined);
});

test('the safety cap refuses more than 50 % of MemAvailable, 80 % with --force, in one sentence', () => {
  const s = getScenario('shm-leak');
  const avail = 1000 * 1024 ** 2;
  checkSafetyCap(s, resolveOptions(s, { size: '500M' }), avail, false);
  assert.throws(
    () => checkSafetyCap(s, resolveOptions(s, { size: '501M' }), avail, false),
    (e: unknown) => e instanceof SimulateError && e.kind === 'usage' && /50 % of MemAvailable.*--force/.test(e.message) && !e.message.includes('\n'),
  );
  checkSafetyCap(s, resolveOptions(s, { size: '800M' }), avail, true);
  assert.throws(() => checkSafetyCap(s, resolveOptions(s, { size: '801M' }), avail, true), /80 % of MemAvailable/);
  // Count-based scenarios are capped on their estimated memory, and the message names their option.
  const d = getScenario('dentry-bloat');
  assert.throws(() => checkSafetyCap(d, resolveOptions(d, { count: 1e12 }), avail, true), /--count/);
});

test('resolveOptions applies defaults and rejects malformed values with the flag name', () => {
  const s = getScenario('shm-leak');
  const o = resolveOptions(s, {});
  assert.equal(o.fileSize, 16 * 1024);
  assert.equal(o.duration, 0);
  assert.throws(() => resolveOptions(s, { fileSize: 'big' }), /--file-size/);
  assert.throws(() => getScenario('nope'), /unknown scenario "nope"/);
});

test('carriesPrefix guards what cleanup may remove', () => {
  assert.ok(carriesPrefix('/dev/shm/oscope-sim-x', true));
  assert.ok(carriesPrefix('/var/tmp/oscope-sim-x/app.log'));
  assert.ok(!carriesPrefix('/var/tmp/oscope-sim-x/app.log', true));
  assert.ok(!carriesPrefix('/var/tmp/app.log'));
  assert.ok(!carriesPrefix('/var/tmp/oscope-sim-x/../../etc', false));
  assert.ok(!carriesPrefix('relative/oscope-sim-x', true));
});

test('parseState rejects foreign or malformed state files', () => {
  assert.equal(parseState('{'), undefined);
  assert.equal(parseState('{"schema":"other"}'), undefined);
  const ok = parseState(JSON.stringify({ schema: 'oscope.simulate-state/v1', runId: 'r', resources: [] }));
  assert.equal(ok?.runId, 'r');
});
