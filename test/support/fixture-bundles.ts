/**
 * Bundles built from fixtures of kernels and cgroup layouts this VM does not have, for the golden tests
 * (test/golden/golden.test.ts): each spec lays out a host tree from test/fixtures/proc, pid, cgroup and
 * inspect files, runs exactly what `oscope capture` runs (captureInto) through a RecordingHost over a
 * FixtureDirHost, and writes the bundle to test/fixtures/bundles/<name>.tar.gz.
 *
 * Regenerate (after `npx tsc -p tsconfig.json`): node scripts/fixture-bundles.mjs
 * then the goldens: OSCOPE_UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden
 * A bundle's manifest keeps the stat answers of the files as laid out (inode numbers, mtimes), so a
 * regenerated bundle differs in those and its goldens must be regenerated with it.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { captureInto } from '../../src/cli/commands/capture.js';
import { RecordingHost } from '../../src/host/bundle.js';
import { FixtureDirHost } from '../../src/host/dir.js';
import { HostError, type HostInfo, type HostStatfs } from '../../src/host/host.js';
import { VERSION } from '../../src/version.js';
import { fixturePath } from '../helpers.js';

/** A file of the host tree: a fixture (path under test/fixtures) or literal text. */
type Source = { fixture: string } | { text: string };

export interface FixtureBundleSpec {
  name: string;
  info: HostInfo;
  /** Fixture directories copied into the tree first (`to` is the host path). */
  trees: { fixture: string; to: string }[];
  files: Record<string, Source>;
  /** Files of this many bytes (content irrelevant: tmpfs usage). */
  sized?: Record<string, number>;
  links?: Record<string, string>;
  /** statfs answers (a fixture tree lives on the build machine's disk, whose statfs means nothing). */
  statfs?: Record<string, HostStatfs>;
}

/** A FixtureDirHost whose statfs answers come from the spec (and fail for anything else). */
class SpecHost extends FixtureDirHost {
  constructor(
    root: string,
    info: HostInfo,
    private readonly statfsAnswers: Record<string, HostStatfs>,
  ) {
    super(root, info);
  }
  override async statfs(path: string): Promise<HostStatfs> {
    const s = this.statfsAnswers[path];
    if (!s) throw new HostError(path, 'ENOENT');
    return s;
  }
}

const DOCKER = '9d4e1c2b3a495867f8e9d0c1b2a39485766554433221100ffeeddccbbaa99887';
const POD = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice';
const CTR = `${POD}/cri-containerd-2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b.scope`;

const fx = (fixture: string): Source => ({ fixture });
const tx = (text: string): Source => ({ text });

/** status with another Name/Pid/PPid (the fixtures hold one process each). */
function statusOf(fixture: string, name: string, pid: number, ppid: number): Source {
  const text = readFileSync(fixturePath(fixture), 'utf8')
    .replace(/^Name:\t.*$/m, `Name:\t${name}`)
    .replace(/^Pid:\t.*$/m, `Pid:\t${pid}`)
    .replace(/^Tgid:\t.*$/m, `Tgid:\t${pid}`)
    .replace(/^PPid:\t.*$/m, `PPid:\t${ppid}`);
  return tx(text);
}

/** One process: status, smaps_rollup, cgroup and stat (what mem and inspect read of it). */
function processFiles(pid: number, ppid: number, name: string, statusFixture: string, cgroup: string): Record<string, Source> {
  return {
    [`/proc/${pid}/status`]: statusOf(statusFixture, name, pid, ppid),
    [`/proc/${pid}/smaps_rollup`]: fx('pid/smaps_rollup'),
    [`/proc/${pid}/cgroup`]: tx(cgroup),
    [`/proc/${pid}/stat`]: tx(`${pid} (${name.slice(0, 15)}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1200 0 0 0 30 12 0 0 20 0 1 0 5000 151000000 2975 18446744073709551615\n`),
    [`/proc/${pid}/comm`]: tx(`${name.slice(0, 15)}\n`),
  };
}

