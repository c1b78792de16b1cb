/**
 * The state file of a simulation run, and the generic cleanup that removes what it records.
 *
 * A run writes /run/oscope/simulate/<run-id>.json (or $OSCOPE_STATE_DIR/<run-id>.json) and appends each
 * resource to it BEFORE creating the resource, so that whatever a crash leaves behind is listed there.
 * Cleanup removes the resources in reverse order, tolerates resources that are already gone, and never
 * touches anything whose name lacks the `oscope-sim-` prefix or a process whose start time differs from
 * the recorded one (a recycled pid).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { type ProcIdentity, killVerified } from './proc.js';
import { SELF_MOUNTINFO, parseMountinfo } from '../kernel/procfs/pid/mountinfo.js';

export const SIM_PREFIX = 'oscope-sim-';
export const STATE_SCHEMA = 'oscope.simulate-state/v1';

/** One kernel object a run created (or was about to create). Sizes are what the run put in it. */
export type Resource =
  /** A cgroup directory (any controller); removed with rmdir. */
  | { kind: 'cgroup'; path: string; bytes?: number }
  | { kind: 'file'; path: string; bytes?: number }
  /** A directory; removed recursively with everything the run created inside it. */
  | { kind: 'dir'; path: string; bytes?: number; files?: number }
  | { kind: 'mount'; path: string }
  /**
   * A SysV shared memory segment. `creatorPid` is the process that calls shmget; cleanup removes a segment
   * only when its key and creator pid (and its id, once known) match, so a key another program took is safe.
   */
  | { kind: 'sysv-shm'; key: number; creatorPid: number; id?: number; bytes: number }
  /** A process, by pid and /proc/PID/stat start time. */
  | { kind: 'process'; pid: number; startTime: string; role: string }
  | { kind: 'bpf-pin'; path: string }
  /**
   * A loop device (`/dev/loopN`) attached to `backing`; detached with `losetup -d` only while it is still
   * attached to that backing (a file with the prefix, or another loop device of the same run).
   */
  | { kind: 'loop'; device?: string; backing: string }
  /** A blkio/io throttle written into a cgroup file of the run (`file` = the cgroup's throttle file): removed by writing `majMin 0`. */
  | { kind: 'io-throttle'; file: string; majMin: string }
  /**
   * A named network namespace (`ip netns add NAME`, /run/netns/NAME) with everything the run put in it
   * (veth ends, addresses, nftables rules, qdiscs): `ip netns del` removes them all with it. Only names
   * with the prefix are ever deleted.
   */
  | { kind: 'netns'; name: string };

export type ResourceKind = Resource['kind'];

export interface RunState {
  schema: typeof STATE_SCHEMA;
  runId: string;
  scenario: string;
  options: Record<string, number>;
  /** The process that runs the scenario (the foreground CLI, the detached runner, or a test). */
  owner: ProcIdentity;
  detached: boolean;
  createdAt: string;
  /** starting → running (all created) → cleaning. */
  status: 'starting' | 'running' | 'cleaning';
  resources: Resource[];
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OSCOPE_STATE_DIR && env.OSCOPE_STATE_DIR !== '' ? env.OSCOPE_STATE_DIR : '/run/oscope/simulate';
}

export function stateFile(runId: string, dir = stateDir()): string {
  return join(dir, `${runId}.json`);
}

/** Writes the state atomically (temp file + rename): a crash leaves the old or the new state, never half. */
export function writeState(state: RunState, dir = stateDir()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = stateFile(state.runId, dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 1)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readState(runId: string, dir = stateDir()): RunState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(runId, dir), 'utf8');
  } catch {
    return undefined;
  }
  return parseState(text);
}

export function parseState(text: string): RunState | undefined {
  try {
    const v = JSON.parse(text) as Partial<RunState>;
    if (v.schema !== STATE_SCHEMA || typeof v.runId !== 'string' || !Array.isArray(v.resources)) return undefined;
    return v as RunState;
  } catch {
    return undefined;
  }
}

/** Every run with a state file in the directory (unreadable or foreign files are skipped). */
export function listStates(dir = stateDir()): RunState[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: RunState[] = [];
  for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
    const s = readState(n.slice(0, -'.json'.length), dir);
    if (s) out.push(s);
  }
  return out;
}

export function removeStateFile(runId: string, dir = stateDir()): void {
  try {
    unlinkSync(stateFile(runId, dir));
  } catch {
    /* already gone */
  }
}

/** True when some component of the path starts with the prefix; `self` requires the last one to. */
export function carriesPrefix(path: string, self = false): boolean {
  if (!path.startsWith('/') || path.split('/').includes('..')) return false;
  if (self) return basename(path).startsWith(SIM_PREFIX);
  return path.split('/').some((c) => c.startsWith(SIM_PREFIX));
}

export interface CleanupProblem {
  resource: Resource;
  error: string;
}

