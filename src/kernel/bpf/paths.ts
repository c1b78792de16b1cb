/**
 * Where the built BPF objects are: bpf/.output/<name>.bpf.o of this checkout (scripts/build-bpf.sh), or
 * $OSCOPE_BPF_DIR.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VMLINUX_BTF, btfHasString } from '../btf/enums.js';

export function bpfOutputDir(): string {
  const env = process.env.OSCOPE_BPF_DIR;
  if (env) return env;
  // dist/src/kernel/bpf/paths.js → repository root is four levels up.
  return fileURLToPath(new URL('../../../../bpf/.output/', import.meta.url));
}

export function bpfObjectPath(name: string): string {
  return join(bpfOutputDir(), `${name}.bpf.o`);
}

/** The object's path, or a sentence saying it is not built. */
export function findBpfObject(name: string): { path: string } | { missing: string } {
  const path = bpfObjectPath(name);
  if (existsSync(path)) return { path };
  return {
    missing: `the BPF program ${name} is not built (${path} is missing; run \`make build\`, which needs clang, bpftool and a kernel with BTF)`,
  };
}

let btfCache: Buffer | null | undefined;
/**
 * Whether the running kernel's BTF has tracepoint `tp` (its btf_trace_<tp> type), which a tp_btf
 * program needs at load time; false when the BTF cannot be read. Read once per process.
 */
export function kernelHasTracepoint(tp: string): boolean {
  if (btfCache === undefined) {
    try {
      btfCache = readFileSync(VMLINUX_BTF);
    } catch {
      btfCache = null;
    }
  }
  return btfCache !== null && btfHasString(btfCache, `btf_trace_${tp}`);
}
