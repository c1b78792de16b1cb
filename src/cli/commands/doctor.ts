/** `oscope doctor`: what this kernel offers and which method each command will use. */
import type { Command } from 'commander';
import { planCommands } from '../../diagnose/doctor.js';
import { type BpfCapabilities, probeBpf } from '../../kernel/bpf/probe.js';
import { type Feature, probeKernelFeatures } from '../../kernel/features.js';
import { styleFrom, table } from '../../report/text.js';
import type { CliContext } from '../context.js';
import type { RegisterCommand } from './index.js';

export const DOCTOR_SCHEMA = 'oscope.doctor/v1';

/** probeBpf's answers under the feature ids `oscope doctor` and planCommands use. */
const BPF_IDS: Record<Exclude<keyof BpfCapabilities, 'deep'>, string> = {
  native: 'native-addon',
  btf: 'btf',
  bpfSyscall: 'bpf',
  tracefs: 'tracefs',
  tracepoints: 'tracepoints',
  rawTracepoints: 'raw-tracepoints',
  tpBtf: 'tp_btf',
  iterators: 'bpf-iter',
  ringBuffer: 'ringbuf',
  stackTraces: 'stack-traces',
  bpfLoop: 'bpf-loop',
  perfEvents: 'perf-events',
  nmiWatchdog: 'nmi-watchdog',
  kprobes: 'kprobes',
  fentry: 'fentry',
};

/** BPF answers (a real load and attach where possible) replace the file-based guesses of the same id. */
function mergeBpf(features: Feature[], caps: BpfCapabilities): Feature[] {
  const out = [...features];
  for (const [key, id] of Object.entries(BPF_IDS) as [Exclude<keyof BpfCapabilities, 'deep'>, string][]) {
    const f = caps[key];
    const row: Feature = { id, available: f.available === true, detail: f.available === undefined ? `unknown: ${f.detail}` : f.detail };
    const i = out.findIndex((x) => x.id === id);
    if (i >= 0) out[i] = row;
    else out.push(row);
  }
  return out;
}

export const registerDoctor: RegisterCommand = (program: Command, ctx: () => CliContext) => {
  program
    .command('doctor')
    .description('which kernel features this host offers and which method each command will use')
    .action(async () => {
      const c = ctx();
      const host = await c.host();
      let features = await probeKernelFeatures(host);
      if (host.live) {
        try {
          features = mergeBpf(features, await probeBpf(host));
        } catch (err) {
          features.push({ id: 'bpf', available: false, detail: `BPF probe failed: ${(err as Error).message}` });
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