const commonSysctl = (o: { swappiness: number; minFreeKb: number; overcommit: number; pidMax: number; threadsMax: number }): Record<string, Source> => ({
  '/proc/sys/vm/swappiness': tx(`${o.swappiness}\n`),
  '/proc/sys/vm/min_free_kbytes': tx(`${o.minFreeKb}\n`),
  '/proc/sys/vm/overcommit_memory': tx(`${o.overcommit}\n`),
  '/proc/sys/vm/overcommit_ratio': tx('50\n'),
  '/proc/sys/vm/panic_on_oom': tx('0\n'),
  '/proc/sys/kernel/pid_max': tx(`${o.pidMax}\n`),
  '/proc/sys/kernel/threads-max': tx(`${o.threadsMax}\n`),
  '/proc/sys/kernel/panic': tx('0\n'),
  '/proc/sys/kernel/panic_on_oops': tx('0\n'),
  '/proc/sys/kernel/softlockup_panic': tx('0\n'),
  '/proc/sys/kernel/hung_task_panic': tx('0\n'),
  '/proc/sys/fs/file-nr': tx('3104\t0\t1620000\n'),
});

const tmpfsStatfs = (usedBlocks: number, blocks: number, files: number): HostStatfs => ({
  type: 0x01021994,
  bsize: 4096,
  blocks,
  bfree: blocks - usedBlocks,
  bavail: blocks - usedBlocks,
  files: 1_000_000,
  ffree: 1_000_000 - files,
});

const SHM_FILES = 100;
const SHM_FILE_BYTES = 64 * 1024;

