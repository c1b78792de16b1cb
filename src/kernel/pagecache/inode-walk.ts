/**
 * The in-core inode walk (bpf/filecache.bpf.c): every inode the kernel holds in memory whose own
 * mapping has page cache, on every super block, with its name from the dentry cache. This finds files
 * nobody has open, unlinked ones, and files of other mount namespaces, without reading a directory.
 *
 * - `parseInodeWalk(data)`: the iterator's output (the record layout is in bpf/filecache.h; INODE_WALK
 *   mirrors its constants) → typed super blocks and files with root-relative paths. Pure.
 * - `liveInodeWalker()`: loads the program, reads the iterator until the walk is complete (one pass
 *   of the task_file iterator may not be enough: each call writes at most one seq_file buffer), parses,
 *   and closes everything again. Live host, root, BTF, bpf_loop and the built object are needed; it says
 *   which one is missing instead of throwing.
 *
 * Paths are relative to the root of the file system (the super block), as the dentry cache knows them;
 * user space maps them onto mount points (../../diagnose/filecache/inodes.ts).
 */
import { existsSync } from 'node:fs';
import { ParseError } from '../errors.js';
import { isNativeError, loadNative } from '../native.js';
import { openObject } from '../bpf/object.js';
import { findBpfObject } from '../bpf/paths.js';

export const INODE_WALK_OBJECT = 'filecache';
export const INODE_WALK_PROGRAM = 'oscope_fc_walk';
/** The name parse errors carry (the output comes from an iterator, not a file). */
export const INODE_WALK_FILE = 'bpf iter oscope_fc_walk';

/** The FC_* constants of bpf/filecache.h (a test compares them). */
export const INODE_WALK = {
  ROOT_ID: 0,
  UNKNOWN_ID: 1,
  FIRST_ID: 2,
  MAX_DEPTH: 32,
  F_NO_DENTRY: 1,
  F_TRUNCATED: 2,
  F_DISCONNECTED: 4,
  F_UNHASHED: 8,
  SB_COMPLETE: 0,
  SB_LIMIT: 1,
  SB_RACE: 2,
  SB_SKIPPED: 3,
  Z_SB_LIMIT: 1,
  Z_IDS_FULL: 2,
} as const;

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const BDEVFS_MAGIC = 0x62646576;

export type SuperBlockStatus = 'complete' | 'limit' | 'race' | 'skipped' | 'vanished';

export interface InodeWalkSuperBlock {
  /** "major:minor" of the super block (as /proc/PID/mountinfo shows it). */
  device: string;
  /** s_magic (TMPFS_MAGIC 0x01021994, EXT4_SUPER_MAGIC 0xef53, ...). */
  magic: number;
  /** s_type->name: ext4, tmpfs, bdev, ... */
  fsType: string;
  /** Inodes passed on its list (s_inodes). */
  inodes: number;
  /** Inodes with page cache found. */
  files: number;
  /**
   * complete; limit (stopped after the per-super-block bound); race (its inode list changed under the
   * walk: some inodes may be missing); skipped (a pseudo file system without page cache: proc, sysfs,
   * sockfs, ...); vanished (unmounted during the walk).
   */
  status: SuperBlockStatus;
}

export interface InodeWalkFile {
  /** "major:minor" of its super block. */
  device: string;
  fsType: string;
  /** On tmpfs or ramfs (memfd and SysV shared memory included): Shmem pages, not reclaimable cache. */
  shmem: boolean;
  /** An inode of the block device file system: a disk's own page cache (meminfo's Buffers). */
  blockDevice: boolean;
  inode: number;
  /** i_mode (file type and permission bits). */
  mode: number;
  /** i_nlink: 0 for an unlinked file (still open or mapped, or not evicted yet), memfd and SysV segments. */
  nlink: number;
  /** i_data.nrpages: pages in the page cache. */
  cachedPages: number;
  sizeBytes: number;
  /** "major:minor" of i_rdev for device inodes, else null. */
  rdev: string | null;
  /**
   * Path from the root of its file system ("/var/log/x.log"); null when the kernel holds no dentry for
   * the inode (the dentry cache let it go). With `pathPartial`, the directories above the path's first
   * component are unknown (deeper than the walk names at once, or a disconnected dentry tree).
   */
  path: string | null;
  pathPartial: boolean;
  /** The dentry is no longer in the dentry hash (unlinked, or never hashed). */
  unhashed: boolean;
  /** The kernel holds a dentry (a name) for it: `path` is not null. Cheap: `path` is built when first read. */
  named: boolean;
}

