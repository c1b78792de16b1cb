import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanLog } from '../../../src/diagnose/inspect/engine.js';
import { classifyOom, containerFromCgroup } from '../../../src/diagnose/inspect/oom.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { fixture } from '../../helpers.js';

const rules = loadRules();

function oomOf(file: string) {
  const reps = scanLog(fixture('inspect', file), rules).filter((r) => r.kind === 'OOM');
  assert.equal(reps.length, 1, `${file}: one OOM report`);
  return reps[0]!;
}

test('OOM 3.10 (RHEL 7): whole machine short of memory', () => {
  const r = oomOf('oom-3.10-host.log');
  assert.equal(r.oom?.cause, 'host-memory');
  assert.equal(r.title, 'Out of memory: host-memory');
  assert.equal(r.oom?.killedComm, 'java');
  assert.equal(r.oom?.killedPid, 12345);
  assert.equal(r.oom?.order, 0);
  assert.equal(r.oom?.killedRssBytes, 15_600_000 * 1024);
  assert.equal(r.oom?.freeBytes, 33000 * 4096, 'Mem-Info continuation lines without timestamps are part of the report');
  assert.equal(r.level, 'critical');
  assert.ok(r.stack.some((f) => f.startsWith('out_of_memory')));
});

test('OOM 4.19 memcg (Kubernetes pod): cgroup limit, pod and container named', () => {
  const r = oomOf('oom-4.19-memcg-pod.log');
  assert.equal(r.oom?.cause, 'cgroup-limit');
  assert.equal(r.oom?.constraint, 'CONSTRAINT_MEMCG');
  assert.equal(r.oom?.memcgLimitBytes, 262144 * 1024);
  assert.equal(r.container, 'pod 1b2c3d4e-aaaa-bbbb-cccc-1234567890ab container 0123456789ab');
  assert.equal(r.header.monoS, 8000.1);
  assert.ok(r.header.wallMs !== undefined, 'syslog prefix gives wall-clock time');
});

test('OOM 5.15 cgroup v2: a parent cgroup limit', () => {
  const r = oomOf('oom-5.15-parent-cgroup.log');
  assert.equal(r.oom?.cause, 'parent-cgroup-limit');
  assert.equal(r.oom?.oomMemcg, '/system.slice/batch.slice');
  assert.equal(r.oom?.taskMemcg, '/system.slice/batch.slice/job-42.service');
  assert.equal(r.oom?.killedComm, 'python3');
});

test('OOM 4.19 cpuset / NUMA constraint', () => {
  assert.equal(oomOf('oom-4.19-cpuset.log').oom?.cause, 'cpuset-numa');
});

test('OOM 5.4: order-4 allocation with plenty free is fragmentation', () => {
  const r = oomOf('oom-5.4-fragmentation.log');
  assert.equal(r.oom?.cause, 'fragmentation');
  assert.equal(r.oom?.order, 4);
});

test('OOM 6.1: shmem holds most of memory', () => {
  const r = oomOf('oom-6.1-shmem.log');
  assert.equal(r.oom?.cause, 'shmem');
  assert.equal(r.oom?.shmemBytes, 2_850_000 * 4096);
  assert.equal(r.oom?.killedRssBytes, (200000 + 4000 + 10_600_000) * 1024);
});

test('OOM: a fork storm (thousands of tasks in the dump)', () => {
  const rows: string[] = [];
  for (let i = 0; i < 2500; i++) rows.push(`[ ${1000 + i}]     0  ${1000 + i}     5000      200    40960        0             0 forkbomb`);
  const lines = [
    'bash invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
    'Mem-Info:',
    'active_anon:100000 inactive_anon:1000 isolated_anon:0',
    ' free:1000 shmem:10',
    '[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name',
    ...rows,
    'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=forkbomb,pid=3499,uid=0',
    'Out of memory: Killed process 3499 (forkbomb) total-vm:20000kB, anon-rss:800kB, file-rss:0kB, shmem-rss:0kB',
  ];
  const a = classifyOom(lines);
  assert.equal(a.tasks, 2500);
  assert.equal(a.cause, 'fork-storm');
});

test('OOM: container names from cgroup paths', () => {
  assert.equal(containerFromCgroup('/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope'), 'container 0123456789ab');
  assert.equal(
    containerFromCgroup('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_aaaa_bbbb_cccc_1234567890ab.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope'),
    'pod 1b2c3d4e-aaaa-bbbb-cccc-1234567890ab container 0123456789ab',
  );
  assert.equal(containerFromCgroup('/user.slice'), undefined);
  assert.equal(containerFromCgroup(undefined), undefined);
});

test('OOM: a lone "Killed process" line (report start lost) still counts', () => {
  const reps = scanLog('[ 5.0] Out of memory: Killed process 42 (x) total-vm:100kB, anon-rss:50kB, file-rss:0kB, shmem-rss:0kB\n', rules);
  assert.equal(reps.length, 1);
  assert.equal(reps[0]!.kind, 'OOM');
  assert.equal(reps[0]!.oom?.killedPid, 42);
});