/** Describes a resource in one short phrase (for progress and problems). */
export function describeResource(r: Resource): string {
  switch (r.kind) {
    case 'sysv-shm':
      return `SysV shm key 0x${r.key.toString(16).padStart(8, '0')}${r.id !== undefined ? ` id ${r.id}` : ''}`;
    case 'process':
      return `process ${r.pid} (${r.role})`;
    case 'loop':
      return `loop device ${r.device ?? '(not yet attached)'} on ${r.backing}`;
    case 'io-throttle':
      return `I/O throttle ${r.majMin} in ${r.file}`;
    case 'netns':
      return `network namespace ${r.name}`;
    default:
      return `${r.kind} ${r.path}`;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Removes one resource; resolves quietly when it is already gone. Throws with a one-sentence reason. */
export async function removeResource(r: Resource): Promise<void> {
  switch (r.kind) {
    case 'process': {
      const res = await killVerified({ pid: r.pid, startTime: r.startTime }, 'SIGKILL', 5000);
      if (res === 'alive') throw new Error(`process ${r.pid} did not exit after SIGKILL`);
      return;
    }
    case 'file':
    case 'bpf-pin': {
      if (!carriesPrefix(r.path)) throw new Error(`refusing to remove ${r.path}: no ${SIM_PREFIX} prefix`);
      try {
        unlinkSync(r.path);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') throw err;
      }
      return;
    }
    case 'dir': {
      if (!carriesPrefix(r.path, true)) throw new Error(`refusing to remove ${r.path}: no ${SIM_PREFIX} prefix`);
      rmSync(r.path, { recursive: true, force: true });
      return;
    }
    case 'cgroup': {
      if (!carriesPrefix(r.path, true)) throw new Error(`refusing to remove ${r.path}: no ${SIM_PREFIX} prefix`);
      // A task that just exited may still be counted for a moment: retry EBUSY briefly.
      for (let i = 0; ; i++) {
        try {
          rmdirSync(r.path);
          return;
        } catch (err) {
          const code = errCode(err);
          if (code === 'ENOENT') return;
          if (code !== 'EBUSY' || i >= 100) throw err;
          await sleep(50);
        }
      }
    }
    case 'mount': {
      if (!carriesPrefix(r.path)) throw new Error(`refusing to unmount ${r.path}: no ${SIM_PREFIX} prefix`);
      if (!isMounted(r.path)) return;
      const res = spawnSync('umount', [r.path], { encoding: 'utf8' });
      if (res.status !== 0 && isMounted(r.path)) throw new Error(`umount ${r.path} failed: ${(res.stderr ?? '').trim()}`);
      return;
    }
    case 'loop': {
      // Attached but not yet recorded (a crash right after losetup): find it by its backing file.
      const device = r.device ?? loopsBackedBy(r.backing)[0];
      if (!device) return;
      const back = loopBacking(device);
      if (back === undefined) return; // detached already
      if (back !== r.backing || !(carriesPrefix(r.backing) || /^\/dev\/loop\d+$/.test(r.backing))) throw new Error(`refusing to detach ${device}: it is backed by ${back}, not by ${r.backing}`);
      const res = spawnSync('losetup', ['-d', device], { encoding: 'utf8' });
      if (res.status !== 0 && loopBacking(device) !== undefined) throw new Error(`losetup -d ${device} failed: ${(res.stderr ?? '').trim()}`);
      return;
    }
    case 'io-throttle': {
      if (!carriesPrefix(r.file)) throw new Error(`refusing to write ${r.file}: no ${SIM_PREFIX} prefix`);
      try {
        writeFileSync(r.file, `${r.majMin} 0\n`);
      } catch (err) {
        const code = errCode(err);
        // The cgroup or the device is gone: so is the throttle.
        if (code !== 'ENOENT' && code !== 'ENODEV' && code !== 'EINVAL') throw err;
      }
      return;
    }
    case 'netns': {
      if (!r.name.startsWith(SIM_PREFIX) || r.name.includes('/')) throw new Error(`refusing to delete network namespace ${r.name}: no ${SIM_PREFIX} prefix`);
      if (!existsSync(`/run/netns/${r.name}`)) return;
      const res = spawnSync('ip', ['netns', 'del', r.name], { encoding: 'utf8' });
      if (res.status !== 0 && existsSync(`/run/netns/${r.name}`)) throw new Error(`ip netns del ${r.name} failed: ${(res.stderr ?? '').trim()}`);
      return;
    }
    case 'sysv-shm': {
      for (const seg of findSegments(r)) {
        const res = spawnSync('ipcrm', ['-m', String(seg)], { encoding: 'utf8' });
        if (res.error) throw new Error(`ipcrm is not available: ${res.error.message}`);
        if (res.status !== 0 && findSegments(r).includes(seg)) {
          throw new Error(`ipcrm -m ${seg} failed: ${(res.stderr ?? '').trim()}`);
        }
      }
      return;
    }
  }
}

/** The backing file of a loop device (/sys/block/loopN/loop/backing_file), undefined when it is not attached. */
export function loopBacking(device: string): string | undefined {
  const name = basename(device);
  try {
    return readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** Loop devices attached to `backing` (the backing_file of each /sys/block/loopN). */
export function loopsBackedBy(backing: string): string[] {
  let names: string[];
  try {
    names = readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n));
  } catch {
    return [];
  }
  return names.filter((n) => loopBacking(n) === backing).map((n) => `/dev/${n}`);
}

function isMounted(path: string): boolean {
  try {
    return parseMountinfo(readFileSync(SELF_MOUNTINFO, 'utf8')).some((m) => m.mountPoint === path);
  } catch {
    return false;
  }
}

/** Segment ids in /proc/sysvipc/shm matching the record's key and creator pid (and id when recorded). */
function findSegments(r: Extract<Resource, { kind: 'sysv-shm' }>): number[] {
  let text: string;
  try {
    text = readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const key = Number(f[0]) >>> 0;
    const id = Number(f[1]);
    const cpid = Number(f[4]);
    if (key === r.key >>> 0 && cpid === r.creatorPid && (r.id === undefined || r.id === id)) out.push(id);
  }
  return out;
}

/**
 * Removes everything the state records, last created first. Problems are collected, not thrown, so one
 * stubborn resource does not keep the others alive; the caller decides whether to keep the state file.
 */
export async function cleanupState(state: RunState): Promise<CleanupProblem[]> {
  const problems: CleanupProblem[] = [];
  for (const r of [...state.resources].reverse()) {
    try {
      await removeResource(r);
    } catch (err) {
      problems.push({ resource: r, error: (err as Error).message });
    }
  }
  return problems;
}
