/**
 * A harness for tests with REAL containers: a private containerd (started as a child of the test, with
 * its own root, state and socket), a busybox image built by hand from busybox-static and imported with
 * `ctr image import`, and containers run with `ctr run -d` the way a kubelet would have them: the CRI
 * annotations (io.kubernetes.cri.*) in the OCI spec and a cgroup in the Kubernetes cgroupfs-driver shape
 * `/oscope-test-<id>/kubepods/burstable/pod<uid>/<64-hex container id>`.
 *
 * Everything it makes carries an `oscope-test-` name: the base directory /var/tmp/oscope-test-<id>/
 * (containerd root, state, socket, runc root, logs, image build), the containerd namespace, the image,
 * the top cgroup. stopAll() removes all of it (containers, tasks, snapshots, the containerd process by
 * its pid, mounts under the base directory, the cgroups, the base directory), and runs on process exit
 * and SIGINT/SIGTERM too, so a failed or interrupted test leaves nothing behind; what a run killed with
 * SIGKILL left (its <base>/harness.json names it and its owner pid is gone) the next startContainerd() removes.
 *
 * The containerd it starts uses a private state directory; src/containers/runtime.ts finds its task
 * bundles through OSCOPE_CONTAINERD_STATE, which startContainerd() sets in this process's environment.
 * The only thing outside the base directory: containerd 1.6 shims always put their sockets in
 * /run/containerd/s/ (named by a hash that includes our socket path); the shims remove them on exit, and
 * /run/containerd/{s,} are removed again (when empty) if they did not exist before.
 *
 * Needs root, cgroup v1 or v2 with the memory controller, overlayfs, and the Debian packages containerd,
 * runc, busybox-static (scripts/ensure-test-deps.sh installs them); containerdAvailable() says why not.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { create as tarCreate } from 'tar';
import { needsRoot, unitOnly } from '../helpers.js';

const run = promisify(execFile);

const BUSYBOX = '/bin/busybox';
const BINARIES = ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2'];
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const STATE_ENV = 'OSCOPE_CONTAINERD_STATE';

export interface RunContainerOptions {
  /** Kubernetes container name (io.kubernetes.cri.container-name). */
  name: string;
  podName: string;
  podNamespace: string;
  /** Pod UID with dashes; default a random UUID. */
  podUid?: string;
  /** argv run in the container (busybox applets: sh, dd, sleep, ...). */
  command: string[];
  memoryLimitBytes?: number;
  /** QoS class directory under kubepods (default burstable; guaranteed puts the pod right under kubepods). */
  qos?: 'burstable' | 'besteffort' | 'guaranteed';
}

export interface RealContainer {
  /** containerd container (and task) id: 64 hex, as the CRI makes them. */
  id: string;
  /** The container's init process (host pid namespace). */
  pid: number;
  podUid: string;
  /** cgroup path, the same in every hierarchy: /oscope-test-<id>/kubepods/<qos>/pod<uid>/<id>. */
  cgroupPath: string;
  /** The overlay upperdir: where files the container writes live on the host. */
  rootfsHostPath: string;
  /** The overlay mount point (the task bundle's rootfs). */
  rootfsMountPoint: string;
  /** Runs argv inside the container (ctr task exec); resolves to its stdout, rejects on a non-zero exit. */
  exec(cmd: string[]): Promise<string>;
}

/** What a harness run owns; also written to <base>/harness.json so a later run can remove a killed run's leftovers. */
interface Owned {
  ownerPid: number;
  base: string;
  address: string;
  namespace: string;
  stateDir: string;
  cgroupRoot: string;
  image: string;
  /** Our containerd's pid. */
  pid: number;
  createdRunContainerd: boolean;
}

interface Instance extends Owned {
  proc: ChildProcess;
  containers: string[];
  previousStateEnv: string | undefined;
  execSeq: number;
}

let current: Instance | undefined;
let handlersInstalled = false;

