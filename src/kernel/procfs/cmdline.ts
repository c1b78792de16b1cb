/**
 * /proc/cmdline — the kernel command line the boot loader passed (init/main.c saved_command_line).
 *
 *   BOOT_IMAGE=/vmlinuz-6.1.0 root=UUID=… ro quiet transparent_hugepage=never "dyndbg=file foo.c +p"
 *
 * Parameters are separated by spaces; a value may be double-quoted to hold spaces (lib/cmdline.c
 * next_arg()). A parameter without `=` is a flag (`quiet`); it may appear several times (`console=`).
 */
import type { Host } from '../../host/host.js';

export const CMDLINE_PATH = '/proc/cmdline';

export interface CmdlineParam {
  key: string;
  /** undefined for a flag without `=`. */
  value: string | undefined;
}

/** Splits like the kernel's next_arg(): spaces separate, double quotes group (and are removed). */
export function parseCmdline(text: string): CmdlineParam[] {
  const out: CmdlineParam[] = [];
  const s = text.trim();
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let tok = '';
    let quoted = false;
    while (i < s.length && (quoted || !/\s/.test(s[i]!))) {
      if (s[i] === '"') quoted = !quoted;
      else tok += s[i];
      i++;
    }
    const eq = tok.indexOf('=');
    out.push(eq < 0 ? { key: tok, value: undefined } : { key: tok.slice(0, eq), value: tok.slice(eq + 1) });
  }
  return out;
}

export async function readCmdline(host: Host): Promise<{ raw: string; params: CmdlineParam[] }> {
  const raw = (await host.readText(CMDLINE_PATH)).trim();
  return { raw, params: parseCmdline(raw) };
}
