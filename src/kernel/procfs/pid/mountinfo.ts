/**
 * /proc/PID/mountinfo — the mounts in a process's mount namespace (show_mountinfo() in fs/proc_namespace.c):
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
 *
 * (1) mount id, (2) parent id, (3) major:minor of st_dev, (4) root of the mount within its filesystem,
 * (5) mount point, (6) per-mount options, (7) zero or more optional fields (`shared:N`, `master:N`,
 * `propagate_from:N`, `unbindable`), (8) `-`, (9) filesystem type (`type.subtype` for fuse),
 * (10) source (`none` or empty allowed), (11) per-superblock options.
 * The kernel escapes space, tab, newline and backslash in paths and options as octal `\040` `\011` `\012`
 * `\134`; they are decoded here. Super options are split on commas into a map (`lowerdir=a:b` → key
 * `lowerdir`, value `a:b`; flags like `rw` map to ''), and also kept as an ordered list with repeats.
 */
import type { Host } from '../../../host/host.js';
import { ParseError, parseIntField } from '../../errors.js';

export interface MountInfo {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountPoint: string;
  mountOptions: string[];
  optionalFields: string[];
  fsType: string;
  source: string;
  /** Super options by key (the last value wins when a key repeats). */
  superOptions: Map<string, string>;
  /** Super options in order, repeats kept (overlay's `lowerdir+=` on 6.7+ kernels repeats). */
  superOptionList: [string, string][];
}

export const SELF_MOUNTINFO = '/proc/self/mountinfo';

export function mountinfoPath(pid: number | 'self'): string {
  return `/proc/${pid}/mountinfo`;
}

/** Decodes the kernel's `\ooo` octal escapes. */
export function unescapeOctal(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}

export function parseMountinfo(text: string, file = SELF_MOUNTINFO): MountInfo[] {
  const out: MountInfo[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || f.length < sep + 4) {
      throw new ParseError(file, i + 1, `expected "id parent maj:min root point opts [opt...] - type source superopts", got ${JSON.stringify(line)}`);
    }
    const dev = /^(\d+):(\d+)$/.exec(f[2]!);
    if (!dev) throw new ParseError(file, i + 1, `bad major:minor ${JSON.stringify(f[2])}`);
    const root = unescapeOctal(f[3]!);
    const mountPoint = unescapeOctal(f[4]!);
    // The root of a bind-mounted namespace file (`ip netns add`, nsfs) is its dentry name, `net:[4026532173]`.
    if (!(root.startsWith('/') || /^[a-z_]+:\[\d+\]$/.test(root)) || !mountPoint.startsWith('/')) throw new ParseError(file, i + 1, 'root and mount point must be absolute');
    if (f.length !== sep + 4) throw new ParseError(file, i + 1, `unexpected fields after super options: ${JSON.stringify(line)}`);
    const superOptionList: [string, string][] = [];
    for (const opt of f[sep + 3]!.split(',')) {
      if (opt === '') continue;
      const eq = opt.indexOf('=');
      superOptionList.push(eq < 0 ? [unescapeOctal(opt), ''] : [unescapeOctal(opt.slice(0, eq)), unescapeOctal(opt.slice(eq + 1))]);
    }
    const superOptions = new Map(superOptionList);
    out.push({
      mountId: parseIntField(f[0], file, i + 1, 'mount id'),
      parentId: parseIntField(f[1], file, i + 1, 'parent id'),
      major: parseIntField(dev[1], file, i + 1, 'major'),
      minor: parseIntField(dev[2], file, i + 1, 'minor'),
      root,
      mountPoint,
      mountOptions: f[5]!.split(','),
      optionalFields: f.slice(6, sep),
      fsType: f[sep + 1]!,
      source: unescapeOctal(f[sep + 2]!),
      superOptions,
      superOptionList,
    });
  }
  return out;
}

export async function readMountinfo(host: Host, pid: number | 'self' = 'self'): Promise<MountInfo[]> {
  const path = mountinfoPath(pid);
  return parseMountinfo(await host.readText(path), path);
}
