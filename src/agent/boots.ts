/**
 * What the agent tells the console about boots (`POST /api/agent/boots`): the current boot (cause
 * `running`, from /proc) and the previous ones with why each ended, read by the same code as
 * `oscope inspect --boots` (journal, pstore, kdump). Sent once after each successful hello; the console
 * keeps one row per node and boot id, so sending the same boots again changes nothing, and the current
 * boot's row takes its real end cause once a later start reads it from the journal.
 */
import type { Host } from '../host/host.js';
import type { BootReport } from '../contract/agent-wire.js';
import { collectBoots, type BootSourcesOptions } from '../diagnose/inspect/boots.js';
import { loadRules, type RuleSet } from '../diagnose/inspect/rules.js';

/** The journal's spelling of a boot id: 32 hex digits without dashes (/proc's boot_id has them). */
export const normalizeBootId = (id: string): string => id.trim().toLowerCase().replace(/-/g, '');

const cut = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s);

/** The current boot and the previous ones, as the wire wants them (bounded like BootReportSchema). */
export async function agentBoots(host: Host, opts: BootSourcesOptions & { rules?: RuleSet; nowMs?: number } = {}): Promise<BootReport[]> {
  const out: BootReport[] = [];
  const id = await host.tryReadText('/proc/sys/kernel/random/boot_id');
  if (id) {
    const up = Number((await host.tryReadText('/proc/uptime'))?.split(/\s+/)[0]);
    const now = opts.nowMs ?? Date.now();
    out.push({ id: normalizeBootId(id), startedAt: Number.isFinite(up) ? new Date(now - up * 1000).toISOString() : null, endedAt: null, cause: 'running', source: 'proc', kernel: cut(host.info().kernel, 128) });
  }
  const previous = await collectBoots(host, opts.rules ?? loadRules([]), opts.journal ? { journal: opts.journal } : {});
  for (const b of previous.slice(0, 63)) {
    if (b.cause === 'running') continue;
    out.push({
      id: cut(b.source === 'journal' ? normalizeBootId(b.id) : b.id, 128),
      startedAt: b.startedAt,
      endedAt: b.endedAt,
      cause: b.cause,
      ...(b.title ? { title: cut(b.title, 512) } : {}),
      ...(b.stack ? { stack: b.stack.slice(0, 64).map((l) => cut(l, 256)) } : {}),
      source: b.source,
      ...(b.kernel ? { kernel: cut(b.kernel, 128) } : {}),
    });
  }
  return out;
}
