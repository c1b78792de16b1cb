import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, rmdirSync, existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { HostError } from '../../../src/host/host.js';
import { LiveHost } from '../../../src/host/live.js';
import { KPF, PAGE_CLASSES, classifyChunk, finishClassify, newClassifyState } from '../../../src/kernel/kpage/kpageflags.js';
import {
  EntryStream,
  KPAGECGROUP_PATH,
  KPAGEFLAGS_PATH,
  ramRangesFromIomem,
  reconcileFree,
  scanKpages,
} from '../../../src/kernel/kpage/scan.js';
import { readMeminfo } from '../../../src/kernel/procfs/meminfo.js';
import { fixture, isRoot, prng, testName } from '../../helpers.js';
import { FakeHost, flags, u64File, words } from './fake-host.js';

const F = KPF;

/** A synthetic machine: a mix of every kind of page, with cgroup inodes for the user pages. */
function syntheticMachine(n: number, seed = 7): { kflags: bigint[]; kcg: bigint[] } {
  const rnd = prng(seed);
  const kflags: bigint[] = [];
  const kcg: bigint[] = [];
  const inos = [0n, 1001n, 1002n, 2n ** 40n + 5n]; // one inode above 2^32 to check the high half
  while (kflags.length < n) {
    const ino = inos[Math.floor(rnd() * inos.length)]!;
    const r = rnd();
    if (r < 0.2) {
      kflags.push(flags(F.LRU, F.UPTODATE, rnd() < 0.5 ? F.ACTIVE : F.UPTODATE));
      kcg.push(ino);
    } else if (r < 0.35) {
      kflags.push(flags(F.LRU, F.ANON, F.SWAPBACKED));
      kcg.push(ino);
    } else if (r < 0.4) {
      kflags.push(flags(F.LRU, F.SWAPBACKED));
      kcg.push(ino);
    } else if (r < 0.45) {
      kflags.push(flags(F.COMPOUND_HEAD, F.SLAB));
      kcg.push(ino);
      for (let i = 0; i < 3; i++) {
        kflags.push(flags(F.COMPOUND_TAIL, F.SLAB));
        kcg.push(ino);
      }
    } else if (r < 0.7) {
      kflags.push(flags(F.BUDDY));
      kcg.push(0n);
    } else if (r < 0.75) {
      kflags.push(flags(F.NOPAGE));
      kcg.push(0n);
    } else {
      kflags.push(0n);
      kcg.push(0n);
    }
  }
  return { kflags, kcg };
}

function hostWith(kflags: bigint[], kcg: bigint[] | undefined, opts: ConstructorParameters<typeof FakeHost>[0] = {}): FakeHost {
  const h = new FakeHost(opts);
  h.files.set(KPAGEFLAGS_PATH, u64File(kflags));
  if (kcg) h.files.set(KPAGECGROUP_PATH, u64File(kcg));
  return h;
}

test('scan: chunked reads give the same classes as one pass, whatever the chunking', async () => {
  const { kflags, kcg } = syntheticMachine(5000);
  const s = newClassifyState();
  classifyChunk(words(kflags), s);
  const want = finishClassify(s);
  for (const opts of [{}, { maxChunkBytes: 13 }, { maxChunkBytes: 4 * 1024 + 3, misalign: true }, { misalign: true }]) {
    for (const chunkBytes of [8, 64, 1000, 1 << 20]) {
      const scan = await scanKpages(hostWith(kflags, kcg, opts), { chunkBytes, pageSizeBytes: 4096 });
      assert.deepEqual(scan.classes, want.classes, `chunking ${JSON.stringify(opts)} / ${chunkBytes}`);
      assert.deepEqual(scan.counters, want.counters);
      assert.equal(scan.pfns, 5000);
      assert.equal(scan.method, 'kpageflags');
      assert.equal(scan.byCgroup, undefined);
    }
  }
});

