/** `oscope doctor`: what this kernel offers and which method each command will use. */
import type { Command } from 'commander';
import { planCommands } from '../../diagnose/doctor.js';
import { type Feature, probeKernelFeatures } from '../../kernel/features.js';
import { styleFrom, table } from '../../report/text.js';
import type { CliContext } from '../context.js';
import type { RegisterCommand } from './index.js';

export const DOCTOR_SCHEMA = 'oscope.doctor/v1';

/** Extra probes (BPF, from the native layer) merged in when that layer is present. */
export type FeatureProbe = () => Promise<Feature[]>;
const extraProbes: FeatureProbe[] = [];
export function addFeatureProbe(p: FeatureProbe): void {
  extraProbes.push(p);
}

export const registerDoctor: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('doctor')
    .description('which kernel features this host offers and which method each command will use')
    .action(async () => {
      const c = ctx();
      const host = await c.host();
      const features = await probeKernelFeatures(host);
      if (host.kind === 'live') {
        for (const p of extraProbes) {
          try {
            features.push(...(await p()));
          } catch (err) {
            features.push({ id: 'bpf', available: false, detail: `BPF probe failed: ${(err as Error).message}` });
          }
        }
      }
      const plans = planCommands(features);
      const info = host.info();
      if (c.json) {
        c.out(JSON.stringify({ schema: DOCTOR_SCHEMA, host: { hostname: info.hostname, kernel: info.kernel }, features, commands: plans }, null, 2));
        return;
      }
      const s = styleFrom(c.color);
      c.out(s.bold(`oscope doctor — ${info.hostname}, kernel ${info.kernel}`));
      c.out('');
      c.out(table(['FEATURE', '', 'DETAIL'], features.map((f) => [f.id, f.available ? s.green('yes') : s.yellow('no'), f.detail]), s));
      c.out('');
      for (const p of plans) {
        c.out(`${s.bold(p.command.padEnd(11))} ${p.method}`);
        for (const l of p.limits) c.out(`${' '.repeat(12)}${s.dim(`· ${l}`)}`);
      }
    });
};
