/**
 * /proc/sys — every sysctl this kernel exposes (kernel/sysctl.c, Documentation/admin-guide/sysctl/).
 *
 * A sysctl is a file under /proc/sys; its dotted name is its path with `/` → `.` (`vm/swappiness` →
 * `vm.swappiness`), as sysctl(8) prints it. The value is the file's text with runs of whitespace (tabs
 * between the fields of `net.ipv4.tcp_mem`, the trailing newline) folded to one space, again as sysctl(8)
 * shows it.
 *
 * Not read (they are not settings, or reading them is not harmless):
 * - write-only files (mode without any read bit: vm.drop_caches, vm.compact_memory, net.ipv4.route.flush);
 *   reading them fails with EACCES even as root, and those reads are skipped silently;
 * - `fs.binfmt_misc`: a file system of its own mounted there (often a systemd automount that a walk would
 *   trigger);
 * - secrets: `net.ipv4.tcp_fastopen_key` (the server's TFO key), `net.ipv6.conf.*.stable_secret`.
 * Files that fail to read (EIO on stable_secret without a secret, EPERM in a container) are counted in
 * `unreadable`, not guessed.
 */
import type { Host } from '../../host/host.js';

export const SYSCTL_ROOT = '/proc/sys';

/** Sub-trees never walked (dotted prefixes). */
export const SYSCTL_SKIP_PREFIXES = ['fs.binfmt_misc'] as const;
/** Sysctls never read because they hold secrets (dotted names; `*` is one path component). */
export const SYSCTL_SECRETS = ['net.ipv4.tcp_fastopen_key', 'net.ipv6.conf.*.stable_secret'] as const;

export interface Sysctls {
  /** Dotted name → value (whitespace folded), sorted by name. */
  values: Record<string, string>;
  /** How many files could not be read (write-only, EIO, EPERM). */
  unreadable: number;
}

/** `a/b/c` relative to /proc/sys → `a.b.c`. Interface names with dots (`eth0.100`) become `/` in the dotted name, as sysctl(8) does. */
export function sysctlName(relPath: string): string {
  return relPath
    .split('/')
    .map((p) => p.replace(/\./g, '/'))
    .join('.');
}

/** The value as sysctl(8) prints it: whitespace runs folded to one space, trimmed. */
export function normalizeSysctlValue(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Whether a dotted name matches a pattern whose `*` stands for exactly one component. */
export function sysctlMatches(name: string, pattern: string): boolean {
  const n = name.split('.');
  const p = pattern.split('.');
  if (p[p.length - 1] === '**') return n.length >= p.length - 1 && p.slice(0, -1).every((x, i) => x === '*' || x === n[i]);
  return n.length === p.length && p.every((x, i) => x === '*' || x === n[i]);
}

function skipped(name: string): boolean {
  return SYSCTL_SKIP_PREFIXES.some((p) => name === p || name.startsWith(`${p}.`)) || SYSCTL_SECRETS.some((p) => sysctlMatches(name, p));
}

/** Walks /proc/sys and reads every readable sysctl. */
export async function readSysctls(host: Host, root = SYSCTL_ROOT): Promise<Sysctls> {
  const values: Record<string, string> = {};
  let unreadable = 0;
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await host.readDir(rel === '' ? root : `${root}/${rel}`);
    } catch {
      unreadable++;
      return;
    }
    for (const n of names.sort()) {
      const r = rel === '' ? n : `${rel}/${n}`;
      const name = sysctlName(r);
      if (skipped(name)) continue;
      const path = `${root}/${r}`;
      let st;
      try {
        st = await host.stat(path);
      } catch {
        unreadable++;
        continue;
      }
      if (st.isDirectory) await walk(r);
      else if (st.isFile) {
        if ((st.mode & 0o444) === 0) continue;
        const v = await host.tryReadText(path);
        if (v === undefined) unreadable++;
        else values[name] = normalizeSysctlValue(v);
      }
    }
  };
  await walk('');
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(values).sort()) sorted[k] = values[k]!;
  return { values: sorted, unreadable };
}