test('scan: per-cgroup counts by class, inodes above 2^32 included, inode 0 left out', async () => {
  const { kflags, kcg } = syntheticMachine(20000, 11);
  // Expected counts, computed the slow and obvious way.
  const s = newClassifyState();
  const cls = new Uint8Array(kflags.length);
  classifyChunk(words(kflags), s, { classOut: cls });
  const bucket = (c: number): string => {
    const name = PAGE_CLASSES[c]!;
    if (name === 'lruActiveFile' || name === 'lruInactiveFile') return 'file';
    if (name === 'lruActiveAnon' || name === 'lruInactiveAnon') return 'anon';
    if (name === 'shmem' || name === 'unevictable' || name === 'slab') return name;
    return 'other';
  };
  const want = new Map<number, Record<string, number>>();
  kcg.forEach((ino, i) => {
    if (ino === 0n) return;
    const row = want.get(Number(ino)) ?? { total: 0, file: 0, anon: 0, shmem: 0, unevictable: 0, slab: 0, other: 0 };
    row.total!++;
    row[bucket(cls[i]!)]!++;
    want.set(Number(ino), row);
  });
  const progress: [number, number][] = [];
  const scan = await scanKpages(hostWith(kflags, kcg, { maxChunkBytes: 1003, misalign: true }), {
    cgroups: true,
    chunkBytes: 4096,
    pageSizeBytes: 4096,
    onProgress: (done, total) => progress.push([done, total]),
  });
  assert.equal(scan.method, 'kpageflags+kpagecgroup');
  assert.ok(scan.byCgroup);
  assert.deepEqual(new Map([...scan.byCgroup].map(([k, v]) => [k, { ...v }])), want);
  assert.ok(scan.byCgroup.has(2 ** 40 + 5));
  assert.ok(!scan.byCgroup.has(0));
  assert.equal(scan.bytes('buddy'), scan.classes.buddy * 4096);
  // Progress: non-decreasing, ends at the total (file sizes are known on this host).
  assert.ok(progress.length > 2);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0]);
  assert.deepEqual(progress.at(-1), [40000, 40000]);
});

test('scan: not root → EACCES, no kpageflags → ENOENT, no kpagecgroup → flags only with cgroupError', async () => {
  const denied = new FakeHost();
  denied.errors.set(KPAGEFLAGS_PATH, 'EACCES');
  await assert.rejects(scanKpages(denied, { pageSizeBytes: 4096 }), (e: unknown) => e instanceof HostError && e.code === 'EACCES');
  await assert.rejects(scanKpages(new FakeHost(), { pageSizeBytes: 4096 }), (e: unknown) => e instanceof HostError && e.notFound);
  const noMemcg = hostWith([flags(F.BUDDY), 0n], undefined);
  const scan = await scanKpages(noMemcg, { cgroups: true, pageSizeBytes: 4096 });
  assert.equal(scan.byCgroup, undefined);
  assert.equal(scan.cgroupError, 'ENOENT');
  assert.equal(scan.method, 'kpageflags');
  assert.equal(scan.pfns, 2);
});

test('scan: a truncated kpagecgroup or a longer one does not break the counts', async () => {
  const kflags = [flags(F.LRU), flags(F.LRU), flags(F.LRU)];
  const short = await scanKpages(hostWith(kflags, [5n]), { cgroups: true, pageSizeBytes: 4096 });
  assert.equal(short.byCgroup?.get(5)?.file, 1);
  const long = await scanKpages(hostWith(kflags, [5n, 5n, 5n, 5n, 5n]), { cgroups: true, pageSizeBytes: 4096 });
  assert.equal(long.byCgroup?.get(5)?.total, 3);
});