export interface InodeWalk {
  superBlocks: InodeWalkSuperBlock[];
  files: InodeWalkFile[];
  /** The "Z" record was read: the walk went round the whole super block list. */
  complete: boolean;
  totals: { superBlocks: number; inodes: number; files: number; dirs: number; races: number };
  /** More super blocks than the program looks at, or the list could not be followed. */
  superBlockLimit: boolean;
  /** The directory id map was full: some directories were named more than once (output only grows). */
  idsFull: boolean;
}

export function kernelDevString(dev: number): string {
  return `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
}

/** The dev_t user space sees (stat's st_dev, glibc makedev) for a major and minor. */
export function userDevNumber(major: number, minor: number): number {
  return (major % 4096) * 256 + (minor % 256) + Math.floor(minor / 256) * 2 ** 20 + Math.floor(major / 4096) * 2 ** 44;
}

const STATUS: Record<number, SuperBlockStatus> = { 0: 'complete', 1: 'limit', 2: 'race', 3: 'skipped' };

const SP = 0x20;
const NL = 0x0a;

interface DirRec {
  parent: number;
  /** The name's bytes in the output. */
  start: number;
  end: number;
  line: number;
}

/** Names are decoded and paths joined only for the files whose path is asked for (most are not). */
class Names {
  private readonly memo = new Map<number, { path: string; partial: boolean }>();
  constructor(
    private readonly buf: Buffer,
    private readonly dirs: ReadonlyMap<number, DirRec>,
  ) {}

  name(start: number, end: number): string {
    return this.buf.toString('utf8', start, end);
  }

  /** The directory's path from the file system root; ids were checked by the parser. */
  dir(id: number): { path: string; partial: boolean } {
    const chain: number[] = [];
    let x = id;
    let base: { path: string; partial: boolean } | undefined;
    for (;;) {
      if (x === INODE_WALK.ROOT_ID) base = { path: '', partial: false };
      else if (x === INODE_WALK.UNKNOWN_ID) base = { path: '', partial: true };
      else base = this.memo.get(x);
      if (base) break;
      const d = this.dirs.get(x)!;
      chain.push(x);
      x = d.parent;
    }
    let r = base;
    for (let i = chain.length - 1; i >= 0; i--) {
      const d = this.dirs.get(chain[i]!)!;
      r = { path: `${r.path}/${this.name(d.start, d.end)}`, partial: r.partial };
      this.memo.set(chain[i]!, r);
    }
    return r;
  }
}

class WalkFile implements InodeWalkFile {
  private resolved?: { path: string | null; partial: boolean };
  constructor(
    readonly device: string,
    readonly fsType: string,
    readonly shmem: boolean,
    readonly blockDevice: boolean,
    readonly inode: number,
    readonly mode: number,
    readonly nlink: number,
    readonly cachedPages: number,
    readonly sizeBytes: number,
    readonly rdev: string | null,
    readonly unhashed: boolean,
    readonly named: boolean,
    private readonly names: Names,
    private readonly parent: number,
    private readonly nameStart: number,
    private readonly nameEnd: number,
    private readonly flags: number,
  ) {}

  private resolve(): { path: string | null; partial: boolean } {
    if (this.resolved) return this.resolved;
    if (!this.named) return (this.resolved = { path: null, partial: false });
    const dir = this.names.dir(this.parent);
    const name = this.names.name(this.nameStart, this.nameEnd);
    const path = this.parent === INODE_WALK.ROOT_ID && name === '/' ? '/' : `${dir.path}/${name}`;
    return (this.resolved = { path, partial: dir.partial || (this.flags & (INODE_WALK.F_TRUNCATED | INODE_WALK.F_DISCONNECTED)) !== 0 });
  }

  get path(): string | null {
    return this.resolve().path;
  }

  get pathPartial(): boolean {
    return this.resolve().partial;
  }

  toJSON(): InodeWalkFile {
    const { device, fsType, shmem, blockDevice, inode, mode, nlink, cachedPages, sizeBytes, rdev, path, pathPartial, unhashed, named } = this;
    return { device, fsType, shmem, blockDevice, inode, mode, nlink, cachedPages, sizeBytes, rdev, path, pathPartial, unhashed, named };
  }
}

/**
 * Parses the iterator's output. Names are raw bytes (UTF-8 decoded, invalid sequences replaced, when
 * a file's `path` is first read); a string input is taken as UTF-8. Throws ParseError(file, line) on
 * anything malformed, including a record cut short or a directory id never named.
 */
export function parseInodeWalk(data: Uint8Array | string, file = INODE_WALK_FILE): InodeWalk {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let line = 1;
  const fail = (reason: string): never => {
    throw new ParseError(file, line, reason);
  };
  /** A decimal number ended by a space, read from the bytes (no string per field). */
  const field = (what: string, safeOnly = true): number => {
    let n = 0;
    let digits = 0;
    let c = buf[pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
      c = buf[++pos];
    }
    if (digits === 0 || digits > 20 || c !== SP) fail(`expected a number and a space for ${what} at byte ${pos}`);
    if (safeOnly && !Number.isSafeInteger(n)) fail(`${what} is out of range`);
    pos++;
    return n;
  };
  const num = (t: string, what: string): number => {
    if (!/^\d{1,20}$/.test(t)) fail(`expected a number for ${what}, got ${JSON.stringify(t.slice(0, 40))}`);
    return Number(t);
  };
  const safe = (t: string, what: string): number => {
    const n = num(t, what);
    if (!Number.isSafeInteger(n)) fail(`${what} is out of range: ${t}`);
    return n;
  };
  const restOfLine = (): string[] => {
    const nl = buf.indexOf(NL, pos);
    if (nl < 0) fail('record cut short (no end of line)');
    const fields = buf.toString('latin1', pos, nl).split(' ');
    pos = nl + 1;
    return fields;
  };
  /** The name's byte range; the name ends with NUL and newline. */
  const nameRange = (): [number, number] => {
    const z = buf.indexOf(0, pos);
    if (z < 0 || z + 1 >= buf.length || buf[z + 1] !== NL) fail('name not ended by NUL and newline');
    const start = pos;
    for (let i = pos; i < z; i++) if (buf[i] === NL) line++;
    pos = z + 2;
    return [start, z];
  };

  const superBlocks: InodeWalkSuperBlock[] = [];
  const dirs = new Map<number, DirRec>();
  const names = new Names(buf, dirs);
  const files: WalkFile[] = [];
  const parents: { parent: number; line: number }[] = [];
  let cur: InodeWalkSuperBlock | undefined;
  let curShmem = false;
  let curBdev = false;
  let open = false;
  let done: number[] | undefined;
  while (pos < buf.length) {
    if (done) fail('output after the end record');
    const kind = buf[pos];
    if (buf[pos + 1] !== SP) fail(`expected a record letter and a space, got ${JSON.stringify(buf.toString('latin1', pos, pos + 2))}`);
    pos += 2;
    const recLine = line;
    switch (kind) {
      case 0x53 /* S */: {
        const f = restOfLine();
        if (f.length !== 3) fail(`S record: expected 3 fields, got ${f.length}`);
        if (cur && open) cur.status = 'vanished';
        cur = { device: kernelDevString(safe(f[0]!, 'device')), magic: safe(f[1]!, 'magic'), fsType: f[2]!, inodes: 0, files: 0, status: 'complete' };
        if (!/^[\x21-\x7e]+$/.test(cur.fsType)) fail(`S record: bad file system type ${JSON.stringify(cur.fsType)}`);
        curShmem = cur.magic === TMPFS_MAGIC || cur.magic === RAMFS_MAGIC;
        curBdev = cur.magic === BDEVFS_MAGIC || cur.fsType === 'bdev';
        superBlocks.push(cur);
        open = true;
        break;
      }
      case 0x45 /* E */: {
        const f = restOfLine();
        if (f.length !== 4) fail(`E record: expected 4 fields, got ${f.length}`);
        const dev = kernelDevString(safe(f[0]!, 'device'));
        if (!cur || !open || cur.device !== dev) fail(`E record for ${dev} without its S record`);
        const status = STATUS[safe(f[3]!, 'status')];
        if (!status) fail(`E record: unknown status ${f[3]!}`);
        cur!.inodes = safe(f[1]!, 'inodes');
        cur!.files = safe(f[2]!, 'files');
        cur!.status = status!;
        open = false;
        break;
      }
      case 0x44 /* D */: {
        const id = field('id');
        const parent = field('parent');
        if (id < INODE_WALK.FIRST_ID || dirs.has(id)) fail(`D record: bad or repeated id ${id}`);
        const [start, end] = nameRange();
        dirs.set(id, { parent, start, end, line: recLine });
        break;
      }
      case 0x46 /* F */: {
        if (!cur || !open) fail('F record outside a super block');
        const sb = cur!;
        const inode = field('inode', false);
        const mode = field('mode');
        const nlink = field('nlink');
        const pages = field('nrpages');
        const size = field('size');
        const rdev = field('rdev');
        const parent = field('parent');
        const flags = field('flags');
        const [start, end] = nameRange();
        const f = new WalkFile(
          sb.device,
          sb.fsType,
          curShmem,
          curBdev,
          inode,
          mode,
          nlink,
          pages,
          size,
          rdev !== 0 ? kernelDevString(rdev) : null,
          (flags & INODE_WALK.F_UNHASHED) !== 0,
          (flags & INODE_WALK.F_NO_DENTRY) === 0,
          names,
          parent,
          start,
          end,
          flags,
        );
        files.push(f);
        if ((flags & INODE_WALK.F_NO_DENTRY) === 0) parents.push({ parent, line: recLine });
        break;
      }
      case 0x5a /* Z */: {
        const f = restOfLine();
        if (f.length !== 6) fail(`Z record: expected 6 fields, got ${f.length}`);
        done = f.map((x, i) => safe(x, `total ${i + 1}`));
        if (cur && open) cur.status = 'vanished';
        open = false;
        break;
      }
      default:
        fail(`unknown record ${JSON.stringify(String.fromCharCode(kind ?? 0))}`);
    }
    line++;
  }

  // Every directory id a file refers to must lead to the root or "unknown" without a loop.
  const good = new Set<number>([INODE_WALK.ROOT_ID, INODE_WALK.UNKNOWN_ID]);
  for (const { parent, line: at } of parents) {
    const chain: number[] = [];
    for (let x = parent; !good.has(x); ) {
      const d = dirs.get(x);
      if (!d) throw new ParseError(file, at, `directory id ${x} was never named`);
      chain.push(x);
      if (chain.length > dirs.size) throw new ParseError(file, d.line, `directory ids loop at ${x}`);
      x = d.parent;
    }
    for (const x of chain) good.add(x);
  }
  return {
    superBlocks,
    files,
    complete: done !== undefined,
    totals: done
      ? { superBlocks: done[0]!, inodes: done[1]!, files: done[2]!, dirs: done[3]!, races: done[4]! }
      : { superBlocks: superBlocks.length, inodes: superBlocks.reduce((s, b) => s + b.inodes, 0), files: files.length, dirs: dirs.size, races: 0 },
    superBlockLimit: ((done?.[5] ?? 0) & INODE_WALK.Z_SB_LIMIT) !== 0,
    idsFull: ((done?.[5] ?? 0) & INODE_WALK.Z_IDS_FULL) !== 0,
  };
}

/** Whether a buffer of iterator output ends with the walk's end record ("Z ...\n"). */
export function endsWalk(out: Uint8Array): boolean {
  let i = out.length - 1;
  if (i < 2 || out[i] !== NL) return false;
  for (i--; i >= 0 && (out[i] === SP || (out[i]! >= 0x30 && out[i]! <= 0x39)); i--);
  return i >= 0 && out[i] === 0x5a && out[i + 1] === SP && (i === 0 || out[i - 1] === NL);
}

export interface InodeWalkRun extends InodeWalk {
  /** Passes of the iterator read. */
  passes: number;
  /** Bytes of iterator output. */
  bytes: number;
  durationMs: number;
}

export interface InodeWalker {
  walk(): Promise<InodeWalkRun>;
}

export interface InodeWalkOptions {
  /** Passes of the task_file iterator read at most (default 256). */
  maxPasses?: number;
  /** The object file (default: bpf/.output/filecache.bpf.o). */
  objectPath?: string;
  /**
   * Inodes (or super block list entries) a call of the program passes at most before it hands over to
   * the next call (default 65536; small values exercise the resumption, for tests).
   */
  stepsPerCall?: number;
}

export type InodeWalkerStatus = { available: true; walker: InodeWalker } | { available: false; reason: string };

function errText(err: unknown): string {
  return isNativeError(err) || err instanceof Error ? err.message : String(err);
}

/** Loads, runs and closes the walk program; throws with a sentence when the kernel refuses it. */
export async function runInodeWalk(path: string, opts: InodeWalkOptions = {}): Promise<InodeWalkRun> {
  const t0 = performance.now();
  const maxPasses = opts.maxPasses ?? 256;
  let obj;
  // The verifier gives up with EAGAIN when a signal arrives while it works (libbpf retries a few times
  // at once; a CPU profiler's SIGPROF can outlast that): try again a little later.
  for (let attempt = 1; ; attempt++) {
    try {
      obj = openObject(path);
      if (opts.stepsPerCall !== undefined) obj.setRodata('max_steps_per_call', opts.stepsPerCall);
      obj.load();
      break;
    } catch (err) {
      obj?.close();
      if (isNativeError(err) && err.code === 'EAGAIN' && attempt < 3) {
        await new Promise((r) => setTimeout(r, 20 * attempt));
        continue;
      }
      throw new Error(`the in-core inode walk program does not load: ${errText(err)}`);
    }
  }
  try {
    const link = obj.program(INODE_WALK_PROGRAM).attachIter();
    // The walk's state (struct walk_state st in .bss): a pass that changed nothing is stuck. A pass may
    // write nothing and still advance (a long stretch of inodes without page cache).
    const g = obj.globals().find((x) => x.section === '.bss' && x.name === 'st');
    const loaded = obj;
    const state = (): Buffer | undefined => {
      try {
        return g ? loaded.map('.bss').lookup(Buffer.alloc(4))?.subarray(g.offset, g.offset + g.size) : undefined;
      } catch {
        return undefined;
      }
    };
    const chunks: Buffer[] = [];
    let bytes = 0;
    let passes = 0;
    let before = state();
    while (passes < maxPasses) {
      const b = await link.readIterAsync();
      passes++;
      chunks.push(b);
      bytes += b.length;
      if (endsWalk(b)) break;
      const after = state();
      if (b.length === 0 && (after === undefined || (before !== undefined && after.equals(before)))) break;
      before = after;
    }
    const walk = parseInodeWalk(Buffer.concat(chunks, bytes));
    return { ...walk, passes, bytes, durationMs: performance.now() - t0 };
  } finally {
    obj.close();
  }
}

/** The walker on this machine, or why there is none. */
export function liveInodeWalker(opts: InodeWalkOptions = {}): InodeWalkerStatus {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return { available: false, reason: 'not root: BPF iterators need root (CAP_BPF and CAP_PERFMON)' };
  if (!existsSync('/sys/kernel/btf/vmlinux')) return { available: false, reason: 'this kernel has no BTF (/sys/kernel/btf/vmlinux): the CO-RE walk program cannot load' };
  const n = loadNative();
  if (!n.available) return { available: false, reason: n.reason };
  let path = opts.objectPath;
  if (path === undefined) {
    const found = findBpfObject(INODE_WALK_OBJECT);
    if ('missing' in found) return { available: false, reason: found.missing };
    path = found.path;
  }
  const objectPath = path;
  return { available: true, walker: { walk: () => runInodeWalk(objectPath, opts) } };
}
