import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseCgroupStat, dyingMemoryCount } from '../../../src/kernel/cgroup/cgroup-stat.js';
import {
  normalizeV1,
  normalizeV2,
  parseLimit,
  parseMemoryStatV1,
  parseMemoryStatV2,
} from '../../../src/kernel/cgroup/memory-stat.js';
import { fixture, fuzzParser } from '../../helpers.js';

const MiB = 1024 * 1024;

test('memory.stat v1 (captured): own and total_ figures, unlimited hierarchical limit', () => {
  const s = parseMemoryStatV1(fixture('cgroup', 'memory.stat.v1'));
  assert.equal(s.get('hierarchical_memory_limit'), Infinity);
  assert.ok(s.get('total_cache')! >= s.get('cache')!);
  const m = normalizeV1(s, 75227136, parseLimit('9223372036854771712\n', 'memory.limit_in_bytes'));
  assert.equal(m.version, 1);
  assert.equal(m.limitBytes, null);
  assert.equal(m.fileBytes, s.get('total_cache'));
  assert.equal(m.anonBytes, s.get('total_rss'));
  assert.equal(m.activeFileBytes, s.get('total_active_file'));
  assert.equal(m.workingsetBytes, s.get('total_rss')! + s.get('total_active_file')!);
  assert.equal(m.own!.fileBytes, s.get('cache'));
  assert.equal(m.own!.shmemBytes, s.get('shmem'));
  assert.equal(m.usageBytes, 75227136);
});

test('memory.stat v2 (6.x): kernel field, dirty/writeback, limit', () => {
  const s = parseMemoryStatV2(fixture('cgroup', 'memory.stat.v2-6.x'));
  const m = normalizeV2(s, 100 * MiB, parseLimit(`${512 * MiB}\n`, 'memory.max'));
  assert.equal(m.anonBytes, 60 * MiB);
  assert.equal(m.fileBytes, 36 * MiB);
  assert.equal(m.kernelBytes, 4 * MiB);
  assert.equal(m.dirtyBytes, 1 * MiB);
  assert.equal(m.activeFileBytes, 20 * MiB);
  assert.equal(m.workingsetBytes, 80 * MiB);
  assert.equal(m.limitBytes, 512 * MiB);
  assert.equal(m.own, undefined);
  assert.equal(parseLimit('max\n', 'memory.max'), null);
});

test('memory.stat v2 (4.19): no kernel field, summed from its parts; root usage estimated', () => {
  const s = parseMemoryStatV2(fixture('cgroup', 'memory.stat.v2-4.19'));
  const m = normalizeV2(s, undefined, null);
  assert.equal(m.kernelBytes, 15728640 + 1474560);
  assert.equal(m.usageEstimated, true);
  assert.equal(m.usageBytes, 104857600 + 209715200 + 15728640 + 1474560);
});

test('memory.stat: malformed and missing fields name file and line', () => {
  assert.throws(() => parseMemoryStatV2('anon 1\nfile x\n', 'f'), (e: unknown) => e instanceof ParseError && e.file === 'f' && e.line === 2);
  assert.throws(() => parseMemoryStatV2('anon 1\n', 'f'), /file is missing/);
  assert.throws(() => parseMemoryStatV1('cache 99999999999999999999\n', 'f'), /out of range/);
  assert.throws(() => parseLimit('-1', 'memory.max'), ParseError);
});

test('cgroup.stat: counts and per-controller dying counts', () => {
  const s = parseCgroupStat('nr_descendants 7\nnr_subsys_memory 8\nnr_dying_descendants 5\nnr_dying_subsys_memory 3\nnr_dying_subsys_hugetlb 0\n');
  assert.equal(s.nrDescendants, 7);
  assert.equal(s.nrDyingDescendants, 5);
  assert.equal(s.nrDyingSubsys.get('memory'), 3);
  assert.equal(s.nrSubsys.get('memory'), 8);
  assert.equal(dyingMemoryCount(s), 3);
  assert.equal(dyingMemoryCount(parseCgroupStat('nr_descendants 1\nnr_dying_descendants 4\n')), 4);
  assert.throws(() => parseCgroupStat('nr_descendants 1\n', 'c'), ParseError);
});

test('memory.stat and cgroup.stat: fuzzed input never crashes', () => {
  fuzzParser((t) => parseMemoryStatV1(t, 'f'), fixture('cgroup', 'memory.stat.v1'), 'f');
  fuzzParser((t) => parseMemoryStatV2(t, 'f'), fixture('cgroup', 'memory.stat.v2-6.x'), 'f');
  fuzzParser((t) => parseCgroupStat(t, 'f'), 'nr_descendants 7\nnr_dying_descendants 5\nnr_dying_subsys_memory 3\n', 'f');
});
