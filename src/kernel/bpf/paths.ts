/**
 * Where the built BPF objects are: bpf/.output/<name>.bpf.o of this checkout (scripts/build-bpf.sh), or
 * $OSCOPE_BPF_DIR.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