function which(cmd: string): string | undefined {
  for (const dir of PATH_ENV.split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function memoryCgroupMounted(): boolean {
  if (existsSync('/sys/fs/cgroup/memory/memory.usage_in_bytes')) return true;
  for (const m of cgroupMounts()) {
    if (m.fsType === 'cgroup2' && existsSync(join(m.mountPoint, 'cgroup.controllers'))) {
      if (readFileSync(join(m.mountPoint, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) return true;
    }
  }
  return false;
}

/** Why real containers cannot run here (a skip reason), or false when they can. */
export function containerdAvailable(): string | false {
  if (unitOnly) return needsRoot || 'a live test';
  if (process.platform !== 'linux') return 'real containers need Linux';
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return 'real containers need root';
  const missing = BINARIES.filter((b) => which(b) === undefined);
  if (!existsSync(BUSYBOX)) missing.push(BUSYBOX);
  if (missing.length > 0) return `missing ${missing.join(', ')} (Debian packages containerd, runc, busybox-static; run scripts/ensure-test-deps.sh)`;
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    /* treated as missing */
  }
  if (!/\boverlay\b/.test(filesystems)) {
    // overlay is usually a module loaded on first mount; try once.
    try {
      execFileSync('modprobe', ['overlay'], { stdio: 'ignore' });
    } catch {
      return 'the kernel has no overlay filesystem (containerd overlayfs snapshotter)';
    }
  }
  if (!memoryCgroupMounted()) return 'no memory cgroup controller is mounted';
  return false;
}

interface CgroupMount {
  mountPoint: string;
  fsType: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function mountinfo(): { mountPoint: string; fsType: string; superOptions: string }[] {
  const out: { mountPoint: string; fsType: string; superOptions: string }[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 6 || f.length < sep + 4) continue;
    out.push({ mountPoint: unescapeMount(f[4]!), fsType: f[sep + 1]!, superOptions: f[sep + 3]! });
  }
  return out;
}

function cgroupMounts(): CgroupMount[] {
  return mountinfo().filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ctrArgs(inst: Owned, args: string[]): string[] {
  return ['--address', inst.address, '--namespace', inst.namespace, ...args];
}

async function ctr(inst: Instance, args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('ctr', ctrArgs(inst, args), { timeout: timeoutMs, env: { ...process.env, PATH: PATH_ENV }, maxBuffer: 16 << 20 });
  return stdout;
}

function ctrSync(inst: Owned, args: string[], timeoutMs = 20_000): boolean {
  try {
    execFileSync('ctr', ctrArgs(inst, args), { timeout: timeoutMs, stdio: 'ignore', env: { ...process.env, PATH: PATH_ENV } });
    return true;
  } catch {
    return false;
  }
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/** Builds an OCI image archive (oci-layout, index.json, blobs) holding busybox-static and its applet links. */
async function buildBusyboxImage(dir: string, tag: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'var/log', 'etc', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((l) => /^[a-z0-9_./[-]+$/i.test(l) && !l.includes('..'));
  for (const a of applets) {
    const p = join(rootfs, a);
    if (a === 'bin/busybox' || existsSync(p)) continue;
    mkdirSync(join(p, '..'), { recursive: true });
    symlinkSync('/bin/busybox', p);
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');

  const layout = join(dir, 'oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerFile = join(dir, 'layer.tar');
  await tarCreate({ file: layerFile, cwd: rootfs, portable: true, noMtime: true }, readdirSync(rootfs).sort());
  const layer = readFileSync(layerFile);
  const layerDigest = sha256(layer);
  writeFileSync(join(blobs, layerDigest), layer);
  const blob = (o: unknown): { digest: string; size: number } => {
    const text = JSON.stringify(o);
    const digest = sha256(text);
    writeFileSync(join(blobs, digest), text);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
  };
  const config = blob({
    architecture: goArch(),
    os: 'linux',
    config: { Env: [`PATH=${PATH_ENV}`], Cmd: ['/bin/sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created_by: 'oscope test harness: busybox-static', created: '2000-01-01T00:00:00Z' }],
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length }],
  });
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: goArch(), os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = join(dir, 'image.tar');
  await tarCreate({ file: archive, cwd: layout, portable: true }, ['oci-layout', 'index.json', 'blobs']);
  return archive;
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => cleanupSync());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Starts a private containerd (child process; overlayfs snapshotter; CRI plugin off) and imports the
 * busybox image into it. One at a time per process: a second call returns the running one.
 */
export async function startContainerd(): Promise<void> {
  if (current) return;
  const reason = containerdAvailable();
  if (reason) throw new Error(`containerd cannot run here: ${reason}`);
  sweepStale();
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const base = `/var/tmp/oscope-test-ctr-${tag}`;
  mkdirSync(base, { mode: 0o711 });
  for (const d of ['root', 'state', 'runc', 'fifo', 'logs', 'image']) mkdirSync(join(base, d), { mode: 0o711 });
  const address = join(base, 'containerd.sock');
  const config = [
    'version = 2',
    `root = ${JSON.stringify(join(base, 'root'))}`,
    `state = ${JSON.stringify(join(base, 'state'))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '[grpc]',
    `  address = ${JSON.stringify(address)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(address + '.ttrpc')}`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(base, 'root', 'opt'))}`,
    '',
  ].join('\n');
  writeFileSync(join(base, 'config.toml'), config);
  const createdRunContainerd = !existsSync('/run/containerd');
  const log = openSync(join(base, 'logs', 'containerd.log'), 'a');
  const proc = spawn('containerd', ['--config', join(base, 'config.toml')], {
    stdio: ['ignore', log, log],
    env: { ...process.env, PATH: PATH_ENV },
  });
  closeSync(log);
  if (proc.pid === undefined) throw new Error('containerd did not start');
  const inst: Instance = {
    ownerPid: process.pid,
    base,
    address,
    namespace: `oscope-test-${tag}`,
    stateDir: join(base, 'state'),
    cgroupRoot: `/oscope-test-ctr-${tag}`,
    image: `docker.io/library/oscope-test-busybox:${tag}`,
    proc,
    pid: proc.pid,
    containers: [],
    createdRunContainerd,
    previousStateEnv: process.env[STATE_ENV],
    execSeq: 0,
  };
  current = inst;
  installHandlers();
  const owned: Owned = { ownerPid: inst.ownerPid, base, address, namespace: inst.namespace, stateDir: inst.stateDir, cgroupRoot: inst.cgroupRoot, image: inst.image, pid: inst.pid, createdRunContainerd };
  writeFileSync(join(base, 'harness.json'), JSON.stringify(owned));
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited) throw new Error(`containerd exited at start: ${containerdLogTail(inst)}`);
      try {
        await ctr(inst, ['version'], 5_000);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`containerd did not answer on ${address}: ${(err as Error).message}\n${containerdLogTail(inst)}`);
        await sleep(100);
      }
    }
    const archive = await buildBusyboxImage(join(base, 'image'), tag);
    await ctr(inst, ['image', 'import', '--base-name', 'docker.io/library/oscope-test-busybox', '--snapshotter', 'overlayfs', archive]);
    process.env[STATE_ENV] = [inst.stateDir, inst.previousStateEnv].filter((x) => x).join(':');
  } catch (err) {
    cleanupSync();
    throw err;
  }
}

function containerdLogTail(inst: Instance): string {
  try {
    return readFileSync(join(inst.base, 'logs', 'containerd.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no containerd log)';
  }
}

/** The overlay mount of a task's rootfs: [mount point, upperdir]. */
function overlayOf(mountPoint: string, pid: number): { mountPoint: string; upperDir: string } | undefined {
  const sources = [() => mountinfo().filter((m) => m.mountPoint === mountPoint)];
  // The container's own root, as seen from inside (when the bundle mount is not visible here).
  sources.push(() => {
    try {
      const lines = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
      return lines
        .map((l) => l.split(' '))
        .filter((f) => f[4] === '/' && f.includes('-'))
        .map((f) => ({ mountPoint, fsType: f[f.indexOf('-') + 1]!, superOptions: f[f.indexOf('-') + 3]! }));
    } catch {
      return [];
    }
  });
  for (const s of sources) {
    for (const m of s()) {
      if (m.fsType !== 'overlay') continue;
      const upper = m.superOptions.split(',').find((o) => o.startsWith('upperdir='));
      if (upper) return { mountPoint: m.mountPoint, upperDir: unescapeMount(upper.slice('upperdir='.length)) };
    }
  }
  return undefined;
}

/** Runs a container the way a kubelet (CRI, cgroupfs driver) would: annotations and a kubepods cgroup. */
export async function runContainer(opts: RunContainerOptions): Promise<RealContainer> {
  const inst = current;
  if (!inst) throw new Error('startContainerd() first');
  const id = randomBytes(32).toString('hex');
  const podUid = opts.podUid ?? randomUUID();
  const qos = opts.qos ?? 'burstable';
  const cgroupPath = `${inst.cgroupRoot}/kubepods${qos === 'guaranteed' ? '' : `/${qos}`}/pod${podUid}/${id}`;
  const annotations: Record<string, string> = {
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.container-name': opts.name,
    'io.kubernetes.cri.sandbox-name': opts.podName,
    'io.kubernetes.cri.sandbox-namespace': opts.podNamespace,
    'io.kubernetes.cri.sandbox-uid': podUid,
    'io.kubernetes.cri.sandbox-id': sha256(`sandbox-${podUid}`),
    'io.kubernetes.cri.image-name': inst.image,
  };
  const pidFile = join(inst.base, 'logs', `${id}.pid`);
  const args = [
    'run',
    '--detach',
    '--snapshotter',
    'overlayfs',
    '--cgroup',
    cgroupPath,
    '--runc-root',
    join(inst.base, 'runc'),
    '--fifo-dir',
    join(inst.base, 'fifo'),
    '--log-uri',
    `file://${join(inst.base, 'logs', `${id}.log`)}`,
    '--pid-file',
    pidFile,
    ...Object.entries(annotations).flatMap(([k, v]) => ['--annotation', `${k}=${v}`]),
    ...(opts.memoryLimitBytes !== undefined ? ['--memory-limit', String(opts.memoryLimitBytes)] : []),
    inst.image,
    id,
    ...opts.command,
  ];
  inst.containers.push(id);
  await ctr(inst, args);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for container ${id}`);
  const bundleRootfs = join(inst.stateDir, 'io.containerd.runtime.v2.task', inst.namespace, id, 'rootfs');
  const ov = overlayOf(bundleRootfs, pid);
  if (!ov) throw new Error(`no overlay rootfs found for container ${id}`);
  const exec = async (cmd: string[]): Promise<string> => {
    const execId = `oscope-test-exec-${++inst.execSeq}`;
    return ctr(inst, ['task', 'exec', '--exec-id', execId, '--fifo-dir', join(inst.base, 'fifo'), id, ...cmd]);
  };
  return { id, pid, podUid, cgroupPath, rootfsHostPath: ov.upperDir, rootfsMountPoint: ov.mountPoint, exec };
}

/** The container's log (stdout and stderr of its command), for failure messages. */
export function containerLog(c: RealContainer): string {
  if (!current) return '';
  try {
    return readFileSync(join(current.base, 'logs', `${c.id}.log`), 'utf8');
  } catch {
    return '';
  }
}

/** Running (a zombie is not: our own child stays one until the event loop reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function waitGone(pid: number, ms: number): boolean {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) execFileSync('sleep', ['0.05']);
  return !alive(pid);
}

/** Pids in our cgroup subtree (of one hierarchy mount). */
function pidsUnder(dir: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  try {
    for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim() !== '') out.push(Number(l));
  } catch {
    /* gone */
  }
  for (const e of entries) {
    try {
      if (statSync(join(dir, e)).isDirectory()) out.push(...pidsUnder(join(dir, e)));
    } catch {
      /* gone */
    }
  }
  return out;
}

function rmdirTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) rmdirTree(p);
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      execFileSync('sleep', ['0.05']); // EBUSY while the last task exits
    }
  }
}

/** Shim processes serving our containerd (their -address is our socket). */
function ourShims(inst: Owned): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('-address');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && i >= 0 && argv[i + 1] === inst.address) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Our containerd: that pid runs containerd with our config (a reused pid is left alone). */
function ourContainerd(inst: Owned): boolean {
  if (!alive(inst.pid)) return false;
  try {
    return readFileSync(`/proc/${inst.pid}/cmdline`, 'utf8').split('\0').includes(join(inst.base, 'config.toml'));
  } catch {
    return false;
  }
}

/** Leftovers of harness runs whose test process is gone (killed with SIGKILL): removed like stopAll() would. */
function sweepStale(): void {
  let entries: string[] = [];
  try {
    entries = readdirSync('/var/tmp').filter((e) => /^oscope-test-ctr-\d+-[0-9a-f]+$/.test(e));
  } catch {
    return;
  }
  for (const e of entries) {
    let owned: Owned;
    try {
      owned = JSON.parse(readFileSync(join('/var/tmp', e, 'harness.json'), 'utf8')) as Owned;
    } catch {
      continue; // not (yet) a harness directory we can vouch for
    }
    if (owned.base !== join('/var/tmp', e) || owned.cgroupRoot !== `/${e}` || alive(owned.ownerPid)) continue;
    cleanupInstance(owned, []);
  }
}

function cleanupSync(): void {
  const inst = current;
  if (!inst) return;
  current = undefined;
  cleanupInstance(inst, inst.containers);
  if (inst.previousStateEnv === undefined) delete process.env[STATE_ENV];
  else process.env[STATE_ENV] = inst.previousStateEnv;
}

function cleanupInstance(inst: Owned, known: readonly string[]): void {
  // 1. Tasks and containers (with their snapshots), through our containerd while it runs.
  if (ourContainerd(inst)) {
    let listed: string[] = [];
    try {
      listed = execFileSync('ctr', ctrArgs(inst, ['containers', 'list', '--quiet']), { timeout: 10_000, encoding: 'utf8', env: { ...process.env, PATH: PATH_ENV } })
        .split('\n')
        .filter((l) => l !== '');
    } catch {
      /* use the ids we know */
    }
    for (const id of new Set([...known, ...listed])) {
      ctrSync(inst, ['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
      ctrSync(inst, ['task', 'delete', '--force', id]);
      ctrSync(inst, ['container', 'delete', id]);
    }
    ctrSync(inst, ['image', 'remove', '--sync', inst.image]);
  }
  // 2. Our containerd, by its pid.
  if (ourContainerd(inst)) {
    try {
      process.kill(inst.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    if (!waitGone(inst.pid, 5_000)) {
      try {
        process.kill(inst.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      waitGone(inst.pid, 2_000);
    }
  }
  // 3. Anything left: processes in our cgroups (our containers) and our shims.
  const mounts = cgroupMounts();
  const leftover = new Set<number>();
  for (const m of mounts) for (const p of pidsUnder(join(m.mountPoint, inst.cgroupRoot))) leftover.add(p);
  for (const p of ourShims(inst)) leftover.add(p);
  for (const p of leftover) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const p of leftover) waitGone(p, 2_000);
  // 4. Mounts under our base directory (rootfs overlays left by a killed shim), deepest first.
  const ours = mountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p.startsWith(inst.base + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of ours) {
    try {
      execFileSync('umount', ['-l', p], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  // 5. Our cgroups, in every hierarchy runc made them in.
  for (const m of mounts) rmdirTree(join(m.mountPoint, inst.cgroupRoot));
  // 6. The base directory (never crossing into a mount), and /run/containerd if we made it.
  try {
    execFileSync('rm', ['-rf', '--one-file-system', inst.base], { stdio: 'ignore' });
  } catch {
    /* reported by the caller's leftover check, if any */
  }
  if (inst.createdRunContainerd) {
    for (const d of ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd/runc', '/run/containerd']) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty (someone else's) or absent */
      }
    }
  }
}

/** Stops everything startContainerd()/runContainer() made. Safe to call twice, or without a start. */
export async function stopAll(): Promise<void> {
  cleanupSync();
  return Promise.resolve();
}

/** What is left of a harness run (for a test's own check that cleanup worked): paths that still exist. */
export function leftovers(base: { cgroupPath: string }): string[] {
  const top = '/' + base.cgroupPath.split('/').filter((s) => s !== '')[0]!;
  const out: string[] = [];
  for (const m of cgroupMounts()) if (existsSync(join(m.mountPoint, top))) out.push(join(m.mountPoint, top));
  const dir = `/var/tmp${top}`;
  if (existsSync(dir)) out.push(dir);
  return out;
}