export const FIXTURE_BUNDLES: FixtureBundleSpec[] = [
  {
    // A 4.19 host with the memory controller on cgroup v1 (docker), SLAB allocator, a SysV orphan and
    // many small files in /dev/shm; kernel log in /var/log/kern.log (an OOM kill in a pod).
    name: 'fixture-4.19-cgroup-v1',
    info: { hostname: 'node-419', kernel: '4.19.0-18-amd64', capturedAt: '2026-03-03T09:00:00.000Z', uid: 0 },
    trees: [{ fixture: 'cgroup/v1', to: '/' }],
    files: {
      '/proc/self/mountinfo': tx(
        `${readFileSync(fixturePath('cgroup/v1/proc/self/mountinfo'), 'utf8').trimEnd()}\n` +
          '29 24 0:24 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw,size=8208628k\n' +
          '30 24 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n',
      ),
      '/proc/meminfo': fx('proc/meminfo-4.19'),
      '/proc/zoneinfo': fx('proc/zoneinfo-4.19'),
      '/proc/vmallocinfo': fx('proc/vmallocinfo-4.19'),
      '/proc/slabinfo': fx('proc/slabinfo-slab-statistics'),
      '/proc/sys/fs/dentry-state': fx('proc/dentry-state-4.19'),
      '/proc/sys/fs/inode-state': fx('proc/inode-state'),
      '/proc/net/sockstat': fx('proc/sockstat'),
      '/proc/sysvipc/shm': fx('proc/sysvipc-shm-multi'),
      '/proc/buddyinfo': fx('proc/buddyinfo-numa'),
      '/proc/loadavg': fx('proc/loadavg'),
      '/proc/uptime': tx('86400.50 300000.10\n'),
      ...commonSysctl({ swappiness: 60, minFreeKb: 67584, overcommit: 0, pidMax: 32768, threadsMax: 127000 }),
      '/sys/kernel/mm/transparent_hugepage/enabled': tx('[always] madvise never\n'),
      '/sys/kernel/mm/transparent_hugepage/defrag': tx('[always] defer defer+madvise madvise never\n'),
      '/sys/devices/system/cpu/online': tx('0-3\n'),
      '/var/log/kern.log': fx('inspect/oom-4.19-memcg-pod.log'),
      ...processFiles(1, 0, 'systemd', 'pid/status', '10:memory:/\n0::/init.scope\n'),
      ...processFiles(23090, 1, 'nginx', 'pid/status-4.19-container', `10:memory:/docker/${DOCKER}\n1:name=systemd:/docker/${DOCKER}\n`),
      ...processFiles(23117, 23090, 'nginx: worker process', 'pid/status-4.19-container', `10:memory:/docker/${DOCKER}\n1:name=systemd:/docker/${DOCKER}\n`),
      ...processFiles(3100, 1, 'postgres', 'pid/status', '10:memory:/user.slice\n1:name=systemd:/user.slice/user-26.slice\n'),
    },
    sized: Object.fromEntries(Array.from({ length: SHM_FILES }, (_, i) => [`/dev/shm/app-cache/seg-${String(i).padStart(4, '0')}`, SHM_FILE_BYTES])),
    statfs: {
      '/dev/shm': tmpfsStatfs((SHM_FILES * SHM_FILE_BYTES) / 4096, 2_052_157, SHM_FILES + 1),
      '/sys/fs/cgroup': tmpfsStatfs(0, 2_052_157, 8),
    },
  },
  {
    // A 6.1 Kubernetes node: memory on cgroup v2 (kubepods, a containerd container, docker), dying
    // descendants in cgroup.stat (3 memory zombies under system.slice), PSI, a hugetlb pool, an OOM kill.
    name: 'fixture-6.1-cgroup-v2',
    info: { hostname: 'k8s-node-7', kernel: '6.1.0-18-amd64', capturedAt: '2026-03-03T09:00:00.000Z', uid: 0 },
    trees: [{ fixture: 'cgroup/v2', to: '/' }],
    files: {
      '/proc/meminfo': fx('proc/meminfo-6.1'),
      '/proc/zoneinfo': fx('proc/zoneinfo'),
      '/proc/vmallocinfo': fx('proc/vmallocinfo'),
      '/proc/vmstat': fx('proc/vmstat'),
      '/proc/slabinfo': fx('proc/slabinfo'),
      '/proc/sys/fs/dentry-state': fx('proc/dentry-state'),
      '/proc/sys/fs/inode-state': fx('proc/inode-state'),
      '/proc/net/sockstat': fx('proc/sockstat'),
      '/proc/sysvipc/shm': fx('proc/sysvipc-shm'),
      '/proc/buddyinfo': fx('proc/buddyinfo'),
      '/proc/loadavg': fx('proc/loadavg'),
      '/proc/pressure/cpu': fx('proc/pressure-cpu'),
      '/proc/pressure/io': fx('proc/pressure-io'),
      '/proc/pressure/memory': fx('proc/pressure-memory'),
      '/proc/uptime': tx('123456.78 900000.00\n'),
      ...commonSysctl({ swappiness: 60, minFreeKb: 45056, overcommit: 1, pidMax: 4194304, threadsMax: 200000 }),
      '/sys/kernel/mm/transparent_hugepage/enabled': tx('always [madvise] never\n'),
      '/sys/kernel/mm/transparent_hugepage/defrag': tx('always defer defer+madvise [madvise] never\n'),
      '/sys/devices/system/cpu/online': tx('0-7\n'),
      '/run/systemd/timesync/synchronized': tx(''),
      '/var/log/kern.log': fx('inspect/oom-6.1-shmem.log'),
      ...processFiles(1, 0, 'systemd', 'pid/status', '0::/init.scope\n'),
      ...processFiles(4242, 4200, 'nginx: worker process', 'pid/status-4.19-container', `0::${CTR}\n`),
      ...processFiles(977, 1, 'python3', 'pid/status', `0::/system.slice/docker-${DOCKER}.scope\n`),
    },
  },
];

/** Lays out the host tree of `spec`, records a capture of it and writes `<outDir>/<name>.tar.gz`. */
export async function writeFixtureBundle(spec: FixtureBundleSpec, outDir: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'oscope-test-bundle-'));
  try {
    for (const t of spec.trees) cpSync(fixturePath(t.fixture), join(root, t.to), { recursive: true });
    for (const [path, src] of Object.entries(spec.files)) {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      rmSync(target, { force: true });
      writeFileSync(target, 'text' in src ? src.text : readFileSync(fixturePath(src.fixture)));
    }
    for (const [path, bytes] of Object.entries(spec.sized ?? {})) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), Buffer.alloc(bytes, 0x61));
    }
    for (const [path, target] of Object.entries(spec.links ?? {})) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      symlinkSync(target, join(root, path));
    }
    const rec = new RecordingHost(new SpecHost(root, spec.info, spec.statfs ?? {}));
    await captureInto(rec, { kpage: false });
    const out = join(outDir, `${spec.name}.tar.gz`);
    mkdirSync(outDir, { recursive: true });
    await rec.writeBundle(out, VERSION);
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
