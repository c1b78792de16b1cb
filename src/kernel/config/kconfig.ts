/**
 * The running kernel's build configuration (Kconfig `.config`), from `/boot/config-<release>` (what
 * distributions install next to the kernel) or `/proc/config.gz` (CONFIG_IKCONFIG_PROC=y), in that order.
 *
 *   CONFIG_TRANSPARENT_HUGEPAGE=y
 *   CONFIG_HZ=250
 *   CONFIG_LOCALVERSION=""
 *   # CONFIG_KPROBES is not set
 *
 * Only options that are set are kept (`y`, `m`, a number or a string, quotes removed); an option that
 * is absent or `is not set` reads as not set, which is how Kconfig itself treats both.
 */
import { gunzipSync } from 'node:zlib';
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const PROC_CONFIG_GZ = '/proc/config.gz';
export const bootConfigPath = (release: string): string => `/boot/config-${release}`;

export interface KernelConfig {
  /** Where it was read from (`/boot/config-6.1.0-18-amd64`, `/proc/config.gz`). */
  source: string;
  /** CONFIG_* name → value, set options only, sorted by name. */
  options: Record<string, string>;
}

export function parseKernelConfig(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `expected CONFIG_NAME=value, got ${JSON.stringify(line)}`);
    const v = m[2]!;
    out[m[1]!] = v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  });
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k]!;
  return sorted;
}

async function readBinary(host: Host, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  await host.scanFile(path, 1 << 16, (chunk) => parts.push(Buffer.from(chunk)));
  return Buffer.concat(parts);
}

/**
 * The kernel's configuration, or `{ missing: [...] }` naming the places looked at when neither exists
 * (or could be read).
 */
export async function readKernelConfig(host: Host, release: string): Promise<KernelConfig | { missing: string[] }> {
  const boot = bootConfigPath(release);
  const text = await host.tryReadText(boot);
  if (text !== undefined) return { source: boot, options: parseKernelConfig(text, boot) };
  if (await host.exists(PROC_CONFIG_GZ)) {
    let gz: Buffer | undefined;
    try {
      gz = await readBinary(host, PROC_CONFIG_GZ);
    } catch {
      gz = undefined;
    }
    if (gz !== undefined && gz.length > 0) {
      let plain: string;
      try {
        plain = gunzipSync(gz).toString('utf8');
      } catch (err) {
        throw new ParseError(PROC_CONFIG_GZ, 1, `not a gzip file (${(err as Error).message})`);
      }
      return { source: PROC_CONFIG_GZ, options: parseKernelConfig(plain, PROC_CONFIG_GZ) };
    }
  }
  return { missing: [boot, PROC_CONFIG_GZ] };
}