test('scan: RAM ranges from /proc/iomem', () => {
  // Captured on this machine (x86, 24 GiB, PCI hole below 4 GiB).
  assert.deepEqual(ramRangesFromIomem(fixture('kpage', 'iomem'), 4096), [
    [1, 160],
    [256, 786432],
    [1048576, 6553600],
  ]);
  // Hand-written arm64 layout: adjacent ranges merge, nested entries are not RAM.
  assert.deepEqual(ramRangesFromIomem(fixture('kpage', 'iomem-arm64'), 4096), [
    [0x40000, 0xc0000],
    [0xc0100, 0x140000],
  ]);
  // Read without root, iomem shows zeroed addresses: no ranges, hole detection off.
  assert.deepEqual(ramRangesFromIomem(fixture('kpage', 'iomem-nonroot'), 4096), []);
  assert.deepEqual(ramRangesFromIomem('', 4096), []);
});

test('scan: flagless PFNs outside RAM are holes, not other', async () => {
  const used = flags(F.LRU, F.UPTODATE);
  // PFN 0-3 RAM (a BUDDY head-only block of 4 at PFN 0 would claim 1-3), 4-11 hole, 12-15 RAM.
  const kflags = [flags(F.BUDDY), 0n, 0n, 0n, 0n, 0n, 0n, 0n, flags(F.RESERVED), 0n, 0n, 0n, used, 0n, used, 0n];
  const kcg = kflags.map(() => 0n);
  for (const maxChunkBytes of [8, 24, 1 << 10]) {
    const scan = await scanKpages(hostWith(kflags, kcg, { maxChunkBytes }), {
      cgroups: true,
      pageSizeBytes: 4096,
      ramRanges: [
        [0, 4],
        [12, 16],
      ],
    });
    assert.equal(scan.ramRangesKnown, true);
    assert.equal(scan.classes.nopage, 7, `chunks of ${maxChunkBytes}`);
    assert.equal(scan.classes.reserved, 1);
    assert.equal(scan.classes.buddy, 4, 'the inferred block stops at the end of RAM');
    assert.equal(scan.classes.lruInactiveFile, 2);
    assert.equal(scan.classes.other, 2);
  }
  const noRam = await scanKpages(hostWith(kflags, kcg), { pageSizeBytes: 4096 });
  assert.equal(noRam.ramRangesKnown, false);
  assert.equal(noRam.classes.nopage, 0);
});

test('scan: EntryStream reassembles entries split across chunks', () => {
  const values = [0x1122334455667788n, 0xffffffff00000001n, 42n];
  const bytes = u64File(values);
  const got: bigint[] = [];
  const es = new EntryStream((w, start, n) => {
    for (let i = 0; i < n; i++) got.push(BigInt(w[start + 2 * i]!) | (BigInt(w[start + 2 * i + 1]!) << 32n));
  });
  es.push(new Uint8Array(0)); // an empty chunk is harmless
  es.push(bytes.subarray(0, 3));
  es.push(bytes.subarray(3, 8));
  es.push(bytes.subarray(8, 9));
  es.push(bytes.subarray(9, 24));
  assert.deepEqual(got, values);
  assert.equal(es.pendingBytes, 0);
  es.push(new Uint8Array([1, 2, 3]));
  assert.equal(es.pendingBytes, 3);
});

test('scan: reconcileFree moves flagless free pages out of other', () => {
  const classes = Object.fromEntries(PAGE_CLASSES.map((c) => [c, 0])) as Record<(typeof PAGE_CLASSES)[number], number>;
  classes.buddy = 1000;
  classes.other = 500;
  const r = reconcileFree({ classes, pageSizeBytes: 4096 }, 1200 * 4096);
  assert.deepEqual(r, { buddyPages: 1000, memFreePages: 1200, flaglessFreePages: 200, otherAllocatedPages: 300 });
  // MemFree below the buddy count (pages allocated between the two reads): nothing moves.
  assert.equal(reconcileFree({ classes, pageSizeBytes: 4096 }, 900 * 4096).flaglessFreePages, 0);
  // Never more than the other pages.
  assert.equal(reconcileFree({ classes, pageSizeBytes: 4096 }, 9000 * 4096).otherAllocatedPages, 0);
});

const liveSkip = !isRoot ? 'needs root (kpageflags is mode 0400)' : !existsSync(KPAGEFLAGS_PATH) ? 'no /proc/kpageflags' : false;

