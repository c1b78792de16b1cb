/**
 * /proc/modules — loaded kernel modules (kernel/module/procfs.c m_show()).
 *
 *   nf_conntrack 176128 3 nf_nat,nft_ct,xt_conntrack, Live 0x0000000000000000 (E)
 *
 * Fields: name, size in bytes of the module's memory, reference count (`-` when unloading is disabled),
 * the modules using it (comma-terminated list, `-` for none), state (Live, Loading, Unloading), the
 * load address (0 unless kptr_restrict allows it) and optional taint flags in parentheses.
 * The file is absent on a kernel built without module support (CONFIG_MODULES=n).
 */
import type { Host } from '../../host/host.js';
import { HostError } from '../../host/host.js';
import { ParseError, parseIntField } from '../errors.js';

export const MODULES_PATH = '/proc/modules';

export interface KernelModule {
  name: string;
  sizeBytes: number;
  /** null when the kernel prints `-` (CONFIG_MODULE_UNLOAD=n). */
  refcount: number | null;
  usedBy: string[];
  state: string;
  /** Taint flags (`OE`), empty when none. */
  taints: string;
}

export function parseModules(text: string, file = MODULES_PATH): KernelModule[] {
  const out: KernelModule[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.trim().split(/\s+/);
    if (f.length < 5) throw new ParseError(file, i + 1, `expected "name size refcount usedby state address", got ${JSON.stringify(line)}`);
    const taint = /\(([A-Z]+)\)\s*$/.exec(line);
    out.push({
      name: f[0]!,
      sizeBytes: parseIntField(f[1], file, i + 1, 'size'),
      refcount: f[2] === '-' ? null : parseIntField(f[2], file, i + 1, 'refcount'),
      usedBy: f[3] === '-' ? [] : f[3]!.split(',').filter((x) => x !== ''),
      state: f[4]!,
      taints: taint?.[1] ?? '',
    });
  });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The loaded modules, or `undefined` when this kernel has no module support (no /proc/modules). */
export async function readModules(host: Host): Promise<KernelModule[] | undefined> {
  try {
    return parseModules(await host.readText(MODULES_PATH));
  } catch (err) {
    if (err instanceof HostError && err.notFound) return undefined;
    throw err;
  }
}