test('scan: live — classes add up, LRU pages match meminfo within 10 %', { skip: liveSkip }, async () => {
  const host = new LiveHost();
  const before = await readMeminfo(host);
  const scan = await scanKpages(host, { cgroups: true });
  const after = await readMeminfo(host);
  const sum = PAGE_CLASSES.reduce((a, c) => a + scan.classes[c], 0);
  assert.equal(sum, scan.pfns, 'every PFN in exactly one class');
  assert.equal(scan.ramRangesKnown, true, '/proc/iomem gives the RAM ranges to root');
  assert.ok(scan.pfns > 0);
  assert.ok(scan.byCgroup && scan.byCgroup.size > 0, 'some pages are charged to cgroups');
  const ps = scan.pageSizeBytes;
  // Shmem sits on the anon LRU lists in the kernel's counters.
  const anon = (scan.classes.lruActiveAnon + scan.classes.lruInactiveAnon + scan.classes.shmem) * ps;
  const file = (scan.classes.lruActiveFile + scan.classes.lruInactiveFile) * ps;
  const within = (what: string, got: number, a: number, b: number): void => {
    const lo = Math.min(a, b) * 0.9;
    const hi = Math.max(a, b) * 1.1;
    assert.ok(got >= lo && got <= hi, `${what}: kpageflags ${got} B vs meminfo ${a}..${b} B`);
  };
  const m = (mi: typeof before, k: string): number => mi.bytesOr0(k);
  within('anon LRU', anon, m(before, 'Active(anon)') + m(before, 'Inactive(anon)'), m(after, 'Active(anon)') + m(after, 'Inactive(anon)'));
  within('file LRU', file, m(before, 'Active(file)') + m(before, 'Inactive(file)'), m(after, 'Active(file)') + m(after, 'Inactive(file)'));
  const rec = reconcileFree(scan, m(after, 'MemFree'));
  assert.ok(rec.otherAllocatedPages >= 0 && rec.otherAllocatedPages <= scan.classes.other);
});

const v1Memory = '/sys/fs/cgroup/memory';
const cgSkip = liveSkip || (!existsSync(`${v1Memory}/cgroup.procs`) ? 'no cgroup v1 memory controller here' : false);

test('scan: live — a 64 MiB file cached from inside a cgroup is attributed to that cgroup', { skip: cgSkip }, async () => {
  const name = testName('kpage');
  const dir = `${v1Memory}/${name}`;
  const file = `/tmp/${testName('kpage-file')}`;
  const host = new LiveHost();
  mkdirSync(dir);
  try {
    // The child joins the cgroup first, so the page cache it creates is charged there.
    const r = spawnSync('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && dd if=/dev/zero of="$2" bs=1M count=64 status=none && cat "$2" > /dev/null', 'sh', dir, file]);
    assert.equal(r.status, 0, `child failed: ${r.stderr.toString()}`);
    const ino = (await host.stat(dir)).ino;
    const scan = await scanKpages(host, { cgroups: true });
    const counts = scan.byCgroup?.get(ino);
    assert.ok(counts, `cgroup inode ${ino} has pages`);
    const filePages = (64 * 1024 * 1024) / scan.pageSizeBytes;
    // The file's pages are page cache (file LRU); a few may be off the lists for a moment.
    const cached = counts.file + counts.unevictable + counts.other;
    assert.ok(counts.file >= 0.9 * filePages, `file pages in the cgroup: ${counts.file} of ${filePages} (total ${cached})`);
    // Cross-check with the cgroup's own counter.
    const stat = readFileSync(`${dir}/memory.stat`, 'utf8');
    const cache = Number(/^cache (\d+)$/m.exec(stat)?.[1] ?? NaN);
    assert.ok(cache >= 0.9 * 64 * 1024 * 1024, `memory.stat cache ${cache}`);
  } finally {
    rmSync(file, { force: true });
    // Pages still charged are reparented by the kernel; the directory can go once no task is in it.
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }
});
